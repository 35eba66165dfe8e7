"""Efficacy tables on a hand-made 8-subject FAS; every expected cell worked out by hand in the comments."""

import numpy as np
import pandas as pd
import pytest

from tlf.catalog import load_outputs
from tlf.efficacy_tables import (organ_subgroup_table, scores_change_table, sensitivity_table, sri_by_visit_table,
                                 sri_components_table)
from tlf.summaries import data_decimals

FAS = [f"S{i}" for i in range(1, 9)]  # S1..S8 in the FAS; S9 is not


def _adsl():
    df = pd.DataFrame({"USUBJID": FAS + ["S9"], "FASFL": ["Y"] * 8 + ["N"], "COMPLFL": ["Y"] * 4 + ["N"] * 5})
    for flag in ["BSKINFL", "BMSKFL", "BHAEMFL", "BRENALFL", "BSEROFL", "BFEVERFL", "BNEUROFL", "BIMMUNFL"]:
        df[flag] = "N"
    df.loc[df["USUBJID"].isin(FAS[:6]), "BSKINFL"] = "Y"  # S1..S6 mucocutaneous at baseline
    return df


def _adrs():
    rows = []
    # week 2 (AVISITN 2): SRI4 Y for S1 only; N for S2..S8; S9 (not FAS) Y must be ignored
    rows += [(s, "SRI4", "Y" if s in ("S1", "S9") else "N", 2.0, None, "Y") for s in FAS + ["S9"]]
    # week 10 (AVISITN 6, primary): Y for S1, S2, S3, S6, S7, S8; S4 imputed N (NRI); S5 without a record
    for s in FAS:
        if s == "S5":
            continue
        rows.append((s, "SRI4", "N" if s == "S4" else "Y", 6.0, "NRI" if s == "S4" else None, None if s == "S4" else "Y"))
    # SLEDR4 at week 10: Y for every record (S5 has none); BILNW, PGANW absent -> 0 rows kept
    rows += [(s, "SLEDR4", "Y", 6.0, None, "Y") for s in FAS if s != "S5"]
    return pd.DataFrame(rows, columns=["USUBJID", "PARAMCD", "AVALC", "AVISITN", "DTYPE", "ANL02FL"])


def _adqs():
    # SLEDAI baseline (AVISITN 1) and week 2 for S1..S5 with changes +1..+5 (all positive, no ties)
    base = pd.DataFrame({"USUBJID": FAS[:5], "AVISITN": 1.0, "AVAL": [10.0, 10, 10, 10, 10], "CHG": float("nan")})
    week2 = pd.DataFrame({"USUBJID": FAS[:5], "AVISITN": 2.0, "AVAL": [11.0, 12, 13, 14, 15], "CHG": [1.0, 2, 3, 4, 5]})
    scores = pd.concat([base, week2]).assign(PARAMCD="SLEDAI", PARAM="SLEDAI-2K Total Score", ANL01FL="Y", AVALC=None)
    # week 12 (AVISITN 7) SLEDAI-2K descriptors for S1..S7 (S8 not assessed): rash (SLE2K15, organ SKIN)
    # present only for S7; arthritis (SLE2K09) absent for everybody
    items = pd.DataFrame([(s, code, "PRESENT" if (s == "S7" and code == "SLE2K15") else "ABSENT")
                          for s in FAS[:7] for code in ("SLE2K15", "SLE2K09")], columns=["USUBJID", "PARAMCD", "AVALC"])
    items = items.assign(AVISITN=7.0, ANL01FL="Y", PARAM="item", AVAL=0.0, CHG=float("nan"))
    return pd.concat([scores, items], ignore_index=True)


@pytest.fixture
def adam():
    return {"ADSL": _adsl(), "ADRS": _adrs(), "ADQS": _adqs()}


def _cells(out):
    return {row[0]: list(row[1:]) for row in out.body.values.tolist()}


