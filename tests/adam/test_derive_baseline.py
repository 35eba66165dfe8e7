"""adam.derive.baseline: ABLFL, BASE, CHG, PCHG, ANRIND, BNRIND, SHIFT1 worked by hand."""

import numpy as np
import pandas as pd
import pytest

from adam.derive.baseline import (
    derive_baseline,
    derive_change,
    derive_percent_change,
    derive_range_indicator,
    derive_shift,
    post_baseline,
    signif,
)
from adam.derive.flags import derive_extreme_flag
from sap.errors import InputError

T = pd.Timestamp
NAN = np.nan


def derive_baseline_flag(lab):
    """The ABLFL rule the study templates write: last record with a value on or before first dose."""
    pre_dose = lab["AVAL"].notna() & lab["ADT"].notna() & (lab["ADT"] <= lab["TRTSDT"])
    return derive_extreme_flag(lab, by_vars=["USUBJID", "PARAMCD"], order=["ADT"], new_var="ABLFL", mode="last", filter_add=pre_dose)


@pytest.fixture
def lab():
    first_dose = T("2014-01-10")
    return pd.DataFrame(
        {
            "USUBJID": ["A", "A", "A", "A", "B", "B", "C", "C"],
            "PARAMCD": ["C3"] * 8,
            "ADT": [T("2014-01-01"), T("2014-01-10"), T("2014-01-10"), T("2014-02-01"),
                    T("2014-01-05"), T("2014-02-01"), T("2014-01-08"), T("2014-01-09")],
            "AVAL": [0.8, NAN, 0.9, 1.2, 0.0, 0.5, 1.0, 1.1],
            "TRTSDT": [first_dose] * 8,
        }
    )


def test_baseline_flag_is_last_non_missing_on_or_before_first_dose(lab):
    got = derive_baseline_flag(lab)
    # A: 1 Jan (0.8), 10 Jan missing AVAL (skipped), 10 Jan 0.9 -> last non-missing on/before 10 Jan = row 2
    # B: only 5 Jan before dose -> row 4; C: two pre-dose records, last is 9 Jan (row 7); C has no post-baseline
    assert list(got["ABLFL"].fillna("-")) == ["-", "-", "Y", "-", "Y", "-", "-", "Y"]


def test_base_chg_pchg_post_baseline_only(lab):
    got = lab.pipe(derive_baseline_flag).pipe(derive_baseline).pipe(derive_change, filter_add=post_baseline).pipe(derive_percent_change, filter_add=post_baseline)
    assert list(got["BASE"]) == [0.9, 0.9, 0.9, 0.9, 0.0, 0.0, 1.1, 1.1]
    # A 1 Feb: CHG 1.2 - 0.9 = 0.3; PCHG 0.3 / 0.9 * 100 = 33.33...
    assert got.loc[3, "CHG"] == pytest.approx(0.3) and got.loc[3, "PCHG"] == pytest.approx(100 / 3)
    # B 1 Feb: BASE 0 -> CHG 0.5 - 0 = 0.5, PCHG missing (division by zero)
    assert got.loc[5, "CHG"] == pytest.approx(0.5) and np.isnan(got.loc[5, "PCHG"])
    # records on or before the first-dose date (baseline included) have no CHG/PCHG;
    # C has no post-baseline record, so it has no CHG at all
    assert got.loc[[0, 1, 2, 4, 6, 7], ["CHG", "PCHG"]].isna().all().all()


def test_negative_base_uses_absolute_value_in_pchg():
    data = pd.DataFrame({"AVAL": [-3.0], "BASE": [-2.0], "ADT": [T("2014-02-01")], "TRTSDT": [T("2014-01-01")]})
    # (-3 - -2) / |-2| * 100 = -50
    assert derive_percent_change(data)["PCHG"].iloc[0] == pytest.approx(-50.0)


