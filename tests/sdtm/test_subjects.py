"""Shared builder helpers: EDC date conversion, the data cut-off rule, number text."""

import numpy as np
import pandas as pd

from sdtm.subjects import after_cutoff, earliest_possible_date, edc_date_to_iso, number_text


def test_edc_date_to_iso_keeps_partial_dates_partial():
    values = pd.Series(["05-AUG-2013", "UN-AUG-2013", "UN-UNK-2013", None, " 09-sep-2014 ", "garbage"], dtype="str")
    expected = ["2013-08-05", "2013-08", "2013", None, "2014-09-09", None]
    got = edc_date_to_iso(values)
    assert [None if pd.isna(v) else v for v in got] == expected
    # an empty column (a batch without rows of a form) converts to an empty column
    assert edc_date_to_iso(pd.Series([], dtype="str")).empty


def test_after_cutoff_uses_the_earliest_possible_day(study):
    # cut-off 2015-10-31: "2015-10" may be 2015-10-01..31 -> kept; "2015-11" starts 2015-11-01 -> after;
    # "2015" may be any day of 2015 -> kept; "2016" -> after; missing -> kept
    iso = pd.Series(["2015-10-31", "2015-11-01", "2015-10", "2015-11", "2015", "2016", None], dtype="str")
    assert earliest_possible_date(iso).tolist()[:6] == ["2015-10-31", "2015-11-01", "2015-10-01", "2015-11-01", "2015-01-01", "2016-01-01"]
    assert after_cutoff(iso, study).tolist() == [False, True, False, True, False, True, False]


def test_number_text():
    assert number_text(pd.Series([160.0, 70.5, np.nan, 0.0])).fillna("-").tolist() == ["160", "70.5", "-", "0"]
