"""SDTM QS builder: hand-made typed raw frames for the sledai, bilag and pga forms, expected values worked out by
hand from instruments.yaml (weights: Gladman 2002) and the rules in sap/specs/sdtm/qs.yaml."""

import numpy as np
import pandas as pd
import pytest
import yaml

from sap.errors import InputError
from sap.specs import SPECS_DIR, apply_spec, load_codelists
from sdtm.qs import build_qs
from sdtm.raw import RawExtract

STUDYID = "IL2SLE01"
NAN = np.nan
INSTRUMENTS = yaml.safe_load((SPECS_DIR / "raw" / "instruments.yaml").read_text())
SLEDAI_COLUMNS = [item["column"] for item in INSTRUMENTS["sledai_2k"]["items"]]
BILAG_COLUMNS = [domain["column"] for domain in INSTRUMENTS["bilag_2004"]["domains"]]


def text(values):
    return pd.Series(values, dtype="str")


def form_frame(rows, answers):
    """rows: (SUBJECT, VISIT, ASSESSMENT_DATE, NOT_DONE); answers: one dict of column -> value per row."""
    cols = list(zip(*rows))
    df = pd.DataFrame({"SUBJECT": text(cols[0]), "VISIT": text(cols[1]), "ASSESSMENT_DATE": text(cols[2]),
                       "NOT_DONE": text(cols[3])})
    for column in answers[0]:
        values = [a[column] for a in answers]
        df[column] = pd.Series(values, dtype="float64") if column == "PGA" else text(values)
    df["ROW"] = pd.Series(range(1, len(rows) + 1), dtype="int64")
    return df


def sledai_answers(present=(), blank=(), not_done=False):
    if not_done:
        return {c: NAN for c in SLEDAI_COLUMNS}
    return {c: NAN if c in blank else "Present" if c in present else "Absent" for c in SLEDAI_COLUMNS}


def bilag_answers(grades=None, not_done=False):
    grades = grades or {}
    return {c: NAN if not_done else grades.get(c, "E") for c in BILAG_COLUMNS}


def dm_frame(rows=(("001", "2013-08-01", "2013-08-01"),)):
    cols = list(zip(*rows))
    return pd.DataFrame({"USUBJID": text([f"{STUDYID}-01-{s}" for s in cols[0]]), "SUBJID": text(cols[0]),
                         "RFSTDTC": text(cols[1]), "RFXSTDTC": text(cols[2])})


FIVE = ("RASH", "ARTHRITIS", "LOW_COMPLEMENT", "INCREASED_DNA_BINDING", "PROTEINURIA")
VISITS = [("001", "Week 0", "31-JUL-2013", "No"), ("001", "Week 2", "15-AUG-2013", "No")]


def build(study, sledai=None, bilag=None, pga=None, dm=None):
    forms = {
        "sledai": sledai if sledai is not None else form_frame(VISITS, [sledai_answers(FIVE), sledai_answers(("RASH",))]),
        "bilag": bilag if bilag is not None else form_frame(VISITS, [bilag_answers({"RENAL": "A", "MUCOCUTANEOUS": "B"}), bilag_answers()]),
        "pga": pga if pga is not None else form_frame(VISITS, [{"PGA": 1.5}, {"PGA": 0.8}]),
    }
    return build_qs(RawExtract(forms=forms, folder=None), study, dm if dm is not None else dm_frame())


def record(qs, testcd, visit, subject="001"):
    hit = qs["USUBJID"].eq(f"{STUDYID}-01-{subject}") & qs["QSTESTCD"].eq(testcd) & qs["VISIT"].eq(visit)
    assert hit.sum() == 1, (testcd, visit)
    return qs[hit].iloc[0]


def test_sledai_items_and_weighted_total(study):
    qs = build(study).domain
    # week 0: rash 2 + arthritis 4 + low complement 2 + DNA binding 2 + proteinuria 4 = 14
    total = record(qs, "SLE2K25", "WEEK 0")
    assert (total["QSSTRESN"], total["QSORRES"], total["QSSTRESC"], total["QSDRVFL"]) == (14.0, "14", "14", "Y")
    assert total["QSTEST"] == "SLE2K25-SLEDAI-2K Total Score" and total["QSCAT"] == "SLEDAI-2K"
    # week 2: rash only = 2
    assert record(qs, "SLE2K25", "WEEK 2")["QSSTRESN"] == 2.0
    arthritis = record(qs, "SLE2K09", "WEEK 0")
    assert (arthritis["QSORRES"], arthritis["QSSTRESC"], arthritis["QSSTRESN"]) == ("PRESENT", "4", 4.0)
    assert pd.isna(arthritis["QSDRVFL"])
    seizure = record(qs, "SLE2K01", "WEEK 0")
    assert (seizure["QSORRES"], seizure["QSSTRESC"], seizure["QSSTRESN"]) == ("ABSENT", "0", 0.0)  # QSSTRESN = number of QSSTRESC
    # 24 descriptors + 1 total per form row
    assert qs["QSCAT"].eq("SLEDAI-2K").sum() == 2 * 25
    assert qs["QSDRVFL"].eq("Y").sum() == 2


