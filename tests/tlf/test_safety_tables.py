"""Safety tables on a hand-made 5-subject ADAE and a hand-made ADLB; expected cells counted by hand."""

import numpy as np
import pandas as pd

from tlf.catalog import load_outputs
from tlf.safety_tables import (injection_site_table, lab_shift_table, related_teae_table, soc_pt_counts, teae_max_severity_table,
                               teae_overview_table, teae_soc_pt_table, worst_shift_counts)

GEN, INF, NER = "General disorders", "Infections", "Nervous system disorders"


def _adsl():
    # S1..S5 in the safety population; S6 is not (its event must be ignored). Treatment duration 73 days each
    # (ADSL TRTDURD, integer days as production; S6 never dosed): 365 days = 365 / 365.25 subject-years
    return pd.DataFrame({"USUBJID": [f"S{i}" for i in range(1, 7)], "SAFFL": ["Y"] * 5 + ["N"],
                         "TRTDURD": [73.0, 73.0, 73.0, 73.0, 73.0, np.nan]})


def _adae():
    rows = [  # USUBJID, SOC, PT, TRTEMFL, ASEVN, ARELFL, AESER, CQ01NAM
        ("S1", GEN, "Pyrexia", "Y", 1, "Y", "N", None),
        ("S1", GEN, "Pyrexia", "Y", 2, "Y", "N", None),       # 2nd Pyrexia of S1: counted once, max severity moderate
        ("S1", INF, "Nasopharyngitis", "Y", 1, "N", "N", None),
        ("S2", GEN, "Injection site reaction", "Y", 1, "Y", "N", "INJECTION SITE REACTION"),
        ("S2", INF, "Nasopharyngitis", "Y", 3, "N", "Y", None),
        ("S3", INF, "Bronchitis", "Y", None, "N", "N", None),  # missing severity -> severe
        ("S4", NER, "Headache", "N", 3, "Y", "N", None),       # not treatment-emergent: ignored
        ("S6", NER, "Headache", "Y", 1, "Y", "N", None),       # not in the safety population: ignored
    ]
    df = pd.DataFrame(rows, columns=["USUBJID", "AEBODSYS", "AEDECOD", "TRTEMFL", "ASEVN", "ARELFL", "AESER", "CQ01NAM"])
    df["ASEV"] = df["ASEVN"].map({1: "MILD", 2: "MODERATE", 3: "SEVERE"})
    df["AEACN"] = "DOSE NOT CHANGED"
    df["AEOUT"] = "RECOVERED/RESOLVED"
    return df


def _adam():
    return {"ADSL": _adsl(), "ADAE": _adae()}


def _cells(out):
    return {row[0]: list(row[1:]) for row in out.body.values.tolist()}


def test_soc_pt_counts_once_per_subject_sorted_by_frequency(study):
    # TEAEs of S1-S5: 3 (S1) + 2 (S2) + 1 (S3) = 6 events in 3 subjects.
    # Infections: Nasopharyngitis S1, S2 + Bronchitis S3 -> 3 subjects, 3 events.
    # General: Pyrexia S1 x2 + ISR S2 -> 2 subjects, 3 events. Nervous: none (S4 not TE, S6 not SAFFL).
    # PTs in Infections: Nasopharyngitis 2 subjects, Bronchitis 1. In General: ISR 1 and Pyrexia 1 -> tie,
    # alphabetical: "Injection site reaction" before "Pyrexia".
    out = teae_soc_pt_table(_adam(), load_outputs().get("14.3.1.2"), study)
    assert out.body["c0"].tolist() == ["Any TEAE", INF, "  Nasopharyngitis", "  Bronchitis", GEN,
                                       "  Injection site reaction", "  Pyrexia"]
    cells = _cells(out)
    assert cells["Any TEAE"] == ["3 (60.0)", "6"]  # 3 of N = 5 -> 60.0%; 6 events
    assert cells[INF] == ["3 (60.0)", "3"]
    assert cells["  Pyrexia"] == ["1 (20.0)", "2"]  # S1 counted once, two events
    assert cells[GEN] == ["2 (40.0)", "3"]
    assert out.big_n == 5


def test_soc_pt_tie_between_socs_is_alphabetical():
    events = pd.DataFrame({"USUBJID": ["A", "B"], "AEBODSYS": ["Zeta", "Alpha"], "AEDECOD": ["z", "a"]})
    counts = soc_pt_counts(events)
    assert counts["AEBODSYS"].tolist() == ["Alpha", "Alpha", "Zeta", "Zeta"]
    assert counts["level"].tolist() == ["soc", "pt", "soc", "pt"]


