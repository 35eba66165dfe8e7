"""SDTM LB builder: hand-made typed raw frames (as sdtm.raw.read_raw_extract returns them) with expected values
worked out by hand from lab_tests.yaml and the rules in sap/specs/sdtm/lb.yaml."""

import numpy as np
import pandas as pd
import pytest

from sap.errors import InputError
from sap.specs import apply_spec
from sdtm.lb import build_lb
from sdtm.raw import RawExtract

STUDYID = "IL2SLE01"


def text(values):
    return pd.Series(values, dtype="str")


def lab_frame(rows):
    """rows: (SUBJECT, VISIT, COLLECTION_DATE, TEST, RESULT, UNIT, REF_LOW, REF_HIGH, NOT_DONE)."""
    cols = list(zip(*rows)) if rows else [[]] * 9
    return pd.DataFrame({
        "SUBJECT": text(cols[0]), "VISIT": text(cols[1]), "COLLECTION_DATE": text(cols[2]), "TEST": text(cols[3]),
        "RESULT": text(cols[4]), "UNIT": text(cols[5]),
        "REF_LOW": pd.Series(cols[6], dtype="float64"), "REF_HIGH": pd.Series(cols[7], dtype="float64"),
        "NOT_DONE": text(cols[8]), "ROW": pd.Series(range(1, len(rows) + 1), dtype="int64"),
    })


def flow_frame(rows):
    """rows: (SUBJECT, VISIT, COLLECTION_DATE, POPULATION, PERCENT)."""
    cols = list(zip(*rows)) if rows else [[]] * 5
    return pd.DataFrame({
        "SUBJECT": text(cols[0]), "VISIT": text(cols[1]), "COLLECTION_DATE": text(cols[2]),
        "POPULATION": text(cols[3]), "PERCENT": pd.Series(cols[4], dtype="float64"),
        "ROW": pd.Series(range(1, len(rows) + 1), dtype="int64"),
    })


def dm_frame(rows):
    """rows: (SUBJID, RFSTDTC, RFXSTDTC)."""
    cols = list(zip(*rows))
    return pd.DataFrame({
        "STUDYID": STUDYID, "USUBJID": text([f"{STUDYID}-01-{s}" for s in cols[0]]), "SUBJID": text(cols[0]),
        "RFSTDTC": text(cols[1]), "RFXSTDTC": text(cols[2]),
    })


def build(lab_rows, flow_rows=(), dm_rows=(("001", "2013-08-01", "2013-08-01"),), study=None):
    raw = RawExtract(forms={"laboratory": lab_frame(lab_rows), "flow_cytometry": flow_frame(list(flow_rows))}, folder=None)
    return build_lb(raw, study, dm_frame(dm_rows))


def record(lb, subject, testcd, visit, spec=None):
    hit = lb["USUBJID"].eq(f"{STUDYID}-01-{subject}") & lb["LBTESTCD"].eq(testcd) & lb["VISIT"].eq(visit)
    if spec:
        hit &= lb["LBSPEC"].eq(spec)
    assert hit.sum() == 1, (subject, testcd, visit)
    return lb[hit].iloc[0]


NAN = np.nan


