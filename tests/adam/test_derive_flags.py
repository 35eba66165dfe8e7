"""adam.derive.flags: population, TRTEMFL, occurrence, ONTRTFL and ANL01FL flags worked by hand."""

import pandas as pd
import pytest

from adam.derive.flags import (
    check_single_record,
    derive_exist_flag,
    derive_extreme_flag,
    derive_occurrence_flags,
    derive_on_treatment_flag,
    derive_treatment_emergent_flag,
)
from adam.derive._common import desc
from sap.errors import InputError

T = pd.Timestamp


def as_list(series):
    return list(series.fillna("-"))


def test_exist_flag_y_n_and_missing_value():
    adsl = pd.DataFrame({"USUBJID": ["A", "B", "C"]})
    ex = pd.DataFrame({"USUBJID": ["A", "A", "B"], "EXDOSE": [0.0, 1.0, 0.0]})
    got = derive_exist_flag(adsl, dataset_add=ex, new_var="SAFFL", condition=lambda d: d["EXDOSE"].gt(0))
    # A has a dose > 0 -> Y; B has EX records but none qualifies -> N; C has no EX -> missing_value N
    assert list(got["SAFFL"]) == ["Y", "N", "N"]
    got = derive_exist_flag(adsl, dataset_add=ex, new_var="SAFFL", condition=lambda d: d["EXDOSE"].gt(0), false_value="F", missing_value="M")
    assert list(got["SAFFL"]) == ["Y", "F", "M"]


@pytest.fixture
def ae():
    trtsdt, trtedt = T("2014-01-10"), T("2014-02-10")
    return pd.DataFrame(
        {
            "case": ["first-dose day", "ended before", "missing start", "inside window", "day 30 after",
                     "day 31 after", "before, ongoing", "untreated"],
            "ASTDT": [T("2014-01-10"), T("2014-01-01"), pd.NaT, T("2014-01-20"), T("2014-03-12"), T("2014-03-13"),
                      T("2014-01-05"), T("2014-01-20")],
            "AENDT": [pd.NaT, T("2014-01-09"), pd.NaT, T("2014-01-25"), pd.NaT, pd.NaT, pd.NaT, pd.NaT],
            "TRTSDT": [trtsdt] * 7 + [pd.NaT],
            "TRTEDT": [trtedt] * 7 + [pd.NaT],
        }
    )


def test_treatment_emergent_rules_in_admiral_order(ae):
    got = derive_treatment_emergent_flag(ae, trt_end_date="TRTEDT", end_window=30)
    # TRTEDT 10 Feb + 30 days = 12 Mar: 12 Mar is inside, 13 Mar outside.
    # AE ending 9 Jan < TRTSDT 10 Jan -> missing; missing start with a treated subject -> Y;
    # started 5 Jan before treatment (not ended) -> missing; untreated -> missing.
    assert as_list(got["TRTEMFL"]) == ["Y", "-", "Y", "Y", "Y", "-", "-", "-"]


def test_treatment_emergent_without_end_window(ae):
    got = derive_treatment_emergent_flag(ae)
    # day 31 after last dose now counts (no end window)
    assert as_list(got["TRTEMFL"]) == ["Y", "-", "Y", "Y", "Y", "Y", "-", "-"]


def test_missing_start_with_end_before_treatment_is_not_emergent():
    data = pd.DataFrame({"ASTDT": [pd.NaT], "AENDT": [T("2014-01-01")], "TRTSDT": [T("2014-01-10")], "TRTEDT": [T("2014-02-10")]})
    # rule 2 (ended before start) comes before rule 3 (missing start)
    assert derive_treatment_emergent_flag(data)["TRTEMFL"].isna().all()


