"""QC derivations: the key ADaM variables re-derived from SDTM and the plan, independently of `adam/`.

Written from the SAP rules (docs domain.md sections 3, 5, 6) and the derivation texts of
`sap/specs/adam/*.yaml`. Every function is pure (frames in, a new frame out) and vectorised: the only
Python loops run over visits, parameters or organ groups, never over subjects.

Where a spec text is ambiguous the QC reading is written in the docstring (and in the QC report):
- baseline (ADSL BSLEDAI/BPGA/BBILAG/organ flags): per subject and test, the last record with a result dated
  on or before TRTSDT; an undated record counts only when it is at the baseline visit, and for a subject
  never dosed the baseline-visit record is used;
- ADSL organ flags: N when at least one descriptor of the group has a baseline result and none is PRESENT.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sap.errors import InputError, Problem
from sap.specs import SPECS_DIR, Instruments, read_plan_file
from sap.study import Study

INSTRUMENTS_FILE = SPECS_DIR / "raw" / "instruments.yaml"

SLEDAI_PARAM = "SLEDAI"
BILAG_PARAM = "BILAG"
GRADES = ["A", "B", "C", "D", "E"]

# SDTM variables each QC derivation reads (checked up front: one Problem per missing variable).
SDTM_NEEDS = {
    "DM": ["STUDYID", "USUBJID", "DTHDTC"],
    "EX": ["USUBJID", "EXDOSE", "EXSTDTC", "EXENDTC"],
    "DS": ["USUBJID", "DSSEQ", "DSCAT", "DSDECOD", "DSSTDTC"],
    "QS": ["USUBJID", "QSTESTCD", "QSORRES", "QSSTRESC", "QSSTRESN", "VISITNUM", "QSDTC"],
    "AE": ["USUBJID", "AESEQ", "AESTDTC", "AEENDTC"],
}


def load_instruments(path: Path = INSTRUMENTS_FILE) -> dict:
    """The instrument definitions (SLEDAI-2K weights and organ groups, BILAG-2004 grade scores, PGA code)."""
    return read_plan_file(path, Instruments).model_dump(exclude_unset=True)


def check_sdtm(sdtm: Mapping[str, pd.DataFrame]) -> None:
    """One Problem per SDTM dataset or variable the QC twin needs and does not find."""
    problems = []
    for name, columns in SDTM_NEEDS.items():
        if name not in sdtm:
            problems.append(Problem("SDTM", "dataset needed by the QC twin not found", variable=name))
            continue
        problems += [Problem(name, "variable needed by the QC twin is missing", variable=c)
                     for c in columns if c not in sdtm[name].columns]
    if problems:
        raise InputError(problems)


def text_where(mask: pd.Series | np.ndarray, value: str | np.ndarray, index: pd.Index) -> pd.Series:
    """A text column (dtype str) holding `value` where `mask` is true and NaN (missing) elsewhere."""
    values = np.broadcast_to(np.asarray(value, dtype=object), (len(index),))
    return pd.Series(values, index=index, dtype="str").where(np.asarray(mask, dtype=bool))


# ---------------------------------------------------------------------------------------------- dates

def complete_date(text: pd.Series) -> pd.Series:
    """ISO 8601 text -> date (datetime64[ms]) for complete dates (YYYY-MM-DD...) only; NaT otherwise. Each
    distinct text is parsed once (millions of QS records share a few thousand dates)."""
    codes, distinct = pd.factorize(text)
    parsed = pd.to_datetime(pd.Series(distinct, dtype="str").str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    parsed = parsed.astype("datetime64[ms]").to_numpy()
    dates = np.where(codes >= 0, parsed[np.maximum(codes, 0)] if len(parsed) else np.datetime64("NaT", "ms"), np.datetime64("NaT", "ms"))
    return pd.Series(dates, index=text.index, dtype="datetime64[ms]")


def _date_parts(text: pd.Series) -> pd.DataFrame:
    """Year, month and day of an ISO 8601 (possibly partial) date as floats (NaN when absent)."""
    parts = text.fillna("").str.extract(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")
    return parts.astype("float64").set_axis(["year", "month", "day"], axis=1)


def _from_parts(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    frame = pd.DataFrame({"year": year, "month": month, "day": day})
    return pd.to_datetime(frame, errors="coerce").astype("datetime64[ms]")


def impute_start(text: pd.Series, min_date: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """Start-date imputation (admiral derive_vars_dt, highest_imputation "M", date_imputation "first",
    min_dates): a missing month -> January and day -> 1st; the result is raised to `min_date` when that date
    lies inside the period the partial date allows. A missing year is not imputed. Returns (date, flag) with
    flag "M" (month and day imputed), "D" (day imputed) or NaN."""
    parts = _date_parts(text)
    first = _from_parts(parts["year"], parts["month"].fillna(1), parts["day"].fillna(1))
    # last day of the period the partial date allows: end of year, end of month, or the day itself
    period_end = _from_parts(parts["year"], parts["month"].fillna(12), parts["day"].fillna(1))
    period_end = period_end.where(parts["day"].notna(), period_end + pd.offsets.MonthEnd(0))
    flag = pd.Series(np.select([parts["month"].isna() & parts["year"].notna(), parts["day"].isna() & parts["month"].notna()],
                               ["M", "D"], ""), index=text.index).replace("", np.nan).astype("str")
    flag = flag.where(first.notna())
    if min_date is not None:
        raise_it = min_date.notna() & first.notna() & min_date.gt(first) & min_date.le(period_end)
        first = first.where(~raise_it, min_date)
    return first, flag


def impute_end(text: pd.Series, max_dates: list[pd.Series] | None = None) -> tuple[pd.Series, pd.Series]:
    """End-date imputation (admiral derive_vars_dt, highest_imputation "M", date_imputation "last",
    max_dates): a missing month -> December and day -> the month's last day; the result is lowered to the
    earliest of `max_dates` that lies inside the period the partial date allows."""
    parts = _date_parts(text)
    month_start = _from_parts(parts["year"], parts["month"].fillna(12), 1)
    last = month_start + pd.offsets.MonthEnd(0)
    last = last.where(parts["day"].isna(), _from_parts(parts["year"], parts["month"], parts["day"]))
    last = last.astype("datetime64[ms]")
    period_start = _from_parts(parts["year"], parts["month"].fillna(1), parts["day"].fillna(1))
    flag = pd.Series(np.select([parts["month"].isna() & parts["year"].notna(), parts["day"].isna() & parts["month"].notna()],
                               ["M", "D"], ""), index=text.index).replace("", np.nan).astype("str")
    flag = flag.where(last.notna())
    for cap in max_dates or []:
        lower_it = cap.notna() & last.notna() & cap.lt(last) & cap.ge(period_start)
        last = last.where(~lower_it, cap)
    return last, flag


def study_day(date: pd.Series, reference: pd.Series) -> pd.Series:
    """Study day with no day 0: date - reference + 1 on or after the reference, date - reference before."""
    days = (date - reference).dt.days.astype("float64")
    return days.where(days.lt(0), days + 1)


# ---------------------------------------------------------------------------------------------- ADSL

def _exposure(ex: pd.DataFrame, planned_injections: int) -> pd.DataFrame:
    """Per dosed subject: TRTSDT (earliest complete EXSTDTC), TRTEDT (latest complete EXENDTC), INJNUM,
    CUMDOSE, over EX records with EXDOSE > 0 (ADSL spec; admiral ad_adsl.R)."""
    dosed = ex.loc[ex["EXDOSE"].gt(0), ["USUBJID", "EXDOSE"]].assign(
        start=complete_date(ex.loc[ex["EXDOSE"].gt(0), "EXSTDTC"]), end=complete_date(ex.loc[ex["EXDOSE"].gt(0), "EXENDTC"]))
    out = dosed.groupby("USUBJID", as_index=False).agg(
        TRTSDT=("start", "min"), TRTEDT=("end", "max"), INJNUM=("EXDOSE", "size"), CUMDOSE=("EXDOSE", "sum"))
    return out


def _disposition(ds: pd.DataFrame) -> pd.DataFrame:
    """EOSSTT, EOSDT and COMPLFL from the DS disposition event (the last by DSSEQ if several)."""
    events = ds[ds["DSCAT"].eq("DISPOSITION EVENT")].sort_values(["USUBJID", "DSSEQ"])
    events = events[~events.duplicated("USUBJID", keep="last")]
    return pd.DataFrame({
        "USUBJID": events["USUBJID"],
        "EOSSTT": np.where(events["DSDECOD"].eq("COMPLETED"), "COMPLETED", "DISCONTINUED"),
        "EOSDT": complete_date(events["DSSTDTC"]),
    })


def baseline_records(qs: pd.DataFrame, treatment_start: pd.DataFrame, baseline_visitnum: float) -> pd.DataFrame:
    """Per subject and QSTESTCD, the baseline QS record: the last one with a result dated on or before TRTSDT
    (by date, then VISITNUM); else the undated record of the baseline visit; for a subject without TRTSDT
    the baseline-visit record (ADSL spec BSLEDAI, "or the baseline-visit record when its date is missing")."""
    rec = qs[qs["QSSTRESC"].notna() | qs["QSSTRESN"].notna()].merge(treatment_start, on="USUBJID", how="inner")
    date = complete_date(rec["QSDTC"])
    at_baseline_visit = rec["VISITNUM"].eq(baseline_visitnum)
    dated = date.le(rec["TRTSDT"]) & rec["TRTSDT"].notna()
    fallback = at_baseline_visit & (date.isna() | rec["TRTSDT"].isna())
    rec = rec.assign(_date=date, _dated=dated.astype("int8"))[dated | fallback]
    rec = rec.sort_values(["USUBJID", "QSTESTCD", "_dated", "_date", "VISITNUM"], na_position="first")
    return rec[~rec.duplicated(["USUBJID", "QSTESTCD"], keep="last")].drop(columns=["_date", "_dated"])


def qc_adsl(sdtm: Mapping[str, pd.DataFrame], study: Study, instruments: dict | None = None) -> pd.DataFrame:
    """QC ADSL: USUBJID, SAFFL, FASFL, COMPLFL, TRTSDT, TRTEDT, TRTDURD, INJNUM, CUMDOSE, COMPLPCT, EOSSTT,
    EOSDT, DTHDT, BSLEDAI, BPGA, BBILAG, BBLGABFL and the baseline organ flags, one row per DM subject, from
    the ADSL spec derivation texts (SAP section 6 populations: safety = at least one dose; FAS = dosed with
    baseline and at least one post-baseline SLEDAI-2K; completers)."""
    instruments = instruments or load_instruments()
    sledai, bilag, pga = instruments["sledai_2k"], instruments["bilag_2004"], instruments["pga"]
    dm = sdtm["DM"]
    adsl = dm[["STUDYID", "USUBJID"]].merge(_exposure(sdtm["EX"], study.dosing.planned_injections), on="USUBJID", how="left")
    adsl["SAFFL"] = np.where(adsl["INJNUM"].gt(0), "Y", "N")
    adsl["INJNUM"] = adsl["INJNUM"].fillna(0).astype("int64")
    adsl["CUMDOSE"] = adsl["CUMDOSE"].fillna(0.0).astype("float64")
    adsl["TRTDURD"] = (adsl["TRTEDT"] - adsl["TRTSDT"]).dt.days + 1.0
    adsl["COMPLPCT"] = adsl["INJNUM"] / study.dosing.planned_injections * 100
    adsl = adsl.merge(_disposition(sdtm["DS"]), on="USUBJID", how="left")
    adsl["EOSSTT"] = adsl["EOSSTT"].fillna("ONGOING").astype("str")
    adsl["COMPLFL"] = np.where(adsl["EOSSTT"].eq("COMPLETED"), "Y", "N")
    adsl["DTHDT"] = impute_start(dm["DTHDTC"])[0].to_numpy()

    qs = sdtm["QS"]
    base = baseline_records(qs, adsl[["USUBJID", "TRTSDT"]], study.baseline_visit.visitnum)
    for testcd, name in ((sledai["total_testcd"], "BSLEDAI"), (pga["testcd"], "BPGA")):
        values = base.loc[base["QSTESTCD"].eq(testcd), ["USUBJID", "QSSTRESN"]].rename(columns={"QSSTRESN": name})
        adsl = adsl.merge(values, on="USUBJID", how="left")

    # BBILAG: A=12, B=8, C=1, D=E=0 summed over the nine domains, only when all nine are graded (Yee 2010)
    domains = [d["testcd"] for d in bilag["domains"]]
    grades = base[base["QSTESTCD"].isin(domains) & base["QSSTRESC"].isin(GRADES)]
    grades = grades.assign(score=grades["QSSTRESC"].map(bilag["grade_scores"]).astype("float64"),
                           is_a=grades["QSSTRESC"].eq("A"), is_b=grades["QSSTRESC"].eq("B"))
    per_subject = grades.groupby("USUBJID", as_index=False).agg(
        BBILAG=("score", "sum"), graded=("score", "size"), n_a=("is_a", "sum"), n_b=("is_b", "sum"))
    adsl = adsl.merge(per_subject, on="USUBJID", how="left")
    complete = adsl["graded"].eq(len(domains))
    adsl["BBILAG"] = adsl["BBILAG"].where(complete)
    adsl["BBLGABFL"] = pd.Series(np.where(adsl["n_a"].ge(1) | adsl["n_b"].ge(2), "Y", "N"), index=adsl.index).where(complete).astype("str")
    adsl = adsl.drop(columns=["graded", "n_a", "n_b"])

    # organ flags: Y if a descriptor of the group is PRESENT at baseline, N if assessed and none present
    organ_of = {item["testcd"]: item["organ"] for item in sledai["items"]}
    items = base[base["QSTESTCD"].isin(list(organ_of)) & base["QSORRES"].isin(["PRESENT", "ABSENT"])]
    items = items.assign(organ=items["QSTESTCD"].astype("str").map(organ_of), present=items["QSORRES"].eq("PRESENT"))
    any_present = items.groupby(["USUBJID", "organ"])["present"].any().unstack("organ")
    flags = pd.DataFrame(index=any_present.index)
    organ_flags = {group["organ"]: group["flag"] for group in sledai["organ_groups"]}  # instruments.yaml
    for organ, flag in organ_flags.items():
        column = any_present[organ] if organ in any_present.columns else pd.Series(np.nan, index=any_present.index, dtype="object")
        flags[flag] = pd.Series(np.where(column.eq(True), "Y", "N"), index=flags.index).where(column.notna()).astype("str")
    adsl = adsl.merge(flags.reset_index(), on="USUBJID", how="left")

    # FASFL: dosed, baseline SLEDAI-2K, and a non-missing SLEDAI-2K total after baseline (SAP section 6)
    totals = qs[qs["QSTESTCD"].eq(sledai["total_testcd"]) & qs["QSSTRESN"].notna()].merge(adsl[["USUBJID", "TRTSDT"]], on="USUBJID")
    date = complete_date(totals["QSDTC"])
    after = date.gt(totals["TRTSDT"]) | (date.isna() & totals["VISITNUM"].gt(study.baseline_visit.visitnum))
    with_post = adsl["USUBJID"].isin(totals.loc[after, "USUBJID"])
    adsl["FASFL"] = np.where(adsl["SAFFL"].eq("Y") & adsl["BSLEDAI"].notna() & with_post, "Y", "N")
    for column in ("SAFFL", "FASFL", "COMPLFL"):
        adsl[column] = adsl[column].astype("str")
    columns = ["STUDYID", "USUBJID", "SAFFL", "FASFL", "COMPLFL", "EOSSTT", "EOSDT", "DTHDT", "TRTSDT", "TRTEDT", "TRTDURD",
               "INJNUM", "CUMDOSE", "COMPLPCT", "BSLEDAI", "BPGA", "BBILAG", "BBLGABFL", *organ_flags.values()]
    return adsl[columns].sort_values("USUBJID").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- ADQS

def assessment_scores(qs: pd.DataFrame, instruments: dict | None = None) -> pd.DataFrame:
    """Per QS assessment (USUBJID, VISITNUM, QSDTC) the records the SRI needs, long: PARAMCD, AVAL, AVALC.
    SLEDAI = sum of the 24 descriptor weights PRESENT (ABSENT = 0), missing unless all 24 are recorded
    (Gladman 2002; recomputed, not copied from SLE2K25). BILAG = sum of the nine domain scores A=12, B=8,
    C=1, D=E=0, missing unless all nine are graded (Yee 2010). Domain grades BLG0401-9 (AVALC A-E, AVAL
    their score) and SLEPGA (AVAL = QSSTRESN) are kept as their own parameters."""
    instruments = instruments or load_instruments()
    sledai, bilag, pga = instruments["sledai_2k"], instruments["bilag_2004"], instruments["pga"]
    key = ["USUBJID", "VISITNUM", "QSDTC"]
    weights = {item["testcd"]: float(item["weight"]) for item in sledai["items"]}
    domains = [d["testcd"] for d in bilag["domains"]]

    items = qs[qs["QSTESTCD"].isin(list(weights))]
    weight = items["QSTESTCD"].map(weights).astype("float64")
    score = weight.where(items["QSORRES"].eq("PRESENT"), 0.0).where(items["QSORRES"].isin(["PRESENT", "ABSENT"]))
    totals = items[key].assign(score=score).groupby(key, dropna=False, observed=True, as_index=False).agg(AVAL=("score", "sum"), n=("score", "count"))
    totals["AVAL"] = totals["AVAL"].where(totals["n"].eq(len(weights)))
    totals = totals.drop(columns="n").assign(PARAMCD=SLEDAI_PARAM)

    grades = qs[qs["QSTESTCD"].isin(domains)]
    grade = grades["QSSTRESC"].where(grades["QSSTRESC"].isin(GRADES))
    domain_records = grades[key].assign(PARAMCD=grades["QSTESTCD"], AVALC=grade,
                                        AVAL=grade.map(bilag["grade_scores"]).astype("float64"))
    bilag_totals = domain_records.groupby(key, dropna=False, observed=True, as_index=False).agg(AVAL=("AVAL", "sum"), n=("AVAL", "count"))
    bilag_totals["AVAL"] = bilag_totals["AVAL"].where(bilag_totals["n"].eq(len(domains)))
    bilag_totals = bilag_totals.drop(columns="n").assign(PARAMCD=BILAG_PARAM)

    pga_records = qs.loc[qs["QSTESTCD"].eq(pga["testcd"]), key + ["QSTESTCD", "QSSTRESN"]]
    pga_records = pga_records.rename(columns={"QSTESTCD": "PARAMCD", "QSSTRESN": "AVAL"})
    out = pd.concat([totals, bilag_totals, domain_records, pga_records], ignore_index=True)
    for column in ("PARAMCD", "AVALC", "QSDTC"):
        out[column] = out[column].astype("str")
    return out[["USUBJID", "PARAMCD", "VISITNUM", "QSDTC", "AVAL", "AVALC"]]


def assign_windows(records: pd.DataFrame, study: Study) -> pd.DataFrame:
    """AVISIT/AVISITN/AWTARGET/AWLO of the plan's window [lo, hi] holding ADY; missing outside every window."""
    out = records.copy()
    for column in ("AVISITN", "AWTARGET", "AWLO"):
        out[column] = np.nan
    out["AVISIT"] = pd.Series(np.nan, index=out.index, dtype="str")
    for visit in study.visits:  # a handful of visits: one vectorised mask each
        inside = out["ADY"].between(visit.window[0], visit.window[1])
        out.loc[inside, ["AVISITN", "AWTARGET", "AWLO"]] = [visit.visitnum, float(visit.target_day), float(visit.window[0])]
        out.loc[inside, "AVISIT"] = visit.visit
    return out


