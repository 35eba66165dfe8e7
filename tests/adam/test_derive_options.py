"""The options and functions that close the gaps of issue 13, on hand-worked frames. Every expected value is
worked out by hand from admiral's documented rule (cited in each test), never copied from the program."""

import numpy as np
import pandas as pd
import pytest

from adam.derive._common import ArgumentError, desc
from adam.derive.baseline import derive_range_indicator
from adam.derive.categories import derive_vars_cat, derive_vars_query, query_table
from adam.derive.dates import derive_analysis_datetime, derive_duration, impute_iso_datetimes
from adam.derive.exposure import derive_treatment_dates
from adam.derive.flags import derive_exist_flag, derive_extreme_flag, derive_treatment_emergent_flag, derive_worst_flag
from adam.derive.merge import derive_vars_merged
from adam.derive.params import CensorSource, EventSource, derive_param_computed, derive_param_exist_flag, derive_param_tte
from adam.derive.records import derive_extreme_records, derive_locf_records
from adam.derive.visits import derive_analysis_visit, window_table
from sap.errors import InputError, SpecError

T = pd.Timestamp
NAN = np.nan


def dash(series):
    return list(series.astype(object).where(series.notna(), "-"))


def dt(*values):
    return pd.Series(pd.to_datetime(list(values), format="ISO8601"), dtype="datetime64[s]")


# ------------------------------------------------------------------------------------------------ durations

def test_duration_adds_one_only_to_non_negative_durations():
    # admiral derive_vars_duration() test: start 2021-03-05, end 2021-03-02 -> -3 (3 days back, no +1);
    # same day -> 0 + 1 = 1; end 2021-03-06 -> 1 + 1 = 2
    data = pd.DataFrame({"ASTDT": dt("2021-03-05", "2021-03-05", "2021-03-05"), "AENDT": dt("2021-03-02", "2021-03-05", "2021-03-06")})
    assert list(derive_duration(data, start_date="ASTDT", end_date="AENDT")["ADURN"]) == [-3.0, 1.0, 2.0]


def test_duration_out_unit_trunc_out_floor_in_and_unit_text():
    data = pd.DataFrame({"S": dt("2021-01-01T23:00", "2021-01-01"), "E": dt("2021-01-02T01:00", "2021-01-15")})
    # floor_in (days): 1 Jan 23:00 -> 2 Jan 01:00 counts 1 day, + 1 = 2 days; 1 -> 15 Jan = 14 + 1 = 15 days
    got = derive_duration(data, start_date="S", end_date="E", new_var="D", new_var_unit="U")
    assert list(got["D"]) == [2.0, 15.0] and list(got["U"]) == ["DAYS", "DAYS"]
    # out_unit weeks: 15 days / 7 = 2.142857..., trunc_out -> 2; unit text given by the study ("WEEK")
    got = derive_duration(data, start_date="S", end_date="E", new_var="D", new_var_unit="U", out_unit="weeks", trunc_out=True, unit_text="WEEK")
    assert list(got["D"]) == [0.0, 2.0] and list(got["U"]) == ["WEEK", "WEEK"]
    # floor_in=False, in hours, no +1: 23:00 -> 01:00 is 2 hours
    got = derive_duration(data.iloc[:1], start_date="S", end_date="E", new_var="D", in_unit="hours", out_unit="hours", floor_in=False, add_one=False)
    assert got["D"].iloc[0] == 2.0
    # out_unit years: 365.25 days per year -> 730.5 days is exactly 2 years (add_one off)
    two_years = pd.DataFrame({"S": dt("2020-01-01"), "E": [T("2020-01-01") + pd.Timedelta(days=730.5)]})
    assert derive_duration(two_years, start_date="S", end_date="E", new_var="D", out_unit="years", add_one=False, floor_in=False)["D"].iloc[0] == 2.0


# ------------------------------------------------------------------------------------------------ datetimes

