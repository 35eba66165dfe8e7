"""ADLB (BDS): laboratory results and immunophenotyping, a short template in the manner of admiral's
`ad_adlb.R`.

SDTM LB + ADSL subject variables, then the parameter (PARAMCD from `sap/specs/raw/lab_tests.yaml` by LBTESTCD
and LBSPEC, PARAM from the LBPARMCD codelist, PARCAT1 = LBCAT), AVAL = LBSTRESN, ADT/ADY, analysis visit
windows of the plan, baseline, change, reference-range indicators and shift, ONTRTFL, ANL01FL and
traceability, all from `adam.derive`. Labels, types and codelists are in `sap/specs/adam/adlb.yaml`.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from adam.adsl import sdtm_domain
from adam.derive._common import require_columns
from adam.derive.baseline import (
    derive_baseline,
    derive_baseline_flag,
    derive_change,
    derive_percent_change,
    derive_range_indicator,
    derive_shift,
    post_baseline,
)
from adam.derive.dates import derive_analysis_date, derive_study_day
from adam.derive.flags import derive_analysis_record_flag, derive_on_treatment_flag
from adam.derive.traceability import derive_traceability
from adam.derive.visits import derive_analysis_visit
from sap.errors import InputError, Problem
from sap.specs import load_codelists, load_lab_tests
from sap.study import Study

LB_VARIABLES = ["STUDYID", "USUBJID", "LBSEQ", "LBTESTCD", "LBCAT", "LBSPEC", "LBSTRESC", "LBSTRESN", "LBSTNRLO",
                "LBSTNRHI", "LBSTAT", "VISITNUM", "VISIT", "LBDTC"]
LB_REQUIRED = ["USUBJID", "LBSEQ", "LBTESTCD", "LBCAT", "LBSPEC", "LBSTRESN", "LBSTNRLO", "LBSTNRHI", "LBDTC", "VISITNUM"]
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


def merge_adsl(adlb: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """LB records with the ADSL subject variables; a record of a subject absent from ADSL is an input error."""
    require_columns(adsl, ADSL_VARIABLES, where="ADSL")
    orphans = adlb.loc[~adlb["USUBJID"].isin(adsl["USUBJID"])]
    if len(orphans):
        raise InputError([Problem("SDTM LB", "subject not in ADSL", row=f"{r.USUBJID}/LBSEQ {r.LBSEQ}", variable="USUBJID", value=r.USUBJID)
                          for r in orphans.itertuples()])
    return adlb.merge(adsl[ADSL_VARIABLES], on="USUBJID", how="left", validate="many_to_one")


def derive_adlb(sdtm: dict[str, pd.DataFrame], study: Study, adsl: pd.DataFrame | None = None) -> pd.DataFrame:
    """ADLB from SDTM LB and ADSL (the template; see the module docstring).

    Study decisions: a sample on the first-dose day is pre-dose (the plan's baseline window ends on day 1),
    so it can be baseline and is never on treatment; on-treatment extends to TRTEDT + the plan's
    treatment-emergent window (30 days) so that the week-12 visit, 16 days after the last planned dose,
    counts; SHIFT1 is given on post-baseline records only."""
    if adsl is None:
        raise InputError(Problem("ADLB", "ADSL is required to derive ADLB"))
    lb = sdtm_domain(sdtm, "LB", LB_REQUIRED)
    every_record = lambda df: pd.Series(True, index=df.index)  # noqa: E731  all samples are pre-dose on day 1
    baseline_or_on_treatment = lambda df: df["ABLFL"].eq("Y") | df["ONTRTFL"].eq("Y")  # noqa: E731
    return (
        lb[[c for c in LB_VARIABLES if c in lb.columns]]
        .pipe(derive_parameter)
        .pipe(merge_adsl, adsl)
        .assign(TRTA=lambda df: df["TRT01A"], AVAL=lambda df: df["LBSTRESN"], ANRLO=lambda df: df["LBSTNRLO"],
                ANRHI=lambda df: df["LBSTNRHI"])
        .pipe(derive_analysis_date, "LBDTC", "ADT", where="LB")
        .pipe(derive_study_day, "ADT", "TRTSDT", "ADY")
        .pipe(derive_analysis_visit, study.visits)
        .assign(AWU=lambda df: pd.Series("DAYS", index=df.index, dtype="str").where(df["AVISITN"].notna()))
        .pipe(derive_baseline_flag, order=["ADT", "VISITNUM", "LBSEQ"])
        .pipe(derive_baseline)
        .pipe(derive_change)
        .pipe(derive_percent_change)
        .pipe(derive_range_indicator)
        .pipe(derive_baseline, source="ANRIND", new_var="BNRIND")
        .pipe(derive_shift, filter=post_baseline)
        .pipe(derive_on_treatment_flag, end_window=study.safety.treatment_emergent_window_days, pre_dose=every_record)
        .pipe(derive_analysis_record_flag, seq="LBSEQ", filter=baseline_or_on_treatment)
        .pipe(derive_traceability, "LB", "LBSTRESN", "LBSEQ")
        .drop(columns=["LBSTRESN", "LBSTNRLO", "LBSTNRHI", "LBCAT"])
        .sort_values(["USUBJID", "PARAMCD", "ADT", "LBSEQ"], kind="stable")
        .reset_index(drop=True)
    )
