"""Baseline and change from baseline for BDS datasets: BASE/BASEC, CHG, PCHG, ANRIND/BNRIND, SHIFT1.

API (pure functions; inputs are never mutated; keyword-only arguments after `dataset`):

- `derive_baseline(dataset, *, by_vars=("USUBJID","PARAMCD"), source_var="AVAL", new_var="BASE",
                   flag_var="ABLFL")`                       admiral derive_var_base (BASE, BASEC, BNRIND)
- `post_baseline(dataset, date="ADT", reference="TRTSDT") -> Series[bool]`   a usual CHG/PCHG/SHIFT1 filter
- `derive_change(dataset, *, new_var="CHG", filter_add=None)`           admiral derive_var_chg
- `derive_percent_change(dataset, *, new_var="PCHG", filter_add=None)`  admiral derive_var_pchg
      CHG and PCHG exact to the inputs' decimals (integers of the common precision; `decimal_places`)
- `derive_range_indicator(dataset, *, source_var="AVAL", low_var="ANRLO", high_var="ANRHI",
                          new_var="ANRIND", signif_digits=15, use_a1hia1lo=False, terms=None,
                          missing_value=None)`                         admiral derive_var_anrind
- `derive_shift(dataset, *, from_var="BNRIND", to_var="ANRIND", new_var="SHIFT1", missing_value="NULL",
                sep=" to ", filter_add=None)`                        admiral derive_var_shift

The baseline record flag (ABLFL) is a record selection: `flags.derive_extreme_flag(mode="last",
filter_add=<the study's baseline rule>)`, written in the template (admiral ad_adlb.R does the same with
`restrict_derivation(derive_var_extreme_flag, ...)`). Add "BASETYPE" to `by_vars` when a dataset carries
several baseline definitions (ADaMIG 1.3 section 4.2.1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from adam.derive._common import (
    ArgumentError,
    Filter,
    check_choice,
    check_columns,
    check_dataset,
    check_filter,
    check_new_vars,
    check_number,
    check_var,
    check_vars,
    filter_mask,
)
from adam.derive.flags import check_single_record
from sap.errors import Problem


def derive_baseline(
    dataset: pd.DataFrame,
    *,
    by_vars: Sequence[str] = ("USUBJID", "PARAMCD"),
    source_var: str = "AVAL",
    new_var: str = "BASE",
    flag_var: str = "ABLFL",
    overwrite: bool = False,
) -> pd.DataFrame:
    """Copy `source_var` of the baseline record (`flag_var` == "Y") to every record of its `by_vars` group
    (admiral `derive_var_base()`): BASE from AVAL, BASEC from AVALC, BNRIND from ANRIND. More than one
    baseline record per group is an InputError (admiral stops too).

    >>> import pandas as pd
    >>> lb = pd.DataFrame({"USUBJID": "1", "PARAMCD": "ALT", "AVAL": [30.0, 45.0], "ABLFL": ["Y", None]})
    >>> list(derive_baseline(lb)["BASE"])
    [30.0, 30.0]
    """
    fn = "derive_baseline"
    check_dataset(fn, "dataset", dataset)
    by_vars = check_vars(fn, "by_vars", by_vars)
    check_columns(fn, "by_vars", dataset, by_vars)
    check_columns(fn, "source_var", dataset, [check_var(fn, "source_var", source_var)])
    check_columns(fn, "flag_var", dataset, [check_var(fn, "flag_var", flag_var)])
    check_new_vars(fn, dataset, [check_var(fn, "new_var", new_var)], overwrite)
    check_single_record(dataset, by_vars, flag_var)
    base = dataset.loc[dataset[flag_var].eq("Y"), [*by_vars, source_var]].rename(columns={source_var: "_base"})
    merged = dataset[by_vars].merge(base, on=by_vars, how="left")
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = merged["_base"].to_numpy()
    if out[new_var].dtype == object:
        out[new_var] = out[new_var].astype(dataset[source_var].dtype)
    return out


def post_baseline(dataset: pd.DataFrame, date: str = "ADT", reference: str = "TRTSDT") -> pd.Series:
    """Post-baseline records: analysis date after the reference (first-dose) date. A filter for
    CHG/PCHG/SHIFT1 that a template may pass; admiral's ad_adlb.R uses `AVISITN > 0` (visit based)."""
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
    dataset: pd.DataFrame,
    *,
    new_var: str = "CHG",
    source_var: str = "AVAL",
    base_var: str = "BASE",
    filter_add: Filter = None,
    overwrite: bool = False,
) -> pd.DataFrame:
    """CHG = AVAL - BASE on the `filter_add` records (default: every record, as admiral
    `derive_var_chg()`), missing elsewhere (admiral ad_adlb.R restricts it with `restrict_derivation()`).

    Exact to the precision of the inputs (SAP: derived values keep the precision of their inputs): both
    values become integers of their common number of decimals, the integers are subtracted, and the result
    is the double nearest to the exact decimal difference (0.72 - 0.68 is 0.04 exactly, not
    0.039999999999999925), so equal changes tie and Wilcoxon ranks are those of the exact values. admiral
    subtracts binary doubles; the two agree within one unit in the last place.

    >>> import pandas as pd
    >>> d = pd.DataFrame({"AVAL": [30.0, 45.0], "BASE": [30.0, 30.0], "ABLFL": ["Y", None]})
    >>> list(derive_change(d, filter_add=lambda x: x["ABLFL"].isna())["CHG"].fillna(-1))
    [-1.0, 15.0]
    """
    fn = "derive_change"
    check_dataset(fn, "dataset", dataset, [source_var, base_var])
    check_new_vars(fn, dataset, [check_var(fn, "new_var", new_var)], overwrite)
    keep = filter_mask(dataset, check_filter(fn, "filter_add", filter_add))
    a, b, scale = _scaled_integers(dataset[source_var], dataset[base_var])
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = pd.Series((a - b) / scale, index=dataset.index).where(keep)
    return out


