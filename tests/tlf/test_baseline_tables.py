"""14.1 tables, 16.2 listings and the efficacy figures on hand-made ADaM; expected values worked out by hand."""

import numpy as np
import pandas as pd
import pytest

from tlf.ard import Ard
from tlf.baseline_tables import demographics_table, disposition_table, exposure_table, median_range, table_s1_view
from tlf.catalog import load_outputs
from tlf.efficacy_figures import mean_se_by_visit, subgroup_rates
from tlf.subject_listings import discontinued_listing, dosing_listing

FLAGS = ["HCQBLFL", "MMFBLFL", "CYCBLFL", "AZABLFL", "LEFBLFL", "THALBLFL", "CSABLFL", "MTXBLFL"]


def _adsl():
    df = pd.DataFrame({
        "USUBJID": ["S1", "S2", "S3", "S4"],
        "ENRLFL": "Y", "SAFFL": ["Y", "Y", "Y", "N"], "FASFL": ["Y", "Y", "Y", "N"], "COMPLFL": ["Y", "Y", "N", "N"],
        "EOSSTT": ["COMPLETED", "COMPLETED", "DISCONTINUED", "DISCONTINUED"],
        "DCSREAS": [None, None, "ADVERSE EVENT", "PHYSICIAN DECISION"],
        "AGE": [20, 31, 60, 40], "SEX": ["F", "F", "M", "F"], "AGEGR1": ["<30", "30-39", ">=40", ">=40"], "RACE": "ASIAN",
        "ETHNIC": pd.Series(["NOT HISPANIC OR LATINO", "NOT HISPANIC OR LATINO", None, "NOT REPORTED"], dtype="str"),
        "WEIGHTBL": [42.0, 54.5, 80.0, 60.0], "HEIGHTBL": [150.0, 160.0, 175.0, 165.0], "BSABL": [1.3229, 1.5569, 1.9720, 1.6583],
        "SLEDURY": [0.5, 5.0, 20.0, 3.0], "BPREDDOS": [0.0, 30.0, 60.0, 10.0],
        "TRTSDT": pd.to_datetime(["2014-01-01", "2014-01-02", "2014-01-03", None]),
        "TRTEDT": pd.to_datetime(["2014-03-10", "2014-03-11", "2014-01-20", None]),
        "EOSDT": pd.to_datetime(["2014-04-01", "2014-04-02", "2014-01-25", "2014-01-05"]),
        "TRTDURD": [69, 69, 18, None], "INJNUM": [21, 20, 7, 0], "CUMDOSE": [21.0, 20.0, 7.0, 0.0],
        "COMPLPCT": [100.0, 20 / 21 * 100, 7 / 21 * 100, 0.0],
    })
    for flag in FLAGS:
        df[flag] = "N"
    df["HCQBLFL"] = ["Y", "Y", "N", "Y"]
    return df


@pytest.fixture
def adam():
    return {"ADSL": _adsl()}


def _cells(out):
    return {row[0]: list(row[1:]) for row in out.body.values.tolist()}


def test_disposition_every_reason_kept(adam, study):
    out = disposition_table(adam, load_outputs().get("14.1.1"), study)
    cells = _cells(out)
    assert out.big_n == 4
    assert cells["Enrolled"] == ["4"]
    assert cells["Safety population (>= 1 dose)"] == ["3 (75.0)"]   # 3/4
    assert cells["  Discontinued"] == ["2 (50.0)"]
    assert cells["    Adverse event"] == ["1 (25.0)"]
    assert cells["    Lost to follow-up"] == ["0"]                     # zero row from the DCSREAS codelist
    assert cells["  Ongoing"] == ["0"]


def test_demographics_sponsor_layout_by_hand(adam, study):
    out = demographics_table(adam, load_outputs().get("14.1.2"), study)
    ard = out.analysis_results()
    shown = {(v, lvl, st): t for v, lvl, st, t in zip(ard["VARIABLE"], ard["VARIABLE_LEVEL"], ard["STAT"], ard["FORMATTED"])}
    # safety S1..S3, ages 20, 31, 60 (0 decimals): mean 37.0; SD sqrt((17^2 + 6^2 + 23^2) / 2) = sqrt(427) = 20.66;
    # type 7 quartiles 20 + 0.5 * 11 = 25.5 and 31 + 0.5 * 29 = 45.5
    age = [shown[("AGE", "", st)] for st in ("n", "mean", "sd", "median", "q1", "q3", "min", "max")]
    assert age == ["3", "37.0", "20.66", "31.0", "25.5", "45.5", "20", "60"]
    # weights 42.0, 54.5, 80.0 (1 decimal): mean 176.5 / 3 = 58.833 -> 58.83; SD sqrt(750.1667 / 2) = 19.367;
    # Q1 42 + 0.5 * 12.5 = 48.25, Q3 54.5 + 0.5 * 25.5 = 67.25
    weight = [shown[("WEIGHTBL", "", st)] for st in ("mean", "sd", "median", "q1", "q3", "min", "max")]
    assert weight == ["58.83", "19.367", "54.50", "48.25", "67.25", "42.0", "80.0"]
    rows = out.body.values.tolist()
    start = rows.index(["Age, years", ""])
    assert rows[start + 1:start + 6] == [["  n", "3"], ["  Mean (SD)", "37.0 (20.66)"], ["  Median", "31.0"],
                                         ["  Q1, Q3", "25.5, 45.5"], ["  Min, Max", "20, 60"]]
    cells = _cells(out)
    assert cells["  Female"] == ["2 (66.7)"] and cells["  Male"] == ["1 (33.3)"] and cells["  Unknown"] == ["0"]
    # ethnicity: S1, S2 not Hispanic; S3 missing (S4 is outside the safety population)
    assert cells["  Not Hispanic Or Latino"] == ["2 (66.7)"] and cells["  Missing"] == ["1 (33.3)"]