def test_max_severity_per_subject_and_zero_columns_kept(study):
    out = teae_max_severity_table(_adam(), load_outputs().get("14.3.1.3"), study)
    cells = _cells(out)
    # overall max: S1 moderate (2), S2 severe (3), S3 missing -> severe: mild 0, moderate 1, severe 2
    assert cells["Any TEAE"] == ["0", "1 (20.0)", "2 (40.0)"]
    # Pyrexia: S1 only, events mild + moderate -> moderate
    assert cells["  Pyrexia"] == ["0", "1 (20.0)", "0"]
    # Nasopharyngitis: S1 mild, S2 severe
    assert cells["  Nasopharyngitis"] == ["1 (20.0)", "0", "1 (20.0)"]
    assert out.headers[1:] == ("Mild, n (%)", "Moderate, n (%)", "Severe, n (%)")


def test_overview_and_related_and_injection_site(study):
    cells = _cells(teae_overview_table(_adam(), load_outputs().get("14.3.1.1"), study))
    # Clopper-Pearson 95% CI of x/5: 3/5 14.7-94.7, 2/5 5.3-85.3, 1/5 0.5-71.6 (1 - 0.975^(1/5) = 0.00505),
    # 0/5 0.0-52.2 (1 - 0.025^(1/5) = 0.5218). Per 100 subject-years: 100 x / (365 / 365.25) = 100.0685 x:
    # 300.2, 200.1, 100.1, 0.0
    assert cells["Any TEAE"] == ["3 (60.0)", "14.7, 94.7", "300.2", "6"]
    assert cells["Treatment-related TEAE"] == ["2 (40.0)", "5.3, 85.3", "200.1", "3"]  # S1 Pyrexia x2, S2 ISR
    assert cells["Severe TEAE"] == ["2 (40.0)", "5.3, 85.3", "200.1", "2"]  # S2 nasopharyngitis, S3 bronchitis (missing)
    assert cells["Serious TEAE"] == ["1 (20.0)", "0.5, 71.6", "100.1", "1"]
    assert cells["TEAE with fatal outcome"] == ["0", "0.0, 52.2", "0.0", "0"]  # zero row kept
    related = _cells(related_teae_table(_adam(), load_outputs().get("14.3.1.4"), study))
    assert list(related) == ["Any treatment-related TEAE", GEN, "  Injection site reaction", "  Pyrexia"]
    isr = _cells(injection_site_table(_adam(), load_outputs().get("14.3.1.5"), study))
    assert isr["Any injection-site reaction"] == ["1 (20.0)", "1"]
    assert isr["  Mild"] == ["1 (20.0)", "1"] and isr["  Severe"] == ["0", "0"]


def _adlb():
    # ALB for 4 subjects; baseline BNRIND on every record; on-treatment values (ONTRTFL = Y):
    #   S1 baseline LOW, post LOW, NORMAL -> worst LOW        (cell LOW -> LOW)
    #   S2 baseline NORMAL, post HIGH, LOW -> LOW and HIGH    (cell NORMAL -> LOW and HIGH)
    #   S3 baseline NORMAL, post NORMAL -> NORMAL             (cell NORMAL -> NORMAL)
    #   S4 no baseline, post HIGH -> HIGH                      (cell Missing -> HIGH)
    #   S5 baseline LOW, only a pre-treatment record          (not counted: no on-treatment value)
    rows = [("S1", "LOW", None, "LOW"), ("S1", "LOW", "Y", "LOW"), ("S1", "LOW", "Y", "NORMAL"),
            ("S2", "NORMAL", "Y", "HIGH"), ("S2", "NORMAL", "Y", "LOW"),
            ("S3", "NORMAL", "Y", "NORMAL"), ("S4", None, "Y", "HIGH"), ("S5", "LOW", None, "LOW")]
    df = pd.DataFrame(rows, columns=["USUBJID", "BNRIND", "ONTRTFL", "ANRIND"])
    return df.assign(PARAMCD="ALB", PARAM="Albumin (g/L)", PARCAT1="CHEMISTRY")


def test_shift_cells_counted_by_hand(study):
    counts = worst_shift_counts(_adlb()).loc["ALB"]
    assert counts.loc["LOW"].tolist() == [1, 0, 0, 0]      # LOW, NORMAL, HIGH, LOW and HIGH
    assert counts.loc["NORMAL"].tolist() == [0, 1, 0, 1]
    assert counts.loc["HIGH"].tolist() == [0, 0, 0, 0]     # zero row kept
    assert counts.loc["Missing"].tolist() == [0, 0, 1, 0]
    adam = {"ADSL": pd.DataFrame({"USUBJID": ["S1", "S2", "S3", "S4", "S5"], "SAFFL": "Y"}), "ADLB": _adlb()}
    out = lab_shift_table(adam, load_outputs().get("14.3.4"), study)
    cells = _cells(out)
    assert "Albumin (g/L) [Chemistry]" in cells
    assert cells["  Normal"] == ["0", "1", "0", "1", "2"]  # total 2 subjects with baseline normal
