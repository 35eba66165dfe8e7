"""Property-based tests (hypothesis): rules that must hold for every input, not only the examples.

- EDC dates: DD-MMM-YYYY / UN-MMM-YYYY / UN-UNK-YYYY -> ISO 8601 keeps exactly the known parts; the raw
  checks accept every real calendar date and refuse impossible ones; `is_before` means "every date the first
  may stand for is before every date the second may stand for".
- Partial-date imputation (admiral `derive_vars_dt`): the imputed date lies inside the range the partial
  date allows (known parts never change), min/max dates inside that range are respected, flags name the
  imputed parts.
- SRI-k: monotone in the SLEDAI-2K reduction and in k; a new BILAG A is always a non-responder.
- XPT: write then read back (pyreadstat's independent SAS reader) gives the same values, for random frames.
- Dataset-JSON 1.1 and NDJSON: write then read back gives the same values, types and labels, and every file
  written is valid against the published schema, for random frames (text with any Unicode, quotes,
  backslashes and line breaks; integers; doubles; dates; missing values everywhere).
"""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adam.adqs import bilag_domains
from adam.adrs import derive_sri_parameters
from adam.derive.dates import impute_iso_dates
from sap.datasets import read_xpt, write_xpt
from sap.specs import DatasetSpec
from submission.datasetjson import read_dataset_json, validation_errors, write_dataset_json
from sdtm.common import MONTHS, edc_date_to_iso
from sdtm.raw import _complete_date, _valid_partial_date, is_before

MONTH_NAMES = list(MONTHS)
PROFILE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))
precision = st.sampled_from(["day", "month", "year"])


def edc(date: dt.date, known: str) -> str:
    day = f"{date.day:02d}" if known == "day" else "UN"
    month = MONTH_NAMES[date.month - 1] if known in ("day", "month") else "UNK"
    return f"{day}-{month}-{date.year:04d}"


def iso(date: dt.date, known: str) -> str:
    return date.isoformat()[: {"day": 10, "month": 7, "year": 4}[known]]


def span(date: dt.date, known: str) -> tuple[dt.date, dt.date]:
    """First and last day a date known to `known` precision may be."""
    if known == "day":
        return date, date
    if known == "month":
        return date.replace(day=1), date.replace(day=calendar.monthrange(date.year, date.month)[1])
    return dt.date(date.year, 1, 1), dt.date(date.year, 12, 31)


# ------------------------------------------------------------------------------------------ EDC dates


@PROFILE
@given(st.lists(st.tuples(dates, precision), min_size=1, max_size=20))
def test_edc_to_iso_keeps_exactly_the_known_parts(items):
    values = pd.Series([edc(d, k) for d, k in items], dtype="str")
    assert edc_date_to_iso(values).tolist() == [iso(d, k) for d, k in items]
    assert _valid_partial_date(values).all()
    complete = pd.Series([edc(d, "day") for d, _ in items], dtype="str")
    assert _complete_date(complete).dt.date.tolist() == [d for d, _ in items]


@PROFILE
@given(st.integers(1900, 2099), st.integers(1, 12), st.integers(29, 35))
def test_impossible_days_are_refused(year, month, day):
    text = pd.Series([f"{day:02d}-{MONTH_NAMES[month - 1]}-{year}"], dtype="str")
    real = day <= calendar.monthrange(year, month)[1]
    assert bool(_complete_date(text).notna().iloc[0]) == real
    assert bool(_valid_partial_date(text).iloc[0]) == real


@PROFILE
@given(dates, precision, dates, precision)
def test_is_before_means_certainly_before(a, ka, b, kb):
    result = is_before(pd.Series([iso(a, ka)], dtype="str"), pd.Series([iso(b, kb)], dtype="str")).iloc[0]
    assert bool(result) == (span(a, ka)[1] < span(b, kb)[0])


# -------------------------------------------------------------------------------- partial-date imputation


@PROFILE
@given(st.lists(st.tuples(dates, precision), min_size=1, max_size=20), st.sampled_from(["first", "mid", "last"]))
def test_imputation_stays_in_the_partial_range_and_flags_the_imputed_parts(items, rule):
    values = pd.Series([iso(d, k) for d, k in items], dtype="str")
    imputed, flags = impute_iso_dates(values, highest_imputation="M", date_imputation=rule)
    for (date, known), got, flag in zip(items, imputed, flags):
        low, high = span(date, known)
        assert low <= got.date() <= high
        assert (None if pd.isna(flag) else flag) == {"day": None, "month": "D", "year": "M"}[known]
        if rule == "first":
            assert got.date() == low
        if rule == "last":
            assert got.date() == high