def test_demographics_table_s1_layout(adam, study):
    cells = _cells(table_s1_view(adam, load_outputs().get("14.1.2.1"), study))
    # safety population S1..S3: ages 20, 31, 60 -> median 31 (one more decimal: 31.0), range 20-60
    assert cells["Age, years, median (range)"] == ["31.0 (20-60)"]
    assert cells["Female/male, n"] == ["2/1"]
    # weights 42.0, 54.5, 80.0 (1 decimal) -> median 54.50, range 42.0-80.0
    assert cells["Weight, kg, median (range)"] == ["54.50 (42.0-80.0)"]
    assert cells["  Hydroxychloroquine"] == ["2 (66.7)"]  # S1, S2 of 3
    assert cells["  Methotrexate"] == ["0"]
    assert cells["  >=40 years"] == ["1 (33.3)"]


def test_median_range_counts_missing():
    # AGE is collected as whole years (display.yaml): 3 of 4 present, median of 1, 2, 4 = 2 -> "2.0 (1-4) [n=3]"
    ard = Ard("14.1.2.1")
    assert median_range(ard, pd.Series([1.0, None, 2.0, 4.0]), "AGE", 4) == "2.0 (1-4) [n=3]"
    assert ard.frame()[["STAT", "FORMATTED"]].values.tolist() == [["n", "3"], ["median", "2.0"], ["min", "1"], ["max", "4"]]


def test_exposure_compliance_categories(adam, study):
    cells = _cells(exposure_table(adam, load_outputs().get("14.1.4"), study))
    # compliance 100, 95.2, 33.3 -> < 80%: 1, 80 to < 100: 1, 100%: 1 (each 33.3% of 3)
    assert cells["  < 80%"] == ["1 (33.3)"]
    assert cells["  80% to < 100%"] == ["1 (33.3)"]
    assert cells["  100%"] == ["1 (33.3)"]


def test_listings_discontinued_and_dosing(adam, study):
    out = discontinued_listing(adam, load_outputs().get("16.2.1"), study)
    rows = out.body.values.tolist()
    # S3 and S4 discontinued; S3: EOS 2014-01-25 - first dose 2014-01-03 + 1 = day 23; S4 never dosed: no day
    assert [r[0] for r in rows] == ["S3", "S4"]
    assert rows[0][5:] == ["2014-01-25", "23", "Adverse event"]
    assert rows[1][2] == "" and rows[1][6] == ""


def _adex():
    """ADEX as adam/adex.py writes it: S1 two injections (cycle 1 days 1 and 3), S3 one, S4 (not in the
    safety population) one; S2 has none."""
    frame = pd.DataFrame({
        "USUBJID": ["S1", "S1", "S3", "S4"], "PARAMCD": "DOSE", "EXSEQ": [2, 1, 1, 1],
        "EXSPID": ["CYCLE 1 INJECTION 2", "CYCLE 1 INJECTION 1", "CYCLE 1 INJECTION 1", "CYCLE 1 INJECTION 1"],
        "ADT": pd.to_datetime(["2014-01-03", "2014-01-01", "2014-01-03", "2014-01-05"]).astype("datetime64[s]"),
        "ADY": [3, 1, 1, 1], "AVAL": 1.0, "EXDOSU": "10^6 IU", "EXROUTE": "SUBCUTANEOUS",
        "EXLOC": ["UPPER ARM", "ABDOMEN", "THIGH", "ABDOMEN"]})
    for column in ("USUBJID", "PARAMCD", "EXSPID", "EXDOSU", "EXROUTE", "EXLOC"):
        frame[column] = frame[column].astype("str")
    return frame


def test_dosing_listing_one_row_per_injection(adam, study):
    out = dosing_listing({**adam, "ADEX": _adex()}, load_outputs().get("16.2.5"), study)
    rows = out.body.values.tolist()
    # safety S1..S3: S1's two injections in date order, S3's one; S2 none (named in a footnote); S4 not safety
    assert rows == [["S1", "1 / 1", "2014-01-01", "1", "1", "10^6 IU", "subcutaneous", "abdomen", "2/21"],
                    ["S1", "1 / 2", "2014-01-03", "3", "1", "10^6 IU", "subcutaneous", "upper arm", ""],
                    ["S3", "1 / 1", "2014-01-03", "1", "1", "10^6 IU", "subcutaneous", "thigh", "1/21"]]
    assert "Safety subjects without an injection record: S2." in out.footnotes