def test_unit_conversions_and_reference_ranges(study):
    lb = build([
        # 1200 mg/24h x 0.001 = 1.2 g/day; upper limit 150 mg/24h x 0.001 = 0.15 g/day; 1.2 > 0.15 -> HIGH
        ("001", "Week 0", "31-JUL-2013", "24h urine protein", "1200", "mg/24h", NAN, 150.0, "No"),
        # 85 mg/dL x 0.01 = 0.85 g/L; range 90-180 mg/dL -> 0.9-1.8 g/L; 0.85 < 0.9 -> LOW
        ("001", "Week 0", "31-JUL-2013", "C3", "85", "mg/dL", 90.0, 180.0, "No"),
        # 11.5 g/dL x 10 = 115 g/L; range 11-15 g/dL -> 110-150 g/L -> NORMAL
        ("001", "Week 0", "31-JUL-2013", "Hemoglobin", "11.5", "g/dL", 11.0, 15.0, "No"),
        # 0.8 mg/dL x 88.42 = 70.736 -> 4 significant digits 70.74 umol/L; range 0.5-1.1 mg/dL -> 44.21-97.26
        # (1.1 x 88.42 = 97.262 -> 97.26); no reference range flagged: 44.21 <= 70.74 <= 97.26 -> NORMAL
        ("001", "Week 0", "31-JUL-2013", "Creatinine", "0.8", "mg/dL", 0.5, 1.1, "No"),
        # factor 1 keeps the collected value: 234 10^3/uL = 234 10^9/L, no range -> LBNRIND missing
        ("001", "Week 0", "31-JUL-2013", "Platelets", "234", "10^3/uL", NAN, NAN, "No"),
    ], study=study).domain
    protein = record(lb, "001", "PROTEXR", "WEEK 0")
    assert (protein["LBORRES"], protein["LBORRESU"]) == ("1200", "mg/24h")
    assert (protein["LBSTRESN"], protein["LBSTRESC"], protein["LBSTRESU"]) == (1.2, "1.2", "g/day")
    assert protein["LBSPEC"] == "URINE" and protein["LBCAT"] == "URINALYSIS"
    assert protein["LBSTNRHI"] == 0.15 and pd.isna(protein["LBSTNRLO"]) and protein["LBNRIND"] == "HIGH"
    assert protein["LBORNRHI"] == "150" and pd.isna(protein["LBORNRLO"])

    c3 = record(lb, "001", "C3", "WEEK 0")
    assert (c3["LBSTRESN"], c3["LBSTRESC"], c3["LBSTRESU"]) == (0.85, "0.85", "g/L")
    assert (c3["LBSTNRLO"], c3["LBSTNRHI"], c3["LBNRIND"]) == (0.9, 1.8, "LOW")
    assert (c3["LBTEST"], c3["LBSPEC"]) == ("Complement C3", "SERUM")

    hgb = record(lb, "001", "HGB", "WEEK 0")
    assert (hgb["LBSTRESN"], hgb["LBSTRESC"], hgb["LBSTRESU"]) == (115.0, "115", "g/L")
    assert (hgb["LBSTNRLO"], hgb["LBSTNRHI"], hgb["LBNRIND"]) == (110.0, 150.0, "NORMAL")

    creat = record(lb, "001", "CREAT", "WEEK 0")
    assert (creat["LBSTRESN"], creat["LBSTRESC"]) == (70.74, "70.74")
    assert (creat["LBSTNRLO"], creat["LBSTNRHI"], creat["LBNRIND"]) == (44.21, 97.26, "NORMAL")

    plat = record(lb, "001", "PLAT", "WEEK 0")
    assert (plat["LBSTRESN"], plat["LBSTRESU"]) == (234.0, "10^9/L") and pd.isna(plat["LBNRIND"])


def test_comparator_results_keep_the_comparator_and_have_no_numeric_result(study):
    lb = build([
        ("001", "Week 0", "31-JUL-2013", "Anti-dsDNA", "<10", "IU/mL", NAN, 100.0, "No"),
        # "<5" mg/dL x 0.01 -> "<0.05" g/L
        ("001", "Week 0", "31-JUL-2013", "C4", "<5", "mg/dL", 10.0, 40.0, "No"),
    ], study=study).domain
    dsdna = record(lb, "001", "DDNAIGAB", "WEEK 0")
    assert (dsdna["LBORRES"], dsdna["LBSTRESC"]) == ("<10", "<10")
    assert pd.isna(dsdna["LBSTRESN"]) and pd.isna(dsdna["LBNRIND"])
    c4 = record(lb, "001", "C4", "WEEK 0")
    assert (c4["LBORRES"], c4["LBSTRESC"]) == ("<5", "<0.05") and pd.isna(c4["LBSTRESN"])


def test_not_done_is_mapped_with_lbstat_and_no_result(study):
    result = build([
        ("001", "Week 0", "31-JUL-2013", "C3", "85", "mg/dL", 90.0, 180.0, "No"),
        ("001", "Week 2", "15-AUG-2013", "C3", NAN, NAN, NAN, NAN, "Yes"),
    ], study=study)
    not_done = record(result.domain, "001", "C3", "WEEK 2")
    assert not_done["LBSTAT"] == "NOT DONE"
    for name in ("LBORRES", "LBORRESU", "LBSTRESC", "LBSTRESN", "LBSTRESU", "LBNRIND", "LBBLFL"):
        assert pd.isna(not_done[name]), name
    assert pd.isna(record(result.domain, "001", "C3", "WEEK 0")["LBSTAT"])
    assert result.mapped == {"laboratory": 2, "flow_cytometry": 0}


def test_flow_cytometry_percent_is_an_immunophenotyping_record(study):
    lb = build([], flow_rows=[("001", "Week 0", "31-JUL-2013", "Treg", 5.5),
                              ("001", "Week 0", "31-JUL-2013", "Tfh", 12.0)], study=study).domain
    treg = record(lb, "001", "TLHRTLH", "WEEK 0")
    assert (treg["LBORRES"], treg["LBORRESU"], treg["LBSTRESN"], treg["LBSTRESC"], treg["LBSTRESU"]) == ("5.5", "%", 5.5, "5.5", "%")
    assert (treg["LBCAT"], treg["LBSPEC"]) == ("IMMUNOPHENOTYPING", "BLOOD")
    assert record(lb, "001", "TFHTH", "WEEK 0")["LBORRES"] == "12"


