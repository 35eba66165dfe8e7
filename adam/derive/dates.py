"""Analysis dates: ISO 8601 -> numeric date, partial-date imputation, study day, duration.

API (every function is pure: it returns a new frame and never mutates its input):

- `parse_iso_dates(values, where=...) -> Series[datetime64[s]]`
      complete ISO 8601 dates (a time part is ignored) to dates; partial or missing -> NaT.
- `impute_iso_dates(values, highest_imputation, date_imputation, min_dates, max_dates, where) -> (dates, flags)`
      the Series-level engine of `derive_analysis_date`.
- `derive_analysis_date(dataset, source, new_var, flag_var=None, highest_imputation="n",
                        date_imputation="first", min_dates=(), max_dates=(), where="dataset")`
      admiral `derive_vars_dt()`: e.g. ASTDT/ASTDTF from AESTDTC.
- `derive_study_day(dataset, source, reference, new_var)`       ADaMIG --DY, e.g. ADY, ASTDY.
- `derive_duration(dataset, start, end, new_var="ADURN", unit_var="ADURU", add_one=True)`
      admiral `derive_vars_duration()` in days.

Dates are pandas datetime64[s] (the ADaM numeric date; `sap.specs.apply_spec` casts "date" variables to the
same resolution). Text that is not ISO 8601 (or is an impossible calendar date) raises `InputError` with one
`Problem` per bad value, named by `where` and the row label.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sap.errors import InputError, Problem

DATE_RESOLUTION = "datetime64[s]"

# YYYY, YYYY-MM, YYYY-MM-DD, the last optionally followed by a time part (T...). A missing month with a known
# day ("2019---15") is not supported: it is rare and admiral imputes it like a missing month.
_ISO_DATE = r"^\d{4}(-\d{2}(-\d{2}(T.*)?)?)?$"

_IMPUTATION_LEVELS = {"n": 0, "D": 1, "M": 2, "Y": 3}


def _split_iso(values: pd.Series, where: str) -> pd.DataFrame:
    """Year/month/day parts (float, NaN when absent) of ISO 8601 text; raises on text that is not ISO 8601.
    Each distinct text is parsed once and the parts spread back (a date repeats on every record of a visit)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    parts, not_iso, impossible = _split_distinct(pd.Series(uniques, dtype=values.dtype))
    for bad_distinct, message in ((not_iso, "not an ISO 8601 date"), (impossible, "impossible calendar date")):
        bad = bad_distinct[codes]
        if bad.any():
            raise InputError(
                [Problem(where, message, row=str(idx), variable=values.name, value=val) for idx, val in values[bad].items()]
            )
    return pd.DataFrame({name: parts[name].to_numpy()[codes] for name in parts.columns}, index=values.index)


def _split_distinct(values: pd.Series) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """`_split_iso` on distinct values: the parts, and which values are not ISO 8601 / impossible dates."""
    text = values.astype("str").str.strip()
    present = values.notna() & text.ne("")
    # Validate with one regex, then read the parts by position (vectorised; str.extract is per element).
    not_iso = present & ~text.str.match(_ISO_DATE).fillna(False).astype(bool)
    present = present & ~not_iso
    length = text.str.len().where(present, 0)

    def part(start: int, stop: int, needed: int) -> pd.Series:
        # The regex guarantees digits here, so a plain cast is safe (and Arrow-fast, unlike to_numeric).
        return text.str.slice(start, stop).where(present & length.ge(needed)).astype("float64")

    out = pd.DataFrame({"year": part(0, 4, 4), "month": part(5, 7, 7), "day": part(8, 10, 10)}, index=values.index)
    # Impossible calendar dates (month 13, 30 February) are input errors, not silently missing dates.
    known_month = out["month"].notna()
    bad_month = known_month & ~out["month"].between(1, 12)
    full = out["day"].notna() & ~bad_month
    as_date = _compose(out["year"].where(full), out["month"].where(full), out["day"].where(full))
    bad_day = full & as_date.isna()
    return out, not_iso.to_numpy(), (bad_month | bad_day).to_numpy()


