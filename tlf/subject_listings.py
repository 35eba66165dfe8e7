"""Subject data listings (ICH E3 16.2.1, 16.2.4, 16.2.5, 16.2.6, 16.2.8): ADaM in, `tlf.output.Output` out.

Every listing is sorted by subject (then visit, parameter or day) and shows display text only: dates as
ISO 8601 (YYYY-MM-DD), study days as whole numbers, values as recorded.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sap.specs import load_instruments
from sap.study import Study
from tlf.catalog import OutputSpec
from tlf.inputs import dataset, population
from tlf.output import Output
from tlf.numbers import collected_decimals
from tlf.summaries import data_decimals


def _population_rows(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, variables: list[str]) -> pd.DataFrame:
    adsl = dataset(adam, "ADSL", ["USUBJID", spec.population, *variables])
    ids = population(adsl, spec.population)
    return adsl[adsl["USUBJID"].isin(ids["USUBJID"])].drop_duplicates("USUBJID").sort_values("USUBJID", kind="stable")


def _date(values: pd.Series) -> pd.Series:
    """Dates as YYYY-MM-DD, "" when missing."""
    dates = pd.to_datetime(values, errors="coerce")
    return dates.dt.strftime("%Y-%m-%d").fillna("")


def _number(values: pd.Series, decimals: int) -> pd.Series:
    """Numbers with a fixed number of decimals, "" when missing."""
    x = pd.to_numeric(values, errors="coerce")
    text = x.map(lambda v: f"{v:.{decimals}f}", na_action="ignore")
    return text.astype(object).where(x.notna(), "").astype(str)


def _study_day(dates: pd.Series, first_dose: pd.Series) -> pd.Series:
    """Study day relative to the first dose: date - TRTSDT + 1 on or after it, date - TRTSDT before (no day 0)."""
    delta = (pd.to_datetime(dates, errors="coerce") - pd.to_datetime(first_dose, errors="coerce")).dt.days
    day = np.where(delta >= 0, delta + 1, delta)
    return pd.Series(day, index=dates.index).map(lambda v: f"{v:.0f}", na_action="ignore").fillna("").astype(str)


def _no_rows_note(body: pd.DataFrame, what: str) -> list[str]:
    return [] if len(body) else [f"No {what} in this population."]


def discontinued_listing(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Listing 16.2.1: subjects who discontinued the study (ADSL EOSSTT = DISCONTINUED): treatment dates,
    injections received, end-of-study date and day, reason (DCSREAS)."""
    adsl = _population_rows(adam, spec, ["AGE", "SEX", "TRTSDT", "TRTEDT", "INJNUM", "EOSSTT", "EOSDT", "DCSREAS"])
    n = len(adsl)
    gone = adsl[adsl["EOSSTT"].eq("DISCONTINUED")]
    body = pd.DataFrame({
        "subject": gone["USUBJID"], "age_sex": gone["AGE"].astype(str) + "/" + gone["SEX"].fillna(""),
        "first": _date(gone["TRTSDT"]), "last": _date(gone["TRTEDT"]),
        "injections": gone["INJNUM"].astype(str), "eos": _date(gone["EOSDT"]),
        "eos_day": _study_day(gone["EOSDT"], gone["TRTSDT"]), "reason": gone["DCSREAS"].fillna("").str.capitalize(),
    })
    return (Output.from_spec(spec).with_n(n)
            .with_body(body, headers=["Subject", "Age/Sex", "First dose", "Last dose", "Injections", "End of study",
                                      "Study day", "Reason for discontinuation"],
                       col_widths=[14, 6, 9, 9, 7, 9, 6, 20], align=["l", "c", "c", "c", "c", "c", "c", "l"])
            .with_footnotes(["Study day relative to the first dose (day 1)."] + _no_rows_note(body, "discontinued subjects")))


