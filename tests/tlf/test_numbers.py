"""tlf.numbers: exact values, rounding half away from zero, the precision rule; every expected value by hand."""

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from tlf import numbers
from tlf.ard import Ard, exact_text


def test_floats_are_read_as_the_decimal_they_were_recorded_as():
    assert numbers.exact(0.1) == Fraction(1, 10)
    assert numbers.exact(0.72) - numbers.exact(0.68) == Fraction(4, 100)
    assert numbers.exact(float("nan")) is None and numbers.exact(None) is None


def test_half_away_from_zero_on_the_exact_value():
    # 0.125 and 2.675 are ties as decimals; the binary doubles are 0.125 exactly and 2.67499999..., so
    # f-format gives "0.12" (half even) and "2.67" (binary below the tie); SAS ROUND gives 0.13 and 2.68
    assert numbers.fmt(0.125, 2) == "0.13" and f"{0.125:.2f}" == "0.12"
    assert numbers.fmt(2.675, 2) == "2.68" and f"{2.675:.2f}" == "2.67"
    assert numbers.fmt(-0.125, 2) == "-0.13"
    assert numbers.fmt(-0.04, 1) == "0.0"  # rounds to zero: no minus sign
    assert numbers.fmt(Fraction(1, 3), 3) == "0.333"
    # 1/16 = 6.25%: a tie at one decimal -> 6.3
    assert numbers.format_percent(Fraction(1, 16)) == "6.3"


def test_p_values():
    assert numbers.format_p(0.0625) == "0.063"
    assert numbers.format_p(0.0009) == "<0.001" and numbers.format_p(0.9995) == ">0.999"
    assert numbers.format_p(float("nan")) == "NE"


def test_exact_summary_by_hand():
    # 0.1, 0.2, 0.4, 0.4: mean 1.1 / 4 = 0.275; deviations -0.175, -0.075, 0.125, 0.125 -> sum of squares
    # 0.030625 + 0.005625 + 0.015625 + 0.015625 = 0.0675, variance 0.0225, SD 0.15 exactly;
    # median (0.2 + 0.4) / 2 = 0.3; type 7: Q1 at h = 0.75 -> 0.1 + 0.75 * 0.1 = 0.175, Q3 at h = 2.25 -> 0.4
    s = numbers.summarise(pd.Series([0.4, 0.1, np.nan, 0.2, 0.4]))
    assert (s.n, s.mean, s.median, s.q1, s.q3, s.min, s.max) == (
        4, Fraction(275, 1000), Fraction(3, 10), Fraction(175, 1000), Fraction(4, 10), Fraction(1, 10), Fraction(4, 10))
    assert s.sd == Decimal("0.15")
    # collected with 1 decimal: mean 2 decimals (0.275 -> 0.28, a tie rounded away), SD 3, median 2, min/max 1
    texts = Ard("T").summary(pd.Series([0.4, 0.1, 0.2, 0.4]), 1)
    assert texts == {"n": "4", "Mean (SD)": "0.28 (0.150)", "Median": "0.30", "Q1, Q3": "0.18, 0.40", "Min, Max": "0.1, 0.4"}


def test_precision_rule_is_read_from_the_plan():
    assert numbers.decimals_for("mean", 1) == 2 and numbers.decimals_for("sd", 1) == 3
    assert numbers.decimals_for("minmax", 2) == 2 and numbers.decimals_for("p_value", 0) == 3
    assert numbers.collected_decimals("C4") == 3  # display.yaml collected_decimals
    assert numbers.collected_decimals("UNLISTED", pd.Series([1.5, 2.25])) == 2


def test_ard_rows_hold_exact_values_and_the_displayed_text():
    ard = Ard("14.9.9")
    assert ard.n_pct(1, 16, groups=(("PARAMCD", "X"),), variable="AVALC", level="Y") == "1 (6.3)"
    frame = ard.frame()
    assert frame["STAT"].tolist() == ["n", "N", "pct"]
    pct = frame.iloc[2]
    assert (pct["VALUE"], pct["VALUE_EXACT"], pct["FORMATTED"]) == (6.25, "6.25", "6.3")
    assert exact_text(Fraction(1, 3)) == "1/3" and exact_text(0.1) == "0.1" and exact_text(37) == "37"