def test_mean_se_by_visit():
    # values 2, 4, 6 at visit 1: mean 4, SD 2, SE 2 / sqrt(3) = 1.1547
    summary = mean_se_by_visit(pd.DataFrame({"AVISITN": [1.0, 1.0, 1.0], "AVAL": [2.0, 4.0, 6.0]}))
    assert summary.loc[0, "n"] == 3 and summary.loc[0, "mean"] == 4.0
    assert summary.loc[0, "se"] == pytest.approx(1.1547, abs=1e-4)


def test_subgroup_rates_keep_empty_groups(study):
    adsl = _adsl().assign(BBLGABFL="Y", **{f: "N" for f in ["BSKINFL", "BMSKFL", "BHAEMFL", "BRENALFL", "BSEROFL",
                                                               "BFEVERFL", "BNEUROFL", "BIMMUNFL"]})
    adsl.loc[0, "BSKINFL"] = "Y"
    adrs = pd.DataFrame({"USUBJID": ["S1", "S2", "S3"], "PARAMCD": "SRI4", "AVALC": ["Y", "N", "Y"], "AVISITN": 6.0})
    rates = subgroup_rates({"ADSL": adsl, "ADRS": adrs}, "FASFL", study).set_index("subgroup")
    assert rates.loc["All subjects", ["x", "n"]].tolist() == [2, 3]          # S1, S3 of S1..S3
    assert rates.loc["Mucocutaneous", ["x", "n"]].tolist() == [1, 1]          # S1 (names: instruments.yaml)
    assert rates.loc["Renal", "n"] == 0                                       # kept, no subject
    # the subgroups of SAP 8.4: every SLEDAI-2K organ group, nothing else
    assert len(rates) == 1 + 8 and "Male" not in rates.index


def test_sri_listing_shows_bilag_grades_and_pga(study):
    from tlf.subject_listings import sri_sledai_listing

    domains = [f"BLG040{i}" for i in range(1, 10)]
    # S1 at baseline (AVISITN 1) and week 2 (AVISITN 2): SLEDAI-2K 12 -> 8 (change -4); BILAG-2004 grades
    # baseline A B C D E E E D C (score 12 + 8 + 1 = 21), week 2 B B C D E E E D D (8 + 8 + 1 = 17);
    # the haematological domain not graded at week 2 (shown "-"); PGA 2.10 -> 1.85
    rows = [("SLEDAI", 1.0, 1, 12.0, None, None), ("SLEDAI", 2.0, 15, 8.0, None, -4.0)]
    rows += [(d, 1.0, 1, None, g, None) for d, g in zip(domains, "ABCDEEEDC")]
    rows += [(d, 2.0, 15, None, g, None) for d, g in zip(domains[:-1], "BBCDEEED")]
    rows += [("BILAG", 1.0, 1, 21.0, None, None), ("BILAG", 2.0, 15, 17.0, None, -4.0),
             ("SLEPGA", 1.0, 1, 2.1, None, None), ("SLEPGA", 2.0, 15, 1.85, None, -0.25)]
    adqs = pd.DataFrame(rows, columns=["PARAMCD", "AVISITN", "ADY", "AVAL", "AVALC", "CHG"]).assign(USUBJID="S1", ANL01FL="Y")
    adqs["AVALC"] = adqs["AVALC"].astype("str").where(adqs["AVALC"].notna())
    adrs = pd.DataFrame({"USUBJID": "S1", "PARAMCD": ["SLEDR4", "BILNW", "PGANW", "SRI4", "SRI5", "SRI6", "SRI7", "SRI8"],
                         "AVISITN": 2.0, "AVALC": ["Y", "Y", "Y", "Y", "N", "N", "N", "N"]})
    adrs["DTYPE"] = pd.Series(np.nan, index=adrs.index, dtype="str")
    adrs["NRIREAS"] = pd.Series(np.nan, index=adrs.index, dtype="str")
    adsl = pd.DataFrame({"USUBJID": ["S1"], "FASFL": ["Y"]})
    out = sri_sledai_listing({"ADSL": adsl, "ADQS": adqs, "ADRS": adrs}, load_outputs().get("16.2.6"), study)
    header = list(out.headers)
    body = pd.DataFrame(out.body.values.tolist(), columns=header)
    assert body["BILAG-2004 grades"].tolist() == ["ABCDEEEDC", "BBCDEEED-"]
    assert body["BILAG-2004 score"].tolist() == ["21", "17"] and body["PGA"].tolist() == ["2.10", "1.85"]
    assert body["SLEDAI-2K"].tolist() == ["12", "8"] and body["Change"].tolist() == ["", "-4"]
    assert body["SRI-4"].tolist() == ["", "Y"] and body["SRI-5"].tolist() == ["", "N"]
    assert "constitutional, mucocutaneous" in out.footnotes[0] and "A = 12, B = 8, C = 1" in out.footnotes[0]
