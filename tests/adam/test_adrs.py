"""ADRS: SRI-4..8 and its components, non-responder imputation, analysis flags.

Every subject has the same baseline: SLEDAI-2K 14 (vasculitis 8 + arthritis 4 + rash 2), BILAG-2004
"BCCDDEEEE" (BLG0401 B, BLG0402 C, BLG0403 C, BLG0404 D, BLG0405 D, rest E), PGA 1.2. Week 2 (AVISITN 2) is
what each case varies; expected values are worked out by hand in the comments.
"""

import numpy as np
import pandas as pd
import pytest

from adam.adqs import derive_adqs
from adam.adrs import derive_adrs, hundredths
from tests.adam.efficacy_data import assessment, make_adsl, make_qs

BASE_ITEMS = ["SLE2K08", "SLE2K09", "SLE2K15"]  # 8 + 4 + 2 = 14
BASE_BILAG = "BCCDDEEEE"
REDUCE_3 = ["SLE2K08", "SLE2K15", "SLE2K22"]  # 8 + 2 + 1 = 11: reduction 3
REDUCE_4 = ["SLE2K08", "SLE2K15"]  # 8 + 2 = 10: reduction 4
REDUCE_6 = ["SLE2K08"]  # 8: reduction 6

WEEK2 = {
    # subject: (present descriptors, BILAG grades, PGA)
    "R4": (REDUCE_4, BASE_BILAG, 1.2),
    "R3": (REDUCE_3, BASE_BILAG, 1.2),
    "NEWB1": (REDUCE_6, "BBCDDEEEE", 1.2),  # BLG0402 C -> B: one new B
    "NEWB2": (REDUCE_6, "BBBDDEEEE", 1.2),  # BLG0402 and BLG0403 C -> B: two new B
    "NEWA": (REDUCE_6, "ACCDDEEEE", 1.2),  # BLG0401 B -> A: new A
    "PGA30": (REDUCE_6, BASE_BILAG, 1.5),  # 1.5 - 1.2 = 0.30, not < 0.3 (floats say 0.30000000000000004)
    "PGA29": (REDUCE_6, BASE_BILAG, 1.49),  # 1.49 - 1.2 = 0.29 < 0.3
    "NOPGA": (REDUCE_6, BASE_BILAG, None),  # PGA not done at week 2
    # baseline PGA 0.4 (BASELINE_PGA): 0.7 - 0.4 = 0.30 is a worsening, although in floats
    # 0.7 - 0.4 = 0.29999999999999993 < 0.3: only the whole-hundredths comparison (70 - 40 = 30) gets it right
    "PGA04TO07": (REDUCE_6, BASE_BILAG, 0.7),
    "PGA04TO069": (REDUCE_6, BASE_BILAG, 0.69),  # 69 - 40 = 29 hundredths < 30: no worsening
}
BASELINE_PGA = {"PGA04TO07": 0.4, "PGA04TO069": 0.4}  # everyone else 1.2


@pytest.fixture(scope="module")
def adrs(study):
    baselines = [assessment(s, 1, present=BASE_ITEMS, bilag=BASE_BILAG, pga=BASELINE_PGA.get(s, 1.2))
                 for s in [*WEEK2, "DISC", "NOPOST", "NOTFAS"]]
    week2 = [assessment(s, 2, present=items, bilag=bilag, pga=pga) for s, (items, bilag, pga) in WEEK2.items()]
    # DISC left the study on day 20 but has an assessment at week 4 (day 29, window opens day 22)
    disc = [assessment("DISC", 3, present=REDUCE_6, bilag=BASE_BILAG, pga=1.2)]
    # NOTFAS has week 2 data but is not in the FAS
    notfas = [assessment("NOTFAS", 2, present=REDUCE_6, bilag=BASE_BILAG, pga=1.2)]
    qs = make_qs(*baselines, *week2, *disc, *notfas)
    adsl = make_adsl(*WEEK2, "DISC", "NOPOST", "NOTFAS", discontinued={"DISC": 20}, fas={"NOTFAS": "N"})
    adqs = derive_adqs({"QS": qs}, study, adsl)
    return derive_adrs({"QS": qs}, study, adsl, adqs=adqs)


def record(adrs, usubjid, paramcd, avisitn=2.0):
    rows = adrs[adrs["USUBJID"].eq(usubjid) & adrs["PARAMCD"].eq(paramcd) & adrs["AVISITN"].eq(avisitn)]
    assert len(rows) == 1, (usubjid, paramcd, avisitn, len(rows))
    return rows.iloc[0]


def avalc(adrs, usubjid, paramcd, avisitn=2.0):
    return record(adrs, usubjid, paramcd, avisitn)["AVALC"]


def test_sledai_reduction_of_exactly_4_responds_and_3_does_not(adrs):
    assert avalc(adrs, "R4", "SLEDR4") == "Y" and avalc(adrs, "R4", "SRI4") == "Y"
    assert avalc(adrs, "R4", "SLEDR5") == "N" and avalc(adrs, "R4", "SRI5") == "N"
    assert avalc(adrs, "R3", "SLEDR4") == "N" and avalc(adrs, "R3", "SRI4") == "N"
    assert avalc(adrs, "R3", "BILNW") == "Y" and avalc(adrs, "R3", "PGANW") == "Y"


def test_sri_thresholds_5_to_8(adrs):
    # reduction 6: SRI-4, -5, -6 yes; SRI-7, -8 no
    got = [avalc(adrs, "NEWB1", f"SRI{k}") for k in range(4, 9)]
    assert got == ["Y", "Y", "Y", "N", "N"]
    assert [avalc(adrs, "NEWB1", f"SLEDR{k}") for k in range(4, 9)] == got


