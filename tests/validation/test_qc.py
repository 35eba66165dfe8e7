"""The QC twin (validation/qc): its derivations on hand-made SDTM with hand-worked values, a planted
production defect caught and named by the compare, and a clean twin run that compares clean."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sap.errors import InputError, ValidationFailed
from validation.qc.compare import TARGETS, compare_target
from validation.qc.derive import clopper_pearson_beta, derive_qc, impute_end, impute_start, load_instruments

STUDY = "IL2SLE01"
S1, S2, S3 = "IL2SLE01-01-001", "IL2SLE01-01-002", "IL2SLE01-01-003"
INSTRUMENTS = load_instruments()
ITEMS = [item["testcd"] for item in INSTRUMENTS["sledai_2k"]["items"]]
DOMAINS = [d["testcd"] for d in INSTRUMENTS["bilag_2004"]["domains"]]


def assessment(usubjid, visitnum, date, present, grades, pga, missing=()):
    """QS records of one assessment: 24 SLEDAI-2K descriptors (PRESENT for `present`, blank for `missing`),
    the collected total SLE2K25 (blank when a descriptor is blank), nine BILAG grades, PGA."""
    weights = {item["testcd"]: item["weight"] for item in INSTRUMENTS["sledai_2k"]["items"]}
    rows = []
    for code in ITEMS:
        answer = np.nan if code in missing else ("PRESENT" if code in present else "ABSENT")
        rows.append((code, answer, answer, np.nan))
    total = np.nan if missing else float(sum(weights[c] for c in present))
    rows.append(("SLE2K25", str(total), str(total), total))
    rows += [(code, grade, grade, np.nan) for code, grade in zip(DOMAINS, grades)]
    rows.append(("SLEPGA", str(pga), str(pga), float(pga)))
    frame = pd.DataFrame(rows, columns=["QSTESTCD", "QSORRES", "QSSTRESC", "QSSTRESN"])
    return frame.assign(USUBJID=usubjid, VISITNUM=float(visitnum), QSDTC=date)


def hand_made_sdtm() -> dict[str, pd.DataFrame]:
    """Three subjects. S1 dosed 2014-01-10..14 (3 injections), completed. S2 dosed 2014-01-12..14 (2
    injections), discontinued 2014-02-01. S3 never dosed (one EXDOSE 0 record), no disposition."""
    dm = pd.DataFrame({"STUDYID": STUDY, "USUBJID": [S1, S2, S3], "DTHDTC": [np.nan, np.nan, np.nan]}).astype({"DTHDTC": "str"})
    ex = pd.DataFrame({"USUBJID": [S1, S1, S1, S2, S2, S3], "EXDOSE": [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
                       "EXSTDTC": ["2014-01-10", "2014-01-12", "2014-01-14", "2014-01-12", "2014-01-14", "2014-01-15"]})
    ex["EXENDTC"] = ex["EXSTDTC"]
    ds = pd.DataFrame({"USUBJID": [S1, S1, S2], "DSSEQ": [1, 2, 1],
                       "DSCAT": ["PROTOCOL MILESTONE", "DISPOSITION EVENT", "DISPOSITION EVENT"],
                       "DSDECOD": ["INFORMED CONSENT OBTAINED", "COMPLETED", "LACK OF EFFICACY"],
                       "DSSTDTC": ["2014-01-01", "2014-04-10", "2014-02-01"]})
    qs = pd.concat([
        # S1 baseline: vasculitis 8 + arthritis 4 = 12; BILAG E,B,E,A,E,E,E,E,E = 8 + 12 = 20; PGA 1.2
        assessment(S1, 1, "2014-01-09", {"SLE2K08", "SLE2K09"}, "EBEAEEEEE", 1.2),
        # S1 unscheduled in the week 2 window, day 11 (4 days from target 15): not the analysis record
        assessment(S1, 2.1, "2014-01-20", {"SLE2K08"}, "EEEEEEEEE", 0.5),
        # S1 week 2, day 15: arthritis 4; BILAG E,C,E,B,B,E,E,E,E (CARDIO newly B, 1 new B); PGA 1.49
        assessment(S1, 2, "2014-01-24", {"SLE2K09"}, "ECEBBEEEE", 1.49),
        # S1 week 4, day 29: arthritis 4 + rash 2 + low complement 2 = 8; GI and RENAL newly B; PGA 1.5
        assessment(S1, 3, "2014-02-07", {"SLE2K09", "SLE2K15", "SLE2K20"}, "ECEBEBEBE", 1.5),
        # S2 baseline on the first-dose date: rash 2 + alopecia 2 + pleurisy 2 + fever 1 + leukopenia 1 = 8;
        # BILAG D,C,D,D,D,D,D,D,D = 1; PGA 2.0
        assessment(S2, 1, "2014-01-12", {"SLE2K15", "SLE2K16", "SLE2K18", "SLE2K22", "SLE2K24"}, "DCDDDDDDD", 2.0),
        # S2 week 2: seizure blank -> SLEDAI missing; MUCOCUTANEOUS newly A (baseline C); PGA 2.2
        assessment(S2, 2, "2014-01-26", {"SLE2K15"}, "DADDDDDDD", 2.2, missing={"SLE2K01"}),
        # S2 week 4 (after the discontinuation on 2014-02-01): rash 2 + alopecia 2 = 4
        assessment(S2, 3, "2014-02-09", {"SLE2K15", "SLE2K16"}, "DCDDDDDDD", 2.0),
        # S3 (never dosed) baseline visit: vasculitis 8 + rash 2 = 10
        assessment(S3, 1, "2014-01-14", {"SLE2K08", "SLE2K15"}, "EEEEEEEEE", 1.0),
    ], ignore_index=True)
    for column in ("QSORRES", "QSSTRESC"):
        qs[column] = qs[column].astype("str")
    ae = pd.DataFrame({
        "USUBJID": [S1, S1, S1, S1, S2, S2, S3], "AESEQ": [1, 2, 3, 4, 1, 2, 1],
        "AESTDTC": ["2014-01", "2014", "2014-02-13", "2014-02-14", "2014-01-05", np.nan, "2014-01-20"],
        "AEENDTC": ["2014-01-20", "2014", "2014-02-15", "2014-02-20", "2014-01-08", "2014-01-20", "2014-01-21"],
    }).astype({"AESTDTC": "str", "AEENDTC": "str"})
    return {"DM": dm, "EX": ex, "DS": ds, "QS": qs, "AE": ae}


@pytest.fixture(scope="module")
def qc(study):
    return derive_qc(hand_made_sdtm(), study)


def row(df, **keys):
    mask = pd.Series(True, index=df.index)
    for key, value in keys.items():
        mask &= df[key].eq(value)
    assert mask.sum() == 1, keys
    return df[mask].iloc[0]


def test_adsl_exposure_populations_and_baseline(qc):
    adsl = qc["ADSL"].set_index("USUBJID")
    s1, s2, s3 = adsl.loc[S1], adsl.loc[S2], adsl.loc[S3]
    # S1: 3 injections 2014-01-10..14: TRTDURD = 14 - 10 + 1 = 5; COMPLPCT = 3 / 21 * 100 = 14.2857
    assert (s1["TRTSDT"], s1["TRTEDT"]) == (pd.Timestamp("2014-01-10"), pd.Timestamp("2014-01-14"))
    assert (s1["TRTDURD"], s1["INJNUM"], s1["CUMDOSE"]) == (5, 3, 3.0)
    assert s1["COMPLPCT"] == pytest.approx(300 / 21)
    assert (s1["SAFFL"], s1["FASFL"], s1["COMPLFL"], s1["EOSSTT"]) == ("Y", "Y", "Y", "COMPLETED")
    # baseline 12, PGA 1.2, BILAG B (8) + A (12) = 20, one A -> BBLGABFL Y
    assert (s1["BSLEDAI"], s1["BPGA"], s1["BBILAG"], s1["BBLGABFL"]) == (12.0, 1.2, 20.0, "Y")
    # vasculitis -> skin, arthritis -> musculoskeletal; the other groups assessed and absent
    assert (s1["BSKINFL"], s1["BMSKFL"], s1["BRENALFL"], s1["BNEUROFL"]) == ("Y", "Y", "N", "N")
    # S2: the record on the first-dose date is baseline (8); 2 injections -> 2 / 21 * 100; discontinued
    assert (s2["TRTDURD"], s2["INJNUM"], s2["BSLEDAI"], s2["BBILAG"], s2["BBLGABFL"]) == (3, 2, 8.0, 1.0, "N")
    assert s2["COMPLPCT"] == pytest.approx(200 / 21)
    assert (s2["EOSSTT"], s2["EOSDT"], s2["COMPLFL"], s2["FASFL"]) == ("DISCONTINUED", pd.Timestamp("2014-02-01"), "N", "Y")
    assert (s2["BSKINFL"], s2["BSEROFL"], s2["BFEVERFL"], s2["BHAEMFL"], s2["BMSKFL"]) == ("Y", "Y", "Y", "Y", "N")
    # S3: only an EXDOSE 0 record -> not dosed; no disposition -> ONGOING
    assert (s3["SAFFL"], s3["FASFL"], s3["INJNUM"], s3["CUMDOSE"], s3["COMPLPCT"]) == ("N", "N", 0, 0.0, 0.0)
    assert pd.isna(s3["TRTSDT"]) and s3["EOSSTT"] == "ONGOING" and s3["COMPLFL"] == "N"


def test_adqs_totals_baseline_windows_and_analysis_records(qc):
    adqs = qc["ADQS"]
    analysis = adqs[adqs["ANL01FL"].eq("Y")]
    # S1 week 2: the day-15 record (|15 - 15| = 0) beats the day-11 one (|11 - 15| = 4); 4 - 12 = -8
    s1_w2 = row(analysis, USUBJID=S1, PARAMCD="SLEDAI", AVISITN=2.0)
    assert (s1_w2["ADT"], s1_w2["AVAL"], s1_w2["BASE"], s1_w2["CHG"]) == (pd.Timestamp("2014-01-24"), 4.0, 12.0, -8.0)
    # BILAG week 2: C 1 + B 8 + B 8 = 17; change 17 - 20 = -3
    s1_bilag = row(analysis, USUBJID=S1, PARAMCD="BILAG", AVISITN=2.0)
    assert (s1_bilag["AVAL"], s1_bilag["BASE"], s1_bilag["CHG"]) == (17.0, 20.0, -3.0)
    # baseline record: ABLFL and ANL01FL, no change
    s1_base = row(analysis, USUBJID=S1, PARAMCD="SLEDAI", AVISITN=1.0)
    assert s1_base["ABLFL"] == "Y" and s1_base["AVAL"] == 12.0 and pd.isna(s1_base["CHG"])
    # S2 week 2 SLEDAI: a blank descriptor -> total missing -> no analysis record at week 2
    s2 = adqs[adqs["USUBJID"].eq(S2) & adqs["PARAMCD"].eq("SLEDAI")]
    assert pd.isna(row(s2, AVISITN=2.0)["AVAL"]) and pd.isna(row(s2, AVISITN=2.0)["ANL01FL"])
    # S3 never dosed: no study day, no analysis visit, no baseline
    s3 = adqs[adqs["USUBJID"].eq(S3)]
    assert s3["AVISITN"].isna().all() and s3["ABLFL"].isna().all()


def test_adrs_components_sri_and_non_responder_imputation(qc):
    adrs = qc["ADRS"]
    # 2 FAS subjects x 6 post-baseline visits x 12 parameters
    assert len(adrs) == 2 * 6 * 12 and set(adrs["USUBJID"]) == {S1, S2}

    def value(usubjid, paramcd, visitnum):
        r = row(adrs, USUBJID=usubjid, PARAMCD=paramcd, AVISITN=visitnum)
        return r["AVALC"], None if pd.isna(r["DTYPE"]) else r["DTYPE"], None if pd.isna(r["NRIREAS"]) else r["NRIREAS"]

    # S1 week 2: CHG -8 <= -8; one new B; PGA +0.29 < 0.30 -> SRI-8 responder
    for paramcd in ("SLEDR8", "BILNW", "PGANW", "SRI4", "SRI8"):
        assert value(S1, paramcd, 2.0) == ("Y", None, None), paramcd
    # S1 week 4: CHG 8 - 12 = -4 (SLEDR4 Y, SLEDR5 N); two new B -> BILNW N; PGA 1.5 - 1.2 = +0.30 -> N
    assert value(S1, "SLEDR4", 3.0) == ("Y", None, None)
    assert value(S1, "SLEDR5", 3.0) == ("N", None, None)
    assert value(S1, "BILNW", 3.0) == ("N", None, None)
    assert value(S1, "PGANW", 3.0) == ("N", None, None)
    assert value(S1, "SRI4", 3.0) == ("N", None, None)
    # S1 week 6: no assessment -> NRI, missing component
    assert value(S1, "SRI4", 4.0) == ("N", "NRI", "MISSING COMPONENT")
    # S2 week 2: SLEDAI missing -> SLEDRk and SRIk imputed; BILAG observed, newly A -> N; PGA +0.2 -> Y
    assert value(S2, "SLEDR4", 2.0) == ("N", "NRI", "MISSING COMPONENT")
    assert value(S2, "SRI4", 2.0) == ("N", "NRI", "MISSING COMPONENT")
    assert value(S2, "BILNW", 2.0) == ("N", None, None)
    assert value(S2, "PGANW", 2.0) == ("Y", None, None)
    # S2 week 4 window starts on TRTSDT + 22 - 1 = 2014-02-02; discontinued 2014-02-01 -> imputed even though
    # the week 4 SLEDAI (4, change -4) was observed
    assert value(S2, "SLEDR4", 3.0) == ("N", "NRI", "DISCONTINUED BEFORE VISIT")
    assert set(adrs.loc[adrs["AVISITN"].eq(6.0), "ANL01FL"]) == {"Y"}
    assert adrs.loc[adrs["AVISITN"].ne(6.0), "ANL01FL"].isna().all()
    assert adrs["AVAL"].eq(adrs["AVALC"].eq("Y").astype(float)).all()


def test_adae_imputation_and_treatment_emergence(qc):
    adae = qc["ADAE"]

    def get(usubjid, aeseq):
        return row(adae, USUBJID=usubjid, AESEQ=aeseq)

    # "2014-01" -> 2014-01-01, raised to TRTSDT 2014-01-10 (inside January 2014); day imputed
    a = get(S1, 1)
    assert (a["ASTDT"], a["ASTDTF"], a["TRTEMFL"]) == (pd.Timestamp("2014-01-10"), "D", "Y")
    # "2014" start -> raised to TRTSDT, flag M; "2014" end -> 2014-12-31 lowered to EOSDT 2014-04-10
    b = get(S1, 2)
    assert (b["ASTDT"], b["ASTDTF"], b["AENDT"], b["AENDTF"]) == (pd.Timestamp("2014-01-10"), "M", pd.Timestamp("2014-04-10"), "M")
    # TRTEDT 2014-01-14 + 30 = 2014-02-13: that day is emergent, the next is not
    assert get(S1, 3)["TRTEMFL"] == "Y" and pd.isna(get(S1, 4)["TRTEMFL"])
    assert pd.isna(get(S1, 3)["ASTDTF"])
    # ended 2014-01-08 before TRTSDT 2014-01-12 -> missing; missing start -> Y; never dosed -> missing
    assert pd.isna(get(S2, 1)["TRTEMFL"])
    assert pd.isna(get(S2, 2)["ASTDT"]) and get(S2, 2)["TRTEMFL"] == "Y"
    assert pd.isna(get(S3, 1)["TRTEMFL"])


def test_partial_date_outside_treatment_start_period_is_not_raised():
    # "2013-12" -> 2013-12-01: TRTSDT 2014-01-10 lies outside December 2013, so no raise
    dates, flags = impute_start(pd.Series(["2013-12"], dtype="str"), pd.Series([pd.Timestamp("2014-01-10")]).astype("datetime64[ms]"))
    assert dates.iloc[0] == pd.Timestamp("2013-12-01") and flags.iloc[0] == "D"
    # "2014-02" end -> 2014-02-28 (2014 not a leap year); a cap in March is outside February
    dates, flags = impute_end(pd.Series(["2014-02"], dtype="str"), [pd.Series([pd.Timestamp("2014-03-01")]).astype("datetime64[ms]")])
    assert dates.iloc[0] == pd.Timestamp("2014-02-28") and flags.iloc[0] == "D"


def test_clopper_pearson_from_beta_quantiles():
    lower, upper = clopper_pearson_beta(np.array([36, 0, 10]), np.array([40, 10, 10]), 0.05)
    # oracle of docs domain.md: 36/40 -> 76.34%, 97.21%
    assert (round(lower[0] * 100, 2), round(upper[0] * 100, 2)) == (76.34, 97.21)
    # closed forms: x = 0 -> [0, 1 - 0.025^(1/10)] = [0, 0.30850]; x = n -> [0.025^(1/10), 1] = [0.69150, 1]
    assert lower[1] == 0 and upper[1] == pytest.approx(1 - 0.025 ** 0.1)
    assert lower[2] == pytest.approx(0.025 ** 0.1) and upper[2] == 1


def test_response_rates_count_fas_responders(qc):
    rates = qc["SRIRATES"]
    # week 2: S1 responds, S2 imputed N -> 1/2; week 4: nobody -> 0/2
    assert tuple(row(rates, PARAMCD="SRI4", AVISITN=2.0)[["x", "n"]]) == (1, 2)
    assert tuple(row(rates, PARAMCD="SRI4", AVISITN=3.0)[["x", "n"]]) == (0, 2)
    assert row(rates, PARAMCD="SRI4", AVISITN=6.0)["PRIMARY"] == "Y"


def test_planted_production_defect_is_caught_and_named(qc):
    target = next(t for t in TARGETS if t.name == "ADRS")
    production = qc["ADRS"].copy()
    flip = production.index[production["USUBJID"].eq(S1) & production["PARAMCD"].eq("SRI4") & production["AVISITN"].eq(2.0)]
    production.loc[flip, "AVALC"] = "N"
    result = compare_target(target, production, qc["ADRS"])
    assert not result.passed and list(result.mismatches) == ["AVALC"]
    assert result.mismatches["AVALC"]["count"] == 1
    assert result.mismatches["AVALC"]["examples"][0] == {"key": f"{S1}/SRI4/2.0", "production": "N", "qc": "Y"}
    [problem] = result.problems()
    assert problem.variable == "AVALC" and problem.row == f"{S1}/SRI4/2.0" and "QC ADRS" in str(problem)
    # an untouched copy compares clean; a dropped production row is reported, not skipped
    assert compare_target(target, qc["ADRS"].copy(), qc["ADRS"]).passed
    assert compare_target(target, qc["ADRS"].iloc[1:], qc["ADRS"]).only_in_qc == [f"{S1}/BILNW/2.0"]


def test_missing_sdtm_variable_is_one_problem_each(study):
    sdtm = hand_made_sdtm()
    sdtm["EX"] = sdtm["EX"].drop(columns=["EXDOSE"])
    del sdtm["AE"]
    with pytest.raises(InputError) as caught:
        derive_qc(sdtm, study)
    assert sorted(caught.value.lines()) == ["EX, EXDOSE: variable needed by the QC twin is missing",
                                            "SDTM, AE: dataset needed by the QC twin not found"]


def test_twin_run_compares_clean_and_a_planted_defect_fails(tmp_path, copy_of_twin_run):
    """End to end at 40 subjects: simulate -> sdtm -> adam (the session's twin run, copied) -> qc is clean;
    flipping one production ADRS AVALC makes the stage fail with a line naming ADRS and AVALC (or a note
    with allow_invalid)."""
    from sap.datasets import read_dataset, write_parquet
    from sap.pipeline import run_stage

    ctx = copy_of_twin_run(tmp_path / "twin")
    tmp_path = tmp_path / "twin"
    counts = run_stage(ctx, "qc")
    assert counts["mismatches"] == 0
    results = json.loads((tmp_path / "qc" / "qc_results.json").read_text(encoding="utf-8"))
    assert results["status"] == "PASS" and len(results["datasets"]) == counts["datasets"] >= 5
    # the QC twin re-derived every ADRS record production has (per FAS subject: 12 parameters x 6 visits)
    qc_rows = len(read_dataset(tmp_path / "qc" / "adrs_qc.parquet"))
    assert qc_rows == len(read_dataset(tmp_path / "adam" / "adrs.parquet")) and qc_rows % (12 * 6) == 0 and qc_rows > 0

    adrs_path = tmp_path / "adam" / "adrs.parquet"
    adrs = read_dataset(adrs_path)
    first = adrs.index[adrs["PARAMCD"].eq("SRI4")][0]
    adrs.loc[first, "AVALC"] = "N" if adrs.loc[first, "AVALC"] == "Y" else "Y"
    write_parquet(adrs, adrs_path)
    with pytest.raises(ValidationFailed) as caught:
        run_stage(ctx, "qc")
    lines = caught.value.lines()
    assert any(line.startswith("QC ADRS") and "AVALC" in line for line in lines)
    assert "FAIL" in (tmp_path / "qc" / "qc_report.md").read_text()  # the report is written before failing
    ctx.allow_invalid = True
    run_stage(ctx, "qc")
    assert any("QC" in note for note in ctx.notes)