def _compose(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    """datetime64[s] from numeric parts; NaT where any part is missing or the date does not exist.
    Pure numpy calendar arithmetic (months since 1970, then days), so a million dates cost milliseconds."""
    ok = (year.notna() & month.notna() & day.notna()).to_numpy()
    y = year.fillna(1970).to_numpy(dtype="int64")
    m = month.fillna(1).to_numpy(dtype="int64")
    d = day.fillna(1).to_numpy(dtype="int64")
    months = ((y - 1970) * 12 + (m - 1)).astype("datetime64[M]")
    first = months.astype("datetime64[D]")
    next_first = (months + 1).astype("datetime64[D]")
    dates = first + (d - 1).astype("timedelta64[D]")
    valid = ok & (m >= 1) & (m <= 12) & (d >= 1) & (dates < next_first)
    result = np.where(valid, dates, np.datetime64("NaT")).astype(DATE_RESOLUTION)
    return pd.Series(result, index=year.index, dtype=DATE_RESOLUTION)


def parse_iso_dates(values: pd.Series, where: str = "dataset") -> pd.Series:
    """Complete ISO 8601 dates to datetime64; partial or missing dates become NaT (admiral
    `convert_dtc_to_dt()` with no imputation). The time part, if any, is ignored."""
    parts = _split_iso(values, where)
    return _compose(parts["year"], parts["month"], parts["day"]).rename(values.name)


def _month_end_day(year: pd.Series, month: pd.Series) -> pd.Series:
    """Number of days in the month (handles leap years)."""
    ok = year.notna() & month.notna()
    first = _compose(year.where(ok), month.where(ok), pd.Series(1.0, index=year.index).where(ok))
    return first.dt.days_in_month.astype("float64")


def _bound_dates(parts: pd.DataFrame, bound: str) -> pd.Series:
    """Earliest ("first") or latest ("last") date the (possibly partial) date can be; NaT for a missing year
    (stands for -inf / +inf in the callers)."""
    year, month, day = parts["year"], parts["month"], parts["day"]
    if bound == "first":
        month_filled = month.fillna(1.0)
        day_filled = day.fillna(1.0)
    else:
        month_filled = month.fillna(12.0)
        day_filled = day.fillna(_month_end_day(year, month_filled))
    return _compose(year, month_filled.where(year.notna()), day_filled.where(year.notna()))


def impute_iso_dates(
    values: pd.Series,
    highest_imputation: str = "n",
    date_imputation: str = "first",
    min_dates: Sequence[pd.Series] = (),
    max_dates: Sequence[pd.Series] = (),
    where: str = "dataset",
) -> tuple[pd.Series, pd.Series]:
    """Impute partial ISO 8601 dates with admiral `derive_vars_dt()` / `impute_dtc_dt()` semantics.

    highest_imputation: "n" none (partial -> NaT), "D" day only, "M" day and month, "Y" day, month and year.
    date_imputation: "first" (day 01, month 01), "mid" (day 15; month and day missing -> 06-30, as admiral),
    "last" (last day of the month; month 12).
    min_dates / max_dates (admiral `restrict_imputed_dtc_dt()`): for each min date that lies inside the
    range of dates the partial date could be, the imputed date is raised to it; for each max date inside that
    range the imputed date is lowered to it. Known parts are therefore never changed, and a complete date is
    never moved. A missing year (only with "Y") has an unbounded range, so it takes the min (or max) date;
    with "Y" the matching min_dates ("first") or max_dates ("last") are required, as in admiral.
    Flags (admiral `compute_dtf()`): "Y" year imputed, "M" month imputed, "D" day imputed, else missing;
    the flag describes which parts were missing, even when a min/max date moved the result.
    """
    if highest_imputation not in _IMPUTATION_LEVELS:
        raise ValueError(f"highest_imputation must be one of {sorted(_IMPUTATION_LEVELS)}, got {highest_imputation!r}")
    if date_imputation not in ("first", "mid", "last"):
        raise ValueError(f"date_imputation must be 'first', 'mid' or 'last', got {date_imputation!r}")
    if highest_imputation == "Y" and not ((date_imputation == "first" and min_dates) or (date_imputation == "last" and max_dates)):
        raise ValueError("highest_imputation='Y' needs min_dates with date_imputation='first' or max_dates with 'last' (admiral rule)")

    parts = _split_iso(values, where)
    year, month, day = parts["year"], parts["month"], parts["day"]
    level = _IMPUTATION_LEVELS[highest_imputation]
    missing_level = pd.Series(0, index=values.index)  # 0 complete, 1 day missing, 2 month missing, 3 year missing
    missing_level[day.isna()] = 1
    missing_level[month.isna()] = 2
    missing_level[year.isna()] = 3
    present = values.notna() & values.astype("str").str.strip().ne("")
    # A wholly missing value is imputed only under "Y" (admiral imputes "" like a missing year).
    imputable = missing_level.le(level) & (present | (level == 3))

    if date_imputation == "first":
        month_fill, day_fill = month.fillna(1.0), day.fillna(1.0)
    elif date_imputation == "mid":
        month_fill = month.fillna(6.0)
        day_fill = day.fillna(pd.Series(np.where(month.isna(), 30.0, 15.0), index=values.index))
    else:
        month_fill = month.fillna(12.0)
        day_fill = day.fillna(_month_end_day(year, month_fill))
    imputed = _compose(year, month_fill, day_fill)

    # Restrict by the min/max dates that fall inside the range the partial date could take.
    lower, upper = _bound_dates(parts, "first"), _bound_dates(parts, "last")
    for min_date in min_dates:
        inside = min_date.notna() & (lower.isna() | (lower <= min_date)) & (upper.isna() | (min_date <= upper))
        raise_to = inside & (imputed.isna() | (imputed < min_date))
        imputed = imputed.mask(raise_to, min_date)
    for max_date in max_dates:
        inside = max_date.notna() & (lower.isna() | (lower <= max_date)) & (upper.isna() | (max_date <= upper))
        lower_to = inside & (imputed.isna() | (imputed > max_date))
        imputed = imputed.mask(lower_to, max_date)

    dates = imputed.where(imputable).astype(DATE_RESOLUTION).rename(values.name)
    flags = pd.Series(missing_level.map({1: "D", 2: "M", 3: "Y"}), index=values.index, dtype="str")
    flags = flags.where(dates.notna() & missing_level.gt(0))
    return dates, flags


def derive_analysis_date(
    dataset: pd.DataFrame,
    source: str,
    new_var: str,
    flag_var: str | None = None,
    highest_imputation: str = "n",
    date_imputation: str = "first",
    min_dates: Sequence[str] = (),
    max_dates: Sequence[str] = (),
    where: str = "dataset",
) -> pd.DataFrame:
    """Add an analysis date (and its imputation flag) from an ISO 8601 column: admiral `derive_vars_dt()`.

    Example (admiral ad_adae.R): `derive_analysis_date(adae, "AESTDTC", "ASTDT", "ASTDTF",
    highest_imputation="M", min_dates=["TRTSDT"])`; `min_dates`/`max_dates` name date columns of `dataset`.
    See `impute_iso_dates` for the rules. The flag column is added only when `flag_var` is given.
    """
    dates, flags = impute_iso_dates(
        dataset[source],
        highest_imputation=highest_imputation,
        date_imputation=date_imputation,
        min_dates=[dataset[name] for name in min_dates],
        max_dates=[dataset[name] for name in max_dates],
        where=where,
    )
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = dates
    if flag_var:
        out[flag_var] = flags
    return out


def study_day(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """ADaMIG --DY: date - reference + 1 on or after the reference date, date - reference before it
    (there is no day 0). Missing when either date is missing. Float (missing as NaN)."""
    delta = (dates - reference).dt.days.astype("float64")
    return delta + (delta >= 0)


def derive_study_day(dataset: pd.DataFrame, source: str, reference: str, new_var: str) -> pd.DataFrame:
    """Add a study day, e.g. ADY from ADT and TRTSDT (admiral `derive_vars_dy()`; ADaMIG 1.3 --DY rule)."""
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = study_day(dataset[source], dataset[reference])
    return out


def derive_duration(
    dataset: pd.DataFrame,
    start: str,
    end: str,
    new_var: str = "ADURN",
    unit_var: str | None = "ADURU",
    add_one: bool = True,
) -> pd.DataFrame:
    """Add a duration in days between two dates: admiral `derive_vars_duration(in_unit="days",
    out_unit="days", add_one=TRUE)`: end - start + 1 (the + 1 also applies to negative durations, as in
    admiral). The unit column holds "DAYS" where the duration is not missing."""
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    days = (dataset[end] - dataset[start]).dt.days.astype("float64")
    out[new_var] = days + 1 if add_one else days
    if unit_var:
        out[unit_var] = pd.Series("DAYS", index=dataset.index, dtype="str").where(out[new_var].notna())
    return out
