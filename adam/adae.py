"""ADAE (OCCDS 1.1): one record per adverse event, a short template in the manner of admiral's `ad_adae.R`.

SDTM AE + ADSL subject variables, then analysis dates with admiral's partial-date imputation, study days,
duration, TRTEMFL (window from `study.safety`), severity and causality, first-occurrence flags among
treatment-emergent events, and the injection-site-reaction query (CQ01, `sap/specs/queries.yaml`). Labels,
types and codelists are in `sap/specs/adam/adae.yaml`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from adam.derive._common import require_columns
from adam.derive.categories import derive_vars_query, query_table
from adam.derive.dates import derive_analysis_date, derive_duration, derive_study_day
from adam.derive.flags import derive_occurrence_flags, derive_treatment_emergent_flag
from adam.derive.merge import derive_vars_merged, sdtm_domain
from sap.errors import InputError, Problem
from sap.specs import load_queries
from sap.study import Study

AE_VARIABLES = ["STUDYID", "USUBJID", "AESEQ", "AESPID", "AETERM", "AELLT", "AELLTCD", "AEDECOD", "AEPTCD", "AEHLT",
                "AEHLTCD", "AEHLGT", "AEHLGTCD", "AEBODSYS", "AEBDSYCD", "AESOC", "AESOCCD", "AESEV", "AESER", "AEACN", "AEREL", "AEOUT", "AESTDTC", "AEENDTC", "AEENRTPT"]
AE_REQUIRED = ["USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESEV", "AEREL", "AESTDTC", "AEENDTC"]
ADSL_VARIABLES = ["USUBJID", "SUBJID", "SITEID", "AGE", "AGEGR1", "SEX", "RACE", "SAFFL", "TRT01A", "TRTSDT", "TRTEDT", "EOSDT", "DTHDT"]

SEVERITY_ORDER = {"MILD": 1, "MODERATE": 2, "SEVERE": 3}
# Causality terms counted as related (house decision, SAP safety section); a missing causality also counts.
RELATED = ["POSSIBLY RELATED", "PROBABLY RELATED", "RELATED"]


@lru_cache(maxsize=1)
def customised_queries() -> list[dict]:
    """The customised MedDRA queries (CQ01 injection-site reaction) from `sap/specs/queries.yaml`."""
    return load_queries()


def derive_severity_and_causality(adae: pd.DataFrame) -> pd.DataFrame:
    """ASEV = AESEV, ASEVN 1/2/3 for MILD/MODERATE/SEVERE; AREL = AEREL; ARELFL = Y if AREL is one of
    `RELATED` or missing (conservative: an unassessed causality counts as related), N otherwise."""
    out = adae.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out["ASEV"] = adae["AESEV"]
    out["ASEVN"] = adae["AESEV"].map(SEVERITY_ORDER).astype("float64")
    out["AREL"] = adae["AEREL"]
    out["ARELFL"] = np.where(adae["AEREL"].isna() | adae["AEREL"].isin(RELATED), "Y", "N")
    return out


def derive_adae(sdtm: dict[str, pd.DataFrame], study: Study, adsl: pd.DataFrame | None = None) -> pd.DataFrame:
    """ADAE from SDTM AE and ADSL (the template; see the module docstring)."""
    if adsl is None:
        raise InputError(Problem("ADAE", "ADSL is required to derive ADAE"))
    ae = sdtm_domain(sdtm, "AE", AE_REQUIRED)
    require_columns(adsl, ADSL_VARIABLES, where="ADSL")
    te_only = lambda df: df["TRTEMFL"].eq("Y")  # noqa: E731  occurrence flags count treatment-emergent AEs
    return (
        ae[[c for c in AE_VARIABLES if c in ae.columns]]
        .pipe(derive_vars_merged, dataset_add=adsl[ADSL_VARIABLES], by_vars=["USUBJID"], require_match="SDTM AE", key_vars=["AESEQ"])
        .assign(TRTA=lambda df: df["TRT01A"])
        .pipe(derive_analysis_date, dtc="AESTDTC", new_var="ASTDT", flag_var="ASTDTF", highest_imputation="M",
              date_imputation="first", min_dates=["TRTSDT"], where="AE")
        .pipe(derive_analysis_date, dtc="AEENDTC", new_var="AENDT", flag_var="AENDTF", highest_imputation="M",
              date_imputation="last", max_dates=["DTHDT", "EOSDT"], where="AE")
        .pipe(derive_study_day, source_var="ASTDT", reference_var="TRTSDT", new_var="ASTDY")
        .pipe(derive_study_day, source_var="AENDT", reference_var="TRTSDT", new_var="AENDY")
        .pipe(derive_duration, start_date="ASTDT", end_date="AENDT", new_var="ADURN", new_var_unit="ADURU", unit_text="DAYS")
        .pipe(derive_treatment_emergent_flag, start_date="ASTDT", end_date="AENDT", trt_start_date="TRTSDT",
              trt_end_date="TRTEDT", end_window=study.safety.treatment_emergent_window_days)
        .pipe(derive_severity_and_causality)
        .pipe(derive_occurrence_flags, order=["ASTDT", "AESEQ"], filter_add=te_only)
        .pipe(derive_vars_query, dataset_queries=query_table(customised_queries()))
        .drop(columns=["EOSDT", "DTHDT"])
        .sort_values(["USUBJID", "AESEQ"], kind="stable")
        .reset_index(drop=True)
    )