def test_sri_by_visit_nri_denominator_and_zero_rows(adam, study):
    out = sri_by_visit_table(adam, load_outputs().get("14.2.2"), study)
    rows = out.body.values.tolist()
    sri4 = rows[1:7]  # heading "SRI-4", then weeks 2..12
    assert rows[0][0] == "SRI-4"
    assert sri4[0][:3] == ["  Week 2", "1/8", "12.5"]       # 1/8 = 12.5%; S9 is not FAS
    assert sri4[4][:3] == ["  Week 10", "6/8", "75.0"]      # S5 without a record counts as non-responder
    # week 4: nobody -> 0/8; Clopper-Pearson upper = 1 - 0.025^(1/8) = 1 - 0.6306 = 0.3694
    assert sri4[1] == ["  Week 4", "0/8", "0.0", "0.0, 36.9"]
    assert len(rows) == 5 * 7  # 5 thresholds x (heading + 6 visits), all kept
    assert out.big_n == 8


def test_components_keep_zero_columns(adam, study):
    out = sri_components_table(adam, load_outputs().get("14.2.3"), study)
    cells = _cells(out)
    # week 10: SLEDR4 7 of 8 = 87.5%; BILNW, PGANW no records -> 0; SRI4 6/8 = 75.0%
    assert cells["Week 10"] == ["7 (87.5)", "0", "0", "6 (75.0)"]
    # headers are the ADRS PARAM texts (codelist RSPARMCD), components first, SRI-4 last
    assert out.headers[0] == "Visit" and out.headers[4] == "SLE Responder Index-4 (SRI-4)"
    assert out.headers[1].startswith("SLEDAI-2K Reduction >= 4")


def test_change_table_wilcoxon_exact_by_hand(adam, study):
    out = scores_change_table(adam, load_outputs().get("14.2.4"), study)
    rows = out.body.values.tolist()
    assert rows[0][0] == "SLEDAI-2K Total Score"
    cells = {row[0]: list(row[1:]) for row in rows[:8]}  # the SLEDAI block: heading, baseline, weeks 2..12
    # changes 1..5: n 5, mean 3.0, SD sqrt(sum((x-3)^2)/4) = sqrt(10/4) = 1.58, median 3.0, Q1, Q3 (type 7)
    # 2.0, 4.0, min/max 1, 5 (data have 0 decimals). Exact signed-rank: all 5 ranks positive, W- = 0;
    # P(W- = 0) = 1/2^5 = 1/32, two-sided 2/32 = 0.0625 exactly -> printed 0.063 (SAP rounding: half away from
    # zero on the exact value, SAS ROUND; Python f-format would print 0.062).
    # Mean change 95% CI: 3 -/+ t(0.975; 4) * sqrt(2.5 / 5) = 3 -/+ 2.7764 * 0.7071 = 1.04, 4.96 -> 1.0, 5.0.
    # Hodges-Lehmann: Walsh averages of 1..5 (15 values) have median 3; n = 5 is exact with qsignrank(0.025, 5)
    # = 0, so k = 1 and the CI is [smallest, largest] Walsh average = [1, 5].
    assert cells["  Week 2"] == ["5", "13.0 (1.58)", "5", "3.0 (1.58)", "3.0", "2.0, 4.0", "1, 5",
                                 "(1.0, 5.0); HL 3.0 (1.0, 5.0)", "0.063"]
    assert cells["  Baseline"][:2] == ["5", "10.0 (0.00)"]
    # PGA and BILAG have no records: their blocks keep every visit row with n = 0 (3 blocks x 8 rows)
    assert len(rows) == 3 * 8
    assert rows[-1][:2] == ["  Week 12", "0"]


