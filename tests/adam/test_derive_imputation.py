"""adam.derive.imputation and traceability, worked by hand."""

import numpy as np
import pandas as pd

from adam.derive.imputation import derive_nonresponder_records
from adam.derive.traceability import derive_traceability


def test_nonresponder_records_fill_every_missing_subject_parameter_visit():
    adsl = pd.DataFrame({"STUDYID": ["S"] * 3, "USUBJID": ["1", "2", "3"], "FASFL": ["Y", "Y", "N"]})
    observed = pd.DataFrame(
        {"STUDYID": ["S"], "USUBJID": ["1"], "PARAMCD": ["SRI4"], "AVISITN": [10.0], "AVALC": ["Y"], "AVAL": [1.0]}
    )
    parameters = pd.DataFrame({"PARAMCD": ["SRI4"], "PARAM": ["SRI-4 response"]})
    visits = pd.DataFrame({"AVISITN": [6.0, 10.0], "AVISIT": ["WEEK 6", "WEEK 10"]})
    got = derive_nonresponder_records(observed, dataset_adsl=adsl, parameters=parameters, visits=visits, population="FASFL")
    # FAS = subjects 1, 2 (3 is excluded); expected keys 2 subjects x 1 parameter x 2 visits = 4;
    # subject 1 week 10 is observed -> 3 NRI records + 1 observed = 4 rows
    assert len(got) == 4
    assert list(got["USUBJID"]) == ["1", "1", "2", "2"] and list(got["AVISITN"]) == [6.0, 10.0, 6.0, 10.0]
    assert list(got["AVALC"]) == ["N", "Y", "N", "N"] and list(got["AVAL"]) == [0.0, 1.0, 0.0, 0.0]
    assert list(got["DTYPE"].fillna("-")) == ["NRI", "-", "NRI", "NRI"]
    assert got.loc[0, "PARAM"] == "SRI-4 response" and got.loc[0, "AVISIT"] == "WEEK 6"
    assert len(observed) == 1  # input untouched


def test_without_population_every_adsl_subject_is_expected():
    adsl = pd.DataFrame({"STUDYID": ["S"] * 2, "USUBJID": ["1", "2"]})
    empty = pd.DataFrame({"STUDYID": pd.Series(dtype="str"), "USUBJID": pd.Series(dtype="str"),
                          "PARAMCD": pd.Series(dtype="str"), "AVISITN": pd.Series(dtype="float64")})
    got = derive_nonresponder_records(empty, dataset_adsl=adsl, parameters=pd.DataFrame({"PARAMCD": ["SRI4"]}), visits=pd.DataFrame({"AVISITN": [6.0]}), dtype="NRI2")
    assert len(got) == 2 and got["DTYPE"].eq("NRI2").all()


def test_traceability_only_on_records_from_one_sdtm_record():
    data = pd.DataFrame({"LBSEQ": [3.0, 7.0, np.nan], "DTYPE": [np.nan, "AVERAGE", np.nan]})
    got = derive_traceability(data, domain="LB", source_var="LBSTRESN", seq_var="LBSEQ")
    # row 0: direct copy -> LB/LBSTRESN/3; row 1: derived (DTYPE) -> none; row 2: no sequence -> none
    assert list(got["SRCDOM"].fillna("-")) == ["LB", "-", "-"]
    assert list(got["SRCVAR"].fillna("-")) == ["LBSTRESN", "-", "-"]
    assert got["SRCSEQ"].iloc[0] == 3.0 and got["SRCSEQ"].iloc[1:].isna().all()


def test_traceability_from_columns_for_mixed_domains():
    data = pd.DataFrame({"SEQ": [1, 2], "DOM": ["QS", "LB"], "VAR": ["QSSTRESN", "LBSTRESN"]})
    got = derive_traceability(data, domain="@DOM", source_var="@VAR", seq_var="SEQ")
    assert list(got["SRCDOM"]) == ["QS", "LB"] and list(got["SRCVAR"]) == ["QSSTRESN", "LBSTRESN"]
