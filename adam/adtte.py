"""ADTTE: time to first SRI-4 response (BDS time-to-event), one record per FAS subject, a short template in
the manner of admiral's `ad_adtte.R`.

Rules (SAP section 8.6 "Time to first SRI-4 response"; spec sap/specs/adam/adtte.yaml):
- origin STARTDT = TRTSDT (study day 1, first dose);
- event (CNSR 0): the first post-baseline ADRS SRI-k record (k = the smallest of endpoints.sri_thresholds,
  i.e. SRI-4) with AVALC "Y" observed from data (DTYPE missing); ADT = its ADT (the date of the latest of
  the three component assessments);
- censoring (CNSR 1) of a FAS subject without a response: at the ADT of the last observed SRI-k record
  (the last adequate assessment: every component assessed, DTYPE missing), so that discontinuation and
  missed visits censor at the last assessment; a FAS subject without any observed SRI-k record is censored
  at STARTDT (AVAL 1 day);
- AVAL = ADT - STARTDT + 1 days (admiral `derive_vars_duration()`), AVALU "DAYS".
Imputed (NRI) records never count as events or censoring dates: they carry no assessment date.
"""

from __future__ import annotations

import pandas as pd

from adam.derive._common import require_columns
from adam.derive.dates import derive_duration, derive_study_day
from adam.derive.params import CensorSource, EventSource, derive_param_tte
from sap.errors import InputError, Problem
from sap.specs import apply_spec, load_codelists
from sap.study import Study

ADSL_COLUMNS = ["STUDYID", "USUBJID", "TRT01A", "FASFL", "TRTSDT"]
ADRS_COLUMNS = ["STUDYID", "USUBJID", "PARAMCD", "AVALC", "ADT", "AVISITN", "DTYPE", "ASEQ"]
PARAMCD_CODELIST = "TTEPARMCD"


def response_paramcd(study: Study) -> str:
    """The response parameter of the plan's primary endpoint: SRI-k with k = the smallest SRI threshold."""
    return f"SRI{min(study.endpoints.sri_thresholds)}"


def derive_adtte(sdtm: dict, study: Study, adsl: pd.DataFrame, adrs: pd.DataFrame | None = None) -> pd.DataFrame:
    """ADTTE from ADSL and ADRS (template; rules in the module docstring). `sdtm` is accepted for the common
    stage signature; ADTTE reads no SDTM domain."""
    if adrs is None:
        raise InputError(Problem("ADTTE", "derive_adtte needs the ADRS dataset (adrs=...)"))
    require_columns(adsl, ADSL_COLUMNS, "ADSL")
    require_columns(adrs, ADRS_COLUMNS, "ADRS")
    response = response_paramcd(study)
    paramcd = f"TT{response}"
    param = {t.value: t.decode for t in load_codelists()[PARAMCD_CODELIST].terms}[paramcd]
    fas = adsl.loc[adsl["FASFL"].eq("Y"), ADSL_COLUMNS].astype({"TRTSDT": "datetime64[s]"})
    observed = adrs.loc[adrs["PARAMCD"].eq(response) & adrs["DTYPE"].isna() & adrs["ADT"].notna()]
    observed = observed.astype({"ADT": "datetime64[s]"})
    source = {"EVNTDESC": f"{response} RESPONSE", "SRCDOM": "ADRS", "SRCVAR": "ADT", "SRCSEQ": lambda d: d["ASEQ"].astype("float64")}
    event = EventSource("adrs", "ADT", filter=lambda d: d["AVALC"].eq("Y"), order=["AVISITN"],
                        set_values_to={**source, "CNSDTDSC": lambda d: pd.Series(pd.NA, index=d.index, dtype="str")})
    last_assessment = CensorSource("adrs", "ADT", order=["AVISITN"],
                                   set_values_to={**source, "EVNTDESC": "NO RESPONSE", "CNSDTDSC": f"LAST {response} ASSESSMENT"})
    no_assessment = CensorSource("adsl", "TRTSDT", set_values_to={
        "EVNTDESC": "NO RESPONSE", "CNSDTDSC": f"NO POST-BASELINE {response} ASSESSMENT", "SRCDOM": "ADSL", "SRCVAR": "TRTSDT",
        "SRCSEQ": lambda d: pd.Series(float("nan"), index=d.index)})
    adtte = (
        derive_param_tte(dataset_adsl=fas, source_datasets={"adsl": fas, "adrs": observed}, start_date="TRTSDT",
                         event_conditions=[event], censor_conditions=[no_assessment, last_assessment],
                         set_values_to={"PARAMCD": paramcd, "PARAM": param})
        .merge(fas[["USUBJID", "TRT01A", "FASFL"]].rename(columns={"TRT01A": "TRTA"}), on="USUBJID", how="left")
        .pipe(derive_duration, start_date="STARTDT", end_date="ADT", new_var="AVAL", new_var_unit="AVALU", unit_text="DAYS")
        .pipe(derive_study_day, source_var="ADT", reference_var="STARTDT", new_var="ADY")
        .sort_values(["USUBJID", "PARAMCD"], kind="stable")
        .reset_index(drop=True)
    )
    return apply_spec(adtte, "adtte")