def test_sledai_blank_descriptor_is_not_done_and_total_missing(study):
    sledai = form_frame([VISITS[0]], [sledai_answers(("RASH",), blank=("FEVER",))])
    qs = build(study, sledai=sledai, bilag=form_frame([VISITS[0]], [bilag_answers()]),
               pga=form_frame([VISITS[0]], [{"PGA": 1.0}])).domain
    fever = record(qs, "SLE2K22", "WEEK 0")
    assert fever["QSSTAT"] == "NOT DONE" and pd.isna(fever["QSORRES"]) and pd.isna(fever["QSSTRESN"])
    total = record(qs, "SLE2K25", "WEEK 0")
    assert pd.isna(total["QSSTRESN"]) and total["QSSTAT"] == "NOT DONE" and pd.isna(total["QSBLFL"])
    assert pd.isna(record(qs, "SLE2K15", "WEEK 0")["QSSTAT"])


def test_bilag_grades_as_collected_without_numeric_result(study):
    qs = build(study).domain
    renal = record(qs, "BLG0408", "WEEK 0")
    assert (renal["QSORRES"], renal["QSSTRESC"], renal["QSCAT"]) == ("A", "A", "BILAG-2004")
    assert pd.isna(renal["QSSTRESN"]) and renal["QSTEST"] == "BLG0408-Renal"
    assert record(qs, "BLG0402", "WEEK 0")["QSORRES"] == "B"
    assert record(qs, "BLG0408", "WEEK 2")["QSORRES"] == "E"
    assert qs["QSCAT"].eq("BILAG-2004").sum() == 2 * 9


def test_pga_as_collected_and_numeric(study):
    qs = build(study).domain
    pga = record(qs, "SLEPGA", "WEEK 0")
    assert (pga["QSORRES"], pga["QSSTRESC"], pga["QSSTRESN"]) == ("1.5", "1.5", 1.5)
    assert pga["QSCAT"] == "PHYSICIAN GLOBAL ASSESSMENT"
    assert record(qs, "SLEPGA", "WEEK 2")["QSSTRESN"] == 0.8


def test_not_done_and_after_cutoff_rows_are_rejected_and_counts_are_rows(study):
    rows = VISITS + [("001", "Week 4", NAN, "Yes"), ("001", "Week 12", "01-NOV-2015", "No"), ("999", "Week 0", "31-JUL-2013", "No")]
    sledai = form_frame(rows, [sledai_answers(FIVE), sledai_answers(), sledai_answers(not_done=True),
                               sledai_answers(), sledai_answers()])
    pga = form_frame(rows, [{"PGA": 1.5}, {"PGA": 1.0}, {"PGA": NAN}, {"PGA": 0.5}, {"PGA": 2.0}])
    result = build(study, sledai=sledai, pga=pga)
    # 2 mapped sledai rows -> 50 records, but mapped counts rows
    assert result.mapped == {"sledai": 2, "bilag": 2, "pga": 2}
    assert result.domain["QSCAT"].eq("SLEDAI-2K").sum() == 50
    rejected = result.rejected.sort_values(["FORM", "ROW"]).reset_index(drop=True)
    expected = [("assessment not done", 3, "001"), ("after data cut-off", 4, "001"), ("subject not in DM", 5, "999")]
    assert rejected.to_dict("records") == [
        {"FORM": form, "ROW": row, "SUBJECT": subject, "REASON": reason}
        for form in ("pga", "sledai") for reason, row, subject in expected
    ]
    assert set(result.domain["VISIT"]) == {"WEEK 0", "WEEK 2"}


