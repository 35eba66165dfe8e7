"""EX (Exposure): one record per IL-2 injection of the dosing log, as administered. SDTMIG 3.4 section 6.1
(EX); route, form and frequency from the plan (study.dosing), CDISC CT ROUTE C66729, FRM C66726, FREQ C71113."""

from __future__ import annotations

import pandas as pd

from sap.errors import Problem, SpecError
from sap.study import Study
from sdtm.common import sequence_number, study_day
from sdtm.raw import DomainResult, RawExtract
from sdtm.subjects import add_subject_reference, edc_date_to_iso, split_by_cutoff_and_subject

# The EDC records doses in MIU (million IU); EXDOSU is the plan's dose unit. Value in EXDOSU = MIU x factor.
MIU_IN = {"10^6 IU": 1.0, "IU": 1_000_000.0}


def build_ex(raw: RawExtract, study: Study) -> DomainResult:
    """EX from the dosing log: EXTRT the planned treatment, EXDOSE = DOSE converted from MIU to
    study.dosing.dose_unit, EXSTDTC = EXENDTC = injection date, EXSTDY/EXENDY against RFSTDTC (no day 0),
    EXSPID the collected cycle and injection, EXSEQ by date then cycle and injection. Injections after the
    data cut-off are rejected."""
    dosing_all = raw["dosing"]
    dosing, rejected = split_by_cutoff_and_subject(dosing_all, edc_date_to_iso(dosing_all["DOSE_DATE"]), "dosing", raw, study)
    unit = study.dosing.dose_unit
    if unit not in MIU_IN:
        raise SpecError(Problem("sap/study.yaml", f"dose unit cannot be converted from MIU (known: {', '.join(MIU_IN)})",
                                variable="dosing.dose_unit", value=unit))
    date = edc_date_to_iso(dosing["DOSE_DATE"])
    cycle = dosing["CYCLE"].astype("int64").astype("str")
    injection = dosing["INJECTION"].astype("int64").astype("str")
    ex = pd.DataFrame(
        {
            "SUBJECT": dosing["SUBJECT"],
            "STUDYID": study.study.studyid,
            "DOMAIN": "EX",
            "EXSPID": "CYCLE " + cycle + " INJECTION " + injection,
            "EXTRT": study.arm.treatment,
            "EXDOSE": dosing["DOSE"] * MIU_IN[unit],
            "EXDOSU": unit,
            "EXDOSFRM": study.dosing.form,
            "EXDOSFRQ": study.dosing.frequency,
            "EXROUTE": study.dosing.route,
            "EXLOC": dosing["INJECTION_SITE"].str.upper(),
            "EXSTDTC": date,
            "EXENDTC": date,
            "_CYCLE": dosing["CYCLE"],
            "_INJECTION": dosing["INJECTION"],
        }
    )
    ex = add_subject_reference(ex, raw, study)
    ex["EXSTDY"] = study_day(ex["EXSTDTC"], ex["RFSTDTC"])
    ex["EXENDY"] = study_day(ex["EXENDTC"], ex["RFSTDTC"])
    ex["EXSEQ"] = sequence_number(ex, order=["EXSTDTC", "_CYCLE", "_INJECTION"])
    ex = ex.sort_values(["USUBJID", "EXSEQ"], kind="stable").reset_index(drop=True)
    columns = ["STUDYID", "DOMAIN", "USUBJID", "EXSEQ", "EXSPID", "EXTRT", "EXDOSE", "EXDOSU", "EXDOSFRM",
               "EXDOSFRQ", "EXROUTE", "EXLOC", "EXSTDTC", "EXENDTC", "EXSTDY", "EXENDY"]
    return DomainResult(domain=ex[columns], mapped={"dosing": len(dosing)}, rejected=rejected)