def test_occurrence_flags_by_subject_soc_and_pt():
    ae = pd.DataFrame(
        {
            "USUBJID": ["A", "A", "A", "A", "B"],
            "AEBODSYS": ["SKIN", "SKIN", "GI", "SKIN", "GI"],
            "AEDECOD": ["RASH", "RASH", "NAUSEA", "PRURITUS", "NAUSEA"],
            "ASTDT": [T("2014-01-05"), T("2014-01-02"), T("2014-01-01"), T("2014-01-03"), T("2014-01-04")],
            "AESEQ": [1, 2, 3, 4, 1],
            "TRTEMFL": ["Y", "Y", "-", "Y", "Y"],
        }
    )
    got = derive_occurrence_flags(ae, order=["ASTDT", "AESEQ"], filter_add=ae["TRTEMFL"].eq("Y"))
    # Among emergent records of A: RASH 2 Jan (seq 2) is first overall, first in SKIN and first RASH;
    # PRURITUS 3 Jan is first PRURITUS only; RASH 5 Jan is a repeat; GI/NAUSEA of A is not emergent.
    assert as_list(got["AOCCFL"]) == ["-", "Y", "-", "-", "Y"]
    assert as_list(got["AOCCSFL"]) == ["-", "Y", "-", "-", "Y"]
    assert as_list(got["AOCCPFL"]) == ["-", "Y", "-", "Y", "Y"]


def test_on_treatment_flag_with_window_and_pre_dose():
    data = pd.DataFrame(
        {
            "ADT": [T("2014-01-10"), T("2014-01-10"), T("2014-02-15"), T("2014-02-16"), T("2014-01-09"), pd.NaT],
            "TRTSDT": [T("2014-01-10")] * 6,
            "TRTEDT": [T("2014-02-10")] * 6,
            "AVISIT": ["BASELINE", "WEEK 1", "WEEK 5", "WEEK 5", "SCREENING", "WEEK 2"],
        }
    )
    got = derive_on_treatment_flag(data, ref_end_date="TRTEDT", ref_end_window=5, filter_pre_timepoint=data["AVISIT"].eq("BASELINE"))
    # 10 Jan pre-dose baseline -> not on treatment; 10 Jan other visit -> Y; 15 Feb = 10 Feb + 5 -> Y;
    # 16 Feb > end + 5 -> no; 9 Jan before first dose -> no; missing date -> no
    assert as_list(got["ONTRTFL"]) == ["-", "Y", "Y", "-", "-", "-"]


def test_analysis_record_flag_closest_to_target_then_later_then_sequence():
    data = pd.DataFrame(
        {
            "USUBJID": ["A"] * 6 + ["B"],
            "PARAMCD": ["C3"] * 7,
            "AVISITN": [2.0, 2.0, 3.0, 3.0, 3.0, float("nan"), 2.0],
            "AVAL": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, float("nan")],
            "ADT": [T("2014-01-12"), T("2014-01-16"), T("2014-02-01"), T("2014-02-05"), T("2014-02-05"), T("2014-04-01"), T("2014-01-15")],
            "ASEQ": [1, 2, 3, 4, 5, 6, 1],
            "AWTDIFF": [3.0, 1.0, 2.0, 2.0, 2.0, float("nan"), 0.0],
        }
    )
    got = derive_extreme_flag(data, by_vars=["USUBJID", "PARAMCD", "AVISITN"], order=["AWTDIFF", desc("ADT"), desc("ASEQ")], new_var="ANL01FL",
                              mode="first", filter_add=data["AVISITN"].notna() & data["AVAL"].notna())
    # visit 2: distances 3 and 1 -> the second record (two records in one window, closest wins)
    # visit 3: all 2 days away -> later date 5 Feb (rows 4, 5) -> higher sequence 5 -> row index 4
    # outside every window (AVISITN missing) -> never flagged; B has no AVAL -> not flagged
    assert as_list(got["ANL01FL"]) == ["-", "Y", "-", "-", "Y", "-", "-"]


def test_extreme_flag_last_puts_missing_order_last_and_check_single_record():
    data = pd.DataFrame({"USUBJID": ["A", "A", "A"], "ADT": [T("2014-01-01"), pd.NaT, T("2014-01-03")]})
    got = derive_extreme_flag(data, by_vars=["USUBJID"], order=["ADT"], new_var="LASTFL", mode="last")
    # missing dates sort last (dplyr::arrange), so the NaT record is the "last"
    assert as_list(got["LASTFL"]) == ["-", "Y", "-"]
    with pytest.raises(InputError) as err:
        check_single_record(data.assign(F=["Y", "Y", None]), ["USUBJID"], "F")
    assert "key A" in err.value.lines()[0]
