"""ADSL, the subject-level analysis dataset of the IL-2 SLE trial (one record per enrolled subject).

A short template in the manner of admiral's `ad_adsl.R`: DM, then treatment dates and population flags from
EX, disposition from DS, then the study's own baseline characteristics (Nature Medicine 2016 Table S1) and
baseline disease activity (SLEDAI-2K, PGA, BILAG-2004) from VS, MH, CM and QS. The generic steps come from
`adam.derive`; only the study-specific rules are written here, each in one small pure function whose
docstring names the rule. Labels, types and codelists are in `sap/specs/adam/adsl.yaml`.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from adam.derive.categories import derive_vars_cat
from adam.derive.dates import impute_iso_dates, parse_iso_dates
from adam.derive.exposure import derive_treatment_dates, derive_treatment_duration, valid_dose_records
from adam.derive.flags import derive_exist_flag
from adam.derive.merge import sdtm_domain
from sap.errors import InputError, Problem
from sap.specs import load_instruments
from sap.study import Study

DM_VARIABLES = ["STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "RACE", "ETHNIC", "COUNTRY", "ARM", "ACTARM"]

# AGEGR1 groups (sponsor-defined; Table S1 reports a median age of 31), first matching row wins
# (`derive_vars_cat`, admiral's table of groups).
AGE_GROUPS = [
    {"condition": "0 <= AGE < 30", "AGEGR1": "<30", "AGEGR1N": 1.0},
    {"condition": "30 <= AGE < 40", "AGEGR1": "30-39", "AGEGR1N": 2.0},
    {"condition": "AGE >= 40", "AGEGR1": ">=40", "AGEGR1N": 3.0},
]

# Table S1 background medications: ADSL flag -> pattern matched against CMDECOD (case-insensitive). Patterns
# rather than exact names so that "MYCOPHENOLATE MOFETIL" and "CYCLOSPORINE" spellings are both found.
BASELINE_MEDICATIONS = {
    "HCQBLFL": "HYDROXYCHLOROQUINE",
    "MMFBLFL": "MYCOPHENOL",
    "CYCBLFL": "CYCLOPHOSPHAMIDE",
    "AZABLFL": "AZATHIOPRINE",
    "LEFBLFL": "LEFLUNOMIDE",
    "THALBLFL": "THALIDOMIDE",
    "CSABLFL": "CICLOSPORIN|CYCLOSPORIN",
    "MTXBLFL": "METHOTREXATE",
}
PREDNISONE = "PREDNISONE"


SLE_DIAGNOSIS_PATTERN = "LUPUS ERYTHEMATOSUS"
DAYS_PER_YEAR = 365.25
REQUIRED_DOMAINS = ("DM", "EX", "DS", "VS", "MH", "CM", "QS")


# --------------------------------------------------------------------------------------------------------
# Baseline record selection, shared by VS and QS


def parse_dates(values: pd.Series, where: str) -> pd.Series:
    """`parse_iso_dates` on the distinct values only: findings repeat one date per assessment for every test,
    so parsing each distinct text once keeps ADSL linear and cheap at 100,000 subjects."""
    codes, uniques = pd.factorize(values)
    parsed = parse_iso_dates(pd.Series(uniques, name=values.name, dtype="str"), where=where).to_numpy()
    dates = np.where(codes >= 0, parsed[np.clip(codes, 0, None)], np.datetime64("NaT"))
    return pd.Series(dates, index=values.index, name=values.name).astype("datetime64[s]")


def baseline_records(
    findings: pd.DataFrame, adsl: pd.DataFrame, dtc: str, value: str, by: list[str], baseline_visitnum: float
) -> pd.DataFrame:
    """The baseline record per `by` group (admiral ad_adsl.R / ad_advs.R ABLFL rule, adapted to undated
    assessments): among records with a non-missing `value`, those dated on or before TRTSDT, or undated and at
    the baseline visit (also the rule for subjects never dosed, who have no TRTSDT); the last one by VISITNUM,
    then date, then input order. Returns the chosen rows with TRTSDT attached."""
    merged = findings.merge(adsl[["USUBJID", "TRTSDT"]], on="USUBJID", how="inner")
    date = parse_dates(merged[dtc], where=dtc[:2])
    at_baseline_visit = merged["VISITNUM"].eq(baseline_visitnum)
    dated_before = date.notna() & merged["TRTSDT"].notna() & (date <= merged["TRTSDT"])
    undated_baseline = at_baseline_visit & (date.isna() | merged["TRTSDT"].isna())
    eligible = merged[value].notna() & (dated_before | undated_baseline)
    candidates = merged.loc[eligible].assign(_date=date[eligible], _order=np.flatnonzero(eligible))
    ordered = candidates.sort_values([*by, "VISITNUM", "_date", "_order"], kind="stable", na_position="first")
    return ordered.groupby(by, sort=False).tail(1).drop(columns=["_date", "_order"])


def post_baseline_mask(findings: pd.DataFrame, trtsdt: pd.Series, dtc: str, baseline_visitnum: float) -> pd.Series:
    """A record is post-baseline if dated after TRTSDT, or undated at a scheduled visit after baseline."""
    date = parse_dates(findings[dtc], where=dtc[:2])
    return (date.notna() & trtsdt.notna() & (date > trtsdt)) | (date.isna() & findings["VISITNUM"].gt(baseline_visitnum))


def _merge_subject_values(adsl: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    return adsl.merge(values, on="USUBJID", how="left", validate="one_to_one")


# --------------------------------------------------------------------------------------------------------
# Study-specific derivations (each DataFrame in -> DataFrame out)


def derive_treatment_variables(adsl: pd.DataFrame) -> pd.DataFrame:
    """TRT01P = ARM; TRT01A = ACTARM for dosed subjects (TRTSDT present), missing for subjects never dosed
    (admiral ad_adsl.R sets TRT01A = ACTARM; DM's ACTARM "Not Treated" is not a treatment)."""
    out = adsl.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out["TRT01P"] = adsl["ARM"]
    out["TRT01A"] = adsl["ACTARM"].where(adsl["TRTSDT"].notna())
    return out


def derive_disposition(adsl: pd.DataFrame, ds: pd.DataFrame) -> pd.DataFrame:
    """EOSSTT, EOSDT, DCSREAS and COMPLFL from the DS disposition event (admiral ad_adsl.R `format_eosstt`):
    DSDECOD COMPLETED -> COMPLETED, any other DSDECOD -> DISCONTINUED (DCSREAS = DSDECOD), no disposition event
    -> ONGOING. With several disposition events the last (by DSSTDTC, then DSSEQ) counts.
    COMPLFL (house decision) = Y when EOSSTT is COMPLETED: the disposition form records completion of the
    week-12 visit, so the DS event is the single source of truth; N otherwise."""
    events = ds
    if "DSCAT" in ds.columns:
        events = ds.loc[ds["DSCAT"].eq("DISPOSITION EVENT")]
    events = events.assign(_date=parse_iso_dates(events["DSSTDTC"], where="DS"))
    order = ["USUBJID", "_date"] + (["DSSEQ"] if "DSSEQ" in events.columns else [])
    last = events.sort_values(order, kind="stable").groupby("USUBJID", sort=False).tail(1)
    completed = last["DSDECOD"].str.upper().eq("COMPLETED")
    per_subject = pd.DataFrame(
        {
            "USUBJID": last["USUBJID"],
            "EOSSTT": np.where(completed, "COMPLETED", "DISCONTINUED"),
            "EOSDT": last["_date"],
            "DCSREAS": last["DSDECOD"].where(~completed),
        }
    )
    out = _merge_subject_values(adsl, per_subject)
    out["EOSSTT"] = out["EOSSTT"].fillna("ONGOING").astype("str")
    out["COMPLFL"] = np.where(out["EOSSTT"].eq("COMPLETED"), "Y", "N")
    return out


def derive_death_date(adsl: pd.DataFrame, dm: pd.DataFrame) -> pd.DataFrame:
    """DTHDT/DTHDTF from DM.DTHDTC, imputing a missing day or month to the first (admiral ad_adsl.R:
    `derive_vars_dt(new_vars_prefix = "DTH", dtc = DTHDTC, highest_imputation = "M")`)."""
    out = adsl.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    if "DTHDTC" not in dm.columns:
        out["DTHDT"] = pd.Series(pd.NaT, index=adsl.index, dtype="datetime64[s]")
        out["DTHDTF"] = pd.Series(np.nan, index=adsl.index, dtype="str")
        return out
    death = dm[["USUBJID", "DTHDTC"]]
    dates, flags = impute_iso_dates(death["DTHDTC"], highest_imputation="M", date_imputation="first", where="DM")
    return _merge_subject_values(adsl, pd.DataFrame({"USUBJID": death["USUBJID"], "DTHDT": dates, "DTHDTF": flags}))


def derive_exposure_summary(adsl: pd.DataFrame, ex: pd.DataFrame, study: Study) -> pd.DataFrame:
    """INJNUM (EX records with a dose > 0), CUMDOSE (sum of EXDOSE, 10^6 IU) and COMPLPCT = INJNUM / planned
    injections x 100 with planned = dose days per cycle x cycles (`study.dosing`; 21). Subjects never dosed
    get 0 for all three. A dose unit other than the plan's is an input error (doses would not add up)."""
    dosed = ex.loc[valid_dose_records(ex)]
    wrong_unit = dosed.loc[dosed["EXDOSU"].ne(study.dosing.dose_unit)]
    if len(wrong_unit):
        raise InputError([
            Problem("SDTM EX", f"dose unit differs from the plan's {study.dosing.dose_unit!r}", row=f"{r.USUBJID}/{r.EXSEQ}", variable="EXDOSU", value=r.EXDOSU)
            for r in wrong_unit.itertuples()
        ])
    per_subject = dosed.groupby("USUBJID").agg(INJNUM=("EXDOSE", "size"), CUMDOSE=("EXDOSE", "sum")).reset_index()
    out = _merge_subject_values(adsl, per_subject)
    out["INJNUM"] = out["INJNUM"].fillna(0).astype("int64")
    out["CUMDOSE"] = out["CUMDOSE"].fillna(0.0).astype("float64")
    out["COMPLPCT"] = out["INJNUM"] / study.dosing.planned_injections * 100
    return out


def derive_vital_signs_baseline(adsl: pd.DataFrame, vs: pd.DataFrame, study: Study) -> pd.DataFrame:
    """WEIGHTBL (kg) and HEIGHTBL (cm) at baseline (`baseline_records`), BSABL by Mosteller
    sqrt(height cm x weight kg / 3600) and BMIBL = weight / (height / 100)^2. Units other than kg and cm are
    input errors, not silently mixed."""
    expected_units = {"WEIGHT": "kg", "HEIGHT": "cm"}
    measured = vs.loc[vs["VSTESTCD"].isin(list(expected_units))]
    bad = measured.loc[measured["VSSTRESN"].notna() & measured["VSSTRESU"].ne(measured["VSTESTCD"].map(expected_units))]
    if len(bad):
        raise InputError([
            Problem("SDTM VS", f"unit must be {expected_units[r.VSTESTCD]!r}", row=f"{r.USUBJID}/{r.VSTESTCD}", variable="VSSTRESU", value=r.VSSTRESU)
            for r in bad.itertuples()
        ])
    base = baseline_records(measured, adsl, "VSDTC", "VSSTRESN", ["USUBJID", "VSTESTCD"], study.baseline_visit.visitnum)
    wide = base.pivot(index="USUBJID", columns="VSTESTCD", values="VSSTRESN").reindex(columns=list(expected_units))
    wide = wide.rename(columns={"WEIGHT": "WEIGHTBL", "HEIGHT": "HEIGHTBL"}).reset_index()
    out = _merge_subject_values(adsl, wide)
    out["BSABL"] = np.sqrt(out["HEIGHTBL"] * out["WEIGHTBL"] / 3600)
    out["BMIBL"] = out["WEIGHTBL"] / (out["HEIGHTBL"] / 100) ** 2
    return out


def _reference_date(adsl: pd.DataFrame, dm: pd.DataFrame) -> pd.Series:
    """The baseline reference date: TRTSDT, or informed consent (DM.RFICDTC) for subjects never dosed."""
    consent = dm.set_index("USUBJID")["RFICDTC"] if "RFICDTC" in dm.columns else pd.Series(dtype="str")
    consent_date = parse_iso_dates(adsl["USUBJID"].map(consent), where="DM")
    return adsl["TRTSDT"].fillna(consent_date)


def derive_sle_duration(adsl: pd.DataFrame, mh: pd.DataFrame, dm: pd.DataFrame) -> pd.DataFrame:
    """DIAGDT/DIAGDTF from the SLE record of MH (MHDECOD, else MHTERM, contains "LUPUS ERYTHEMATOSUS"; the
    earliest if several) and SLEDURY = (reference date - DIAGDT) / 365.25 years. Partial diagnosis dates are
    imputed to the middle of the unknown period (admiral date_imputation "mid": day 15; month and day 30 June)
    since "first" or "last" would bias every duration the same way; the imputed date is never later than the
    reference date (admiral max_dates)."""
    term = mh["MHDECOD"].fillna(mh["MHTERM"]) if "MHDECOD" in mh.columns else mh["MHTERM"]
    sle = mh.loc[term.str.upper().str.contains(SLE_DIAGNOSIS_PATTERN, regex=False, na=False), ["USUBJID", "MHSTDTC"]]
    sle = sle.merge(adsl[["USUBJID"]].assign(_ref=_reference_date(adsl, dm)), on="USUBJID", how="inner")
    dates, flags = impute_iso_dates(sle["MHSTDTC"], highest_imputation="M", date_imputation="mid", max_dates=[sle["_ref"]], where="MH")
    diagnoses = pd.DataFrame({"USUBJID": sle["USUBJID"], "DIAGDT": dates, "DIAGDTF": flags})
    first = diagnoses.sort_values(["USUBJID", "DIAGDT"], kind="stable").groupby("USUBJID", sort=False).head(1)
    out = _merge_subject_values(adsl, first)
    out["SLEDURY"] = (_reference_date(out, dm) - out["DIAGDT"]).dt.days / DAYS_PER_YEAR
    return out


def derive_baseline_medications(adsl: pd.DataFrame, cm: pd.DataFrame, dm: pd.DataFrame) -> pd.DataFrame:
    """BPREDDOS and the Table S1 medication flags from CM records taken at baseline: started on or before the
    reference date (earliest possible start of a partial date; a missing start counts as before) and not
    ended before it (latest possible end; a missing end means ongoing), excluding CMOCCUR = N answers.
    CMSTDTC/CMENDTC are optional (the study's CM is the enrolment checklist, without dates).
    BPREDDOS = sum of CMDOSE (mg/day) of baseline PREDNISONE records, 0 if none (so that the Table S1 median
    includes patients off steroids); each flag = Y if a baseline record's CMDECOD matches, else N."""
    meds = cm.merge(adsl[["USUBJID"]].assign(_ref=_reference_date(adsl, dm)), on="USUBJID", how="inner")
    # A checklist CM (this study's enrolment form) has no start or end dates: every answer is a baseline one.
    no_dates = pd.Series(np.nan, index=meds.index, dtype="str")
    start, _ = impute_iso_dates(meds.get("CMSTDTC", no_dates), highest_imputation="M", date_imputation="first", where="CM")
    end, _ = impute_iso_dates(meds.get("CMENDTC", no_dates), highest_imputation="M", date_imputation="last", where="CM")
    taken = (start.isna() | (start <= meds["_ref"])) & (end.isna() | (end >= meds["_ref"]))
    if "CMOCCUR" in meds.columns:
        taken &= meds["CMOCCUR"].ne("N")
    decod = meds["CMDECOD"].str.upper()
    prednisone = taken & decod.eq(PREDNISONE)
    dose = meds.loc[prednisone].groupby("USUBJID")["CMDOSE"].sum(min_count=1).rename("BPREDDOS").reset_index()
    out = _merge_subject_values(adsl, dose)
    out["BPREDDOS"] = out["BPREDDOS"].fillna(0.0)
    for flag, pattern in BASELINE_MEDICATIONS.items():
        users = meds.loc[taken & decod.str.contains(pattern, regex=True, na=False), "USUBJID"].unique()
        out[flag] = np.where(out["USUBJID"].isin(users), "Y", "N")
    return out


def derive_baseline_disease(adsl: pd.DataFrame, qs: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Baseline disease activity from QS (`baseline_records` per test code):
    BSLEDAI = SLEDAI-2K total (SLE2K25), BPGA = PGA (SLEPGA);
    BBILAG = sum of BILAG-2004 grade scores A=12, B=8, C=1, D=E=0 over the nine domains (Yee 2010), missing
    unless all nine are graded; BBLGABFL = Y if >= 1 domain A or >= 2 domains B (RCT Table 1), N otherwise;
    organ flags (`organ_groups` of instruments.yaml) = Y if a SLEDAI-2K descriptor of the organ group is present (QSSTRESN, its
    weight, > 0) at baseline, N if
    the group's descriptors were assessed and none is present, missing if not assessed."""
    spec = load_instruments()
    sledai, bilag, pga = spec["sledai_2k"], spec["bilag_2004"], spec["pga"]
    base = baseline_records(qs, adsl, "QSDTC", "QSSTRESC", ["USUBJID", "QSTESTCD"], study.baseline_visit.visitnum)
    values = base.assign(_value=pd.to_numeric(base["QSSTRESN"], errors="coerce"))
    scores = values.pivot(index="USUBJID", columns="QSTESTCD", values="_value")
    scores = scores.reindex(columns=[sledai["total_testcd"], pga["testcd"]])
    scores.columns = ["BSLEDAI", "BPGA"]
    out = _merge_subject_values(adsl, scores.rename_axis(index="USUBJID", columns=None).reset_index())

    domain_codes = [d["testcd"] for d in bilag["domains"]]
    grades = base.loc[base["QSTESTCD"].isin(domain_codes)]
    grade_text = grades["QSSTRESC"].str.upper()
    per_subject = pd.DataFrame({
        "USUBJID": grades["USUBJID"],
        "_score": grade_text.map(bilag["grade_scores"]),
        "_a": grade_text.eq("A"),
        "_b": grade_text.eq("B"),
    }).groupby("USUBJID").agg(BBILAG=("_score", "sum"), _n=("_score", "count"), _a=("_a", "sum"), _b=("_b", "sum"))
    complete = per_subject["_n"].eq(len(domain_codes))
    per_subject["BBILAG"] = per_subject["BBILAG"].where(complete)
    per_subject["BBLGABFL"] = pd.Series(np.where(per_subject["_a"].ge(1) | per_subject["_b"].ge(2), "Y", "N"), index=per_subject.index).where(complete)
    out = _merge_subject_values(out, per_subject[["BBILAG", "BBLGABFL"]].reset_index())

    item_organ = {item["testcd"]: item["organ"] for item in sledai["items"]}
    items = base.loc[base["QSTESTCD"].isin(list(item_organ))]
    involvement = pd.DataFrame({
        "USUBJID": items["USUBJID"],
        "_organ": items["QSTESTCD"].map(item_organ),
        "_present": items["QSSTRESN"].gt(0),  # SDTM QS: a present descriptor scores its weight (> 0), absent 0
    }).groupby(["USUBJID", "_organ"])["_present"].any().unstack("_organ")
    for organ, flag in ((g["organ"], g["flag"]) for g in sledai["organ_groups"]):
        present = involvement[organ] if organ in involvement.columns else pd.Series(dtype="object")
        mapped = out["USUBJID"].map(present)
        out[flag] = pd.Series(np.where(mapped.eq(True), "Y", "N"), index=out.index, dtype="str").where(mapped.notna())
    return out


def derive_full_analysis_flag(adsl: pd.DataFrame, qs: pd.DataFrame, study: Study) -> pd.DataFrame:
    """FASFL (SAP: dosed, with a baseline SLEDAI-2K and at least one post-baseline SLEDAI-2K): Y if SAFFL = Y,
    BSLEDAI is present and QS has a non-missing SLEDAI-2K total after baseline (`post_baseline_mask`)."""
    total = qs.loc[qs["QSTESTCD"].eq(load_instruments()["sledai_2k"]["total_testcd"]) & qs["QSSTRESN"].notna()]
    total = total.merge(adsl[["USUBJID", "TRTSDT"]], on="USUBJID", how="inner")
    after = total.loc[post_baseline_mask(total, total["TRTSDT"], "QSDTC", study.baseline_visit.visitnum), "USUBJID"].unique()
    eligible = adsl["SAFFL"].eq("Y") & adsl["BSLEDAI"].notna() & adsl["USUBJID"].isin(after)
    out = adsl.copy(deep=False)  # copy-on-write (pandas 3): new columns never reach the input
    out["FASFL"] = np.where(eligible, "Y", "N")
    return out


def derive_adsl(sdtm: dict[str, pd.DataFrame], study: Study, adsl: pd.DataFrame | None = None) -> pd.DataFrame:
    """ADSL from SDTM DM, EX, DS, VS, MH, CM and QS (the template; see the module docstring)."""
    dm = sdtm_domain(sdtm, "DM", DM_VARIABLES)
    ex = sdtm_domain(sdtm, "EX", ["USUBJID", "EXSEQ", "EXTRT", "EXDOSE", "EXDOSU", "EXSTDTC", "EXENDTC"])
    ds = sdtm_domain(sdtm, "DS", ["USUBJID", "DSDECOD", "DSSTDTC"])
    vs = sdtm_domain(sdtm, "VS", ["USUBJID", "VSTESTCD", "VSSTRESN", "VSSTRESU", "VSDTC", "VISITNUM"])
    mh = sdtm_domain(sdtm, "MH", ["USUBJID", "MHTERM", "MHSTDTC"])
    cm = sdtm_domain(sdtm, "CM", ["USUBJID", "CMDECOD", "CMDOSE"])
    qs = sdtm_domain(sdtm, "QS", ["USUBJID", "QSTESTCD", "QSSTRESC", "QSSTRESN", "QSDTC", "VISITNUM"])
    return (
        dm[DM_VARIABLES]
        .pipe(derive_treatment_dates, dataset_ex=ex, filter_add=valid_dose_records, end_rule="latest")
        .pipe(derive_treatment_duration)
        .pipe(derive_treatment_variables)
        .pipe(derive_vars_cat, definition=AGE_GROUPS)
        .assign(ENRLFL="Y")
        .pipe(derive_exist_flag, dataset_add=ex, new_var="SAFFL", condition=valid_dose_records)
        .pipe(derive_disposition, ds)
        .pipe(derive_death_date, dm)
        .pipe(derive_vital_signs_baseline, vs, study)
        .pipe(derive_sle_duration, mh, dm)
        .pipe(derive_baseline_medications, cm, dm)
        .pipe(derive_baseline_disease, qs, study)
        .pipe(derive_full_analysis_flag, qs, study)
        .pipe(derive_exposure_summary, ex, study)
        .sort_values("USUBJID", kind="stable")
        .reset_index(drop=True)
    )