def qc_adqs(sdtm: Mapping[str, pd.DataFrame], study: Study, adsl: pd.DataFrame, instruments: dict | None = None) -> pd.DataFrame:
    """QC ADQS for SLEDAI, BILAG, the nine BILAG domains and SLEPGA: ADT, ADY, analysis visit, ABLFL, BASE,
    BASEC, CHG and ANL01FL (ADQS spec; admiral ad_adlb.R baseline BASETYPE LAST).
    - ABLFL: the last record with a result dated on or before TRTSDT, per subject and parameter;
    - CHG = AVAL - BASE after TRTSDT only;
    - ANL01FL: per subject, parameter and post-baseline window the record with a result nearest the target
      day (the later date on a tie); in the baseline window, the ABLFL record."""
    scores = assessment_scores(sdtm["QS"], instruments)
    scores = scores.merge(adsl[["USUBJID", "TRTSDT"]], on="USUBJID", how="left")
    scores["ADT"] = complete_date(scores["QSDTC"])
    scores["ADY"] = study_day(scores["ADT"], scores["TRTSDT"])
    scores = assign_windows(scores, study)
    has_result = scores["AVAL"].notna()

    before = scores[has_result & scores["ADT"].le(scores["TRTSDT"])].sort_values(["USUBJID", "PARAMCD", "ADT", "VISITNUM"])
    baseline = before[~before.duplicated(["USUBJID", "PARAMCD"], keep="last")]
    scores["ABLFL"] = text_where(scores.index.isin(baseline.index), "Y", scores.index)
    scores = scores.merge(baseline[["USUBJID", "PARAMCD", "AVAL", "AVALC"]].rename(columns={"AVAL": "BASE", "AVALC": "BASEC"}),
                          on=["USUBJID", "PARAMCD"], how="left")
    scores["CHG"] = (scores["AVAL"] - scores["BASE"]).where(scores["ADT"].gt(scores["TRTSDT"]))

    baseline_num = study.baseline_visit.visitnum
    scores["AWTDIFF"] = (scores["ADY"] - scores["AWTARGET"]).abs()
    post = scores[scores["AVAL"].notna() & scores["AVISITN"].notna() & scores["AVISITN"].ne(baseline_num)]
    post = post.sort_values(["USUBJID", "PARAMCD", "AVISITN", "AWTDIFF", "ADT"], ascending=[True, True, True, True, False])
    chosen = post[~post.duplicated(["USUBJID", "PARAMCD", "AVISITN"], keep="first")].index
    at_baseline = scores.index[scores["ABLFL"].eq("Y") & scores["AVISITN"].eq(baseline_num)]
    scores["ANL01FL"] = text_where(scores.index.isin(chosen.union(at_baseline)), "Y", scores.index)
    columns = ["USUBJID", "PARAMCD", "VISITNUM", "ADT", "ADY", "AVISIT", "AVISITN", "AWLO", "AVAL", "AVALC", "ABLFL",
               "BASE", "BASEC", "CHG", "ANL01FL"]
    return scores[columns].sort_values(["USUBJID", "PARAMCD", "ADT", "VISITNUM"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- ADRS

def qc_adrs(adqs: pd.DataFrame, adsl: pd.DataFrame, study: Study, instruments: dict | None = None) -> pd.DataFrame:
    """QC ADRS: per FAS subject, SRI parameter and post-baseline visit, AVALC/AVAL/DTYPE/NRIREAS/ANL01FL from
    the QC ADQS analysis records (ANL01FL = Y) against baseline (SRI, Furie 2009; SAP section 3):
    SLEDRk = SLEDAI CHG <= -k; BILNW = no domain newly A (baseline B-E) and at most one newly B (baseline
    C-E), all nine domains graded at the visit and baseline; PGANW = PGA rise < 0.3 in whole hundredths;
    SRIk = all three. Non-responder imputation: N with DTYPE NRI when an input is missing (MISSING COMPONENT)
    or the subject discontinued before the first day of the window (DISCONTINUED BEFORE VISIT, which wins)."""
    instruments = instruments or load_instruments()
    domains = [d["testcd"] for d in instruments["bilag_2004"]["domains"]]
    pga_code = instruments["pga"]["testcd"]
    ends = study.endpoints

    fas = adsl.loc[adsl["FASFL"].eq("Y"), ["STUDYID", "USUBJID", "TRTSDT", "EOSSTT", "EOSDT"]]
    visits = pd.DataFrame({"AVISITN": [v.visitnum for v in study.post_baseline_visits],
                           "AVISIT": [v.visit for v in study.post_baseline_visits],
                           "AWLO": [float(v.window[0]) for v in study.post_baseline_visits]})
    grid = fas.merge(visits, how="cross")
    window_start = grid["TRTSDT"] + pd.to_timedelta(grid["AWLO"] - 1, unit="D")
    grid["gone"] = grid["EOSSTT"].eq("DISCONTINUED") & grid["EOSDT"].lt(window_start)

    analysis = adqs[adqs["ANL01FL"].eq("Y")]
    sled = analysis.loc[analysis["PARAMCD"].eq(SLEDAI_PARAM), ["USUBJID", "AVISITN", "CHG"]]
    pga = analysis.loc[analysis["PARAMCD"].eq(pga_code), ["USUBJID", "AVISITN", "AVAL", "BASE"]]
    pga = pga.assign(pga_rise=np.round(pga["AVAL"] * 100) - np.round(pga["BASE"] * 100))[["USUBJID", "AVISITN", "pga_rise"]]
    dom = analysis[analysis["PARAMCD"].isin(domains)]
    dom = dom[["USUBJID", "AVISITN"]].assign(
        graded=dom["AVALC"].isin(GRADES) & dom["BASEC"].isin(GRADES),
        new_a=dom["AVALC"].eq("A") & dom["BASEC"].isin(["B", "C", "D", "E"]),
        new_b=dom["AVALC"].eq("B") & dom["BASEC"].isin(["C", "D", "E"]))
    bil = dom.groupby(["USUBJID", "AVISITN"], as_index=False)[["graded", "new_a", "new_b"]].sum()
    grid = grid.merge(sled, on=["USUBJID", "AVISITN"], how="left").merge(pga, on=["USUBJID", "AVISITN"], how="left")
    grid = grid.merge(bil, on=["USUBJID", "AVISITN"], how="left")

    bil_seen = grid["graded"].eq(len(domains))
    bil_yes = grid["new_a"].eq(0) & grid["new_b"].le(1)
    pga_seen = grid["pga_rise"].notna()
    pga_yes = grid["pga_rise"].lt(round(ends.pga_worsening_limit * 100))
    components = {"BILNW": (bil_seen, bil_yes), "PGANW": (pga_seen, pga_yes)}
    for k in ends.sri_thresholds:
        sled_seen, sled_yes = grid["CHG"].notna(), grid["CHG"].le(-k)
        components[f"SLEDR{k}"] = (sled_seen, sled_yes)
        components[f"SRI{k}"] = (sled_seen & bil_seen & pga_seen, sled_yes & bil_yes & pga_yes)

    primary = study.primary_visit.visitnum
    frames = []
    for paramcd, (seen, yes) in components.items():  # twelve parameters, each one vectorised frame
        nri = ~seen | grid["gone"]
        reason = np.where(grid["gone"], "DISCONTINUED BEFORE VISIT", "MISSING COMPONENT")
        frames.append(pd.DataFrame({
            "STUDYID": grid["STUDYID"], "USUBJID": grid["USUBJID"], "PARAMCD": paramcd,
            "AVISIT": grid["AVISIT"], "AVISITN": grid["AVISITN"],
            "AVALC": np.where(~nri & yes, "Y", "N"),
            "DTYPE": text_where(nri, "NRI", grid.index),
            "NRIREAS": text_where(nri, reason, grid.index),
            "ANL01FL": text_where(grid["AVISITN"].eq(primary), "Y", grid.index),
        }))
    out = pd.concat(frames, ignore_index=True)
    out["AVAL"] = np.where(out["AVALC"].eq("Y"), 1.0, 0.0)
    for column in ("AVALC", "PARAMCD"):
        out[column] = out[column].astype("str")
    columns = ["STUDYID", "USUBJID", "PARAMCD", "AVISIT", "AVISITN", "AVAL", "AVALC", "DTYPE", "NRIREAS", "ANL01FL"]
    return out[columns].sort_values(["USUBJID", "PARAMCD", "AVISITN"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- ADAE

def qc_adae(sdtm: Mapping[str, pd.DataFrame], study: Study, adsl: pd.DataFrame) -> pd.DataFrame:
    """QC ADAE: ASTDT/ASTDTF (first-of-period imputation raised to TRTSDT), AENDT/AENDTF (last-of-period
    imputation lowered to DTHDT/EOSDT) and TRTEMFL (admiral derive_var_trtemfl with end_window =
    safety.treatment_emergent_window_days): missing if never dosed; missing if AENDT < TRTSDT; Y if ASTDT is
    missing; Y if TRTSDT <= ASTDT <= TRTEDT + window; missing otherwise."""
    ae = sdtm["AE"][["USUBJID", "AESEQ", "AESTDTC", "AEENDTC"]].merge(
        adsl[["USUBJID", "TRTSDT", "TRTEDT", "DTHDT", "EOSDT"]], on="USUBJID", how="left")
    ae["ASTDT"], ae["ASTDTF"] = impute_start(ae["AESTDTC"], ae["TRTSDT"])
    ae["AENDT"], ae["AENDTF"] = impute_end(ae["AEENDTC"], [ae["DTHDT"], ae["EOSDT"]])
    window_end = ae["TRTEDT"] + pd.Timedelta(days=study.safety.treatment_emergent_window_days)
    emergent = ae["TRTSDT"].notna() & ~ae["AENDT"].lt(ae["TRTSDT"]) & (
        ae["ASTDT"].isna() | (ae["ASTDT"].ge(ae["TRTSDT"]) & ae["ASTDT"].le(window_end)))
    ae["TRTEMFL"] = text_where(emergent, "Y", ae.index)
    columns = ["USUBJID", "AESEQ", "ASTDT", "ASTDTF", "AENDT", "AENDTF", "TRTEMFL"]
    return ae[columns].sort_values(["USUBJID", "AESEQ"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- results

def clopper_pearson_beta(x: np.ndarray, n: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Clopper-Pearson exact bounds from the beta quantiles (SAP section 6):
    lower = Beta(alpha/2; x, n-x+1) (0 when x = 0), upper = Beta(1-alpha/2; x+1, n-x) (1 when x = n)."""
    x = np.asarray(x, dtype="float64")
    n = np.asarray(n, dtype="float64")
    lower = np.zeros_like(x)
    upper = np.ones_like(x)
    some = x > 0
    lower[some] = stats.beta.ppf(alpha / 2, x[some], n[some] - x[some] + 1)
    not_all = x < n
    upper[not_all] = stats.beta.ppf(1 - alpha / 2, x[not_all] + 1, n[not_all] - x[not_all])
    return lower, upper


def response_counts(adrs: pd.DataFrame, adsl: pd.DataFrame, study: Study) -> pd.DataFrame:
    """SRI-k responders x among the FAS and the FAS size n, per SRI parameter and post-baseline visit (every
    one, 0 when nobody responded). Counts of disjoint sets of subjects add up (`sum_counts`)."""
    n = int(adsl["FASFL"].eq("Y").sum())
    paramcds = [f"SRI{k}" for k in study.endpoints.sri_thresholds]
    grid = pd.MultiIndex.from_product([paramcds, [v.visitnum for v in study.post_baseline_visits]],
                                      names=["PARAMCD", "AVISITN"]).to_frame(index=False)
    fas = adsl.loc[adsl["FASFL"].eq("Y"), "USUBJID"]
    yes = adrs[adrs["AVALC"].eq("Y") & adrs["USUBJID"].isin(fas) & adrs["PARAMCD"].isin(paramcds)]
    counts = yes.groupby(["PARAMCD", "AVISITN"]).size().rename("x").reset_index()
    out = grid.merge(counts, on=["PARAMCD", "AVISITN"], how="left")
    out["x"] = out["x"].fillna(0).astype("int64")
    out["n"] = n
    return out


def sum_counts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """`response_counts` of disjoint subject partitions added up: the counts of all their subjects."""
    out = parts[0][["PARAMCD", "AVISITN"]].copy()
    out["x"] = sum(part["x"].to_numpy() for part in parts)
    out["n"] = sum(part["n"].to_numpy() for part in parts)
    return out


def rates_from_counts(counts: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Rate x/n and the Clopper-Pearson 95% CI per row of `response_counts`; PRIMARY = Y on SRI-4 at the
    primary visit."""
    out = counts.copy()
    n = int(out["n"].iloc[0]) if len(out) else 0
    out["rate"] = out["x"] / n if n else np.nan
    if n:
        out["lower"], out["upper"] = clopper_pearson_beta(out["x"].to_numpy(), out["n"].to_numpy(), study.endpoints.alpha)
    else:
        out["lower"] = out["upper"] = np.nan
    out["PRIMARY"] = text_where(out["PARAMCD"].eq("SRI4") & out["AVISITN"].eq(study.primary_visit.visitnum), "Y", out.index)
    out["PARAMCD"] = out["PARAMCD"].astype("str")
    return out


def qc_response_rates(adrs: pd.DataFrame, adsl: pd.DataFrame, study: Study) -> pd.DataFrame:
    """SRI-k responders x/N per post-baseline visit with N = FAS (non-responder imputation), rate and the
    Clopper-Pearson 95% CI (SAP primary and secondary analyses); PRIMARY = Y on SRI-4 at the primary visit."""
    return rates_from_counts(response_counts(adrs, adsl, study), study)


def derive_qc(sdtm: Mapping[str, pd.DataFrame], study: Study, instruments: dict | None = None,
              rates: bool = True) -> dict[str, pd.DataFrame]:
    """Every QC dataset from SDTM and the plan: ADSL, ADQS, ADRS, ADAE and the SRI response rates (with
    `rates=False`, for a partition of the subjects, their `response_counts` as SRICOUNTS instead)."""
    check_sdtm(sdtm)
    sdtm = {name: sdtm[name][columns] for name, columns in SDTM_NEEDS.items()}  # only what QC reads: cheaper filters
    # QS holds millions of records at 100,000 subjects: its repetitive text as categories makes every filter an
    # integer take instead of a string copy (the QC outputs are cast back to str)
    sdtm["QS"] = sdtm["QS"].astype({c: "category" for c in ("QSTESTCD", "QSORRES", "QSSTRESC", "QSDTC")})
    instruments = instruments or load_instruments()
    adsl = qc_adsl(sdtm, study, instruments)
    adqs = qc_adqs(sdtm, study, adsl, instruments)
    adrs = qc_adrs(adqs, adsl, study, instruments)
    out = {"ADSL": adsl, "ADQS": adqs, "ADRS": adrs, "ADAE": qc_adae(sdtm, study, adsl)}
    if rates:
        out["SRIRATES"] = qc_response_rates(adrs, adsl, study)
    else:
        out["SRICOUNTS"] = response_counts(adrs, adsl, study)
    return out