@PROFILE
@given(dates, precision, dates, dates)
def test_min_and_max_dates_inside_the_range_are_respected(date, known, lower_bound, upper_bound):
    values = pd.Series([iso(date, known)], dtype="str")
    low, high = span(date, known)
    first, _ = impute_iso_dates(values, "M", "first", min_dates=[pd.Series([pd.Timestamp(lower_bound)])])
    last, _ = impute_iso_dates(values, "M", "last", max_dates=[pd.Series([pd.Timestamp(upper_bound)])])
    got_first, got_last = first.iloc[0].date(), last.iloc[0].date()
    assert low <= got_first <= high and low <= got_last <= high  # known parts never change
    assert got_first == (max(low, lower_bound) if low <= lower_bound <= high else low)
    assert got_last == (min(high, upper_bound) if low <= upper_bound <= high else high)


# -------------------------------------------------------------------------------------------- SRI rule


def _components(change: float, new_a: int, new_b: int, pga: float, pga_base: float) -> dict:
    day = pd.Timestamp("2014-01-10")
    return {"USUBJID": "S", "AVISITN": 6.0, "SLEDAI_CHG": change, "SLEDAI_ADT": day, "SLEDAI_ASEQ": 1.0,
            "PGA": pga, "PGA_BASE": pga_base, "PGA_ADT": day, "PGA_ASEQ": 2.0, "BILAG_N": len(bilag_domains()),
            "NEW_A": new_a, "NEW_B": new_b, "BILAG_ADT": day}


def _sri(rows: list[dict], thresholds: list[int]) -> pd.DataFrame:
    frame = pd.DataFrame(rows).assign(USUBJID=[f"S{i}" for i in range(len(rows))])
    records = derive_sri_parameters(frame, thresholds, pga_limit=0.3)
    sri = records[records["PARAMCD"].str.match(r"^SRI\d$")]
    return sri.pivot(index="USUBJID", columns="PARAMCD", values="AVALC").loc[frame["USUBJID"]]


pga_values = st.integers(0, 300).map(lambda h: h / 100)


@PROFILE
@given(st.integers(-20, 10), st.integers(0, 10), st.integers(0, 2), st.integers(0, 3), pga_values, pga_values)
def test_sri_is_monotone_in_the_sledai_reduction_and_in_k(change, more, new_a, new_b, pga, pga_base):
    thresholds = [4, 5, 6, 7, 8]
    sri = _sri([_components(change, new_a, new_b, pga, pga_base),
                _components(change - more, new_a, new_b, pga, pga_base)], thresholds)
    less_reduced, more_reduced = sri.iloc[0], sri.iloc[1]
    for k in thresholds:
        if less_reduced[f"SRI{k}"] == "Y":
            assert more_reduced[f"SRI{k}"] == "Y"  # a larger SLEDAI-2K fall never turns a responder into one not
    for low, high in zip(thresholds, thresholds[1:]):
        for row in (less_reduced, more_reduced):
            if row[f"SRI{high}"] == "Y":
                assert row[f"SRI{low}"] == "Y"  # SRI-(k+1) responder is an SRI-k responder


@PROFILE
@given(st.integers(-30, 0), st.integers(1, 9), st.integers(0, 1), pga_values)
def test_a_new_bilag_a_is_never_a_responder(change, new_a, new_b, pga):
    sri = _sri([_components(change, new_a, new_b, pga, pga)], [4, 5, 6, 7, 8])
    assert set(sri.iloc[0]) == {"N"}


# -------------------------------------------------------------------------------------- XPT round trip


text_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=30)
numbers = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False).filter(lambda x: x == 0 or abs(x) > 1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(st.one_of(st.none(), text_values), st.one_of(st.none(), numbers),
                          st.one_of(st.none(), st.dates(dt.date(1960, 1, 1), dt.date(2099, 12, 31)))),
                min_size=1, max_size=25))
