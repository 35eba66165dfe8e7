"""ADEX on a hand-made ADSL and EX: one record per injection; values worked out by hand from adex.yaml."""

import pandas as pd
import pytest

from adam.adex import derive_adex
from sap.errors import InputError
from sap.specs import apply_spec


def _adsl():
    return pd.DataFrame({"USUBJID": ["S1", "S2"], "SUBJID": ["1", "2"], "SITEID": "01", "SAFFL": ["Y", "N"],
                         "TRT01A": pd.Series(["Low-dose IL-2", None], dtype="str"),
                         "TRTSDT": pd.to_datetime(["2014-01-02", None]).astype("datetime64[s]"),
                         "TRTEDT": pd.to_datetime(["2014-01-04", None]).astype("datetime64[s]")})


def _ex(subjects=("S1", "S1")):
    return pd.DataFrame({"STUDYID": "IL2SLE01", "USUBJID": list(subjects), "EXSEQ": [2, 1][:len(subjects)],
                         "EXSPID": ["CYCLE 1 INJECTION 2", "CYCLE 1 INJECTION 1"][:len(subjects)],
                         "EXTRT": "INTERLEUKIN-2", "EXDOSE": 1.0, "EXDOSU": "10^6 IU", "EXROUTE": "SUBCUTANEOUS",
                         "EXLOC": "ABDOMEN", "EPOCH": "TREATMENT", "EXSTDTC": ["2014-01-04", "2014-01-02"][:len(subjects)]})


def test_one_record_per_injection(study):
    adex = apply_spec(derive_adex({"EX": _ex()}, study, _adsl()), "adex")
    # sorted by date: EXSEQ 1 on 2014-01-02 (day 1 = first dose), EXSEQ 2 on 2014-01-04 (day 3)
    assert adex["EXSEQ"].tolist() == [1, 2] and adex["ADY"].tolist() == [1, 3]
    assert adex["AVAL"].tolist() == [1.0, 1.0] and set(adex["PARAMCD"]) == {"DOSE"}
    assert set(adex["PARAM"]) == {"Dose Administered per Injection"}  # decode of EXPARMCD in the specs
    assert adex["SRCDOM"].tolist() == ["EX", "EX"] and adex["SRCSEQ"].tolist() == [1, 2]
    assert adex["TRTA"].tolist() == ["Low-dose IL-2"] * 2 and adex["SAFFL"].tolist() == ["Y", "Y"]


def test_an_injection_of_a_subject_without_adsl_is_an_input_error(study):
    with pytest.raises(InputError):
        derive_adex({"EX": _ex(("S9",))}, study, _adsl())
