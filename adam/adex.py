"""ADEX (BDS): one record per injection (SDTM EX), the exposure records behind ADSL's treatment dates,
injection count and cumulative dose, for the per-injection listing 16.2.5. A short template in the manner
of admiral's `ad_adex.R` (its per-administration part; the summary parameters are ADSL's TRTDURD, INJNUM,
CUMDOSE here).

PARAMCD DOSE (codelist EXPARMCD), AVAL = EXDOSE, ADT = EXSTDTC as a date, ADY from TRTSDT, the EX identifiers
carried (EXSEQ, EXSPID "CYCLE c INJECTION i", EXTRT, EXDOSU, EXROUTE, EXLOC, EPOCH, EXSTDTC) and traceability
to EX. Labels, types and codelists: sap/specs/adam/adex.yaml.
"""

from __future__ import annotations

import pandas as pd

from adam.derive._common import require_columns
from adam.derive.dates import derive_analysis_date, derive_study_day
from adam.derive.merge import derive_vars_merged, sdtm_domain
from adam.derive.traceability import derive_traceability
from sap.errors import InputError, Problem
from sap.specs import load_codelists
from sap.study import Study

EX_VARIABLES = ["STUDYID", "USUBJID", "EXSEQ", "EXSPID", "EXTRT", "EXDOSE", "EXDOSU", "EXROUTE", "EXLOC", "EPOCH",
                "EXSTDTC"]
ADSL_VARIABLES = ["USUBJID", "SUBJID", "SITEID", "SAFFL", "TRT01A", "TRTSDT", "TRTEDT"]
PARAMCD = "DOSE"
PARAMCD_CODELIST = "EXPARMCD"


def derive_adex(sdtm: dict[str, pd.DataFrame], study: Study, adsl: pd.DataFrame | None = None) -> pd.DataFrame:
    """ADEX from SDTM EX and ADSL (the template; see the module docstring)."""
    if adsl is None:
        raise InputError(Problem("ADEX", "ADSL is required to derive ADEX"))
    ex = sdtm_domain(sdtm, "EX", EX_VARIABLES)
    require_columns(adsl, ADSL_VARIABLES, where="ADSL")
    param = load_codelists()[PARAMCD_CODELIST].decode(PARAMCD)
    return (
        ex[EX_VARIABLES]
        .pipe(derive_vars_merged, dataset_add=adsl[ADSL_VARIABLES], by_vars=["USUBJID"], require_match="SDTM EX",
              key_vars=["EXSEQ"])
        .assign(TRTA=lambda df: df["TRT01A"], PARAMCD=PARAMCD, PARAM=param, AVAL=lambda df: df["EXDOSE"])
        .pipe(derive_analysis_date, dtc="EXSTDTC", new_var="ADT", where="EX")
        .pipe(derive_study_day, source_var="ADT", reference_var="TRTSDT", new_var="ADY")
        .pipe(derive_traceability, domain="EX", source_var="EXDOSE", seq_var="EXSEQ")
        .drop(columns=["EXDOSE"])
        .sort_values(["USUBJID", "ADT", "EXSEQ"], kind="stable")
        .reset_index(drop=True)
    )