def derive_percent_change(
    dataset: pd.DataFrame,
    *,
    new_var: str = "PCHG",
    source_var: str = "AVAL",
    base_var: str = "BASE",
    filter_add: Filter = None,
    overwrite: bool = False,
) -> pd.DataFrame:
    """PCHG = (AVAL - BASE) / |BASE| * 100 on the `filter_add` records (admiral `derive_var_pchg()`);
    missing when BASE is 0 (admiral: division by zero gives NA) or missing. Computed as (a - b) * 100 / |b|
    on the integers of the inputs' common precision (see `derive_change`): one correctly rounded division of
    exact integers, the double nearest to the exact ratio.

    >>> import pandas as pd
    >>> d = pd.DataFrame({"AVAL": [45.0, 5.0], "BASE": [30.0, 0.0]})
    >>> list(derive_percent_change(d)["PCHG"].fillna(-1))
    [50.0, -1.0]
    """
    fn = "derive_percent_change"
    check_dataset(fn, "dataset", dataset, [source_var, base_var])
    check_new_vars(fn, dataset, [check_var(fn, "new_var", new_var)], overwrite)
    a, b, _ = _scaled_integers(dataset[source_var], dataset[base_var])
    keep = filter_mask(dataset, check_filter(fn, "filter_add", filter_add)) & pd.Series(b != 0, index=dataset.index)
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


RANGE_TERMS = {"LOW": "LOW", "NORMAL": "NORMAL", "HIGH": "HIGH", "LOW LOW": "LOW LOW", "HIGH HIGH": "HIGH HIGH"}


