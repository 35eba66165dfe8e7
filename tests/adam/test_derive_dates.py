"""adam.derive.dates: expected values worked out by hand from admiral's derive_vars_dt rules."""

import pandas as pd
import pytest

from adam.derive.dates import derive_analysis_date, derive_duration, derive_study_day, impute_iso_dates, parse_iso_dates
from sap.errors import InputError


def day(text):
    return pd.Timestamp(text)


def dates(*texts):
    return pd.Series([pd.NaT if t is None else pd.Timestamp(t) for t in texts], dtype="datetime64[s]")


def test_parse_keeps_complete_dates_and_drops_partial_ones():
    got = parse_iso_dates(pd.Series(["2014-01-02T11:45", "2014-01", "2014", None], dtype="str"))
    assert got.iloc[0] == day("2014-01-02")  # time part ignored
    assert got.iloc[1:].isna().all()


def test_bad_text_and_impossible_dates_are_input_errors_one_problem_each():
    with pytest.raises(InputError) as err:
        parse_iso_dates(pd.Series(["02/01/2014", "2014-02-30", "2014-13", "2014-01-01"], name="AESTDTC"))
    lines = err.value.lines()
    assert len(lines) == 1 and "row 0" not in lines[0] and "key 0" in lines[0] and "AESTDTC" in lines[0]
    with pytest.raises(InputError) as err:
        parse_iso_dates(pd.Series(["2014-02-30", "2014-13", "2014-01-01"], name="AESTDTC"))
    assert len(err.value.problems) == 2  # 30 February and month 13


def test_first_imputation_up_to_month_with_flags():
    values = pd.Series(["2019-03-15", "2019-03", "2019", None])
    got, flag = impute_iso_dates(values, highest_imputation="M", date_imputation="first")
    # 2019-03 -> day 01 (flag D); 2019 -> 01-01 (flag M); missing stays missing without "Y"
    assert list(got) == [day("2019-03-15"), day("2019-03-01"), day("2019-01-01"), pd.NaT]
    assert flag.isna().iloc[0] and flag.iloc[1] == "D" and flag.iloc[2] == "M" and flag.isna().iloc[3]


def test_day_only_imputation_leaves_year_only_dates_missing():
    got, flag = impute_iso_dates(pd.Series(["2019-03", "2019"]), highest_imputation="D")
    assert got.iloc[0] == day("2019-03-01") and pd.isna(got.iloc[1]) and pd.isna(flag.iloc[1])


def test_no_imputation_by_default():
    got, _ = impute_iso_dates(pd.Series(["2019-03"]))
    assert got.isna().all()


def test_last_and_mid_imputation():
    values = pd.Series(["2020-02", "2019", "2019-04"])
    last, _ = impute_iso_dates(values, "M", "last")
    # February 2020 has 29 days (leap year); year only -> 31 December; April -> 30
    assert list(last) == [day("2020-02-29"), day("2019-12-31"), day("2019-04-30")]
    mid, _ = impute_iso_dates(values, "M", "mid")
    # admiral "mid": day 15; month and day missing -> 30 June
    assert list(mid) == [day("2020-02-15"), day("2019-06-30"), day("2019-04-15")]


def test_min_date_inside_the_partial_range_raises_the_imputed_date():
    values = pd.Series(["2019-03", "2019-03", "2019", "2019-03-02", "2019-04"])
    trtsdt = dates("2019-03-20", "2019-02-10", "2019-07-04", "2019-03-20", "2019-03-20")
    got, flag = impute_iso_dates(values, "M", "first", min_dates=[trtsdt])
    # row 0: TRTSDT 20 Mar inside March 2019 -> 2019-03-20 (flag still D: the day was missing)
    # row 1: TRTSDT 10 Feb is before March -> not inside the range -> plain first: 2019-03-01
    # row 2: TRTSDT 4 Jul inside 2019 -> 2019-07-04 (flag M)
    # row 3: complete date is never moved even though TRTSDT is later
    # row 4: April 2019 starts after TRTSDT -> 2019-04-01
    assert list(got) == [day("2019-03-20"), day("2019-03-01"), day("2019-07-04"), day("2019-03-02"), day("2019-04-01")]
    assert list(flag.fillna("-")) == ["D", "D", "M", "-", "D"]


def test_max_date_caps_last_imputation_and_missing_year_needs_a_bound():
    values = pd.Series(["2019-03", "2019-05", None])
    dthdt = dates("2019-03-10", "2019-03-10", "2019-08-01")
    got, flag = impute_iso_dates(values, "Y", "last", max_dates=[dthdt])
    # row 0: death 10 Mar inside March -> capped from 31 Mar to 10 Mar
    # row 1: death before May -> outside range, 2019-05-31 kept (admiral keeps it too)
    # row 2: missing year (range unbounded) -> the max date itself, flag Y
    assert list(got) == [day("2019-03-10"), day("2019-05-31"), day("2019-08-01")]
    assert list(flag) == ["D", "D", "Y"]
    with pytest.raises(ValueError, match=r"highest_imputation='Y' needs min_dates with date_imputation='first'"):
        impute_iso_dates(values, "Y", "first")


def test_derive_analysis_date_adds_columns_without_mutating_input():
    ae = pd.DataFrame({"AESTDTC": ["2019-03", "2019-03-05"], "TRTSDT": dates("2019-03-04", "2019-03-04")})
    before = ae.copy()
    got = derive_analysis_date(ae, dtc="AESTDTC", new_var="ASTDT", flag_var="ASTDTF", highest_imputation="M", min_dates=["TRTSDT"])
    pd.testing.assert_frame_equal(ae, before)
    assert list(got["ASTDT"]) == [day("2019-03-04"), day("2019-03-05")]
    assert got["ASTDTF"].iloc[0] == "D" and pd.isna(got["ASTDTF"].iloc[1])


def test_study_day_has_no_day_zero():
    data = pd.DataFrame({"ADT": dates("2019-03-04", "2019-03-03", "2019-03-14", None), "TRTSDT": dates(*["2019-03-04"] * 4)})
    got = derive_study_day(data, source_var="ADT", reference_var="TRTSDT", new_var="ADY")["ADY"]
    # same day -> 0 + 1 = 1; day before -> -1 (no +1); 10 days after -> 10 + 1 = 11; missing -> NaN
    assert list(got.iloc[:3]) == [1.0, -1.0, 11.0] and pd.isna(got.iloc[3])


def test_duration_adds_one_and_marks_unit_only_where_known():
    data = pd.DataFrame({"ASTDT": dates("2019-03-04", "2019-03-04"), "AENDT": dates("2019-03-06", None)})
    got = derive_duration(data, start_date="ASTDT", end_date="AENDT", new_var_unit="ADURU")
    # 6 - 4 + 1 = 3 days
    assert got["ADURN"].iloc[0] == 3.0 and pd.isna(got["ADURN"].iloc[1])
    assert got["ADURU"].iloc[0] == "DAYS" and pd.isna(got["ADURU"].iloc[1])
