"""ADQS: SLEDAI-2K recomputed from the descriptors, BILAG-2004 numeric score, PGA, baseline and change.

Expected values are worked out by hand from the weights of sap/specs/raw/instruments.yaml (Gladman 2002:
SLE2K01-08 weigh 8, SLE2K09-14 weigh 4, SLE2K15-21 weigh 2, SLE2K22-24 weigh 1) and the BILAG-2004 grade
scores (A=12, B=8, C=1, D=E=0).
"""

import numpy as np
import pandas as pd
import pytest

from adam.adqs import check_sledai_version, derive_adqs, sledai_weights
from sap.errors import InputError, SpecError
from tests.adam.efficacy_data import assessment, make_adsl, make_qs

# Baseline: vasculitis 8 + arthritis 4 + rash 2 + low complement 2 + fever 1 = 17.
BASELINE_ITEMS = ["SLE2K08", "SLE2K09", "SLE2K15", "SLE2K20", "SLE2K22"]
# Week 2: arthritis 4 + rash 2 + low complement 2 + thrombocytopenia 1 = 9.
WEEK2_ITEMS = ["SLE2K09", "SLE2K15", "SLE2K20", "SLE2K23"]


@pytest.fixture(scope="module")
def adqs(study):
    qs = make_qs(
        assessment("S1", 1, present=BASELINE_ITEMS, bilag="ABEBEEEEC", pga=2.0),
        assessment("S1", 2, present=WEEK2_ITEMS, bilag="BCEBEEEED", pga=1.5),
        # S2: one descriptor not recorded at week 2 and one BILAG domain not graded -> totals missing
        assessment("S2", 1, present=["SLE2K01"], bilag="EEEEEEEEE", pga=0.5),
        assessment("S2", 2, present=[], missing_items=["SLE2K13"], bilag="EEEE-EEEE", pga=0.5),
    )
    return derive_adqs({"QS": qs}, study, make_adsl("S1", "S2"))


def value(adqs, usubjid, paramcd, avisitn, column="AVAL"):
    rows = adqs[adqs["USUBJID"].eq(usubjid) & adqs["PARAMCD"].eq(paramcd) & adqs["AVISITN"].eq(avisitn)]
    assert len(rows) == 1, (usubjid, paramcd, avisitn, len(rows))
    return rows[column].iloc[0]


def test_weights_are_gladman_2002():
    # 8 descriptors x 8 + 6 x 4 + 7 x 2 + 3 x 1 = 64 + 24 + 14 + 3 = 105 (the SLEDAI-2K maximum)
    assert sum(sledai_weights().values()) == 105


def test_descriptor_records(adqs):
    assert value(adqs, "S1", "SLE2K08", 1) == 8 and value(adqs, "S1", "SLE2K08", 1, "AVALC") == "PRESENT"
    assert value(adqs, "S1", "SLE2K08", 2) == 0 and value(adqs, "S1", "SLE2K08", 2, "AVALC") == "ABSENT"
    assert value(adqs, "S1", "SLE2K22", 1) == 1  # fever weighs 1
    assert value(adqs, "S1", "SLE2K08", 2, "CHG") == -8  # 0 - 8


def test_sledai_total_is_weighted_sum_with_change(adqs):
    assert value(adqs, "S1", "SLEDAI", 1) == 17
    assert value(adqs, "S1", "SLEDAI", 1, "ABLFL") == "Y"
    assert value(adqs, "S1", "SLEDAI", 2) == 9
    assert value(adqs, "S1", "SLEDAI", 2, "BASE") == 17
    assert value(adqs, "S1", "SLEDAI", 2, "CHG") == -8  # 9 - 17
    assert value(adqs, "S1", "SLEDAI", 2, "PCHG") == pytest.approx(-800 / 17)  # -8 / 17 * 100 = -47.06
    assert value(adqs, "S1", "SLEDAI", 2, "CRIT1") == "CHG <= -4"
    assert value(adqs, "S1", "SLEDAI", 2, "CRIT1FL") == "Y"  # -8 <= -4
    assert pd.isna(value(adqs, "S1", "SLEDAI", 1, "CRIT1FL"))  # no change at baseline


def test_total_missing_when_a_descriptor_is_missing(adqs):
    assert value(adqs, "S2", "SLEDAI", 1) == 8  # seizure
    assert np.isnan(value(adqs, "S2", "SLEDAI", 2))  # 23 of 24 descriptors recorded
    assert np.isnan(value(adqs, "S2", "BILAG", 2))  # 8 of 9 domains graded


