"""ADLB on a hand-made ADSL and LB; expected values worked out by hand from the rule in each comment.

S1: first dose 2014-01-01 (day 1), last dose 2014-03-10 (day 69). S2: one dose on 2014-01-01 and no
post-baseline sample. Windows (sap/study.yaml): WEEK 0 [-28, 1] target 1, WEEK 2 [2, 21] target 15, ...,
WEEK 12 [78, 98] target 85.
"""

import pandas as pd
import pytest
import yaml

from adam.adlb import derive_adlb, parameter_table
from sap.errors import InputError
from sap.specs import SPECS_DIR, apply_spec


def _adsl():
    return pd.DataFrame({
        "USUBJID": ["S1", "S2"], "SUBJID": ["1", "2"], "SITEID": "01", "SAFFL": "Y", "FASFL": ["Y", "N"],
        "TRT01A": "IL-2",
        "TRTSDT": pd.to_datetime(["2014-01-01", "2014-01-01"]).astype("datetime64[s]"),
        "TRTEDT": pd.to_datetime(["2014-03-10", "2014-01-01"]).astype("datetime64[s]"),
    })


def _lb():
    c3 = ("C3", "IMMUNOLOGY", "SERUM", 0.9, 1.8)
    dna = ("DDNAIGAB", "IMMUNOLOGY", "SERUM", None, 100.0)
    rows = [
        # subject, seq, test, date, visitnum, value
        ("S1", 1, c3, "2013-12-20", 1, 0.5),    # day -12, screening sample
        ("S1", 2, c3, "2014-01-01", 1, 0.6),    # day 1, pre-dose: baseline
        ("S1", 3, c3, "2014-01-13", 2, 0.9),    # day 13, WEEK 2, |13 - 15| = 2
        ("S1", 4, c3, "2014-01-17", 2, 1.0),    # day 17, WEEK 2, |17 - 15| = 2: tie -> later date wins
        ("S1", 5, c3, "2014-03-26", 7, 2.0),    # day 31 + 28 + 26 = 85, WEEK 12, before TRTEDT + 30 = 2014-04-09
        ("S1", 6, c3, "2014-05-01", 8, 1.5),    # day 121: outside every window, after the on-treatment period
        ("S1", 7, dna, "2014-01-01", 1, 0.0),   # baseline 0
        ("S1", 8, dna, "2014-01-15", 2, 20.0),  # day 15
        ("S2", 1, c3, "2014-01-01", 1, 1.2),    # baseline only
        ("S2", 2, ("TLHRTLH", "IMMUNOPHENOTYPING", "BLOOD", None, None), "2014-01-01", 1, 4.5),
        ("S2", 3, ("WBC", "URINALYSIS", "URINE", None, 5.0), "2014-01-01", 1, 2.0),
        ("S2", 4, ("WBC", "HEMATOLOGY", "BLOOD", 4.0, 10.0), "2014-01-01", 1, 5.0),
    ]
    return pd.DataFrame({
        "STUDYID": "IL2SLE01",
        "USUBJID": [r[0] for r in rows], "LBSEQ": [r[1] for r in rows],
        "LBTESTCD": [r[2][0] for r in rows], "LBCAT": [r[2][1] for r in rows], "LBSPEC": [r[2][2] for r in rows],
        "LBSTNRLO": [r[2][3] for r in rows], "LBSTNRHI": [r[2][4] for r in rows],
        "LBDTC": [r[3] for r in rows], "VISITNUM": [float(r[4]) for r in rows],
        "LBSTRESN": [r[5] for r in rows], "LBSTRESC": [str(r[5]) for r in rows],
    })


@pytest.fixture(scope="module")
def adlb(study):
    return derive_adlb({"LB": _lb()}, study, adsl=_adsl()).set_index(["USUBJID", "LBSEQ"], drop=False)


def test_conforms_to_spec(adlb):
    assert len(adlb) == 12
    apply_spec(adlb.reset_index(drop=True), "adlb")


def test_parameters(adlb):
    assert adlb.loc[("S1", 2), "PARAM"] == "Complement C3 (g/L)"
    assert adlb.loc[("S2", 2), "PARAMCD"] == "TREG" and adlb.loc[("S2", 2), "PARCAT1"] == "IMMUNOPHENOTYPING"
    # WBC is one test code in two specimens: blood -> WBC, urine -> UWBC.
    assert (adlb.loc[("S2", 3), "PARAMCD"], adlb.loc[("S2", 4), "PARAMCD"]) == ("UWBC", "WBC")


