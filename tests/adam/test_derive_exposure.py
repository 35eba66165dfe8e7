"""adam.derive.exposure: admiral ad_adsl.R treatment dates, worked by hand."""

import pandas as pd
import pytest

from adam.derive._common import ArgumentError
from adam.derive.exposure import derive_treatment_dates, derive_treatment_duration, valid_dose_records
from sap.errors import InputError


@pytest.fixture
def ex():
    return pd.DataFrame(
        {
            "USUBJID": ["A", "A", "A", "B", "C", "D"],
            "EXTRT": ["IL-2", "IL-2", "IL-2", "PLACEBO", "IL-2", "IL-2"],
            "EXDOSE": [1.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            "EXSTDTC": ["2014-01-05", "2014-01-03", "2014-01-01", "2014-02-01", "2014-03-01", "2014-04"],
            "EXENDTC": ["2014-01-05", "2014-01-03", "2014-01-20", "2014-02-10", "2014-03-01", "2014-04"],
        }
    )


def test_valid_doses_are_positive_or_placebo_zero(ex):
    # A: 1, 1, 0 (active zero dose does not count); B placebo 0 counts; C active 0 does not; D 1 counts
    assert list(valid_dose_records(ex)) == [True, True, False, True, False, True]


def test_first_start_last_end_over_valid_doses(ex):
    adsl = pd.DataFrame({"USUBJID": ["A", "B", "C", "D", "E"]})
    got = derive_treatment_dates(adsl, dataset_ex=ex).pipe(derive_treatment_duration)
    # A: starts 3 Jan (5 Jan is later; the 1 Jan zero-dose record is excluded), ends 5 Jan -> 5 - 3 + 1 = 3 days
    assert got.loc[0, "TRTSDT"] == pd.Timestamp("2014-01-03") and got.loc[0, "TRTEDT"] == pd.Timestamp("2014-01-05")
    assert got.loc[0, "TRTDURD"] == 3.0
    # B: placebo 1 Feb to 10 Feb -> 10 days
    assert got.loc[1, "TRTDURD"] == 10.0
    # C: only a zero active dose; D: partial dates are not imputed; E: no EX at all -> all missing
    assert got.loc[2:, ["TRTSDT", "TRTEDT", "TRTDURD"]].isna().all().all()
    assert list(adsl.columns) == ["USUBJID"]  # input untouched


def test_missing_ex_column_is_an_input_error(ex):
    with pytest.raises(ArgumentError) as err:
        derive_treatment_dates(pd.DataFrame({"USUBJID": ["A"]}), dataset_ex=ex.drop(columns=["EXDOSE"]))
    assert err.value.lines()[0] == "derive_treatment_dates(), EXDOSE: argument dataset_ex: required column is missing"
