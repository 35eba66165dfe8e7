"""adam.derive.visits: analysis windows worked by hand."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from adam.derive.visits import derive_analysis_visit, window_table
from sap.errors import SpecError

WINDOWS = pd.DataFrame(
    {"AVISIT": ["BASELINE", "WEEK 2", "WEEK 4"], "AVISITN": [0.0, 2.0, 4.0], "AWLO": [-28, 2, 22], "AWHI": [1, 21, 35], "AWTARGET": [1, 15, 29]}
)


def test_records_are_windowed_by_study_day_and_outside_records_are_kept():
    data = pd.DataFrame({"ADY": [-30.0, -28.0, 1.0, 2.0, 21.0, 22.0, 36.0, np.nan]})
    got = derive_analysis_visit(data, windows=WINDOWS)
    assert len(got) == len(data)  # nothing dropped
    # -30 before the first window; -28 and 1 are the baseline window edges; 2 and 21 WEEK 2 edges;
    # 22 WEEK 4; 36 after the last window; missing day -> missing visit
    assert list(got["AVISIT"].fillna("-")) == ["-", "BASELINE", "BASELINE", "WEEK 2", "WEEK 2", "WEEK 4", "-", "-"]
    assert list(got["AVISITN"].fillna(-1)) == [-1, 0, 0, 2, 2, 4, -1, -1]
    # AWTDIFF = |ADY - target|: |2 - 15| = 13, |21 - 15| = 6, |22 - 29| = 7
    assert list(got["AWTDIFF"].iloc[3:6]) == [13.0, 6.0, 7.0]


def test_gap_between_windows_gives_missing_visit():
    windows = WINDOWS.assign(AWLO=[-28, 2, 25])  # days 22-24 fall in no window
    got = derive_analysis_visit(pd.DataFrame({"ADY": [23.0]}), windows=windows)
    assert got["AVISIT"].isna().all()


def test_window_table_from_plan_visits_and_overlap_error():
    visits = [SimpleNamespace(visit="WEEK 0", visitnum=1, window=(-28, 1), target_day=1),
              SimpleNamespace(visit="WEEK 2", visitnum=2, window=(2, 21), target_day=15)]
    table = window_table(visits)
    assert list(table["AVISIT"]) == ["WEEK 0", "WEEK 2"] and list(table["AWHI"]) == [1.0, 21.0]
    with pytest.raises(SpecError) as err:
        window_table(WINDOWS.assign(AWLO=[-28, 1, 22]))  # WEEK 2 starts on day 1, inside baseline
    assert "WEEK 2" in err.value.lines()[0]


def test_study_plan_windows_are_accepted(study):
    table = window_table(study.visits)
    assert len(table) == len(study.visits)