def test_xpt_write_read_round_trip(tmp_path_factory, rows):
    frame = pd.DataFrame({
        "TEXTV": pd.Series([r[0] for r in rows], dtype="str"),
        "NUMV": pd.Series([np.nan if r[1] is None else r[1] for r in rows], dtype="float64"),
        "DATEV": pd.to_datetime(pd.Series([r[2] for r in rows], dtype="object")),
    })
    frame.attrs = {"name": "PROP", "label": "Property test", "labels": {"TEXTV": "Text", "NUMV": "Number", "DATEV": "Date"}}
    path = write_xpt(frame, tmp_path_factory.mktemp("xpt") / "prop.xpt", dt.date(2015, 10, 31))
    back = read_xpt(path)  # pyreadstat's reader (ReadStat, C): independent of the numpy encoder in sap.xpt
    # (pandas' XPORT reader is not used: it returns 5.4e-79 for an IBM zero and drops a last record whose
    # numbers are all missing, two reader quirks seen while writing this test; the files are right)
    texts = [None if pd.isna(v) or v == "" else v for v in back["TEXTV"]]
    assert texts == [None if r[0] is None else r[0].rstrip() or None for r in rows]
    numbers_back = back["NUMV"].to_numpy(dtype="float64")
    expected = frame["NUMV"].to_numpy()
    assert np.array_equal(np.isnan(numbers_back), np.isnan(expected))
    # IBM 370 doubles carry 56 bits of mantissa: relative error below 2**-50
    assert np.allclose(numbers_back[~np.isnan(expected)], expected[~np.isnan(expected)], rtol=2**-50, atol=0)
    assert [None if pd.isna(v) else pd.Timestamp(v).date() for v in back["DATEV"]] == [r[2] for r in rows]


# ----------------------------------------------------------------------------- Dataset-JSON round trip


# any Unicode but surrogates and NUL (the raw checks reject control characters before SDTM; JSON itself
# would carry them, so line breaks, tabs, quotes and backslashes are kept in the alphabet)
json_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                    min_size=1, max_size=40)
integers = st.integers(min_value=-(2**53), max_value=2**53)
doubles = st.floats(allow_nan=False, allow_infinity=False)

ROUND_TRIP_SPEC = DatasetSpec.model_validate({
    "name": "PROP", "label": "Property test", "standard": "ADaM", "class": "BASIC DATA STRUCTURE",
    "structure": "One record per row", "keys": ["SEQ"],
    "variables": [
        {"name": "SEQ", "label": "Sequence", "type": "integer", "origin": "Derived", "core": "Req",
         "derivation": "Row number"},
        {"name": "TEXTV", "label": "Text 'quoted' \\ value", "type": "text", "length": 200, "origin": "Collected",
         "core": "Perm"},
        {"name": "INTV", "label": "Integer", "type": "integer", "origin": "Collected", "core": "Perm"},
        {"name": "NUMV", "label": "Number", "type": "float", "origin": "Collected", "core": "Perm"},
        {"name": "DATEV", "label": "Date", "type": "date", "origin": "Collected", "core": "Perm",
         "format": "DATE9."},
    ],
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(st.one_of(st.none(), json_text), st.one_of(st.none(), integers),
                          st.one_of(st.none(), doubles),
                          st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)))),
                min_size=0, max_size=20))
def test_dataset_json_write_read_round_trip(tmp_path_factory, rows):
    frame = pd.DataFrame({
        "SEQ": pd.Series(range(1, len(rows) + 1), dtype="int64"),
        "TEXTV": pd.Series([r[0] for r in rows], dtype="object"),
        "INTV": pd.Series([np.nan if r[1] is None else float(r[1]) for r in rows], dtype="float64"),
        "NUMV": pd.Series([np.nan if r[2] is None else r[2] for r in rows], dtype="float64"),
        "DATEV": pd.to_datetime(pd.Series([r[3] for r in rows], dtype="object")),
    })
    folder = tmp_path_factory.mktemp("datasetjson")
    written = write_dataset_json(frame, ROUND_TRIP_SPEC, folder, "STUDY1", "Sponsor", dt.date(2015, 10, 31), "MDV.1")
    assert [p.name for p in written] == ["prop.json", "prop.ndjson"]
    for path in written:
        assert validation_errors(path) == [], path.name
        back = read_dataset_json(path)
        assert list(back.columns) == ["SEQ", "TEXTV", "INTV", "NUMV", "DATEV"]
        assert back.attrs["name"] == "PROP" and back.attrs["label"] == "Property test"
        assert back.attrs["labels"]["TEXTV"] == "Text 'quoted' \\ value"
        assert back["SEQ"].tolist() == list(range(1, len(rows) + 1))
        assert [None if pd.isna(v) else v for v in back["TEXTV"]] == [r[0] for r in rows]
        # integers: exact (JSON integers up to 2**53 are exact doubles as well)
        assert [None if pd.isna(v) else int(v) for v in back["INTV"]] == [r[1] for r in rows]
        # doubles: bit-exact (Python's shortest round-trip repr in the JSON text)
        assert [None if pd.isna(v) else float(v) for v in back["NUMV"]] == [r[2] for r in rows]
        assert [None if pd.isna(v) else pd.Timestamp(v).date() for v in back["DATEV"]] == [r[3] for r in rows]