def test_baseline_flag_is_the_last_non_missing_result_on_or_before_first_dose(study):
    dm_rows = [
        ("001", "2013-08-01", "2013-08-01"),  # dosed on schedule
        ("002", "2013-08-20", "2013-08-20"),  # first dose delayed after the week-2 draw
        ("003", "2013-08-20", "2013-08-20"),  # delayed, and the week-2 test was not done
        ("004", NAN, NAN),                    # never dosed
    ]
    lb = build([
        ("001", "Week 0", "01-AUG-2013", "C3", "85", "mg/dL", NAN, NAN, "No"),   # on the first-dose date: pre-dose
        ("001", "Week 2", "15-AUG-2013", "C3", "95", "mg/dL", NAN, NAN, "No"),   # post-dose
        ("002", "Week 0", "01-AUG-2013", "C3", "85", "mg/dL", NAN, NAN, "No"),
        ("002", "Week 2", "15-AUG-2013", "C3", "88", "mg/dL", NAN, NAN, "No"),   # last before 20-AUG
        ("002", "Week 4", "29-AUG-2013", "C3", "99", "mg/dL", NAN, NAN, "No"),
        ("003", "Week 0", "01-AUG-2013", "C3", "85", "mg/dL", NAN, NAN, "No"),   # last with a result
        ("003", "Week 2", "15-AUG-2013", "C3", NAN, NAN, NAN, NAN, "Yes"),
        ("004", "Week 0", "01-AUG-2013", "C3", "85", "mg/dL", NAN, NAN, "No"),
    ], dm_rows=dm_rows, study=study).domain
    flagged = lb.loc[lb["LBBLFL"].eq("Y"), ["USUBJID", "VISIT"]].apply(tuple, axis=1).tolist()
    assert sorted(flagged) == [
        (f"{STUDYID}-01-001", "WEEK 0"), (f"{STUDYID}-01-002", "WEEK 2"), (f"{STUDYID}-01-003", "WEEK 0"),
    ]
    assert set(lb["LBBLFL"].dropna()) == {"Y"}


def test_baseline_is_per_test_and_specimen(study):
    # WBC in blood and WBC in urine are different tests: each gets its own baseline
    lb = build([
        ("001", "Week 0", "31-JUL-2013", "WBC", "5.2", "10^9/L", NAN, NAN, "No"),
        ("001", "Week 0", "31-JUL-2013", "Urine WBC", "3", "/HPF", NAN, NAN, "No"),
    ], study=study).domain
    assert record(lb, "001", "WBC", "WEEK 0", spec="BLOOD")["LBBLFL"] == "Y"
    assert record(lb, "001", "WBC", "WEEK 0", spec="URINE")["LBBLFL"] == "Y"


def test_study_day_has_no_day_zero_and_visits_come_from_the_plan(study):
    lb = build([
        ("001", "Week 0", "31-JUL-2013", "C3", "85", "mg/dL", NAN, NAN, "No"),  # 1 day before RFSTDTC -> -1
        ("001", "Week 2", "01-AUG-2013", "C4", "20", "mg/dL", NAN, NAN, "No"),  # RFSTDTC itself -> 1
        ("001", "Week 2", "15-AUG-2013", "C3", "90", "mg/dL", NAN, NAN, "No"),  # 14 days after -> 15
    ], study=study).domain
    assert record(lb, "001", "C3", "WEEK 0")["LBDY"] == -1
    assert record(lb, "001", "C4", "WEEK 2")["LBDY"] == 1
    week2 = record(lb, "001", "C3", "WEEK 2")
    assert (week2["LBDY"], week2["VISITNUM"], week2["LBDTC"]) == (15, 2.0, "2013-08-15")


def test_rejections_balance_and_seq(study):
    lab = [
        ("001", "Week 0", "31-JUL-2013", "C3", "85", "mg/dL", NAN, NAN, "No"),
        ("001", "Week 2", "15-AUG-2013", "C3", "90", "mg/dL", NAN, NAN, "No"),
        ("001", "Week 12", "01-NOV-2015", "C3", "90", "mg/dL", NAN, NAN, "No"),  # cut-off is 2015-10-31
        ("999", "Week 0", "31-JUL-2013", "C3", "85", "mg/dL", NAN, NAN, "No"),   # not in DM
    ]
    flow = [("999", "Week 0", "31-JUL-2013", "Treg", 5.0)]
    result = build(lab, flow_rows=flow, study=study)
    assert result.mapped == {"laboratory": 2, "flow_cytometry": 0}
    rejected = result.rejected.sort_values(["FORM", "ROW"]).reset_index(drop=True)
    assert rejected.to_dict("records") == [
        {"FORM": "flow_cytometry", "ROW": 1, "SUBJECT": "999", "REASON": "subject not in DM"},
        {"FORM": "laboratory", "ROW": 3, "SUBJECT": "001", "REASON": "after data cut-off"},
        {"FORM": "laboratory", "ROW": 4, "SUBJECT": "999", "REASON": "subject not in DM"},
    ]
    # nothing lost: 4 + 1 raw rows = 2 mapped + 3 rejected
    assert sum(result.mapped.values()) + len(result.rejected) == len(lab) + len(flow)
    assert result.domain["LBSEQ"].tolist() == [1, 2]