def test_bilag_scores(adqs):
    # ABEBEEEEC: 12 + 8 + 0 + 8 + 0 + 0 + 0 + 0 + 1 = 29; BCEBEEEED: 8 + 1 + 0 + 8 + 0 + 0 + 0 + 0 + 0 = 17
    assert value(adqs, "S1", "BILAG", 1) == 29
    assert value(adqs, "S1", "BILAG", 2) == 17
    assert value(adqs, "S1", "BILAG", 2, "CHG") == -12
    assert value(adqs, "S1", "BLG0401", 2) == 8 and value(adqs, "S1", "BLG0401", 2, "AVALC") == "B"
    assert value(adqs, "S1", "BLG0401", 2, "BASEC") == "A"
    assert value(adqs, "S1", "BLG0409", 1) == 1  # grade C


def test_pga_and_timing(adqs):
    assert value(adqs, "S1", "SLEPGA", 2) == 1.5
    assert value(adqs, "S1", "SLEPGA", 2, "CHG") == pytest.approx(-0.5)
    assert value(adqs, "S1", "SLEPGA", 2, "ADY") == 15  # assessed on the target day of week 2
    assert value(adqs, "S1", "SLEPGA", 2, "AVISIT") == "WEEK 2"
    assert value(adqs, "S1", "SLEPGA", 2, "SRCVAR") == "QSSTRESN"
    # an assessment is 24 descriptors + 9 domains + 1 PGA = 34 QS records: week-2 PGA is QSSEQ 34 + 34 = 68
    assert value(adqs, "S1", "SLEPGA", 2, "SRCSEQ") == 68
    assert pd.isna(value(adqs, "S1", "SLEDAI", 2, "SRCDOM"))  # a derived total has no single source record


def test_one_record_per_subject_parameter_assessment(adqs):
    # 24 descriptors + SLEDAI + 9 domains + BILAG + PGA = 36 parameters; S2 lacks one descriptor and one domain
    assert len(adqs) == 36 * 4 - 2
    assert adqs["ANL01FL"].eq("Y").sum() == 36 * 4 - 2 - 2  # the two missing totals have no AVAL


def test_recomputed_total_ignores_the_sdtm_total(study):
    qs = make_qs(assessment("S1", 1, present=["SLE2K01"]))
    total = qs.iloc[[0]].assign(QSTESTCD="SLE2K25", QSORRES="99", QSSTRESN=99.0, QSSEQ=99)
    adqs = derive_adqs({"QS": pd.concat([qs, total], ignore_index=True)}, study, make_adsl("S1"))
    assert value(adqs, "S1", "SLEDAI", 1) == 8  # seizure only, not 99
    assert not adqs["PARAMCD"].eq("SLE2K25").any()


def test_analysis_record_is_closest_to_target(study):
    # two SLEDAI assessments in the week-2 window [2, 21]: days 9 and 16; target 15 -> day 16 is used
    qs = make_qs(assessment("S1", 1), assessment("S1", 2, day=9), assessment("S1", 2, day=16))
    adqs = derive_adqs({"QS": qs}, study, make_adsl("S1"))
    flagged = adqs[adqs["PARAMCD"].eq("SLEDAI") & adqs["ANL01FL"].eq("Y") & adqs["AVISITN"].eq(2)]
    assert flagged["ADY"].tolist() == [16]


def test_bad_values_are_input_errors(study):
    qs = make_qs(assessment("S1", 1, bilag="FEEEEEEEE"))
    qs.loc[qs["QSTESTCD"].eq("SLE2K03"), "QSORRES"] = "MAYBE"
    with pytest.raises(InputError) as err:
        derive_adqs({"QS": qs}, study, make_adsl("S1"))
    lines = err.value.lines()
    assert len(lines) == 2
    assert any("QSORRES" in line and "'MAYBE'" in line for line in lines)
    assert any("QSSTRESC" in line and "'F'" in line for line in lines)


def test_subject_missing_from_adsl_is_an_input_error(study):
    with pytest.raises(InputError, match="S9"):
        derive_adqs({"QS": make_qs(assessment("S9", 1))}, study, make_adsl("S1"))


def test_selena_version_is_refused_clearly(study):
    selena = study.model_copy(update={"endpoints": study.endpoints.model_copy(update={"sledai_version": "SELENA"})})
    with pytest.raises(SpecError, match="SELENA"):
        check_sledai_version(selena)