def test_datetime_imputation_levels_and_time_flags():
    values = pd.Series(["2021-03-05T10:30:15", "2021-03-05T10:30", "2021-03-05T10", "2021-03-05", "2021-03", None])
    dtm, dtf, tmf = impute_iso_datetimes(values, highest_imputation="h", time_imputation="last")
    # "h": the date must be complete; missing seconds -> 59 (S), minutes -> 59:59 (M), hour -> 23:59:59 (H)
    assert [str(v) for v in dtm] == ["2021-03-05 10:30:15", "2021-03-05 10:30:59", "2021-03-05 10:59:59", "2021-03-05 23:59:59", "NaT", "NaT"]
    assert dash(tmf) == ["-", "S", "M", "H", "-", "-"]
    dtm, dtf, tmf = impute_iso_datetimes(values, highest_imputation="M", date_imputation="first", time_imputation="first")
    # "M": 2021-03 -> 2021-03-01 (DTF D) 00:00:00 (TMF H)
    assert str(dtm.iloc[4]) == "2021-03-01 00:00:00" and dtf.iloc[4] == "D" and tmf.iloc[4] == "H"
    dtm, _, _ = impute_iso_datetimes(values, highest_imputation="m")
    # "m": a missing hour may not be imputed -> 2021-03-05T10 is imputed (minutes), 2021-03-05 is not
    assert str(dtm.iloc[2]) == "2021-03-05 10:00:00" and pd.isna(dtm.iloc[3])


# ------------------------------------------------------------------------------------------------ treatment dates

@pytest.fixture
def ex():
    return pd.DataFrame(
        {
            "USUBJID": ["A", "A", "B", "B", "C"],
            "EXSEQ": [1, 2, 1, 2, 1],
            "EXTRT": ["DRUG"] * 5,
            "EXDOSE": [1.0, 1.0, 1.0, 1.0, 0.0],
            "EXSTDTC": ["2021-01-04T08:15", "2021-02-01", "2021-01", "2021-03-10", "2021-01-04"],
            "EXENDTC": ["2021-01-31", None, "2021-02-28", "2021-03-15T18:00", "2021-01-05"],
        }
    )


def test_treatment_dates_admiral_rule_with_partial_dates_and_datetimes(ex):
    adsl = pd.DataFrame({"USUBJID": ["A", "B", "C"]})
    got = derive_treatment_dates(adsl, dataset_ex=ex, highest_imputation="M", datetime_vars=("TRTSDTM", "TRTEDTM"),
                                 time_flag_vars=("TRTSTMF", "TRTETMF"))
    # A: first start 4 Jan 08:15 (complete, no flag); latest end 31 Jan (23:59:59, TMF H); the 1 Feb record has no end
    # B: "2021-01" imputed to 1 Jan (first) 00:00:00; latest end 15 Mar 18:00 -> seconds imputed 18:00:59 (TMF S)
    # C: EXDOSE 0 of an active drug is not a valid dose -> no dates
    assert [str(v) for v in got["TRTSDTM"]] == ["2021-01-04 08:15:00", "2021-01-01 00:00:00", "NaT"]
    assert dash(got["TRTSTMF"]) == ["S", "H", "-"]
    assert [str(v) for v in got["TRTEDTM"]] == ["2021-01-31 23:59:59", "2021-03-15 18:00:59", "NaT"]
    assert dash(got["TRTETMF"]) == ["H", "S", "-"]
    assert [str(v.date()) if pd.notna(v) else "-" for v in got["TRTSDT"]] == ["2021-01-04", "2021-01-01", "-"]
    # without imputation B's partial start does not count: its first complete start is 10 Mar
    got = derive_treatment_dates(adsl, dataset_ex=ex)
    assert got.loc[1, "TRTSDT"] == T("2021-03-10")


def test_treatment_end_of_last_record_with_fallback(ex):
    # CDISC Pilot 01 rule: EXENDTC of the last EX record; if missing, the discontinuation date (column given
    # by the template, filled only for the subjects it applies to)
    adsl = pd.DataFrame({"USUBJID": ["A", "B"], "DCDT": dt("2021-02-20", "2021-04-01")})
    got = derive_treatment_dates(adsl, dataset_ex=ex, end_rule="last_record", end_fallback="DCDT")
    # A: last record (1 Feb) has no end -> fallback 20 Feb (admiral's "latest" would give 31 Jan)
    # B: last record ends 15 Mar -> no fallback
    assert list(got["TRTEDT"]) == [T("2021-02-20"), T("2021-03-15")]
    assert derive_treatment_dates(adsl, dataset_ex=ex)["TRTEDT"].iloc[0] == T("2021-01-31")


