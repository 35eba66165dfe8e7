"""Baseline and change from baseline for BDS datasets: ABLFL, BASE/BASEC, CHG, PCHG, ANRIND/BNRIND, SHIFT1.

API (pure functions; inputs are never mutated; `filter` = boolean Series, function dataset -> Series, or None):

- `derive_baseline_flag(dataset, by=("USUBJID","PARAMCD"), order=("ADT",), new_var="ABLFL", source="AVAL",
                        date="ADT", reference="TRTSDT", filter=None)`
- `derive_baseline(dataset, by=("USUBJID","PARAMCD"), source="AVAL", new_var="BASE", flag="ABLFL")`
      BASE from AVAL, BASEC from AVALC, BNRIND from ANRIND (admiral derive_var_base)
- `post_baseline(dataset, date="ADT", reference="TRTSDT") -> Series[bool]`   default filter of CHG/PCHG/SHIFT1
- `derive_change(dataset, new_var="CHG", filter=post_baseline)`
- `derive_percent_change(dataset, new_var="PCHG", filter=post_baseline)`
      CHG and PCHG exact to the inputs' decimals (integers of the common precision; `decimal_places`)
- `derive_range_indicator(dataset, source="AVAL", low="ANRLO", high="ANRHI", new_var="ANRIND",
                          signif_digits=15)`                                      admiral derive_var_anrind
- `derive_shift(dataset, from_var="BNRIND", to_var="ANRIND", new_var="SHIFT1", missing_value="NULL",
                sep=" to ", filter=None)`                                          admiral derive_var_shift

Add "BASETYPE" to `by` when a dataset carries several baseline definitions (ADaMIG 1.3 section 4.2.1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from adam.derive._common import Filter, filter_mask, require_columns
from adam.derive.flags import check_single_record, derive_extreme_flag


def derive_baseline_flag(
    dataset: pd.DataFrame,
    by: Sequence[str] = ("USUBJID", "PARAMCD"),
    order: Sequence[str] = ("ADT",),
    new_var: str = "ABLFL",
    source: str = "AVAL",
    date: str = "ADT",
    reference: str = "TRTSDT",
    filter: Filter = None,
) -> pd.DataFrame:
    """ABLFL = "Y" on the last record (by `order`) with non-missing `source` and `date` <= `reference`, per
    `by` group, among `filter` records (admiral ad_adlb.R: `restrict_derivation(derive_var_extreme_flag,
    by_vars = (USUBJID, BASETYPE, PARAMCD), order = (ADT, VISITNUM, LBSEQ), mode = "last", filter =
    !is.na(AVAL) & ADT <= TRTSDT)`). Groups without such a record have no baseline."""
    require_columns(dataset, [*by, *order, source, date, reference])
    candidates = (
        dataset[source].notna() & dataset[date].notna() & (dataset[date] <= dataset[reference]) & filter_mask(dataset, filter)
    )
    return derive_extreme_flag(dataset, by, order, new_var, mode="last", filter=candidates)


def derive_baseline(
    dataset: pd.DataFrame,
    by: Sequence[str] = ("USUBJID", "PARAMCD"),
    source: str = "AVAL",
    new_var: str = "BASE",
    flag: str = "ABLFL",
) -> pd.DataFrame:
    """Copy `source` of the baseline record (flag == "Y") to every record of its `by` group (admiral
    `derive_var_base()`): BASE from AVAL, BASEC from AVALC, BNRIND from ANRIND. More than one baseline
    record per group is an InputError (admiral stops too)."""
    by = list(by)
    require_columns(dataset, [*by, source, flag])
    check_single_record(dataset, by, flag)
    base = dataset.loc[dataset[flag].eq("Y"), [*by, source]].rename(columns={source: "_base"})
    merged = dataset[by].merge(base, on=by, how="left")
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = merged["_base"].to_numpy()
    if out[new_var].dtype == object:
        out[new_var] = out[new_var].astype(dataset[source].dtype)
    return out


def post_baseline(dataset: pd.DataFrame, date: str = "ADT", reference: str = "TRTSDT") -> pd.Series:
    """Post-baseline records: analysis date after the reference (first-dose) date. Deliberate difference:
    admiral's ad_adlb.R restricts CHG/PCHG to `AVISITN > 0` (visit based); pass that as `filter` to match."""
    return dataset[date].notna() & dataset[reference].notna() & (dataset[date] > dataset[reference])


MAX_DECIMALS = 9  # more decimals than any collected value has; beyond it a value is treated as computed


def decimal_places(values: pd.Series | np.ndarray, most: int = MAX_DECIMALS) -> np.ndarray:
    """Per value, the number of decimals of the decimal it was recorded as: the smallest k <= `most` with
    value == round(value, k) (0.68 -> 2, 171.0 -> 0, 3.25 -> 2); `most` for values with more (computed
    values such as 1/3) and 0 for missing ones. Vectorised (a loop over k only)."""
    x = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype="float64")
    places = np.full(x.shape, most, dtype="int64")
    undecided = np.isfinite(x)
    places[~undecided] = 0
    for k in range(most + 1):
        scaled = x * 10.0**k
        exact = undecided & (np.abs(scaled - np.rint(scaled)) <= 1e-6)
        places[exact] = k
        undecided &= ~exact
    return places