def test_visits_and_study_days(adlb):
    s1 = adlb.loc["S1"]
    assert list(s1.loc[[1, 2, 3, 4, 5], "ADY"]) == [-12, 1, 13, 17, 85]
    assert list(s1.loc[[1, 2, 3, 4, 5], "AVISIT"]) == ["WEEK 0", "WEEK 0", "WEEK 2", "WEEK 2", "WEEK 12"]
    assert pd.isna(s1.loc[6, "AVISIT"])  # day 121 is beyond the last window (98)


def test_baseline_change_and_percent_change(adlb):
    s1 = adlb.loc["S1"]
    # Baseline = last non-missing on or before TRTSDT: the day-1 sample (0.6), not the screening one.
    assert list(s1.loc[[1, 2], "ABLFL"].fillna("")) == ["", "Y"]
    assert (s1["BASE"].loc[[1, 2, 3, 4, 5, 6]] == 0.6).all()
    assert s1.loc[4, "CHG"] == pytest.approx(0.4)                 # 1.0 - 0.6
    assert s1.loc[4, "PCHG"] == pytest.approx(0.4 / 0.6 * 100)     # 66.67
    assert pd.isna(s1.loc[2, "CHG"]) and pd.isna(s1.loc[1, "CHG"])  # baseline and pre-dose: no change
    # Anti-dsDNA baseline 0: CHG 20 - 0 = 20, PCHG missing (division by zero).
    assert s1.loc[8, "CHG"] == 20.0 and pd.isna(s1.loc[8, "PCHG"])


def test_range_indicators_and_shift(adlb):
    s1 = adlb.loc["S1"]
    # Range 0.9-1.8: 0.6 LOW (baseline), 0.9 NORMAL (on the bound), 2.0 HIGH.
    assert list(s1.loc[[2, 3, 5], "ANRIND"]) == ["LOW", "NORMAL", "HIGH"]
    assert (s1.loc[[1, 2, 3, 4, 5], "BNRIND"] == "LOW").all()
    assert s1.loc[4, "SHIFT1"] == "LOW to NORMAL" and s1.loc[5, "SHIFT1"] == "LOW to HIGH"
    assert pd.isna(s1.loc[2, "SHIFT1"])  # baseline record: no shift


def test_on_treatment_and_analysis_flags(adlb):
    s1 = adlb.loc["S1"]
    # Day 1 is pre-dose; days 13-85 are on treatment (85 <= 69 + 30); day 121 is not.
    assert list(s1.loc[[1, 2, 3, 4, 5, 6], "ONTRTFL"].fillna("")) == ["", "", "Y", "Y", "Y", ""]
    # One record per visit: WEEK 0 -> the baseline (day 1, |1 - 1| = 0); WEEK 2 tie at distance 2 -> day 17.
    assert list(s1.loc[[1, 2, 3, 4, 5, 6], "ANL01FL"].fillna("")) == ["", "Y", "", "Y", "Y", ""]
    # S2 has no post-baseline sample: only its baseline C3 is an analysis record, with no change.
    s2 = adlb.loc[("S2", 1)]
    assert (s2["ABLFL"], s2["ANL01FL"], s2["BASE"]) == ("Y", "Y", 1.2) and pd.isna(s2["CHG"])


def test_traceability(adlb):
    assert (adlb.loc[("S1", 4), "SRCDOM"], adlb.loc[("S1", 4), "SRCVAR"], adlb.loc[("S1", 4), "SRCSEQ"]) == ("LB", "LBSTRESN", 4)


def test_every_lab_test_has_a_parameter_with_its_unit():
    """PARAM (codelist LBPARMCD) must name the standard unit of its test in lab_tests.yaml."""
    tests = yaml.safe_load((SPECS_DIR / "raw" / "lab_tests.yaml").read_text(encoding="utf-8"))
    units = {t["paramcd"]: t["std_unit"] for t in tests["laboratory"] + tests["flow_cytometry"]}
    table = parameter_table().set_index("PARAMCD")
    assert table["PARAM"].notna().all()
    for paramcd, unit in units.items():
        assert table.loc[paramcd, "PARAM"].endswith(f"({unit})"), paramcd