def test_new_column_that_exists_is_an_error_unless_overwrite(ex):
    adsl = pd.DataFrame({"USUBJID": ["A"], "TRTSDT": dt("2000-01-01")})
    with pytest.raises(ArgumentError) as err:
        derive_treatment_dates(adsl, dataset_ex=ex)
    assert err.value.lines() == ["derive_treatment_dates(), TRTSDT: column already exists (drop it first, or pass overwrite=True)"]
    assert derive_treatment_dates(adsl, dataset_ex=ex, overwrite=True)["TRTSDT"].iloc[0] == T("2021-01-04")


def test_arguments_are_keyword_only_and_checked(ex):
    adsl = pd.DataFrame({"USUBJID": ["A"]})
    with pytest.raises(TypeError):
        derive_treatment_dates(adsl, ex)  # noqa: the EX dataset must be named dataset_ex=
    with pytest.raises(ArgumentError, match=r"derive_treatment_dates\(\): argument end_rule: must be one of 'latest', 'last_record'"):
        derive_treatment_dates(adsl, dataset_ex=ex, end_rule="max")
    with pytest.raises(ArgumentError, match=r"derive_extreme_flag\(\): argument mode: must be one of 'first', 'last'"):
        derive_extreme_flag(adsl, by_vars=["USUBJID"], order=["USUBJID"], new_var="F", mode="worst")
    with pytest.raises(ArgumentError, match=r"derive_extreme_flag\(\), AVAL: argument order: column is not in dataset"):
        derive_extreme_flag(adsl, by_vars=["USUBJID"], order=[desc("AVAL")], new_var="F", mode="first")


# ------------------------------------------------------------------------------------------------ TRTEMFL

@pytest.fixture
def admiral_ae():
    """admiral's derive_var_trtemfl() example frame (datetimes), treatment 2022-01-01T01:01 to 2022-04-30T11:30."""
    rows = [
        ("1", "2021-12-13T20:15", "2021-12-15T12:45", 1, 1), ("1", "2021-12-14T20:15", "2021-12-14T22:00", 1, 3),
        ("1", "2021-12-30T20:00", "2022-01-14T11:00", 1, 3), ("1", "2021-12-31T20:15", "2022-01-01T01:23", 1, 1),
        ("1", "2022-01-01T12:00", "2022-01-02T23:25", 3, 4), ("1", "2022-05-10T11:00", "2022-05-10T13:05", 2, 2),
        ("1", "2022-05-10T12:00", "2022-05-10T13:05", 2, 2), ("1", "2022-05-11T11:00", "2022-05-11T13:05", 2, 2),
        ("1", None, None, 3, 4), ("1", "2021-12-30T09:00", None, 3, 4), ("1", "2021-12-30T11:00", None, 3, 3),
        ("1", None, "2022-01-04T09:00", 3, 4), ("1", None, "2021-12-24T19:00", 3, 4), ("1", None, "2022-06-04T09:00", 3, 4),
        ("2", None, "2021-12-03T12:00", 1, 2), ("2", "2021-12-01T12:00", "2021-12-03T12:00", 1, 2), ("2", "2021-12-06T18:00", None, 1, 2),
    ]
    ae = pd.DataFrame(rows, columns=["USUBJID", "ASTDTM", "AENDTM", "AEITOXGR", "AETOXGR"])
    ae["ASTDTM"], ae["AENDTM"] = pd.to_datetime(ae["ASTDTM"]), pd.to_datetime(ae["AENDTM"])
    treated = ae["USUBJID"].eq("1")
    ae["TRTSDTM"] = pd.Series(T("2022-01-01T01:01"), index=ae.index).where(treated)
    ae["TRTEDTM"] = pd.Series(T("2022-04-30T11:30"), index=ae.index).where(treated)
    return ae