def test_organ_table_mcnemar_and_subgroup_rate(adam, study):
    cells = _cells(organ_subgroup_table(adam, load_outputs().get("14.2.5"), study))
    skin = cells["Mucocutaneous"]
    # baseline 6/8 = 75.0%; week 12 (7 assessed: S1..S7): S7 only -> 1/7 = 14.3%
    # discordant pairs: S1..S6 Y -> N (b = 6), S7 N -> Y (c = 1): two-sided binomial P(X >= 6 | 7, 0.5) x 2
    # = 2 x (7 + 1) / 128 = 0.125
    assert skin[:3] == ["6 (75.0)", "1 (14.3)", "0.125"]
    # SRI-4 at week 10 among S1..S6: S1, S2, S3, S6 -> 4/6 = 66.7%
    assert skin[3] == "4/6"
    assert skin[4].startswith("66.7 (")
    # neuropsychiatric: nobody at baseline, nobody later: no discordant pair -> McNemar not defined (SAP: "NE"), N = 0 -> NE
    assert cells["Neuropsychiatric"] == ["0", "0", "NE", "0/0", "NE"]


def test_sensitivity_observed_cases_and_completers(adam, study):
    cells = _cells(sensitivity_table(adam, load_outputs().get("14.2.8"), study))
    assert cells["SRI-4, non-responder imputation (primary)"][:2] == ["6/8", "75.0"]
    # observed cases: ANL02FL = Y at week 10: S1, S2, S3, S6, S7, S8 (S4 imputed, S5 no record) -> 6/6
    assert cells["SRI-4, observed cases"][:3] == ["6/6", "100.0", "54.1, 100.0"]  # lower = 0.025^(1/6) = exp(-3.6889 / 6) = 0.5407
    # completers S1..S4: responders S1, S2, S3 -> 3/4 = 75.0%
    assert cells["SRI-4, completers (non-responder imputation)"][:2] == ["3/4", "75.0"]
    # SRI-5 has no record at all: 0/8
    assert cells["SRI-5, non-responder imputation"][:2] == ["0/8", "0.0"]


def test_data_decimals():
    assert data_decimals(pd.Series([44.1, 72.0])) == 1
    assert data_decimals(pd.Series([171.0, 150.0])) == 0
    assert data_decimals(pd.Series([2.18, 1.5])) == 2
    assert data_decimals(pd.Series([1 / 3])) == 3  # capped


def _blq_records():
    """One subject's anti-dsDNA analysis records as ADLB holds them: baseline "<10" (AVAL 5 = half the
    limit, BLQFL Y), week 2 quantified 30.2 (CHG 30.2 - 5 = 25.2), week 4 "<10" again (AVAL 5, CHG 0)."""
    frame = pd.DataFrame({"USUBJID": "S1", "PARAMCD": "DDNAIGAB", "PARAM": "Anti-dsDNA IgG Antibody (IU/mL)",
                          "AVISITN": [1.0, 2.0, 3.0], "AVAL": [5.0, 30.2, 5.0], "CHG": [np.nan, 25.2, 0.0],
                          "ALLOQ": [10.0, np.nan, 10.0], "BLQFL": ["Y", None, "Y"], "ABLFL": ["Y", None, None],
                          "ANL01FL": "Y"})
    for column in ("BLQFL", "ABLFL"):
        frame[column] = frame[column].astype("str").where(frame[column].notna())
    return frame


def test_lloq_sensitivity_sets_the_results_to_the_limit():
    from tlf.efficacy_tables import sensitivity_values

    out = sensitivity_values(_blq_records(), 1.0)
    # factor 1: baseline 10, week 2 30.2 - 10 = 20.2 (exact: not 20.199999999999996), week 4 10 - 10 = 0
    assert out["AVAL"].tolist() == [10.0, 30.2, 10.0]
    assert out["CHG"].iloc[1:].tolist() == [20.2, 0.0] and np.isnan(out["CHG"].iloc[0])


def test_below_limit_footnote_names_count_limit_and_rule():
    from tlf.efficacy_tables import below_limit_footnotes

    notes = below_limit_footnotes(_blq_records(), 0.5, "Table 14.2.6.1")
    assert notes == ["Anti-dsDNA IgG Antibody: 2 results reported below the lower limit of quantitation (< 10 IU/mL) "
                     "are analysed as half the limit. Table 14.2.6.1 repeats the analysis with them set to the limit."]
