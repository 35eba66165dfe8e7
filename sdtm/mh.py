"""MH (Medical History): the SLE diagnosis of each enrolled subject. SDTMIG 3.4 section 6.2 (MH)."""

from __future__ import annotations

import pandas as pd

from sap.study import Study
from sdtm.common import sequence_number, study_day
from sdtm.raw import DomainResult, RawExtract
from sdtm.subjects import add_subject_reference, edc_date_to_iso, split_enrolment

SLE_TERM = "SYSTEMIC LUPUS ERYTHEMATOSUS"
SLE_PT = "Systemic lupus erythematosus"  # MedDRA preferred term
SLE_SOC = "Musculoskeletal and connective tissue disorders"  # MedDRA primary SOC of the PT


def build_mh(raw: RawExtract, study: Study) -> DomainResult:
    """MH: one record per enrolled subject for the study condition. MHSTDTC = SLE_DIAG_DATE in ISO 8601 with
    partial dates kept partial (UN-AUG-2010 -> 2010-08, UN-UNK-2010 -> 2010); MHDTC = enrolment date with
    MHDY against RFSTDTC; the disease is ongoing at enrolment (MHENRTPT ONGOING, MHENTPT = MHDTC)."""
    enrolment, rejected = split_enrolment(raw, study)
    mhdtc = edc_date_to_iso(enrolment["ENROL_DATE"])
    mh = pd.DataFrame(
        {
            "SUBJECT": enrolment["SUBJECT"],
            "STUDYID": study.study.studyid,
            "DOMAIN": "MH",
            "MHTERM": SLE_TERM,
            "MHDECOD": SLE_PT,
            "MHBODSYS": SLE_SOC,
            "MHSTDTC": edc_date_to_iso(enrolment["SLE_DIAG_DATE"]),
            "MHDTC": mhdtc,
            "MHENRTPT": "ONGOING",
            "MHENTPT": mhdtc,
        }
    )
    mh = add_subject_reference(mh, raw, study)
    mh["MHDY"] = study_day(mh["MHDTC"], mh["RFSTDTC"])
    mh["MHSTDY"] = study_day(mh["MHSTDTC"], mh["RFSTDTC"])
    mh["MHSEQ"] = sequence_number(mh)
    mh = mh.sort_values(["USUBJID", "MHSEQ"], kind="stable").reset_index(drop=True)
    columns = ["STUDYID", "DOMAIN", "USUBJID", "MHSEQ", "MHTERM", "MHDECOD", "MHBODSYS", "MHDTC", "MHSTDTC",
               "MHDY", "MHSTDY", "MHENRTPT", "MHENTPT"]
    return DomainResult(domain=mh[columns], mapped={"enrolment": len(enrolment)}, rejected=rejected)
