"""CM (Concomitant Medications): the SLE therapy at enrolment, collected as a pre-specified checklist on the
enrolment form. SDTMIG 3.4 section 6.1 (CM), assumption for pre-specified interventions: one record per
pre-specified medication with CMPRESP = Y and CMOCCUR = Y or N."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sap.study import Study
from sdtm.common import sequence_number, study_day
from sdtm.raw import DomainResult, RawExtract, sdtm_terms
from sdtm.subjects import add_subject_reference, edc_date_to_iso, split_enrolment

# enrolment Yes/No column -> CMTRT (= CMDECOD, WHO Drug ingredient name), in CMSEQ order after prednisone
CHECKLIST = {
    "HYDROXYCHLOROQUINE": "HYDROXYCHLOROQUINE",
    "MYCOPHENOLATE": "MYCOPHENOLATE MOFETIL",
    "CYCLOPHOSPHAMIDE": "CYCLOPHOSPHAMIDE",
    "AZATHIOPRINE": "AZATHIOPRINE",
    "LEFLUNOMIDE": "LEFLUNOMIDE",
    "THALIDOMIDE": "THALIDOMIDE",
    "CICLOSPORIN": "CICLOSPORIN",
    "METHOTREXATE": "METHOTREXATE",
}
PREDNISONE = "PREDNISONE"
PREDNISONE_UNIT = "mg/day"
CMCAT = "SLE THERAPY AT ENROLMENT"
CMINDC = "SYSTEMIC LUPUS ERYTHEMATOSUS"


def build_cm(raw: RawExtract, study: Study) -> DomainResult:
    """CM: per enrolled subject, one PREDNISONE record (CMOCCUR Y with CMDOSE = PREDNISONE_MGD and CMDOSU
    mg/day when the daily dose is above 0, else CMOCCUR N without dose) and one record per checklist drug
    (CMOCCUR Y for Yes, N for No); CMPRESP Y on all. CMDTC = enrolment date, CMDY against RFSTDTC; drugs
    taken are ongoing at enrolment (CMENRTPT ONGOING, CMENTPT = CMDTC). CMSEQ in checklist order."""
    enrolment, rejected = split_enrolment(raw, study)
    cmdtc = edc_date_to_iso(enrolment["ENROL_DATE"])
    prednisone_dose = enrolment["PREDNISONE_MGD"]
    on_prednisone = prednisone_dose.gt(0)
    parts = [
        pd.DataFrame(
            {
                "SUBJECT": enrolment["SUBJECT"],
                "CMDTC": cmdtc,
                "CMTRT": PREDNISONE,
                "CMOCCUR": np.where(on_prednisone, "Y", "N"),
                "CMDOSE": prednisone_dose.where(on_prednisone),
                "CMDOSU": pd.Series(PREDNISONE_UNIT, index=enrolment.index, dtype="str").where(on_prednisone, np.nan),
                "_ORDER": 0,
            }
        )
    ]
    for order, (column, drug) in enumerate(CHECKLIST.items(), start=1):
        parts.append(
            pd.DataFrame(
                {
                    "SUBJECT": enrolment["SUBJECT"],
                    "CMDTC": cmdtc,
                    "CMTRT": drug,
                    "CMOCCUR": sdtm_terms(enrolment[column], "enrolment", column),
                    "CMDOSE": np.nan,
                    "CMDOSU": np.nan,
                    "_ORDER": order,
                }
            )
        )
    cm = pd.concat(parts, ignore_index=True)
    cm["CMDOSU"] = cm["CMDOSU"].astype("str").where(cm["CMDOSU"].notna(), np.nan)
    taken = cm["CMOCCUR"].eq("Y")
    cm["STUDYID"] = study.study.studyid
    cm["DOMAIN"] = "CM"
    cm["CMDECOD"] = cm["CMTRT"]
    cm["CMCAT"] = CMCAT
    cm["CMPRESP"] = "Y"
    cm["CMINDC"] = CMINDC
    # a baseline drug taken at enrolment started before it (CORE-000892: an ongoing record needs a start reference)
    cm["CMSTRTPT"] = pd.Series("BEFORE", index=cm.index, dtype="str").where(taken, np.nan)
    cm["CMSTTPT"] = cm["CMDTC"].where(taken, np.nan)
    cm["CMENRTPT"] = pd.Series("ONGOING", index=cm.index, dtype="str").where(taken, np.nan)
    cm["CMENTPT"] = cm["CMDTC"].where(taken, np.nan)
    cm = add_subject_reference(cm, raw, study)
    cm["CMDY"] = study_day(cm["CMDTC"], cm["RFSTDTC"])
    cm["CMSEQ"] = sequence_number(cm, order=["_ORDER"])
    cm = cm.sort_values(["USUBJID", "CMSEQ"], kind="stable").reset_index(drop=True)
    columns = ["STUDYID", "DOMAIN", "USUBJID", "CMSEQ", "CMTRT", "CMDECOD", "CMCAT", "CMPRESP", "CMOCCUR",
               "CMINDC", "CMDOSE", "CMDOSU", "CMDTC", "CMDY", "CMSTRTPT", "CMSTTPT", "CMENRTPT", "CMENTPT"]
    return DomainResult(domain=cm[columns], mapped={"enrolment": len(enrolment)}, rejected=rejected)