def test_trtemfl_admiral_example(admiral_ae):
    kw = dict(start_date="ASTDTM", end_date="AENDTM", trt_start_date="TRTSDTM")
    plain = derive_treatment_emergent_flag(admiral_ae, **kw)["TRTEMFL"]
    # new events (start >= 1 Jan 01:01), events with a missing start unless they ended before treatment
    assert dash(plain) == ["-", "-", "-", "-", "Y", "Y", "Y", "Y", "Y", "-", "-", "Y", "-", "Y", "-", "-", "-"]
    full = dict(kw, trt_end_date="TRTEDTM", end_window=10, initial_intensity="AEITOXGR", intensity="AETOXGR")
    got = derive_treatment_emergent_flag(admiral_ae, new_var="TRTEM2FL", **full)["TRTEM2FL"]
    # end window 30 Apr + 10 days = 10 May (dates): 10 May 11:00 and 12:00 in, 11 May out; pre-treatment
    # events whose grade rose (1 -> 3 from 30 Dec; 3 -> 4 from 30 Dec 09:00) are emergent, 3 -> 3 is not
    assert dash(got) == ["-", "-", "Y", "-", "Y", "Y", "Y", "-", "Y", "Y", "-", "Y", "-", "Y", "-", "-", "-"]
    got = derive_treatment_emergent_flag(admiral_ae, new_var="TRTEM3FL", ignore_time_for_trt_end=False, **full)["TRTEM3FL"]
    # with times: the window ends 10 May 11:30, so 10 May 12:00 is out
    assert dash(got) == ["-", "-", "Y", "-", "Y", "Y", "-", "-", "Y", "Y", "-", "Y", "-", "Y", "-", "-", "-"]


def test_trtemfl_false_value_and_missing_start_rule(admiral_ae):
    kw = dict(start_date="ASTDTM", end_date="AENDTM", trt_start_date="TRTSDTM", false_value="N", missing_start_emergent=False)
    got = derive_treatment_emergent_flag(admiral_ae, **kw)["TRTEMFL"]
    # CDISC Pilot 01: "If ASTDT >= TRTSDT > . then Y, otherwise N": a missing start is N, every non-Y is N
    assert list(got) == ["N", "N", "N", "N", "Y", "Y", "Y", "Y", "N", "N", "N", "N", "N", "N", "N", "N", "N"]


def test_trtemfl_group_var_worsening():
    trt = T("2022-01-10")
    ae = pd.DataFrame(
        {
            "USUBJID": "1",
            "AEGRPID": ["1", "1", "1", "2", "2"],
            "ASTDT": pd.to_datetime(["2022-01-01", "2022-01-15", "2022-01-20", "2022-01-12", "2022-01-14"]),
            "AENDT": pd.NaT,
            "AETOXGR": [2, 1, 3, 1, 1],
            "TRTSDT": trt,
        }
    )
    got = derive_treatment_emergent_flag(ae, intensity="AETOXGR", group_var="AEGRPID")["TRTEMFL"]
    # group 1 started before treatment (1 Jan), so its records are not "new"; grade 2 -> 1 on 15 Jan is no
    # worsening, 1 -> 3 on 20 Jan is: flagged from that record on. Group 2 starts on treatment: new events.
    assert dash(got) == ["-", "-", "Y", "Y", "Y"]
    with pytest.raises(ArgumentError, match="initial_intensity and intensity"):
        derive_treatment_emergent_flag(ae, intensity="AETOXGR")
    with pytest.raises(ArgumentError, match="end_window: given without trt_end_date"):
        derive_treatment_emergent_flag(ae, end_window=30)


# ------------------------------------------------------------------------------------------------ record selection

@pytest.fixture
def lab():
    return pd.DataFrame(
        {
            "USUBJID": ["A"] * 5 + ["B"] * 2,
            "PARAMCD": ["ALT"] * 5 + ["ALT"] * 2,
            "ADY": [1, 8, 15, 22, 29, 1, 8],
            "AVAL": [30.0, 55.0, NAN, 55.0, 40.0, NAN, NAN],
        }
    )


