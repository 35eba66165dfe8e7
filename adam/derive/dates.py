"""Analysis dates: ISO 8601 -> numeric date or datetime, partial-date imputation, study day, duration.

API (every function is pure: it returns a new frame and never mutates its input; arguments after `dataset`
are keyword-only, see `adam.derive._common` for the vocabulary):

- `parse_iso_dates(values, where=...) -> Series[datetime64[s]]`
      complete ISO 8601 dates (a time part is ignored) to dates; partial or missing -> NaT.
- `impute_iso_dates(values, highest_imputation, date_imputation, min_dates, max_dates, where) -> (dates, flags)`
      the Series-level engine of `derive_analysis_date` (admiral `impute_dtc_dt()` + `compute_dtf()`).
- `impute_iso_datetimes(values, highest_imputation, date_imputation, time_imputation, ...) -> (dtm, dtf, tmf)`
      the same for datetimes (admiral `impute_dtc_dtm()`, `compute_tmf()`).
- `derive_analysis_date(dataset, *, dtc, new_var, flag_var=None, highest_imputation="n", ...)`
      admiral `derive_vars_dt()`: e.g. ASTDT/ASTDTF from AESTDTC.
- `derive_analysis_datetime(dataset, *, dtc, new_var, date_flag_var=None, time_flag_var=None, ...)`
      admiral `derive_vars_dtm()`: e.g. EXSTDTM/EXSTDTF/EXSTTMF from EXSTDTC.
- `derive_study_day(dataset, *, source_var, reference_var, new_var)`      admiral `derive_vars_dy()`.
- `derive_duration(dataset, *, start_date, end_date, new_var, new_var_unit=None, in_unit="days",
                   out_unit="DAYS", floor_in=True, add_one=True, trunc_out=False, unit_text=None)`
      admiral `derive_vars_duration()`.

Dates are pandas datetime64[s] (the ADaM numeric date; `sap.specs.apply_spec` casts "date" variables to the
same resolution). Text that is not ISO 8601 (or is an impossible calendar date) raises `InputError` with one
`Problem` per bad value, named by `where` and the row label.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from adam.derive._common import check_bool, check_choice, check_columns, check_dataset, check_new_vars, check_var
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


_TIME = r"^(\d{2})(?::(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$"
# admiral's highest_imputation levels for datetimes, lowest first: none, seconds, minutes, hours, then the date
# levels of `impute_iso_dates`.
_DTM_LEVELS = {"n": 0, "s": 1, "m": 2, "h": 3, "D": 4, "M": 5, "Y": 6}


def impute_iso_datetimes(
    values: pd.Series,
    highest_imputation: str = "h",
    date_imputation: str = "first",
    time_imputation: str = "first",
    min_dates: Sequence[pd.Series] = (),
    max_dates: Sequence[pd.Series] = (),
    where: str = "dataset",
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Impute partial ISO 8601 datetimes with admiral `derive_vars_dtm()` semantics; returns the datetimes
    (datetime64[s]), the date imputation flags (--DTF) and the time imputation flags (--TMF).

    highest_imputation: "n", "s", "m", "h" (time parts only; the date must be complete), "D", "M", "Y" (the
    date part as in `impute_iso_dates`, the whole time imputed). time_imputation "first" fills 00:00:00,
    "last" 23:59:59. TMF (admiral `compute_tmf()`): "H" if the hour was imputed, else "M" minutes, else "S"
    seconds (so "2021-03-05T10:30" is flagged "S"). A missing date part imputes the whole time ("H").
    min_dates/max_dates restrict the date part (see `impute_iso_dates`). Deliberate difference: min/max are
    compared as dates, not datetimes (admiral compares datetimes when given them)."""
    fn = "impute_iso_datetimes"
    check_choice(fn, "highest_imputation", highest_imputation, list(_DTM_LEVELS))
    check_choice(fn, "time_imputation", time_imputation, ["first", "last"])
    level = _DTM_LEVELS[highest_imputation]
    date_level = {4: "D", 5: "M", 6: "Y"}.get(level, "n")
    text = values.astype("str").str.strip()
    has_time = values.notna() & text.str.contains("T", regex=False).fillna(False)
    date_text = text.str.split("T", n=1).str[0].where(values.notna()).astype("str")
    time_text = text.str.split("T", n=1).str[1].where(has_time).astype("str")
    dates, dtf = impute_iso_dates(date_text.rename(values.name), date_level, date_imputation, min_dates, max_dates, where)
    parts = time_text.str.extract(_TIME)
    bad = time_text.notna() & time_text.ne("") & parts[0].isna()
    if bad.any():
        raise InputError([Problem(where, "not an ISO 8601 time", row=str(i), variable=values.name, value=v) for i, v in values[bad].items()])
    hour, minute, second = (pd.to_numeric(parts[i], errors="coerce") for i in range(3))
    date_imputed = dtf.notna()
    hour_missing = hour.isna() | date_imputed
    minute_missing = minute.isna() | hour_missing
    second_missing = second.isna() | minute_missing
    needed = np.select([hour_missing, minute_missing, second_missing], [3, 2, 1], 0)
    allowed = pd.Series(needed <= level, index=values.index) | date_imputed
    fill = (0.0, 0.0, 0.0) if time_imputation == "first" else (23.0, 59.0, 59.0)
    h = hour.where(~hour_missing, fill[0])
    m = minute.where(~minute_missing, fill[1])
    s = second.where(~second_missing, fill[2])
    seconds = (h * 3600 + m * 60 + s).to_numpy()
    stamp = dates.to_numpy().astype("datetime64[s]") + np.nan_to_num(seconds).astype("int64").astype("timedelta64[s]")
    result = pd.Series(stamp, index=values.index, dtype=DATE_RESOLUTION).where(dates.notna() & allowed).rename(values.name)
    tmf = pd.Series(np.select([hour_missing, minute_missing, second_missing], ["H", "M", "S"], ""), index=values.index, dtype="str")
    tmf = tmf.where(result.notna() & tmf.ne(""))
    return result, dtf.where(result.notna()), tmf


