"""Kaplan-Meier (tlf.survival) against a published example, and the time-to-response table and figure on a
hand-made ADTTE frame worked by hand."""

import numpy as np
import pandas as pd
import pytest

from tlf.catalog import load_outputs
from tlf.efficacy_tte import time_to_response_figure, time_to_response_table
from tlf.survival import at_risk, kaplan_meier

# Freireich et al. 1963, 6-MP arm (21 leukaemia patients, weeks in remission; 0 = censored), the textbook
# example of Klein and Moeschberger (2003), Table 4.1A.
SIX_MP_TIME = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
SIX_MP_EVENT = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]


def test_kaplan_meier_matches_the_published_6mp_table():
    km = kaplan_meier(SIX_MP_TIME, SIX_MP_EVENT)
    t = km.table
    # Klein and Moeschberger Table 4.1A: S(t) and Greenwood SE at the 7 event times
    assert t["time"].tolist() == [6, 7, 10, 13, 16, 22, 23]
    assert t["at_risk"].tolist() == [21, 17, 15, 12, 11, 7, 6]
    assert t["survival"].round(3).tolist() == [0.857, 0.807, 0.753, 0.690, 0.627, 0.538, 0.448]
    assert t["se"].round(3).tolist() == [0.076, 0.087, 0.096, 0.107, 0.114, 0.128, 0.135]
    # log-log 95% limits at t = 6 worked by hand: se_gw = sqrt(3 / (21 * 18)) = 0.08909, log S = -0.15415,
    # exp(1.95996 * 0.08909 / 0.15415) = 3.1041 -> 0.857^3.1041 = 0.6197 and 0.857^(1/3.1041) = 0.9516
    assert t.loc[0, "lower"] == pytest.approx(0.6197, abs=5e-4) and t.loc[0, "upper"] == pytest.approx(0.9516, abs=5e-4)
    median, low, high = km.median()
    # the median is the first time with S <= 0.5: 23 weeks (published); the lower limit is the first time whose
    # lower limit is <= 0.5, the upper limit is not reached (NE)
    assert median == 23 and low == 13 and np.isnan(high)
    assert km.n == 21 and km.events == 9
    assert km.survival_at(5.9) == (1.0, 1.0, 1.0) and km.survival_at(12)[0] == pytest.approx(0.7529, abs=1e-4)
    assert at_risk(SIX_MP_TIME, [0, 10, 30]) == [21, 15, 4]


def test_median_where_the_curve_is_exactly_one_half_is_the_midpoint():
    """SAS PROC LIFETEST / R survfit: S = 0.5 exactly on [15, 17) -> median (15 + 17) / 2 = 16. Worked by
    hand: 8 subjects, events at 13, 13, 14, 15, 17, 32, 41, 87: S = 6/8, 5/8, 4/8 after 13, 14, 15. The
    product 6/8 * 5/6 * 4/5 is 0.5000000000000001 in floating point: the test is the exact-half case."""
    km = kaplan_meier([13, 13, 14, 15, 17, 32, 41, 87], [1] * 8)
    assert km.median()[0] == 16
    # the flat half on the last step ends at the last follow-up: events at 1, 2; censored at 5 and 9
    assert kaplan_meier([1, 2, 5, 9], [1, 1, 0, 0]).median()[0] == (2 + 9) / 2
    assert kaplan_meier([1, 2, 3], [1, 1, 0]).median()[0] == 2  # S = 1/3 after 2: below one half, no tie


def test_kaplan_meier_refuses_bad_input():
    with pytest.raises(ValueError, match="event 0/1"):
        kaplan_meier([1, 2], [1, 2])


@pytest.fixture
def tte_adam():
    """8 FAS subjects (IL2-001..008) and 2 outside the FAS. Responses on days 15, 15, 29, 43; censored on
    days 29, 43, 85 and 1 (no assessment)."""
    ids = [f"IL2-{i:03d}" for i in range(1, 11)]
    adsl = pd.DataFrame({"USUBJID": ids, "FASFL": ["Y"] * 8 + ["N", "N"]})
    adtte = pd.DataFrame({"USUBJID": ids, "PARAMCD": "TTSRI4",
                          "AVAL": [15.0, 15.0, 29.0, 43.0, 29.0, 43.0, 85.0, 1.0, 15.0, 15.0],
                          "CNSR": [0, 0, 0, 0, 1, 1, 1, 1, 0, 0]})
    return {"ADSL": adsl, "ADTTE": adtte}


def test_time_to_response_table_worked_by_hand(tte_adam, study):
    out = time_to_response_table(tte_adam, load_outputs().get("14.2.9"), study)
    rows = dict(zip(out.body.iloc[:, 0], out.body.iloc[:, 1]))
    # day 1: censored (at risk 8 -> 7); day 15: 2 of 7 respond, S = 5/7 = 0.7143; day 29: 5 at risk, 1 responds,
    # 1 censored, S = 5/7 * 4/5 = 0.5714; day 43: 3 at risk, 1 responds, S = 0.5714 * 2/3 = 0.3810 <= 0.5
    assert rows["Subjects, n"] == "8"
    assert rows["Responded (event), n (%)"] == "4 (50.0)"
    assert rows["Censored without a response, n (%)"] == "4 (50.0)"
    assert rows["Median time to response, days"] == "43"
    assert rows["Responded by day 15 (Week 2), % (95% CI)"].startswith("28.6 (")  # 1 - 5/7
    assert rows["Responded by day 29 (Week 4), % (95% CI)"].startswith("42.9 (")  # 1 - 4/7
    assert rows["Responded by day 43 (Week 6), % (95% CI)"].startswith("61.9 (")  # 1 - 0.3810
    fig = time_to_response_figure(tte_adam, load_outputs().get("14.2.9.1"), study)
    assert fig.big_n == 8 and fig.figure is not None and fig.figure.axes[0].get_xlabel().startswith("Study day")
