"""AE (Adverse Events): one record per collected AE, MedDRA-coded. SDTMIG 3.4 section 6.2 (AE); AESEV C66769,
AESER NY C66742, AEACN C66767, AEOUT C66768; AEREL sponsor-defined (no CDISC codelist)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sap.study import Study
from sdtm.common import sequence_number, study_day
from sdtm.raw import DomainResult, RawExtract, sdtm_terms
from sdtm.subjects import add_subject_reference, edc_date_to_iso, split_by_cutoff_and_subject

ONGOING = "ONGOING"

END_OF_STUDY = "END OF STUDY"


def build_ae(raw: RawExtract, study: Study) -> DomainResult:
    """AE from the AE form: AETERM verbatim; AELLT, AEDECOD (PT), AEHLT, AEHLGT, AEBODSYS = AESOC (primary
    SOC) from the coding, each with its MedDRA code (AELLTCD, AEPTCD, AEHLTCD, AEHLGTCD, AEBDSYCD = AESOCCD,
    SDTMIG 3.4 Expected); severity, seriousness, action, outcome upper-cased to their CT terms; AEREL sponsor terms
    (Definitely related -> RELATED). AESTDTC/AEENDTC ISO 8601 with partial dates kept partial; an ongoing
    AE has AEENRTPT ONGOING relative to AEENTPT END OF STUDY (SDTMIG 4.4.7). AESTDY/AEENDY against RFSTDTC
    (missing for partial dates); AESEQ by start date then AE number. AEs starting after the data cut-off
    (earliest possible start date later than the cut-off) are rejected."""
    ae_all = raw["adverse_events"]
    ae_raw, rejected = split_by_cutoff_and_subject(ae_all, edc_date_to_iso(ae_all["START_DATE"]), "adverse_events", raw, study)
    ongoing = ae_raw["ONGOING"].eq("Yes")
    ae = pd.DataFrame(
        {
            "SUBJECT": ae_raw["SUBJECT"],
            "STUDYID": study.study.studyid,
            "DOMAIN": "AE",
            "AESPID": ae_raw["AE_NO"].astype("int64").astype("str"),
            "AETERM": ae_raw["AE_TERM"],
            "AELLT": ae_raw["AE_LLT"],
            "AELLTCD": ae_raw["AE_LLT_CODE"],
            "AEDECOD": ae_raw["AE_PT"],
            "AEPTCD": ae_raw["AE_PT_CODE"],
            "AEHLT": ae_raw["AE_HLT"],
            "AEHLTCD": ae_raw["AE_HLT_CODE"],
            "AEHLGT": ae_raw["AE_HLGT"],
            "AEHLGTCD": ae_raw["AE_HLGT_CODE"],
            "AEBODSYS": ae_raw["AE_SOC"],
            "AEBDSYCD": ae_raw["AE_SOC_CODE"],
            "AESOC": ae_raw["AE_SOC"],
            "AESOCCD": ae_raw["AE_SOC_CODE"],
            "AESEV": ae_raw["SEVERITY"].str.upper(),
            "AESER": sdtm_terms(ae_raw["SERIOUS"], "adverse_events", "SERIOUS"),
            "AEACN": ae_raw["ACTION"].str.upper(),
            "AEREL": sdtm_terms(ae_raw["RELATIONSHIP"], "adverse_events", "RELATIONSHIP"),
            "AEOUT": ae_raw["OUTCOME"].str.upper(),
            "AESTDTC": edc_date_to_iso(ae_raw["START_DATE"]),
            "AEENDTC": edc_date_to_iso(ae_raw["END_DATE"]),
            "AEENRTPT": pd.Series(ONGOING, index=ae_raw.index, dtype="str").where(ongoing, np.nan),
            "AEENTPT": pd.Series(END_OF_STUDY, index=ae_raw.index, dtype="str").where(ongoing, np.nan),
            "_AE_NO": ae_raw["AE_NO"],
        }
    )
    ae = add_subject_reference(ae, raw, study)
    ae["AESTDY"] = study_day(ae["AESTDTC"], ae["RFSTDTC"])
    ae["AEENDY"] = study_day(ae["AEENDTC"], ae["RFSTDTC"])
    ae["AESEQ"] = sequence_number(ae, order=["AESTDTC", "_AE_NO"])
    ae = ae.sort_values(["USUBJID", "AESEQ"], kind="stable").reset_index(drop=True)
    columns = ["STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AESPID", "AETERM", "AELLT", "AELLTCD", "AEDECOD", "AEPTCD",
               "AEHLT", "AEHLTCD", "AEHLGT", "AEHLGTCD", "AEBODSYS", "AEBDSYCD", "AESOC", "AESOCCD", "AESEV", "AESER", "AEACN", "AEREL", "AEOUT", "AESTDTC", "AEENDTC",
               "AESTDY", "AEENDY", "AEENRTPT", "AEENTPT"]
    return DomainResult(domain=ae[columns], mapped={"adverse_events": len(ae_raw)}, rejected=rejected)