def demographics_listing(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Listing 16.2.4: one row per enrolled subject: populations, age, sex, race, weight, height, BSA, SLE
    duration, prednisone dose and baseline SLEDAI-2K, BILAG-2004 and PGA (ADSL)."""
    adsl = _population_rows(adam, spec, ["SAFFL", "FASFL", "COMPLFL", "AGE", "SEX", "RACE", "WEIGHTBL", "HEIGHTBL",
                                         "BSABL", "SLEDURY", "BPREDDOS", "BSLEDAI", "BBILAG", "BPGA"])
    populations = (np.where(adsl["SAFFL"].eq("Y"), "S", "-") + np.where(adsl["FASFL"].eq("Y"), "F", "-")
                   + np.where(adsl["COMPLFL"].eq("Y"), "C", "-"))
    body = pd.DataFrame({
        "subject": adsl["USUBJID"], "pop": populations, "age": adsl["AGE"].astype(str), "sex": adsl["SEX"].fillna(""),
        "race": adsl["RACE"].fillna("").str.title(),
        "weight": _number(adsl["WEIGHTBL"], data_decimals(adsl["WEIGHTBL"])),
        "height": _number(adsl["HEIGHTBL"], data_decimals(adsl["HEIGHTBL"])), "bsa": _number(adsl["BSABL"], 2),
        "duration": _number(adsl["SLEDURY"], 1), "pred": _number(adsl["BPREDDOS"], data_decimals(adsl["BPREDDOS"])),
        "sledai": _number(adsl["BSLEDAI"], 0), "bilag": _number(adsl["BBILAG"], 0),
        "pga": _number(adsl["BPGA"], data_decimals(adsl["BPGA"])),
    })
    return (Output.from_spec(spec).with_n(len(adsl))
            .with_body(body, headers=["Subject", "Pop.", "Age", "Sex", "Race", "Weight (kg)", "Height (cm)", "BSA (m2)",
                                      "SLE duration (y)", "Prednisone (mg/day)", "SLEDAI-2K", "BILAG-2004", "PGA"],
                       # Prednisone wide enough that "(mg/day)" is not broken after the slash
                       col_widths=[12, 4, 4, 4, 6, 6, 6, 5, 7, 10, 6, 6, 4],
                       align=["l", "c", "c", "c", "l", "c", "c", "c", "c", "c", "c", "c", "c"])
            .with_footnotes(["Pop.: S = safety population, F = full analysis set, C = completers; - = not in it.",
                             "Baseline values: last value on or before the first dose; BSA by Mosteller's formula."]))


def _injection_label(spid: pd.Series) -> pd.Series:
    """EX.EXSPID "CYCLE 2 INJECTION 5" as "2 / 5" (cycle / injection within the cycle); other identifiers as
    they are."""
    parts = spid.astype("str").str.extract(r"^CYCLE (?P<cycle>\d+) INJECTION (?P<injection>\d+)$")
    return (parts["cycle"] + " / " + parts["injection"]).where(parts["cycle"].notna(), spid.fillna("").astype(str))


def dosing_listing(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Listing 16.2.5: study drug administration, one row per injection (ADEX, one record per EX record) of
    the safety population: cycle and injection, date, study day, dose and unit, route and site of injection,
    with each subject's injections received of those planned in the subject's first row."""
    subjects = _population_rows(adam, spec, ["INJNUM"])
    adex = dataset(adam, "ADEX", ["USUBJID", "PARAMCD", "EXSEQ", "EXSPID", "ADT", "ADY", "AVAL", "EXDOSU", "EXROUTE",
                                  "EXLOC"])
    doses = adex[adex["PARAMCD"].eq("DOSE") & adex["USUBJID"].isin(subjects["USUBJID"])]
    doses = doses.sort_values(["USUBJID", "ADT", "EXSEQ"], kind="stable")
    planned = study.dosing.planned_injections
    received = doses.groupby("USUBJID")["EXSEQ"].transform("size")
    first = ~doses["USUBJID"].duplicated()
    body = pd.DataFrame({
        "subject": doses["USUBJID"], "injection": _injection_label(doses["EXSPID"]), "date": _date(doses["ADT"]),
        "day": _number(doses["ADY"], 0), "dose": _number(doses["AVAL"], data_decimals(doses["AVAL"])),
        "unit": doses["EXDOSU"].fillna(""), "route": doses["EXROUTE"].fillna("").str.lower(),
        "site": doses["EXLOC"].fillna("").str.lower(),
        "count": np.where(first, received.astype(str) + f"/{planned}", ""),
    })
    never = subjects.loc[~subjects["USUBJID"].isin(doses["USUBJID"]), "USUBJID"].tolist()
    return (Output.from_spec(spec).with_n(len(subjects))
            .with_body(body, headers=["Subject", "Cycle / injection", "Date", "Study day", "Dose", "Unit", "Route",
                                      "Site", "Injections received/planned"],
                       col_widths=[14, 8, 9, 6, 5, 7, 10, 10, 9], align=["l", "c", "c", "c", "c", "l", "l", "l", "c"])
            .with_footnotes([f"Planned: {study.dosing.dose:g} {study.dosing.dose_unit} {study.dosing.route.lower()} on days "
                             f"{', '.join(map(str, study.dosing.dose_days_in_cycle))} of each of {study.dosing.cycles} "
                             f"{study.dosing.cycle_length_days}-day cycles ({planned} injections).",
                             "One row per injection; study day relative to the first dose (day 1)."]
                            + ([f"Safety subjects without an injection record: {', '.join(never)}."] if never else [])
                            + _no_rows_note(body, "injections")))


def sri_sledai_listing(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Listing 16.2.6: per FAS subject and visit, the SLEDAI-2K total and its change from baseline, the
    BILAG-2004 grades of the nine domains (in the order of sap/specs/raw/instruments.yaml) and the numeric
    global score, and the PGA (ADQS analysis records, ANL01FL = Y); the three SRI-4 components and SRI-4 to
    SRI-8 (ADRS, Y/N), with "NRI" marking a record imputed as non-response and its reason."""
    subjects = population(dataset(adam, "ADSL", ["USUBJID", spec.population]), spec.population)
    adqs = dataset(adam, "ADQS", ["USUBJID", "PARAMCD", "AVISITN", "ADY", "AVAL", "AVALC", "CHG", "ANL01FL"])
    adrs = dataset(adam, "ADRS", ["USUBJID", "PARAMCD", "AVISITN", "AVALC", "DTYPE", "NRIREAS"])
    analysed = adqs[adqs["ANL01FL"].eq("Y") & adqs["USUBJID"].isin(subjects["USUBJID"])]
    scores = analysed[analysed["PARAMCD"].eq("SLEDAI")]
    domains = [d["testcd"] for d in load_instruments()["bilag_2004"]["domains"]]
    grades = (analysed[analysed["PARAMCD"].isin(domains)]
              .pivot_table(index=["USUBJID", "AVISITN"], columns="PARAMCD", values="AVALC", aggfunc="first")
              .reindex(columns=domains))
    grade_text = grades.fillna("-").astype(str).agg("".join, axis=1).rename("grades").reset_index()
    others = (analysed[analysed["PARAMCD"].isin(["BILAG", "SLEPGA"])]
              .pivot_table(index=["USUBJID", "AVISITN"], columns="PARAMCD", values="AVAL", aggfunc="first")
              .reindex(columns=["BILAG", "SLEPGA"]).reset_index())
    responses = adrs[adrs["USUBJID"].isin(subjects["USUBJID"])]
    paramcds = ["SLEDR4", "BILNW", "PGANW", *[f"SRI{k}" for k in study.endpoints.sri_thresholds]]
    wide = responses[responses["PARAMCD"].isin(paramcds)].pivot_table(
        index=["USUBJID", "AVISITN"], columns="PARAMCD", values="AVALC", aggfunc="first").reindex(columns=paramcds)
    imputed = responses[responses["PARAMCD"].eq("SRI4")].set_index(["USUBJID", "AVISITN"])[["DTYPE", "NRIREAS"]]
    keys = pd.concat([scores[["USUBJID", "AVISITN"]], wide.reset_index()[["USUBJID", "AVISITN"]]]).drop_duplicates()
    rows = (keys.merge(scores[["USUBJID", "AVISITN", "ADY", "AVAL", "CHG"]], on=["USUBJID", "AVISITN"], how="left")
            .merge(grade_text, on=["USUBJID", "AVISITN"], how="left")
            .merge(others, on=["USUBJID", "AVISITN"], how="left")
            .merge(wide.reset_index(), on=["USUBJID", "AVISITN"], how="left")
            .merge(imputed.reset_index(), on=["USUBJID", "AVISITN"], how="left")
            .sort_values(["USUBJID", "AVISITN"], kind="stable"))
    visit_name = {v.visitnum: v.visit.title() for v in study.visits}
    body = pd.DataFrame({
        "subject": rows["USUBJID"], "visit": rows["AVISITN"].map(visit_name).fillna(""),
        "day": _number(rows["ADY"], 0), "sledai": _number(rows["AVAL"], 0), "chg": _number(rows["CHG"], 0),
        "grades": rows["grades"].fillna(""), "bilag": _number(rows["BILAG"], collected_decimals("BILAG")),
        "pga": _number(rows["SLEPGA"], collected_decimals("SLEPGA")),
    })
    for paramcd in paramcds:
        body[paramcd] = rows[paramcd].fillna("").to_numpy()
    body["nri"] = np.where(rows["DTYPE"].eq("NRI"), "NRI: " + rows["NRIREAS"].fillna("").str.lower(), "")
    thresholds = [p.replace("SRI", "SRI-") for p in paramcds[3:]]
    instruments = load_instruments()
    names = [d["column"].title() for d in instruments["bilag_2004"]["domains"]]
    scores_text = ", ".join(f"{grade} = {score}" for grade, score in instruments["bilag_2004"]["grade_scores"].items())
    low, high = instruments["pga"]["range"]
    return (Output.from_spec(spec).with_n(len(subjects))
            .with_body(body, headers=["Subject", "Visit", "Study day", "SLEDAI-2K", "Change", "BILAG-2004 grades",
                                      "BILAG-2004 score", "PGA", "SLEDAI -4", "BILAG no new", "PGA no worse", *thresholds,
                                      "Imputation (SRI-4)"],
                       col_widths=[13, 6, 5, 5, 5, 9, 5, 4, 5, 5, 5, *[4] * len(thresholds), 14],
                       align=["l", "l", *["c"] * (9 + len(thresholds)), "l"])
            .with_footnotes([f"BILAG-2004 grades: one letter per domain, in the order {', '.join(names).lower()}; "
                             f"- = not graded. Score: numeric global score ({scores_text}). "
                             f"PGA: physician global assessment ({low:g}-{high:g}).",
                             "SLEDAI -4: SLEDAI-2K reduction ≥ 4; BILAG no new: no new BILAG-2004 A and at most one new B; "
                             f"PGA no worse: PGA increase < {study.endpoints.pga_worsening_limit:g}; Y = met, N = not met.",
                             "NRI: non-responder imputation (component missing or subject discontinued before the visit)."]))


def abnormal_lab_listing(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Listing 16.2.8: every laboratory value outside its reference range (ADLB ANRIND LOW or HIGH) of the
    safety population, by subject, parameter and date, with the range, the baseline value and its category."""
    subjects = population(dataset(adam, "ADSL", ["USUBJID", spec.population]), spec.population)
    adlb = dataset(adam, "ADLB", ["USUBJID", "PARAMCD", "PARAM", "ADT", "ADY", "AVISIT", "AVAL", "ANRLO", "ANRHI",
                                  "ANRIND", "BASE", "BNRIND", "ABLFL"])
    abnormal = adlb[adlb["ANRIND"].isin(["LOW", "HIGH"]) & adlb["USUBJID"].isin(subjects["USUBJID"])]
    abnormal = abnormal.sort_values(["USUBJID", "PARAM", "ADT"], kind="stable")
    decimals = adlb.groupby("PARAMCD")["AVAL"].agg(data_decimals)
    d = abnormal["PARAMCD"].map(decimals).fillna(0).astype("int64")
    # format each value with its parameter's decimals: a vectorised choice over the few distinct decimals
    def by_param(values: pd.Series) -> pd.Series:
        out = pd.Series("", index=values.index, dtype=object)
        for k in sorted(d.unique()):
            mask = d.eq(k)
            out[mask] = _number(values[mask], int(k))
        return out.astype(str)
    ranges = by_param(abnormal["ANRLO"]) + " - " + by_param(abnormal["ANRHI"])
    body = pd.DataFrame({
        "subject": abnormal["USUBJID"], "param": abnormal["PARAM"], "visit": abnormal["AVISIT"].fillna("").str.title(),
        "date": _date(abnormal["ADT"]), "day": _number(abnormal["ADY"], 0), "value": by_param(abnormal["AVAL"]),
        "range": ranges.str.strip(" -"), "flag": abnormal["ANRIND"].str.title() + np.where(abnormal["ABLFL"].eq("Y"), " (baseline)", ""),
        "base": by_param(abnormal["BASE"]), "bflag": abnormal["BNRIND"].fillna("").str.title(),
    })
    return (Output.from_spec(spec).with_n(len(subjects))
            .with_body(body, headers=["Subject", "Parameter (unit)", "Visit", "Date", "Study day", "Value",
                                      "Reference range", "Indicator", "Baseline", "Baseline indicator"],
                       col_widths=[13, 22, 6, 8, 5, 6, 9, 9, 6, 7],
                       align=["l", "l", "l", "c", "c", "c", "c", "l", "c", "l"])
            .with_footnotes(["Values outside the laboratory's reference range at any time, including pre-treatment samples."]
                            + _no_rows_note(body, "abnormal laboratory values")))