def test_unknown_test_is_an_input_error(study):
    lb = _lb()
    lb.loc[0, "LBTESTCD"] = "XYZ"
    with pytest.raises(InputError, match="S1/LBSEQ 1"):
        derive_adlb({"LB": lb}, study, adsl=_adsl())


def _lb_below_limit():
    """S1 anti-dsDNA: baseline 37.5 (day 1), "<10" at day 15 (WEEK 2) and day 29 (WEEK 4), range 0-100;
    C3 "<0.5" at day 15 with range 0.9-1.8 (limit below the range: low); a made-up TLHRTLH "<2" at day 15
    with range 1-10 (0 < lower bound 1 < limit 2: low or normal cannot be told)."""
    dna = ("DDNAIGAB", "IMMUNOLOGY", "SERUM", 0.0, 100.0)
    c3 = ("C3", "IMMUNOLOGY", "SERUM", 0.9, 1.8)
    treg = ("TLHRTLH", "IMMUNOPHENOTYPING", "BLOOD", 1.0, 10.0)
    rows = [("S1", 1, dna, "2014-01-01", 1, "37.5"), ("S1", 2, dna, "2014-01-15", 2, "<10"),
            ("S1", 3, dna, "2014-01-29", 3, "<10"), ("S1", 4, c3, "2014-01-01", 1, "1.2"),
            ("S1", 5, c3, "2014-01-15", 2, "<0.5"), ("S1", 6, treg, "2014-01-15", 2, "<2")]
    frame = pd.DataFrame({
        "STUDYID": "IL2SLE01", "USUBJID": [r[0] for r in rows], "LBSEQ": [r[1] for r in rows],
        "LBTESTCD": [r[2][0] for r in rows], "LBCAT": [r[2][1] for r in rows], "LBSPEC": [r[2][2] for r in rows],
        "LBSTNRLO": [r[2][3] for r in rows], "LBSTNRHI": [r[2][4] for r in rows], "LBDTC": [r[3] for r in rows],
        "VISITNUM": [float(r[4]) for r in rows], "LBSTRESC": [r[5] for r in rows],
    })
    # SDTM: no LBSTRESN for a result with a comparator (sdtm/lb.py)
    frame["LBSTRESN"] = pd.to_numeric(frame["LBSTRESC"], errors="coerce")
    return frame


def test_below_limit_results_are_half_the_limit_and_flagged(study):
    adlb = derive_adlb({"LB": _lb_below_limit()}, study, adsl=_adsl()).set_index("LBSEQ")
    # plan: laboratory.below_lloq_factor 0.5 -> "<10" is 5, "<0.5" is 0.25, "<2" is 1
    assert adlb.loc[[2, 3, 5, 6], "AVAL"].tolist() == [5.0, 5.0, 0.25, 1.0]
    assert adlb.loc[[2, 3, 5, 6], "ALLOQ"].tolist() == [10.0, 10.0, 0.5, 2.0]
    assert adlb.loc[[2, 3, 5, 6], "BLQFL"].tolist() == ["Y"] * 4
    assert adlb.loc[[1, 4], ["ALLOQ", "BLQFL"]].isna().all().all()
    # still the collected record: traced to its LB record
    assert adlb.loc[[2, 3, 5, 6], "SRCSEQ"].tolist() == [2, 3, 5, 6]
    # change from the quantified baseline 37.5: 5 - 37.5 = -32.5 exactly; C3 0.25 - 1.2 = -0.95
    assert adlb.loc[2, "CHG"] == -32.5 and adlb.loc[5, "CHG"] == -0.95
    # the imputed records are analysed (ANL01FL) like any other
    assert adlb.loc[[2, 3], "ANL01FL"].tolist() == ["Y", "Y"]
    # range indicator: 0-100 -> NORMAL; C3 limit 0.5 below 0.9 -> LOW; 0 < 1 < limit 2 -> not classified
    assert adlb.loc[2, "ANRIND"] == "NORMAL" and adlb.loc[5, "ANRIND"] == "LOW" and pd.isna(adlb.loc[6, "ANRIND"])