def test_extreme_flag_descending_ties_flag_all_and_false_value(lab):
    by = ["USUBJID", "PARAMCD"]
    got = derive_extreme_flag(lab, by_vars=by, order=[desc("AVAL"), "ADY"], new_var="F", mode="first", false_value="N")["F"]
    # A: highest 55 on days 8 and 22 -> first by ADY = day 8; missing AVAL sorts last even when descending;
    # B: only missing values -> the first record by ADY (day 1) is chosen (admiral/dplyr keep NA as a value)
    assert list(got) == ["N", "Y", "N", "N", "N", "Y", "N"]
    got = derive_extreme_flag(lab, by_vars=by, order=[desc("AVAL")], new_var="F", mode="first", flag_all=True)["F"]
    assert dash(got) == ["-", "Y", "-", "Y", "-", "Y", "Y"]  # B: both missing values tie
    got = derive_extreme_flag(lab, by_vars=by, order=["AVAL"], new_var="F", mode="last", keep_missing=False, true_value="T", false_value="F")["F"]
    # keep_missing=False: records with a missing AVAL are not candidates (missing flag); last by AVAL = 55
    # (day 22, the later of the tie in input order); B has no candidate
    assert dash(got) == ["F", "F", "-", "T", "F", "-", "-"]


def test_worst_flag_high_and_low_parameters():
    vs = pd.DataFrame(
        {
            "USUBJID": "1",
            "PARAMCD": ["SYSBP"] * 3 + ["PULSE"] * 3,
            "ADY": [1, 2, 3, 1, 2, 3],
            "AVAL": [120.0, 150.0, 150.0, 70.0, NAN, 55.0],
        }
    )
    got = derive_worst_flag(vs, by_vars=["USUBJID", "PARAMCD"], order=["ADY"], new_var="WORSTFL", worst_high=["SYSBP"], worst_low=["PULSE"])
    # SYSBP worst = highest 150, tie broken by ADY (day 2); PULSE worst = lowest 55; missing never worst
    assert dash(got["WORSTFL"]) == ["-", "Y", "-", "-", "-", "Y"]
    with pytest.raises(ArgumentError, match="in both lists"):
        derive_worst_flag(vs, by_vars=["USUBJID"], order=["ADY"], new_var="W", worst_high=["SYSBP"], worst_low=["SYSBP"])


def test_exist_flag_filter_add_and_condition():
    adsl = pd.DataFrame({"USUBJID": ["1", "2", "3"]})
    ae = pd.DataFrame({"USUBJID": ["1", "1", "2"], "AESER": ["N", "Y", "Y"], "TRTEMFL": ["Y", "Y", None]})
    got = derive_exist_flag(adsl, dataset_add=ae, new_var="SAEFL", filter_add=lambda d: d["TRTEMFL"].eq("Y"), condition=lambda d: d["AESER"].eq("Y"), missing_value=None)
    # 1: an emergent serious AE -> Y; 2: its only AE is not emergent, so no kept record -> missing; 3: none -> missing
    assert dash(got["SAEFL"]) == ["Y", "-", "-"]


# ------------------------------------------------------------------------------------------------ ANRIND

def test_anrind_second_tier_terms_and_missing():
    lb = pd.DataFrame({"AVAL": [1.0, 3.0, 6.0, 15.0, 25.0, NAN], "ANRLO": 4.0, "ANRHI": 10.0, "A1LO": 2.0, "A1HI": 20.0})
    # admiral use_a1hia1lo: 1 < A1LO 2 -> LOW LOW; 3 < 4 but >= 2 -> LOW; 15 > 10, <= 20 -> HIGH; 25 > 20 -> HIGH HIGH
    got = derive_range_indicator(lb, use_a1hia1lo=True)["ANRIND"]
    assert dash(got) == ["LOW LOW", "LOW", "NORMAL", "HIGH", "HIGH HIGH", "-"]
    got = derive_range_indicator(lb, terms={"LOW": "L", "NORMAL": "N", "HIGH": "H"}, missing_value="N")["ANRIND"]
    assert list(got) == ["L", "L", "N", "H", "H", "N"]
    with pytest.raises(ArgumentError, match="argument terms"):
        derive_range_indicator(lb, terms={"VERY LOW": "VL"})


# ------------------------------------------------------------------------------------------------ windows