def test_baseline_flag_study_day_and_evaluator(study):
    # first dose 2013-08-01: week 0 on 31-JUL (day -1) is the last pre-dose assessment, week 2 (day 15) is not
    qs = build(study).domain
    week0, week2 = qs[qs["VISIT"].eq("WEEK 0")], qs[qs["VISIT"].eq("WEEK 2")]
    assert week0["QSBLFL"].eq("Y").all() and week2["QSBLFL"].isna().all()
    assert week0["QSDY"].eq(-1).all() and week2["QSDY"].eq(15).all()
    assert qs["QSLOBXFL"].equals(qs["QSBLFL"]) and "QSEVAL" not in qs.columns and qs["DOMAIN"].eq("QS").all()


def test_baseline_skips_missing_and_is_none_for_undosed(study):
    # subject 002 delays dosing to 20-AUG: week 2 (15-AUG) is the last pre-dose PGA unless it is blank
    rows = [("001", "Week 0", "01-AUG-2013", "No"), ("001", "Week 2", "15-AUG-2013", "No"),
            ("002", "Week 0", "01-AUG-2013", "No"), ("002", "Week 2", "15-AUG-2013", "No")]
    pga = form_frame(rows, [{"PGA": 1.5}, {"PGA": 1.0}, {"PGA": 2.0}, {"PGA": NAN}])
    dm = dm_frame([("001", NAN, NAN), ("002", "2013-08-20", "2013-08-20")])
    qs = build(study, sledai=form_frame(rows[:1], [sledai_answers()]), bilag=form_frame(rows[:1], [bilag_answers()]),
               pga=pga, dm=dm).domain
    assert record(qs, "SLEPGA", "WEEK 0", "002")["QSBLFL"] == "Y"
    assert pd.isna(record(qs, "SLEPGA", "WEEK 2", "002")["QSBLFL"])
    assert qs.loc[qs["USUBJID"].str.endswith("001"), "QSBLFL"].isna().all()
    assert pd.isna(record(qs, "SLEPGA", "WEEK 0", "001")["QSDY"])


def test_qstest_is_the_codelist_decode_and_spec_applies(study):
    result = build(study)
    decodes = {t.value: t.decode for t in load_codelists()["QSTESTCD"].terms}
    qs = result.domain
    assert qs["QSTEST"].tolist() == qs["QSTESTCD"].map(decodes).tolist()
    conformed = apply_spec(qs, "qs")
    assert conformed.attrs["name"] == "QS" and len(conformed) == 2 * (25 + 9 + 1)
    # QSSEQ 1..70 within the subject; keys unique
    assert conformed["QSSEQ"].tolist() == list(range(1, 71))
    assert not conformed.duplicated(["USUBJID", "QSCAT", "QSTESTCD", "VISITNUM"]).any()
    pd.testing.assert_frame_equal(qs, build(study).domain)


def test_unknown_answers_are_input_errors(study):
    answers = sledai_answers()
    answers["RASH"] = "Maybe"
    with pytest.raises(InputError) as caught:
        build(study, sledai=form_frame([VISITS[0]], [answers]))
    assert caught.value.lines() == ["sledai.csv, row 1, RASH: not Present or Absent (value 'Maybe')"]
    with pytest.raises(InputError) as caught:
        build(study, pga=form_frame(VISITS, [{"PGA": 1.5}, {"PGA": 3.5}]))
    assert caught.value.lines() == ["pga.csv, row 2, PGA: outside 0-3 (value 3.5)"]


@pytest.mark.slow
def test_scales_to_100000_subjects(study):
    # 100,000 subjects x 2 visits: 200,000 rows per form -> 200,000 x (25 + 9 + 1) = 7,000,000 records
    n = 100_000
    rows = [(f"{i:06d}", v, d, "No") for i in range(n) for v, d in (("Week 0", "31-JUL-2013"), ("Week 2", "15-AUG-2013"))]
    dm = dm_frame([(f"{i:06d}", "2013-08-01", "2013-08-01") for i in range(n)])
    result = build(study, sledai=form_frame(rows, [sledai_answers(FIVE)] * len(rows)),
                   bilag=form_frame(rows, [bilag_answers()] * len(rows)), pga=form_frame(rows, [{"PGA": 1.5}] * len(rows)), dm=dm)
    qs = result.domain
    assert len(qs) == 2 * n * 35 and result.mapped == {"sledai": 2 * n, "bilag": 2 * n, "pga": 2 * n}
    assert qs.loc[qs["QSTESTCD"].eq("SLE2K25"), "QSSTRESN"].eq(14).all()
    assert qs["QSBLFL"].eq("Y").sum() == n * 35
