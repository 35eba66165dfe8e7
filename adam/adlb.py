"""ADLB (BDS): laboratory results and immunophenotyping, a short template in the manner of admiral's
`ad_adlb.R`.

SDTM LB + ADSL subject variables, then the parameter (PARAMCD from `sap/specs/raw/lab_tests.yaml` by LBTESTCD
and LBSPEC, PARAM from the LBPARMCD codelist, PARCAT1 = LBCAT), AVAL = LBSTRESN, or for a result below the
lower limit of quantitation ("<10") the plan's factor x the limit (ALLOQ, BLQFL), ADT/ADY, analysis visit
windows of the plan, baseline, change, reference-range indicators and shift, ONTRTFL, ANL01FL and
traceability, all from `adam.derive`. Labels, types and codelists are in `sap/specs/adam/adlb.yaml`.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from adam.derive._common import desc, require_columns
from adam.derive.baseline import (
    derive_baseline,
    derive_change,
    derive_percent_change,
    derive_range_indicator,
    derive_shift,
    post_baseline,
)
from adam.derive.dates import derive_analysis_date, derive_study_day
from adam.derive.flags import derive_extreme_flag, derive_on_treatment_flag
from adam.derive.imputation import derive_below_limit_value
from adam.derive.merge import derive_vars_merged, sdtm_domain
from adam.derive.traceability import derive_traceability
from adam.derive.visits import derive_analysis_visit
from sap.errors import InputError, Problem
from sap.specs import load_codelists, load_lab_tests
from sap.study import Study

LB_VARIABLES = ["STUDYID", "USUBJID", "LBSEQ", "LBTESTCD", "LBCAT", "LBSPEC", "LBSTRESC", "LBSTRESN", "LBSTNRLO",
                "LBSTNRHI", "LBSTAT", "VISITNUM", "VISIT", "LBDTC"]
LB_REQUIRED = ["USUBJID", "LBSEQ", "LBTESTCD", "LBCAT", "LBSPEC", "LBSTRESC", "LBSTRESN", "LBSTNRLO", "LBSTNRHI", "LBDTC", "VISITNUM"]
ADSL_VARIABLES = ["USUBJID", "SUBJID", "SITEID", "SAFFL", "FASFL", "TRT01A", "TRTSDT", "TRTEDT"]
PARAMCD_CODELIST = "LBPARMCD"


@lru_cache(maxsize=1)
def parameter_table() -> pd.DataFrame:
    """LBTESTCD, LBSPEC -> PARAMCD (sap/specs/raw/lab_tests.yaml, labs and flow cytometry) and PARAM (the
    decode of PARAMCD in codelist LBPARMCD)."""
    tests = load_lab_tests()
    rows = [
        {"LBTESTCD": t["lbtestcd"], "LBSPEC": t["lbspec"], "PARAMCD": t["paramcd"]}
        for t in tests["laboratory"] + tests["flow_cytometry"]
    ]
    table = pd.DataFrame(rows)
    codelist = load_codelists()[PARAMCD_CODELIST]
    table["PARAM"] = table["PARAMCD"].map({term.value: term.decode for term in codelist.terms})
    return table


def derive_parameter(lb: pd.DataFrame) -> pd.DataFrame:
    """PARAMCD/PARAM by LBTESTCD and LBSPEC (admiral ad_adlb.R `derive_vars_merged_lookup` on a parameter
    lookup), PARCAT1 = LBCAT. A test without a parameter is an input error naming each record."""
    out = lb.merge(parameter_table(), on=["LBTESTCD", "LBSPEC"], how="left", validate="many_to_one")
    out.index = lb.index
    unknown = out.loc[out["PARAMCD"].isna()]
    if len(unknown):
        raise InputError([
            Problem("SDTM LB", "no ADLB parameter for this test and specimen in lab_tests.yaml", row=f"{r.USUBJID}/LBSEQ {r.LBSEQ}",
                    variable="LBTESTCD", value=f"{r.LBTESTCD}/{r.LBSPEC}")
            for r in unknown.itertuples()
        ])
    out["PARCAT1"] = lb["LBCAT"]
    return out


def indeterminate_below_limit(adlb: pd.DataFrame) -> pd.DataFrame:
    """ANRIND of a result below the LLOQ (BLQFL = Y) is what its imputed AVAL gives (every value below the
    limit lies on the same side of the range: the limit is at or below ANRLO, LOW, or ANRLO is 0 or absent
    and the limit within the range, NORMAL), except when ANRLO lies strictly between 0 and the limit: then
    the result may be low or normal and ANRIND is left missing."""
    unknown = adlb["BLQFL"].eq("Y") & adlb["ANRLO"].gt(0) & adlb["ANRLO"].lt(adlb["ALLOQ"])
    return adlb.assign(ANRIND=adlb["ANRIND"].where(~unknown))


def derive_adlb(sdtm: dict[str, pd.DataFrame], study: Study, adsl: pd.DataFrame | None = None) -> pd.DataFrame:
    """ADLB from SDTM LB and ADSL (the template; see the module docstring).

    Study decisions, all stated in the chain below: baseline = the last record with a result dated on or
    before TRTSDT (by ADT, VISITNUM, LBSEQ; a sample on the first-dose day is pre-dose, the plan's baseline
    window ends on day 1), so it can be baseline and is never on treatment; CHG/PCHG/SHIFT1 on
    post-baseline records (ADT > TRTSDT); on-treatment extends to TRTEDT + the plan's treatment-emergent
    window (30 days) so that the week-12 visit, 16 days after the last planned dose, counts; ANL01FL = per
    analysis visit, among baseline or on-treatment records with a result, the one closest to the target
    day, then the later date, then the higher LBSEQ (admiral's ad_adlb.R takes the last record instead)."""
    if adsl is None:
        raise InputError(Problem("ADLB", "ADSL is required to derive ADLB"))
    lb = sdtm_domain(sdtm, "LB", LB_REQUIRED)
    require_columns(adsl, ADSL_VARIABLES, where="ADSL")
    every_record = lambda df: pd.Series(True, index=df.index)  # noqa: E731  all samples are pre-dose on day 1
    baseline_candidate = lambda df: df["AVAL"].notna() & df["ADT"].notna() & (df["ADT"] <= df["TRTSDT"])  # noqa: E731
    analysed = lambda df: (df["ABLFL"].eq("Y") | df["ONTRTFL"].eq("Y")) & df["AVISITN"].notna() & df["AVAL"].notna()  # noqa: E731
    return (
        lb[[c for c in LB_VARIABLES if c in lb.columns]]
        .pipe(derive_parameter)
        .pipe(derive_vars_merged, dataset_add=adsl[ADSL_VARIABLES], by_vars=["USUBJID"], require_match="SDTM LB", key_vars=["LBSEQ"])
        .assign(TRTA=lambda df: df["TRT01A"], AVAL=lambda df: df["LBSTRESN"], ANRLO=lambda df: df["LBSTNRLO"],
                ANRHI=lambda df: df["LBSTNRHI"])
        .pipe(derive_below_limit_value, result_var="LBSTRESC", new_var="AVAL", limit_var="ALLOQ", flag_var="BLQFL",
              factor=study.laboratory.below_lloq_factor)
        .pipe(derive_analysis_date, dtc="LBDTC", new_var="ADT", where="LB")
        .pipe(derive_study_day, source_var="ADT", reference_var="TRTSDT", new_var="ADY")
        .pipe(derive_analysis_visit, windows=study.visits)
        .assign(AWU=lambda df: pd.Series("DAYS", index=df.index, dtype="str").where(df["AVISITN"].notna()))
        .pipe(derive_extreme_flag, by_vars=["USUBJID", "PARAMCD"], order=["ADT", "VISITNUM", "LBSEQ"], new_var="ABLFL",
              mode="last", filter_add=baseline_candidate)
        .pipe(derive_baseline, by_vars=["USUBJID", "PARAMCD"], source_var="AVAL", new_var="BASE")
        .pipe(derive_change, filter_add=post_baseline)
        .pipe(derive_percent_change, filter_add=post_baseline)
        .pipe(derive_range_indicator, source_var="AVAL", low_var="ANRLO", high_var="ANRHI", new_var="ANRIND")
        .pipe(indeterminate_below_limit)
        .pipe(derive_baseline, by_vars=["USUBJID", "PARAMCD"], source_var="ANRIND", new_var="BNRIND")
        .pipe(derive_shift, filter_add=post_baseline)
        .pipe(derive_on_treatment_flag, ref_end_date="TRTEDT", ref_end_window=study.safety.treatment_emergent_window_days,
              filter_pre_timepoint=every_record)
        .pipe(derive_extreme_flag, by_vars=["USUBJID", "PARAMCD", "AVISITN"], order=["AWTDIFF", desc("ADT"), desc("LBSEQ")],
              new_var="ANL01FL", mode="first", filter_add=analysed)
        .pipe(derive_traceability, domain="LB", source_var="LBSTRESN", seq_var="LBSEQ")
        .drop(columns=["LBSTRESN", "LBSTNRLO", "LBSTNRHI", "LBCAT"])
        .sort_values(["USUBJID", "PARAMCD", "ADT", "LBSEQ"], kind="stable")
        .reset_index(drop=True)
    )