PILOT_WINDOWS = pd.DataFrame(
    {"AVISIT": ["Baseline", "Week 8", "Week 16", "Week 24"], "AVISITN": [0, 8, 16, 24],
     "AWLO": [NAN, 2, 85, 141], "AWHI": [1, 84, 140, NAN], "AWTARGET": [1, 56, 112, 168]}
)


def test_open_ended_windows_write_missing_bounds_never_infinity():
    got = derive_analysis_visit(pd.DataFrame({"ADY": [-30.0, 1.0, 2.0, 140.0, 141.0, 400.0]}), windows=PILOT_WINDOWS)
    # CDISC Pilot 01 windows "<=1", 2-84, 85-140, ">140"
    assert list(got["AVISIT"]) == ["Baseline", "Baseline", "Week 8", "Week 16", "Week 24", "Week 24"]
    assert dash(got["AWLO"]) == ["-", "-", 2.0, 85.0, 141.0, 141.0]
    assert dash(got["AWHI"]) == [1.0, 1.0, 84.0, 140.0, "-", "-"]
    assert not np.isinf(got[["AWLO", "AWHI"]].to_numpy(dtype=float)).any()
    assert list(got["AWTDIFF"]) == [31.0, 0.0, 54.0, 28.0, 27.0, 232.0]


def test_open_bound_inside_the_table_is_a_clear_spec_error():
    bad = PILOT_WINDOWS.assign(AWHI=[1, NAN, 140, NAN])
    with pytest.raises(SpecError) as err:
        window_table(bad)
    assert err.value.lines() == ["window table, key Week 8, AWHI: only the last window may be open above (AWHI missing)",
                                 "window table, key Week 16, AWLO: window overlaps the previous one (value 85.0)"]


# ------------------------------------------------------------------------------------------------ categories, queries

def test_derive_vars_cat_first_match_and_by_vars():
    adlb = pd.DataFrame({"PARAMCD": ["ALT", "ALT", "HGB"], "AVAL": [100.0, 20.0, 100.0]})
    definition = pd.DataFrame(
        {"PARAMCD": ["ALT", "ALT", "HGB"], "condition": ["AVAL > 40", "AVAL <= 40", "AVAL < 120"],
         "AVALCAT1": ["> ULN", "<= ULN", "LOW"], "AVALCA1N": [2.0, 1.0, 1.0]}
    )
    got = derive_vars_cat(adlb, definition=definition, by_vars=["PARAMCD"])
    assert list(got["AVALCAT1"]) == ["> ULN", "<= ULN", "LOW"] and list(got["AVALCA1N"]) == [2.0, 1.0, 1.0]
    overlap = [{"condition": lambda d: d["AVAL"] > 10, "GRP": "A"}, {"condition": "AVAL > 50", "GRP": "B"}]
    assert list(derive_vars_cat(adlb, definition=overlap)["GRP"]) == ["A", "A", "A"]  # the first true row wins
    with pytest.raises(ArgumentError, match="condition cannot be evaluated"):
        derive_vars_cat(adlb, definition=[{"condition": "NOPE > 1", "GRP": "A"}])


def test_derive_vars_query_from_the_study_query_table():
    from adam.adae import customised_queries

    table = query_table(customised_queries())
    terms = list(table.loc[table["PREFIX"].eq("CQ01"), "TERMCHAR"])
    ae = pd.DataFrame({"AEDECOD": [terms[0].upper(), "Headache", None]})
    got = derive_vars_query(ae, dataset_queries=table.assign(GRPID=1.0))
    assert dash(got["CQ01NAM"]) == [customised_queries()[0]["name"], "-", "-"]
    assert dash(got["CQ01CD"]) == [1.0, "-", "-"]


# ------------------------------------------------------------------------------------------------ derived records

