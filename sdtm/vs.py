"""VS (Vital Signs): height and weight collected at enrolment (the baseline visit). SDTMIG 3.4 section 6.3
(VS); VSTESTCD C66741, VSTEST C67153, units C66770."""

from __future__ import annotations

import pandas as pd

from sap.specs import load_codelists
from sap.study import Study
from sdtm.common import sequence_number, study_day
from sdtm.findings import baseline_flag
from sdtm.raw import DomainResult, RawExtract
from sdtm.subjects import add_subject_reference, edc_date_to_iso, number_text, split_enrolment

# enrolment column -> (VSTESTCD, unit); collected and standard units are the same. VSTEST is the decode of
# VSTESTCD in the codelists of sap/specs (not retyped here).
MEASUREMENTS = {
    "HEIGHT_CM": ("HEIGHT", "cm"),
    "WEIGHT_KG": ("WEIGHT", "kg"),
}


def build_vs(raw: RawExtract, study: Study) -> DomainResult:
    """VS: per enrolled subject, HEIGHT (cm) and WEIGHT (kg) at the baseline visit of the plan (VISITNUM,
    VISIT), VSDTC = enrolment date, VSDY against RFSTDTC. VSORRES is the collected number as text; VSSTRESC/
    VSSTRESN/VSSTRESU equal the collected value and unit (no conversion needed). VSSEQ height then weight."""
    enrolment, rejected = split_enrolment(raw, study)
    vsdtc = edc_date_to_iso(enrolment["ENROL_DATE"])
    baseline = study.baseline_visit
    test_names = load_codelists()["VSTESTCD"]
    parts = []
    for order, (column, (testcd, unit)) in enumerate(MEASUREMENTS.items()):  # two tests, not subjects
        value = enrolment[column]
        parts.append(
            pd.DataFrame(
                {
                    "SUBJECT": enrolment["SUBJECT"],
                    "VSTESTCD": testcd,
                    "VSTEST": test_names.decode(testcd),
                    "VSORRES": number_text(value),
                    "VSORRESU": unit,
                    "VSSTRESC": number_text(value),
                    "VSSTRESN": value.astype("float64"),
                    "VSSTRESU": unit,
                    "VSDTC": vsdtc,
                    "_ORDER": order,
                }
            )
        )
    vs = pd.concat(parts, ignore_index=True)
    vs["STUDYID"] = study.study.studyid
    vs["DOMAIN"] = "VS"
    vs["VISITNUM"] = float(baseline.visitnum)
    vs["VISIT"] = baseline.visit
    vs = add_subject_reference(vs, raw, study)
    vs["VSDY"] = study_day(vs["VSDTC"], vs["RFSTDTC"])
    vs["VSSEQ"] = sequence_number(vs, order=["_ORDER"])
    vs["VSLOBXFL"] = baseline_flag(vs, by=["USUBJID", "VSTESTCD"], result="VSSTRESC", dtc="VSDTC",
                                   first_dose="RFSTDTC", order=["VISITNUM"])
    vs = vs.sort_values(["USUBJID", "VSSEQ"], kind="stable").reset_index(drop=True)
    columns = ["STUDYID", "DOMAIN", "USUBJID", "VSSEQ", "VSTESTCD", "VSTEST", "VSORRES", "VSORRESU",
               "VSSTRESC", "VSSTRESN", "VSSTRESU", "VSLOBXFL", "VISITNUM", "VISIT", "VSDTC", "VSDY"]
    return DomainResult(domain=vs[columns], mapped={"enrolment": len(enrolment)}, rejected=rejected)
