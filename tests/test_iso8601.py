"""ISO 8601 dates as SDTM stores them (SDTMIG 4.4.2): the shape AND the calendar. Each expected value below is
worked out by hand from the Gregorian calendar (30 days hath September...; leap years: divisible by 4, except
centuries not divisible by 400)."""

import pandas as pd
import pytest

from sap.errors import SpecError
from sap.specs import apply_spec, conformance_problems, iso8601_invalid, load_spec

CASES = [
    # value, invalid as a partial-allowed date, invalid as a complete date
    ("2014-06-30", False, False),
    ("2014-06-31", True, True),          # June has 30 days
    ("2014-13-45", True, True),          # no month 13 (and no day 45)
    ("2014-13", True, True),             # a partial date with an impossible month
    ("2014-00", True, True),             # months start at 01
    ("2014-02-30", True, True),          # 30 February never exists
    ("2012-02-29", False, False),        # 2012 is a leap year
    ("2013-02-29", True, True),          # 2013 is not
    ("2000-02-29", False, False),        # divisible by 400: leap
    ("1900-02-29", True, True),          # a century not divisible by 400: not leap
    ("2014-01-00", True, True),          # days start at 01
    ("2014", False, True),               # partial: year only
    ("2014-06", False, True),            # partial: year and month
    ("2014-06-15T12", False, True),      # partial time: hour only
    ("2014-06-15T23:59:59", False, False),
    ("2014-06-15T24:00", True, True),    # hours run 00-23
    ("2014-06-15T12:60", True, True),    # minutes run 00-59
    ("2014-06-15T12:30:60", True, True),  # seconds run 00-59 (no leap second in SDTM data)
    ("2014-1-01", True, True),           # two-digit month
    ("10JAN2014", True, True),           # SAS date text, not ISO 8601
]


@pytest.mark.parametrize("value, partial_invalid, full_invalid", CASES, ids=[c[0] for c in CASES])
def test_calendar_and_shape(value, partial_invalid, full_invalid):
    series = pd.Series([value, None], dtype="str")
    assert iso8601_invalid(series, partial=True).tolist() == [partial_invalid, False]
    assert iso8601_invalid(series, partial=False).tolist() == [full_invalid, False]


def test_object_columns_and_index_are_kept():
    series = pd.Series(["2014-02-30", float("nan"), "2014-02-28"], index=[10, 11, 12], dtype=object)
    result = iso8601_invalid(series, partial=False)
    assert result.index.tolist() == [10, 11, 12] and result.tolist() == [True, False, False]


def test_conforming_a_domain_names_the_impossible_date():
    spec = load_spec("DM")
    assert spec.variable("RFSTDTC").partial is False
    frame = pd.DataFrame({name: pd.Series([None, None], dtype="str") for name in ("STUDYID", "DOMAIN", "USUBJID")})
    frame["RFSTDTC"] = pd.Series(["2014-01-10", "2014-02-30"], dtype="str")
    problems = [p for p in conformance_problems(frame, spec) if p.variable == "RFSTDTC"]
    assert len(problems) == 1
    assert "1 value(s) not complete ISO 8601" in str(problems[0]) and "2014-02-30" in str(problems[0])
    assert problems[0].row == 2
    with pytest.raises(SpecError, match=r"RFSTDTC: 1 value\(s\) not complete ISO 8601 \(value .2014-02-30.\)"):
        apply_spec(frame, spec)