def test_extreme_records_end_of_treatment_and_worst():
    adlb = pd.DataFrame({"USUBJID": ["1"] * 3 + ["2"], "PARAMCD": "ALT", "AVISIT": ["BASELINE", "WEEK 2", "WEEK 4", "BASELINE"],
                         "ADY": [1, 15, 29, 1], "AVAL": [30.0, 60.0, 40.0, 25.0]})
    got = derive_extreme_records(adlb, by_vars=["USUBJID", "PARAMCD"], order=["ADY"], mode="last", filter_add=lambda d: d["ADY"] > 1,
                                 set_values_to={"AVISIT": "END OF TREATMENT", "DTYPE": "LOV"})
    # subject 1's last post-baseline record is week 4 (40); subject 2 has none, so no record is added
    assert len(got) == 5 and got.iloc[4][["USUBJID", "AVISIT", "AVAL", "DTYPE"]].tolist() == ["1", "END OF TREATMENT", 40.0, "LOV"]
    got = derive_extreme_records(adlb, by_vars=["USUBJID"], order=[desc("AVAL")], mode="first", set_values_to={"DTYPE": "MAXIMUM"})
    assert got.iloc[4:][["USUBJID", "AVAL"]].values.tolist() == [["1", 60.0], ["2", 25.0]]


def test_locf_records_add_and_update():
    adqs = pd.DataFrame({"USUBJID": ["1", "1", "1", "2"], "PARAMCD": "ACTOT", "AVISITN": [0.0, 8.0, 16.0, 0.0], "AVAL": [20.0, 24.0, NAN, NAN]})
    ref = pd.DataFrame({"USUBJID": ["1"] * 4 + ["2"] * 2, "PARAMCD": "ACTOT", "AVISITN": [0.0, 8.0, 16.0, 24.0, 0.0, 8.0]})
    got = derive_locf_records(adqs, dataset_ref=ref, by_vars=["USUBJID", "PARAMCD"], order=["AVISITN"], imputation="update_add")
    # 1: week 16 is missing -> updated with week 8's 24 (LOCF); week 24 absent -> added with 24;
    # 2: no observed value at all -> nothing to carry forward
    rows = got[["USUBJID", "AVISITN", "AVAL", "DTYPE"]].astype(object).where(got[["USUBJID", "AVISITN", "AVAL", "DTYPE"]].notna(), "-").values.tolist()
    assert rows == [["1", 0.0, 20.0, "-"], ["1", 8.0, 24.0, "-"], ["1", 16.0, 24.0, "LOCF"], ["1", 24.0, 24.0, "LOCF"], ["2", 0.0, "-", "-"]]
    added_only = derive_locf_records(adqs, dataset_ref=ref, by_vars=["USUBJID", "PARAMCD"], order=["AVISITN"])
    assert pd.isna(added_only.loc[added_only["AVISITN"].eq(16.0), "AVAL"]).all()  # "add" leaves existing records alone


# ------------------------------------------------------------------------------------------------ derived parameters

def test_param_computed_keeps_only_complete_groups():
    advs = pd.DataFrame({"USUBJID": ["1", "1", "2"], "PARAMCD": ["WEIGHT", "HEIGHT", "WEIGHT"], "AVAL": [81.0, 180.0, 70.0]})
    got = derive_param_computed(advs, by_vars=["USUBJID"], parameters=["WEIGHT", "HEIGHT"],
                                analysis_value=lambda w: w["AVAL.WEIGHT"] / (w["AVAL.HEIGHT"] / 100) ** 2,
                                set_values_to={"PARAMCD": "BMI"})
    # 81 / 1.8^2 = 25.0; subject 2 has no height -> no BMI record
    assert got.iloc[3:][["USUBJID", "PARAMCD"]].values.tolist() == [["1", "BMI"]] and got["AVAL"].iloc[3] == pytest.approx(25.0)


def test_param_exist_flag_hys_law():
    adsl = pd.DataFrame({"STUDYID": "S", "USUBJID": ["1", "2", "3"]})
    adlb = pd.DataFrame({"STUDYID": "S", "USUBJID": ["1", "1", "2"], "ALT_ULN": [3.5, 1.0, 3.1], "BILI_ULN": [2.5, 1.0, 1.5]})
    got = derive_param_exist_flag(dataset_ref=adsl, dataset_add=adlb, condition=lambda d: (d["ALT_ULN"] >= 3) & (d["BILI_ULN"] >= 2),
                                  false_value="N", missing_value="N", set_values_to={"PARAMCD": "HYSLAW"})
    # 1: one record meets both criteria -> Y; 2: ALT only -> N; 3: no lab -> missing_value N
    assert list(got["AVALC"]) == ["Y", "N", "N"] and list(got["AVAL"]) == [1.0, 0.0, 0.0]