def test_spec_applies_cleanly_and_output_is_deterministic(study):
    lab = [
        ("001", "Week 0", "31-JUL-2013", "C3", "85", "mg/dL", 90.0, 180.0, "No"),
        ("001", "Week 0", "31-JUL-2013", "Anti-dsDNA", "<10", "IU/mL", NAN, 100.0, "No"),
        ("001", "Week 2", "15-AUG-2013", "C3", NAN, NAN, NAN, NAN, "Yes"),
    ]
    flow = [("001", "Week 0", "31-JUL-2013", "Th17", 1.25)]
    first = build(lab, flow_rows=flow, study=study)
    conformed = apply_spec(first.domain, "lb")
    assert conformed.attrs["name"] == "LB" and len(conformed) == 4
    assert conformed["LBSEQ"].tolist() == [1, 2, 3, 4]
    pd.testing.assert_frame_equal(first.domain, build(lab, flow_rows=flow, study=study).domain)


def test_inputs_are_not_mutated(study):
    lab = lab_frame([("001", "Week 0", "31-JUL-2013", "C3", "85", "mg/dL", NAN, NAN, "No")])
    flow = flow_frame([("001", "Week 0", "31-JUL-2013", "Treg", 5.5)])
    dm = dm_frame([("001", "2013-08-01", "2013-08-01")])
    copies = (lab.copy(), flow.copy(), dm.copy())
    build_lb(RawExtract(forms={"laboratory": lab, "flow_cytometry": flow}, folder=None), study, dm)
    for before, after in zip(copies, (lab, flow, dm)):
        pd.testing.assert_frame_equal(before, after)


def test_malformed_rows_are_one_line_input_errors(study):
    with pytest.raises(InputError) as caught:
        build([
            ("001", "Week 0", "31-JUL-2013", "C3", "85", "mmol/L", NAN, NAN, "No"),     # unit unknown for C3
            ("001", "Week 0", "31-JUL-2013", "Ferritin", "85", "ng/mL", NAN, NAN, "No"),  # test unknown
            ("001", "Week 2", "15-AUG-2013", "C4", "positive", "g/L", NAN, NAN, "No"),    # not a number
            ("001", "Week 4", "29-AUG-2013", "C4", NAN, "g/L", NAN, NAN, "No"),           # blank but done
        ], study=study)
    assert caught.value.lines() == [
        "laboratory.csv, row 2, TEST: test not in lab_tests.yaml (value 'Ferritin')",
        "laboratory.csv, row 1, UNIT: unit not known for the test in lab_tests.yaml (value 'mmol/L')",
        "laboratory.csv, row 3, RESULT: result is not a number (optionally after <, <=, >, >=) (value 'positive')",
        "laboratory.csv, row 4, RESULT: result blank but NOT_DONE is not Yes",
    ]


@pytest.mark.slow
def test_scales_to_100000_subjects(study):
    # 100,000 subjects x (C3 at week 0 and week 2 + Treg at week 0): 200,000 lab rows, 100,000 flow rows
    n = 100_000
    subjects = [f"{i:06d}" for i in range(n)]
    lab = lab_frame([(s, v, d, "C3", "85", "mg/dL", 90.0, 180.0, "No") for s in subjects
                     for v, d in (("Week 0", "31-JUL-2013"), ("Week 2", "15-AUG-2013"))])
    flow = flow_frame([(s, "Week 0", "31-JUL-2013", "Treg", 5.5) for s in subjects])
    dm = dm_frame([(s, "2013-08-01", "2013-08-01") for s in subjects])
    result = build_lb(RawExtract(forms={"laboratory": lab, "flow_cytometry": flow}, folder=None), study, dm)
    lb = apply_spec(result.domain, "lb")
    assert len(lb) == 3 * n and result.mapped == {"laboratory": 2 * n, "flow_cytometry": n}
    # baseline: week-0 C3 and week-0 Treg of every subject
    assert lb["LBBLFL"].eq("Y").sum() == 2 * n
    assert lb.groupby("USUBJID")["LBSEQ"].max().eq(3).all()