def test_two_baseline_records_are_an_input_error():
    data = pd.DataFrame({"USUBJID": ["A", "A"], "PARAMCD": ["C3", "C3"], "AVAL": [1.0, 2.0], "ABLFL": ["Y", "Y"]})
    with pytest.raises(InputError) as err:
        derive_baseline(data)
    assert "ABLFL" in err.value.lines()[0]


def test_range_indicator_after_signif_and_open_bounds():
    data = pd.DataFrame(
        {
            "AVAL": [0.1 + 0.2, 0.29, 5.0, 5.1, 1.0, NAN, 2.0],
            "ANRLO": [0.3, 0.3, NAN, NAN, 0.5, 0.5, NAN],
            "ANRHI": [1.0, 1.0, 5.0, 5.0, NAN, 1.0, NAN],
        }
    )
    got = derive_range_indicator(data)["ANRIND"]
    # 0.1 + 0.2 = 0.30000000000000004 -> signif(15) = 0.3 -> NORMAL (a raw compare would also pass, but
    # 0.29 < 0.3 -> LOW); 5.0 <= 5.0 with no low bound -> NORMAL; 5.1 > 5 -> HIGH; 1.0 >= 0.5 with no high
    # bound -> NORMAL; missing value -> missing; both bounds missing -> missing
    assert list(got.fillna("-")) == ["NORMAL", "LOW", "NORMAL", "HIGH", "NORMAL", "-", "-"]


def test_signif_removes_floating_noise():
    got = signif(pd.Series([1.0000000000000002, 123456.78901234567, 0.0, NAN]), 15)
    assert got.iloc[0] == 1.0 and got.iloc[1] == 123456.789012346 and got.iloc[2] == 0.0 and np.isnan(got.iloc[3])


def test_bnrind_and_shift_with_null_for_missing():
    data = pd.DataFrame(
        {
            "USUBJID": ["A", "A", "B", "B"],
            "PARAMCD": ["C3"] * 4,
            "ABLFL": ["Y", NAN, "Y", NAN],
            "ANRIND": ["NORMAL", "HIGH", NAN, "LOW"],
        }
    )
    got = data.pipe(derive_baseline, source_var="ANRIND", new_var="BNRIND").pipe(derive_shift)
    assert list(got["BNRIND"].fillna("-")) == ["NORMAL", "NORMAL", "-", "-"]
    assert list(got["SHIFT1"]) == ["NORMAL to NORMAL", "NORMAL to HIGH", "NULL to NULL", "NULL to LOW"]
    only_post = derive_shift(got.drop(columns="SHIFT1"), filter_add=got["ABLFL"].isna())
    assert list(only_post["SHIFT1"].fillna("-")) == ["-", "NORMAL to HIGH", "-", "NULL to LOW"]


def test_change_is_exact_to_the_inputs_decimals():
    from adam.derive.baseline import decimal_places

    # C3 0.72 and 0.76 against baselines 0.68 and 0.72: both changes are +0.04 exactly, so they must tie
    # (binary subtraction gives 0.039999999999999925 and 0.040000000000000036)
    data = pd.DataFrame({"AVAL": [0.72, 0.76, 12.0, 0.3], "BASE": [0.68, 0.72, 10.0, 0.1],
                         "ADT": pd.to_datetime(["2014-02-01"] * 4), "TRTSDT": pd.to_datetime(["2014-01-01"] * 4)})
    got = derive_percent_change(derive_change(data))
    assert got["CHG"].tolist() == [0.04, 0.04, 2.0, 0.2]  # the doubles nearest 0.04, 0.04, 2, 0.2
    # PCHG: 0.04 / 0.68 * 100 = 100 * 4 / 68 = 5.882352941...; 2 / 10 * 100 = 20; 0.2 / 0.1 * 100 = 200 exactly
    assert got["PCHG"].tolist() == [400 / 68, 400 / 72, 20.0, 200.0]
    assert decimal_places(pd.Series([0.68, 171.0, 3.25, np.nan, 1 / 3])).tolist() == [2, 0, 2, 0, 9]