def test_param_tte_events_censorings_and_ties():
    adsl = pd.DataFrame({"STUDYID": "S", "USUBJID": ["1", "2", "3", "4"], "TRTSDT": dt("2021-01-10", "2021-01-10", "2021-01-10", "2021-01-10"),
                         "EOSDT": dt("2021-03-01", "2021-02-01", "2021-01-05", None), "DCDT": dt(None, "2021-02-01", None, None)})
    adrs = pd.DataFrame({"STUDYID": "S", "USUBJID": ["1", "1", "3"], "ADT": dt("2021-02-10", "2021-01-25", "2021-01-20"), "ASEQ": [2, 1, 1], "AVALC": "Y"})
    got = derive_param_tte(
        dataset_adsl=adsl, source_datasets={"adsl": adsl, "adrs": adrs},
        event_conditions=[EventSource("adrs", "ADT", filter=lambda d: d["AVALC"].eq("Y"), set_values_to={"EVNTDESC": "RESPONSE", "SRCSEQ": lambda d: d["ASEQ"]})],
        censor_conditions=[CensorSource("adsl", "EOSDT", set_values_to={"EVNTDESC": "END OF STUDY"}),
                           CensorSource("adsl", "DCDT", censor=2, set_values_to={"EVNTDESC": "DISCONTINUED"})],
        set_values_to={"PARAMCD": "TTRSP"},
    ).pipe(derive_duration, start_date="STARTDT", end_date="ADT", new_var="AVAL")
    # 1: first response 25 Jan (not 10 Feb) -> 25 - 10 + 1 = 16 days, CNSR 0
    # 2: no event; censorings 1 Feb (EOS) and 1 Feb (DC) tie -> the source listed last wins: DISCONTINUED, CNSR 2
    # 3: response on 20 Jan -> 11 days (the earlier EOS is a censoring, irrelevant when there is an event)
    # 4: no event and no censoring date -> no record
    assert got[["USUBJID", "AVAL", "CNSR", "EVNTDESC"]].values.tolist() == [
        ["1", 16.0, 0.0, "RESPONSE"], ["2", 23.0, 2.0, "DISCONTINUED"], ["3", 11.0, 0.0, "RESPONSE"]]
    assert dash(got["SRCSEQ"]) == [1.0, "-", 1.0]


def test_censoring_before_start_is_moved_to_start():
    adsl = pd.DataFrame({"STUDYID": "S", "USUBJID": ["1"], "TRTSDT": dt("2021-01-10"), "EOSDT": dt("2021-01-05")})
    got = derive_param_tte(dataset_adsl=adsl, source_datasets={"adsl": adsl}, event_conditions=[],
                           censor_conditions=[CensorSource("adsl", "EOSDT")], set_values_to={"PARAMCD": "T"})
    assert got["ADT"].iloc[0] == T("2021-01-10")  # admiral: ADT = max(ADT, STARTDT)


# ------------------------------------------------------------------------------------------------ merge

def test_derive_vars_merged_first_last_and_orphans():
    ae = pd.DataFrame({"USUBJID": ["1", "9"], "AESEQ": [1, 1]})
    vs = pd.DataFrame({"USUBJID": ["1", "1"], "ADY": [1, 8], "WEIGHT": [80.0, 78.0]})
    got = derive_vars_merged(ae, dataset_add=vs, by_vars=["USUBJID"], new_vars={"LASTWT": "WEIGHT"}, order=["ADY"], mode="last")
    assert dash(got["LASTWT"]) == [78.0, "-"]
    with pytest.raises(InputError) as err:
        derive_vars_merged(ae, dataset_add=vs, by_vars=["USUBJID"], new_vars=["WEIGHT"], order=["ADY"], mode="last", require_match="SDTM AE", key_vars=["AESEQ"])
    assert err.value.lines() == ["SDTM AE, key 9/AESEQ 1, USUBJID: subject not in ADSL (value '9')"]
    with pytest.raises(InputError, match="more than one record"):
        derive_vars_merged(ae, dataset_add=vs, by_vars=["USUBJID"], new_vars=["WEIGHT"])