def _scaled_integers(value: pd.Series, base: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both operands as integers of their common precision d = the larger of their decimal places, and
    10**d: value = a / 10**d and base = b / 10**d exactly, so a - b is exact integer arithmetic. A pair
    that is not a recorded decimal (MAX_DECIMALS places) or too large for exact integers in a double keeps
    its binary values (scale 1)."""
    x = np.asarray(pd.to_numeric(value, errors="coerce"), dtype="float64")
    y = np.asarray(pd.to_numeric(base, errors="coerce"), dtype="float64")
    places = np.maximum(decimal_places(x), decimal_places(y))
    scale = 10.0 ** places
    with np.errstate(invalid="ignore"):
        representable = (places < MAX_DECIMALS) & (np.fmax(np.abs(x), np.abs(y)) * scale < 2.0**52)
    scale = np.where(representable, scale, 1.0)
    a = np.where(representable, np.rint(x * scale), x)
    b = np.where(representable, np.rint(y * scale), y)
    return a, b, scale


def derive_change(
    dataset: pd.DataFrame, new_var: str = "CHG", source: str = "AVAL", base: str = "BASE", filter: Filter = post_baseline
) -> pd.DataFrame:
    """CHG = AVAL - BASE on `filter` records (default: post-baseline), missing elsewhere (admiral
    `derive_var_chg()` inside `restrict_derivation()`, ad_adlb.R).

    Exact to the precision of the inputs (SAP: derived values keep the precision of their inputs): both
    values become integers of their common number of decimals, the integers are subtracted, and the result
    is the double nearest to the exact decimal difference (0.72 - 0.68 is 0.04 exactly, not
    0.039999999999999925), so equal changes tie and Wilcoxon ranks are those of the exact values. admiral
    subtracts binary doubles; the two agree within one unit in the last place."""
    keep = filter_mask(dataset, filter)
    a, b, scale = _scaled_integers(dataset[source], dataset[base])
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = pd.Series((a - b) / scale, index=dataset.index).where(keep)
    return out


def derive_percent_change(
    dataset: pd.DataFrame, new_var: str = "PCHG", source: str = "AVAL", base: str = "BASE", filter: Filter = post_baseline
) -> pd.DataFrame:
    """PCHG = (AVAL - BASE) / |BASE| * 100 on `filter` records (admiral `derive_var_pchg()`); missing when
    BASE is 0 (admiral: division by zero gives NA) or missing. Computed as (a - b) * 100 / |b| on the
    integers of the inputs' common precision (see `derive_change`): one correctly rounded division of exact
    integers, the double nearest to the exact ratio."""
    a, b, _ = _scaled_integers(dataset[source], dataset[base])
    keep = filter_mask(dataset, filter) & pd.Series(b != 0, index=dataset.index)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (a - b) * 100.0 / np.abs(b)
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = pd.Series(ratio, index=dataset.index).where(keep)
    return out


def signif(values: pd.Series, digits: int) -> pd.Series:
    """R's signif(): round to `digits` significant digits (removes floating-point noise before comparing)."""
    x = values.astype("float64").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(x)))
        scale = np.power(10.0, digits - 1 - magnitude)
        rounded = np.round(x * scale) / scale
    rounded = np.where((x == 0) | ~np.isfinite(x), x, rounded)
    return pd.Series(rounded, index=values.index)


def derive_range_indicator(
    dataset: pd.DataFrame,
    source: str = "AVAL",
    low: str = "ANRLO",
    high: str = "ANRHI",
    new_var: str = "ANRIND",
    signif_digits: int = 15,
) -> pd.DataFrame:
    """ANRIND by admiral `derive_var_anrind()`, all three values rounded with signif(signif_digits) first:
    NORMAL if low <= value <= high (a missing bound is open); LOW if value < low; HIGH if value > high;
    missing if the value or both bounds are missing."""
    require_columns(dataset, [source, low, high])
    value, lo, hi = (signif(pd.to_numeric(dataset[c], errors="coerce"), signif_digits) for c in (source, low, high))
    normal = value.notna() & (lo.notna() | hi.notna()) & (lo.isna() | (value >= lo)) & (hi.isna() | (value <= hi))
    indicator = pd.Series(np.nan, index=dataset.index, dtype="str")
    indicator = indicator.mask(normal, "NORMAL").mask(value < lo, "LOW").mask(value > hi, "HIGH")
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = indicator
    return out


def derive_shift(
    dataset: pd.DataFrame,
    from_var: str = "BNRIND",
    to_var: str = "ANRIND",
    new_var: str = "SHIFT1",
    missing_value: str = "NULL",
    sep: str = " to ",
    filter: Filter = None,
) -> pd.DataFrame:
    """SHIFT1 = "<from> to <to>" with a missing side shown as `missing_value` (admiral `derive_var_shift()`,
    e.g. "NORMAL to HIGH", "NULL to LOW"); missing on records outside `filter` (default: every record, as
    admiral's ad_adlb.R, which derives SHIFT1 on all records)."""
    keep = filter_mask(dataset, filter)
    text = dataset[from_var].fillna(missing_value).astype("str") + sep + dataset[to_var].fillna(missing_value).astype("str")
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = text.where(keep)
    return out