def derive_analysis_date(
    dataset: pd.DataFrame,
    *,
    dtc: str,
    new_var: str,
    flag_var: str | None = None,
    highest_imputation: str = "n",
    date_imputation: str = "first",
    min_dates: Sequence[str] = (),
    max_dates: Sequence[str] = (),
    where: str = "dataset",
    overwrite: bool = False,
) -> pd.DataFrame:
    """Add an analysis date (and its imputation flag) from an ISO 8601 column: admiral `derive_vars_dt()`.

    Example (admiral ad_adae.R): `derive_analysis_date(adae, dtc="AESTDTC", new_var="ASTDT",
    flag_var="ASTDTF", highest_imputation="M", min_dates=["TRTSDT"])`; `min_dates`/`max_dates` name date
    columns of `dataset`. See `impute_iso_dates` for the rules. The flag column is added only when
    `flag_var` is given (admiral adds it unless `flag_imputation = "none"`).

    >>> import pandas as pd
    >>> ae = pd.DataFrame({"AESTDTC": ["2021-03-05", "2021-03", None], "TRTSDT": pd.to_datetime(["2021-03-01"] * 3)})
    >>> out = derive_analysis_date(ae, dtc="AESTDTC", new_var="ASTDT", flag_var="ASTDTF", highest_imputation="M")
    >>> [str(d.date()) if pd.notna(d) else None for d in out["ASTDT"]], list(out["ASTDTF"].fillna("-"))
    (['2021-03-05', '2021-03-01', None], ['-', 'D', '-'])
    """
    fn = "derive_analysis_date"
    check_dataset(fn, "dataset", dataset)
    check_var(fn, "dtc", dtc)
    check_var(fn, "new_var", new_var)
    check_var(fn, "flag_var", flag_var, optional=True)
    check_columns(fn, "dtc", dataset, [dtc])
    check_columns(fn, "min_dates", dataset, min_dates)
    check_columns(fn, "max_dates", dataset, max_dates)
    check_choice(fn, "highest_imputation", highest_imputation, list(_IMPUTATION_LEVELS))
    check_choice(fn, "date_imputation", date_imputation, ["first", "mid", "last"])
    check_new_vars(fn, dataset, [new_var, flag_var] if flag_var else [new_var], overwrite)
    dates, flags = impute_iso_dates(
        dataset[dtc],
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


def derive_analysis_datetime(
    dataset: pd.DataFrame,
    *,
    dtc: str,
    new_var: str,
    date_flag_var: str | None = None,
    time_flag_var: str | None = None,
    highest_imputation: str = "h",
    date_imputation: str = "first",
    time_imputation: str = "first",
    min_dates: Sequence[str] = (),
    max_dates: Sequence[str] = (),
    where: str = "dataset",
    overwrite: bool = False,
) -> pd.DataFrame:
    """Add an analysis datetime (and its date/time imputation flags): admiral `derive_vars_dtm()`, e.g.
    `derive_analysis_datetime(ex, dtc="EXSTDTC", new_var="EXSTDTM", time_flag_var="EXSTTMF",
    time_imputation="first")` as in admiral ad_adsl.R. Rules: `impute_iso_datetimes`.

    >>> import pandas as pd
    >>> ex = pd.DataFrame({"EXENDTC": ["2021-03-05T10:30", "2021-03-06", "2021-03"]})
    >>> out = derive_analysis_datetime(ex, dtc="EXENDTC", new_var="EXENDTM", time_flag_var="EXENTMF", time_imputation="last")
    >>> [str(v) for v in out["EXENDTM"]], list(out["EXENTMF"].fillna("-"))
    (['2021-03-05 10:30:59', '2021-03-06 23:59:59', 'NaT'], ['S', 'H', '-'])
    """
    fn = "derive_analysis_datetime"
    check_dataset(fn, "dataset", dataset)
    check_var(fn, "dtc", dtc)
    check_columns(fn, "dtc", dataset, [dtc])
    check_columns(fn, "min_dates", dataset, min_dates)
    check_columns(fn, "max_dates", dataset, max_dates)
    check_choice(fn, "date_imputation", date_imputation, ["first", "mid", "last"])
    new = [v for v in (new_var, date_flag_var, time_flag_var) if v]
    check_new_vars(fn, dataset, new, overwrite)
    dtm, dtf, tmf = impute_iso_datetimes(
        dataset[dtc], highest_imputation, date_imputation, time_imputation,
        [dataset[n] for n in min_dates], [dataset[n] for n in max_dates], where,
    )
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = dtm
    if date_flag_var:
        out[date_flag_var] = dtf
    if time_flag_var:
        out[time_flag_var] = tmf
    return out


def study_day(dates: pd.Series, reference: pd.Series) -> pd.Series:
    """ADaMIG --DY: date - reference + 1 on or after the reference date, date - reference before it
    (there is no day 0). Missing when either date is missing. Float (missing as NaN). Datetimes count by
    their date part (admiral `derive_vars_dy()` uses dates)."""
    delta = (dates.dt.floor("D") - reference.dt.floor("D")).dt.days.astype("float64")
    return delta + (delta >= 0)


def derive_study_day(dataset: pd.DataFrame, *, source_var: str, reference_var: str, new_var: str, overwrite: bool = False) -> pd.DataFrame:
    """Add a study day, e.g. ADY from ADT and TRTSDT (admiral `derive_vars_dy()`; ADaMIG 1.3 --DY rule).

    >>> import pandas as pd
    >>> d = pd.DataFrame({"ADT": pd.to_datetime(["2021-03-04", "2021-03-05", "2021-03-06"]), "TRTSDT": pd.to_datetime(["2021-03-05"] * 3)})
    >>> list(derive_study_day(d, source_var="ADT", reference_var="TRTSDT", new_var="ADY")["ADY"])
    [-1.0, 1.0, 2.0]
    """
    fn = "derive_study_day"
    check_dataset(fn, "dataset", dataset)
    check_columns(fn, "source_var", dataset, [check_var(fn, "source_var", source_var)])
    check_columns(fn, "reference_var", dataset, [check_var(fn, "reference_var", reference_var)])
    check_new_vars(fn, dataset, [check_var(fn, "new_var", new_var)], overwrite)
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = study_day(dataset[source_var], dataset[reference_var])
    return out


# Length of each unit in seconds. Years and months use lubridate's duration convention (365.25 days per
# year, a twelfth of it per month).
_UNIT_SECONDS = {
    "years": 365.25 * 86400, "months": 365.25 / 12 * 86400, "weeks": 7 * 86400, "days": 86400.0,
    "hours": 3600.0, "minutes": 60.0, "seconds": 1.0,
}
_UNIT_ALIASES = {
    "years": "years", "year": "years", "yr": "years", "y": "years",
    "months": "months", "month": "months", "mo": "months",
    "weeks": "weeks", "week": "weeks", "wk": "weeks", "w": "weeks",
    "days": "days", "day": "days", "d": "days",
    "hours": "hours", "hour": "hours", "hr": "hours", "h": "hours",
    "minutes": "minutes", "minute": "minutes", "min": "minutes",
    "seconds": "seconds", "second": "seconds", "sec": "seconds", "s": "seconds",
}
_FLOOR = {"years": "D", "months": "D", "weeks": "D", "days": "D", "hours": "h", "minutes": "min", "seconds": "s"}


def compute_duration(
    start: pd.Series, end: pd.Series, in_unit: str = "days", out_unit: str = "days", floor_in: bool = True,
    add_one: bool = True, trunc_out: bool = False,
) -> pd.Series:
    """admiral `compute_duration()`: (end - start) in `out_unit`; with `floor_in` both are first rounded down
    to `in_unit` (days: the time part is ignored); with `add_one` one `in_unit` is added to non-negative
    durations only (so 2021-03-05 -> 2021-03-02 is -3 days, 2021-03-05 -> 2021-03-05 is 1); with `trunc_out`
    the fractional part is dropped (toward zero). Deliberate difference: "years" and "months" are
    365.25 and 365.25/12 days (lubridate durations), whereas admiral measures calendar intervals; an age in
    whole years can differ by one on a birthday, so ages are better derived with `in_unit="days"` and
    calendar arithmetic in the template."""
    fn = "compute_duration"
    inu = _UNIT_ALIASES.get(str(in_unit).lower())
    outu = _UNIT_ALIASES.get(str(out_unit).lower())
    if inu is None:
        check_choice(fn, "in_unit", in_unit, list(_UNIT_SECONDS))
    if outu is None:
        check_choice(fn, "out_unit", out_unit, list(_UNIT_SECONDS))
    s, e = start.astype(DATE_RESOLUTION), end.astype(DATE_RESOLUTION)
    if floor_in:
        s, e = s.dt.floor(_FLOOR[inu]), e.dt.floor(_FLOOR[inu])
    seconds = (e - s).dt.total_seconds().astype("float64")
    duration = seconds / _UNIT_SECONDS[outu]
    if add_one:
        duration = duration.where(~(duration >= 0), duration + _UNIT_SECONDS[inu] / _UNIT_SECONDS[outu])
    if trunc_out:
        duration = np.trunc(duration)
    return duration


def derive_duration(
    dataset: pd.DataFrame,
    *,
    start_date: str,
    end_date: str,
    new_var: str = "ADURN",
    new_var_unit: str | None = None,
    in_unit: str = "days",
    out_unit: str = "DAYS",
    floor_in: bool = True,
    add_one: bool = True,
    trunc_out: bool = False,
    unit_text: str | None = None,
    overwrite: bool = False,
) -> pd.DataFrame:
    """Add a duration between two date(time) columns: admiral `derive_vars_duration()` (rules in
    `compute_duration`). `new_var_unit` (e.g. ADURU) holds `unit_text` (default: `out_unit` upper-cased,
    as admiral writes its `out_unit`) where the duration is present.

    >>> import pandas as pd
    >>> ae = pd.DataFrame({"ASTDT": pd.to_datetime(["2021-03-05", "2021-03-05"]), "AENDT": pd.to_datetime(["2021-03-02", "2021-03-05"])})
    >>> list(derive_duration(ae, start_date="ASTDT", end_date="AENDT")["ADURN"])
    [-3.0, 1.0]
    """
    fn = "derive_duration"
    check_dataset(fn, "dataset", dataset)
    check_columns(fn, "start_date", dataset, [check_var(fn, "start_date", start_date)])
    check_columns(fn, "end_date", dataset, [check_var(fn, "end_date", end_date)])
    check_var(fn, "new_var", new_var)
    check_var(fn, "new_var_unit", new_var_unit, optional=True)
    for arg, value in (("floor_in", floor_in), ("add_one", add_one), ("trunc_out", trunc_out)):
        check_bool(fn, arg, value)
    check_new_vars(fn, dataset, [v for v in (new_var, new_var_unit) if v], overwrite)
    out = dataset.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out[new_var] = compute_duration(dataset[start_date], dataset[end_date], in_unit, out_unit, floor_in, add_one, trunc_out)
    if new_var_unit:
        text = unit_text if unit_text is not None else str(out_unit).upper()
        out[new_var_unit] = pd.Series(text, index=dataset.index, dtype="str").where(out[new_var].notna())
    return out