def derive_range_indicator(
    dataset: pd.DataFrame,
    *,
    source_var: str = "AVAL",
    low_var: str = "ANRLO",
    high_var: str = "ANRHI",
    new_var: str = "ANRIND",
    signif_digits: int = 15,
    use_a1hia1lo: bool = False,
    a1lo_var: str = "A1LO",
    a1hi_var: str = "A1HI",
    terms: Mapping[str, str] | None = None,
    missing_value: str | None = None,
    missing_bound: str = "open",
    overwrite: bool = False,
) -> pd.DataFrame:
    """ANRIND by admiral `derive_var_anrind()`, every value rounded with signif(signif_digits) first:
    NORMAL if low <= value <= high (a missing bound is open); LOW if value < low; HIGH if value > high;
    with `use_a1hia1lo` a second tier: LOW LOW if value < A1LO, HIGH HIGH if value > A1HI (admiral).
    `terms` renames the five results (e.g. {"LOW": "L", "NORMAL": "N", "HIGH": "H"}, CDISC Pilot 01);
    a result missing from `terms` keeps its admiral name. A missing value, or both bounds missing, gives
    missing, or `missing_value` for a missing value (deliberate addition: SAS compares a missing value as
    lower than any number, so a SAS rule "LOW if AVAL < LLN" makes a missing result LOW).
    `missing_bound="open"` (admiral): a missing bound sets no limit. `"lowest"` (deliberate addition, SAS
    semantics): a missing bound is lower than every number, so no value is below a missing low bound and
    every value is above a missing high bound (HIGH); NORMAL then needs the value within the present bounds
    and a present high bound (CDISC Pilot 01: "if AVAL > 1.5 * LBSTNRHI then H" gives H when there is no
    range).

    >>> import pandas as pd
    >>> lb = pd.DataFrame({"AVAL": [1.0, 5.0, 12.0, 30.0, None], "ANRLO": 4.0, "ANRHI": 10.0, "A1LO": 2.0, "A1HI": 20.0})
    >>> list(derive_range_indicator(lb, use_a1hia1lo=True)["ANRIND"].fillna("-"))
    ['LOW LOW', 'NORMAL', 'HIGH', 'HIGH HIGH', '-']
    >>> list(derive_range_indicator(lb, terms={"LOW": "L", "NORMAL": "N", "HIGH": "H"}, missing_value="L")["ANRIND"])
    ['L', 'N', 'H', 'H', 'L']
    """
    fn = "derive_range_indicator"
    needed = [source_var, low_var, high_var] + ([a1lo_var, a1hi_var] if use_a1hia1lo else [])
    check_dataset(fn, "dataset", dataset, needed)
    check_number(fn, "signif_digits", signif_digits, minimum=1, integer=True)
    names = dict(RANGE_TERMS)
    unknown = sorted(set(terms or {}) - set(RANGE_TERMS))
    if unknown:
        raise ArgumentError(Problem(f"{fn}()", f"argument terms: keys must be among {', '.join(RANGE_TERMS)}", value=", ".join(unknown)))
    names.update(terms or {})
    check_new_vars(fn, dataset, [check_var(fn, "new_var", new_var)], overwrite)
    value, lo, hi = (signif(pd.to_numeric(dataset[c], errors="coerce"), signif_digits) for c in (source_var, low_var, high_var))
    check_choice(fn, "missing_bound", missing_bound, ["open", "lowest"])
    normal = value.notna() & (lo.notna() | hi.notna()) & (lo.isna() | (value >= lo)) & (hi.isna() | (value <= hi))
    low, high = value < lo, value > hi
    if missing_bound == "lowest":
        high = value.notna() & (hi.isna() | (value > hi))
        normal = value.notna() & ~low & ~high
    indicator = pd.Series(np.nan, index=dataset.index, dtype="str")
    if use_a1hia1lo:
        a1lo, a1hi = (signif(pd.to_numeric(dataset[c], errors="coerce"), signif_digits) for c in (a1lo_var, a1hi_var))
        indicator = indicator.mask(low & (value < a1lo), names["LOW LOW"]).mask(low & ~(value < a1lo), names["LOW"])
        indicator = indicator.mask(high & (value > a1hi), names["HIGH HIGH"]).mask(high & ~(value > a1hi), names["HIGH"])
    else:
        indicator = indicator.mask(low, names["LOW"]).mask(high, names["HIGH"])
    indicator = indicator.mask(normal, names["NORMAL"])
    if missing_value is not None:
        indicator = indicator.mask(value.isna(), missing_value)
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = indicator
    return out


def derive_shift(
    dataset: pd.DataFrame,
    *,
    from_var: str = "BNRIND",
    to_var: str = "ANRIND",
    new_var: str = "SHIFT1",
    missing_value: str = "NULL",
    sep: str = " to ",
    filter_add: Filter = None,
    overwrite: bool = False,
) -> pd.DataFrame:
    """SHIFT1 = "<from> to <to>" with a missing side shown as `missing_value` (admiral `derive_var_shift()`,
    e.g. "NORMAL to HIGH", "NULL to LOW"); missing on records outside `filter_add` (default: every record,
    as admiral's ad_adlb.R, which derives SHIFT1 on all records).

    >>> import pandas as pd
    >>> d = pd.DataFrame({"BNRIND": ["NORMAL", None], "ANRIND": ["HIGH", "LOW"]})
    >>> list(derive_shift(d)["SHIFT1"])
    ['NORMAL to HIGH', 'NULL to LOW']
    """
    fn = "derive_shift"
    check_dataset(fn, "dataset", dataset, [from_var, to_var])
    check_new_vars(fn, dataset, [check_var(fn, "new_var", new_var)], overwrite)
    keep = filter_mask(dataset, check_filter(fn, "filter_add", filter_add))
    text = dataset[from_var].fillna(missing_value).astype("str") + sep + dataset[to_var].fillna(missing_value).astype("str")
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = text.where(keep)
    return out