def test_bilag_new_grades(adrs):
    assert avalc(adrs, "NEWB1", "BILNW") == "Y"  # one new B is allowed
    assert avalc(adrs, "NEWB2", "BILNW") == "N" and avalc(adrs, "NEWB2", "SRI4") == "N"
    assert avalc(adrs, "NEWA", "BILNW") == "N" and avalc(adrs, "NEWA", "SRI4") == "N"


def test_pga_worsening_of_exactly_0_3_is_a_worsening(adrs):
    assert avalc(adrs, "PGA30", "PGANW") == "N" and avalc(adrs, "PGA30", "SRI4") == "N"
    assert avalc(adrs, "PGA29", "PGANW") == "Y" and avalc(adrs, "PGA29", "SRI4") == "Y"
    assert hundredths(pd.Series([1.5, 1.2, 0.3, 1.005])).tolist() == [150, 120, 30, 101]


def test_pga_worsening_from_0_4_to_0_7_is_a_worsening_although_floats_say_0_2999(adrs):
    assert 0.7 - 0.4 < 0.3  # the trap: a float comparison would call this "no worsening"
    assert avalc(adrs, "PGA04TO07", "PGANW") == "N" and avalc(adrs, "PGA04TO07", "SRI4") == "N"
    assert avalc(adrs, "PGA04TO069", "PGANW") == "Y" and avalc(adrs, "PGA04TO069", "SRI4") == "Y"
    assert hundredths(pd.Series([0.7, 0.4, 0.69])).tolist() == [70, 40, 69]


def test_missing_pga_imputes_pga_and_sri_only(adrs):
    for paramcd in ("PGANW", "SRI4", "SRI8"):
        rec = record(adrs, "NOPGA", paramcd)
        assert (rec["AVALC"], rec["AVAL"], rec["DTYPE"], rec["NRIREAS"]) == ("N", 0, "NRI", "MISSING COMPONENT")
        assert pd.isna(rec["ANL02FL"])
    observed = record(adrs, "NOPGA", "SLEDR4")
    assert observed["AVALC"] == "Y" and pd.isna(observed["DTYPE"]) and observed["ANL02FL"] == "Y"
    assert avalc(adrs, "NOPGA", "BILNW") == "Y"


def test_discontinued_before_the_visit_is_a_non_responder(adrs):
    # EOSDT day 20: the week-2 window opened on day 2 (missing data), the week-4 window on day 22
    week2 = record(adrs, "DISC", "SRI4", 2.0)
    assert (week2["AVALC"], week2["DTYPE"], week2["NRIREAS"]) == ("N", "NRI", "MISSING COMPONENT")
    week4 = record(adrs, "DISC", "SLEDR4", 3.0)  # data present (reduction 6) but after study end
    assert (week4["AVALC"], week4["DTYPE"], week4["NRIREAS"]) == ("N", "NRI", "DISCONTINUED BEFORE VISIT")


def test_subject_without_post_baseline_visit_is_non_responder_everywhere(adrs):
    nopost = adrs[adrs["USUBJID"].eq("NOPOST")]
    assert len(nopost) == 12 * 6  # 5 SRI + 5 SLEDR + BILNW + PGANW at weeks 2-12
    assert nopost["AVALC"].eq("N").all() and nopost["DTYPE"].eq("NRI").all()


def test_every_fas_subject_parameter_visit_once(adrs):
    assert "NOTFAS" not in set(adrs["USUBJID"])
    assert len(adrs) == 12 * 12 * 6  # 12 FAS subjects
    assert not adrs.duplicated(["USUBJID", "PARAMCD", "AVISITN"]).any()
    assert adrs["FASFL"].eq("Y").all()
    assert (adrs["AVAL"] == adrs["AVALC"].eq("Y")).all()


def test_sri_is_yes_exactly_when_all_components_are_yes(adrs):
    wide = adrs.pivot_table(index=["USUBJID", "AVISITN"], columns="PARAMCD", values="AVAL", aggfunc="first")
    for k in range(4, 9):
        both = (wide[f"SLEDR{k}"] == 1) & (wide["BILNW"] == 1) & (wide["PGANW"] == 1)
        assert ((wide[f"SRI{k}"] == 1) == both).all()


def test_analysis_flags(adrs):
    # primary visit week 10 = visitnum 6 in sap/study.yaml
    assert set(adrs.loc[adrs["ANL01FL"].eq("Y"), "AVISITN"]) == {6.0}
    assert adrs["ANL01FL"].eq("Y").sum() == 12 * 12  # 12 FAS subjects x 12 parameters
    assert (adrs["ANL02FL"].eq("Y") == adrs["DTYPE"].isna()).all()
    sri4 = record(adrs, "R4", "SRI4")
    assert sri4["ADY"] == 15 and sri4["AVISIT"] == "WEEK 2" and sri4["PARCAT1"] == "SLE RESPONDER INDEX"
    sledr = record(adrs, "R4", "SLEDR4")
    assert (sledr["SRCDOM"], sledr["SRCVAR"]) == ("ADQS", "CHG") and sledr["SRCSEQ"] > 0


def test_deterministic_whatever_the_input_order(study, adrs):
    qs_rows = [assessment("R4", 1, present=BASE_ITEMS, bilag=BASE_BILAG, pga=1.2), assessment("R4", 2, present=REDUCE_4, bilag=BASE_BILAG, pga=1.2)]
    qs = make_qs(*qs_rows)
    adsl = make_adsl("R4")
    first = derive_adrs({}, study, adsl, adqs=derive_adqs({"QS": qs}, study, adsl))
    shuffled = qs.sample(frac=1, random_state=3)
    second = derive_adrs({}, study, adsl, adqs=derive_adqs({"QS": shuffled}, study, adsl))
    pd.testing.assert_frame_equal(first, second)
