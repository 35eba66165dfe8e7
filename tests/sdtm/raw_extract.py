"""A small hand-made raw EDC extract (3 subjects) written as CSV files, for the SDTM tests.

Subjects (data cut-off of the plan: 2015-10-31):
- 001: consent 01-AUG-2013, enrolled 03-AUG-2013, first dose 05-AUG-2013, completed 28-OCT-2013;
  one dosing row after the cut-off (01-NOV-2015); two AEs (one with a partial start date, ongoing).
- 002: consent 10-AUG-2013, enrolled 12-AUG-2013, first dose 14-AUG-2013, discontinued for an adverse
  event 20-SEP-2013; one AE before the first dose, one AE starting UN-NOV-2015 (after the cut-off).
- 003: enrolled 02-NOV-2015, after the cut-off (rejected from every enrolment-fed domain).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd

from sdtm.raw import load_forms

NO_MEDS = dict(HYDROXYCHLOROQUINE="No", MYCOPHENOLATE="No", CYCLOPHOSPHAMIDE="No", AZATHIOPRINE="No",
               LEFLUNOMIDE="No", THALIDOMIDE="No", CICLOSPORIN="No", METHOTREXATE="No")

ROWS: dict[str, list[dict[str, str]]] = {
    "enrolment": [
        dict(SUBJECT="001", SITE="01", CONSENT_DATE="01-AUG-2013", ENROL_DATE="03-AUG-2013", AGE="31", SEX="Female",
             RACE="Asian", ETHNICITY="Not Hispanic or Latino", WEIGHT_KG="54", HEIGHT_CM="160",
             SLE_DIAG_DATE="UN-MAR-2008", PREDNISONE_MGD="30", **{**NO_MEDS, "HYDROXYCHLOROQUINE": "Yes", "MYCOPHENOLATE": "Yes"}),
        dict(SUBJECT="002", SITE="01", CONSENT_DATE="10-AUG-2013", ENROL_DATE="12-AUG-2013", AGE="45", SEX="Male",
             RACE="Asian", ETHNICITY="Not Hispanic or Latino", WEIGHT_KG="70.5", HEIGHT_CM="172",
             SLE_DIAG_DATE="UN-UNK-2010", PREDNISONE_MGD="0", **NO_MEDS),
        dict(SUBJECT="003", SITE="01", CONSENT_DATE="01-NOV-2015", ENROL_DATE="02-NOV-2015", AGE="28", SEX="Female",
             RACE="Asian", ETHNICITY="Not Hispanic or Latino", WEIGHT_KG="50", HEIGHT_CM="158",
             SLE_DIAG_DATE="15-JAN-2015", PREDNISONE_MGD="10", **NO_MEDS),
    ],
    "dosing": [
        dict(SUBJECT="001", CYCLE="1", INJECTION="1", DOSE_DATE="05-AUG-2013", DOSE="1", DOSE_UNIT="MIU", INJECTION_SITE="Abdomen"),
        dict(SUBJECT="001", CYCLE="1", INJECTION="2", DOSE_DATE="07-AUG-2013", DOSE="1", DOSE_UNIT="MIU", INJECTION_SITE="Thigh"),
        dict(SUBJECT="001", CYCLE="2", INJECTION="1", DOSE_DATE="01-NOV-2015", DOSE="1", DOSE_UNIT="MIU", INJECTION_SITE="Thigh"),
        dict(SUBJECT="002", CYCLE="1", INJECTION="1", DOSE_DATE="14-AUG-2013", DOSE="1", DOSE_UNIT="MIU", INJECTION_SITE="Upper arm"),
    ],
    "adverse_events": [
        dict(SUBJECT="001", AE_NO="1", AE_TERM="redness at injection site", AE_LLT="Injection site erythema",
             AE_LLT_CODE="10022061", AE_PT="Injection site erythema", AE_PT_CODE="10022061", AE_HLT="Injection site reactions",
             AE_HLT_CODE="99000201", AE_HLGT="Administration site reactions", AE_HLGT_CODE="99000101",
             AE_SOC="General disorders and administration site conditions", AE_SOC_CODE="10018065", START_DATE="06-AUG-2013",
             END_DATE="08-AUG-2013", ONGOING="No", SEVERITY="Mild", SERIOUS="No", RELATIONSHIP="Possibly related",
             ACTION="Dose not changed", OUTCOME="Recovered/resolved"),
        dict(SUBJECT="001", AE_NO="2", AE_TERM="fever", AE_LLT="Fever", AE_LLT_CODE="99000301", AE_PT="Pyrexia",
             AE_PT_CODE="10037660", AE_HLT="Febrile disorders", AE_HLT_CODE="99000202", AE_HLGT="Body temperature conditions",
             AE_HLGT_CODE="99000102", AE_SOC="General disorders and administration site conditions", AE_SOC_CODE="10018065", START_DATE="UN-AUG-2013", END_DATE="",
             ONGOING="Yes", SEVERITY="Moderate", SERIOUS="No", RELATIONSHIP="Unlikely related",
             ACTION="Not applicable", OUTCOME="Not recovered/not resolved"),
        dict(SUBJECT="002", AE_NO="1", AE_TERM="headache", AE_LLT="Headache", AE_LLT_CODE="10019211", AE_PT="Headache",
             AE_PT_CODE="10019211", AE_HLT="", AE_HLT_CODE="", AE_HLGT="", AE_HLGT_CODE="",
             AE_SOC="Nervous system disorders", AE_SOC_CODE="10029205", START_DATE="04-AUG-2013", END_DATE="14-AUG-2013", ONGOING="No",
             SEVERITY="Severe", SERIOUS="Yes", RELATIONSHIP="Definitely related", ACTION="Drug withdrawn",
             OUTCOME="Recovered/resolved"),
        dict(SUBJECT="002", AE_NO="2", AE_TERM="cough", AE_LLT="Cough", AE_LLT_CODE="10011224", AE_PT="Cough",
             AE_PT_CODE="10011224", AE_HLT="Coughing and associated symptoms", AE_HLT_CODE="99000209",
             AE_HLGT="Respiratory disorders NEC", AE_HLGT_CODE="99000107",
             AE_SOC="Respiratory, thoracic and mediastinal disorders", AE_SOC_CODE="10038738", START_DATE="UN-NOV-2015", END_DATE="",
             ONGOING="Yes", SEVERITY="Mild", SERIOUS="No", RELATIONSHIP="Not related", ACTION="Not applicable",
             OUTCOME="Unknown"),
    ],
    "laboratory": [
        dict(SUBJECT="001", VISIT="Week 0", COLLECTION_DATE="05-AUG-2013", TEST="WBC", RESULT="5.2", UNIT="10^9/L",
             REF_LOW="3.5", REF_HIGH="9.5", NOT_DONE="No"),
        dict(SUBJECT="001", VISIT="Week 2", COLLECTION_DATE="19-AUG-2013", TEST="Anti-dsDNA", RESULT="<10",
             UNIT="IU/mL", REF_LOW="", REF_HIGH="100", NOT_DONE="No"),
    ],
    "flow_cytometry": [
        dict(SUBJECT="001", VISIT="Week 0", COLLECTION_DATE="05-AUG-2013", POPULATION="Treg", PERCENT="4.5"),
    ],
    "sledai": [
        dict(SUBJECT="001", VISIT="Week 0", ASSESSMENT_DATE="05-AUG-2013", NOT_DONE="No",
             **{c: "Absent" for c in ["SEIZURE", "PSYCHOSIS", "ORGANIC_BRAIN_SYNDROME", "VISUAL_DISTURBANCE",
                                     "CRANIAL_NERVE_DISORDER", "LUPUS_HEADACHE", "CVA", "VASCULITIS", "ARTHRITIS",
                                     "MYOSITIS", "URINARY_CASTS", "HEMATURIA", "PROTEINURIA", "PYURIA", "ALOPECIA",
                                     "MUCOSAL_ULCERS", "PLEURISY", "PERICARDITIS", "LOW_COMPLEMENT",
                                     "INCREASED_DNA_BINDING", "FEVER", "THROMBOCYTOPENIA", "LEUKOPENIA"]},
             RASH="Present"),
    ],
    "bilag": [
        dict(SUBJECT="001", VISIT="Week 0", ASSESSMENT_DATE="05-AUG-2013", NOT_DONE="No",
             **{c: "E" for c in ["CONSTITUTIONAL", "NEUROPSYCHIATRIC", "MUSCULOSKELETAL", "CARDIORESPIRATORY",
                                "GASTROINTESTINAL", "OPHTHALMIC", "RENAL", "HAEMATOLOGICAL"]},
             MUCOCUTANEOUS="B"),
    ],
    "pga": [
        dict(SUBJECT="001", VISIT="Week 0", ASSESSMENT_DATE="05-AUG-2013", NOT_DONE="No", PGA="1.5"),
    ],
    "disposition": [
        dict(SUBJECT="001", STATUS="Completed", DISPOSITION_DATE="28-OCT-2013", REASON=""),
        dict(SUBJECT="002", STATUS="Discontinued", DISPOSITION_DATE="20-SEP-2013", REASON="Adverse event"),
    ],
}


def extract_rows() -> dict[str, list[dict[str, str]]]:
    """A fresh deep copy of the rows, for tests to change."""
    return copy.deepcopy(ROWS)


def write_extract(folder: Path, rows: dict[str, list[dict[str, str]]] | None = None) -> Path:
    """Write one CSV per form (columns in forms.yaml order) into `folder`; returns the folder."""
    rows = extract_rows() if rows is None else rows
    folder.mkdir(parents=True, exist_ok=True)
    for name, form in load_forms().items():
        if name not in rows:
            continue
        frame = pd.DataFrame(rows[name], columns=list(form.columns)).fillna("")
        frame.to_csv(folder / form.file, index=False, lineterminator="\n")
    return folder
