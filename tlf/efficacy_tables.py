"""Secondary and sensitivity efficacy tables (ICH E3 14.2.2-14.2.8): ADaM in, `tlf.output.Output` out.

Conventions (SAP section 6): response rates use the full analysis set N at every visit, a FAS subject
without a response record counting as a non-responder (non-responder imputation; ADRS carries the imputed
records with DTYPE "NRI"). Every ADRS record of a FAS subject is used (one per subject, parameter and visit),
not only the primary-visit records flagged ANL01FL. Continuous endpoints use the analysis records
(ANL01FL = "Y", one per subject, parameter and visit) of ADQS and ADLB, observed cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import numpy as np
import pandas as pd

from sap.specs import load_codelists, load_instruments
from sap.study import Study, Visit
from tlf.baseline_tables import organ_groups
from tlf.catalog import OutputSpec
from tlf.inputs import dataset, one_record_per_subject, population
from tlf import numbers
from tlf.ard import Ard
from tlf.output import Output
from tlf.stats import mcnemar_exact
from tlf.summaries import CHANGE_HEADERS, CHANGE_WIDTHS, INDENT, change_by_visit, rates_into_ard

ADRS_VARS = ["USUBJID", "PARAMCD", "AVALC", "AVISITN"]
# SRI-4 and its three components (ADRS PARAMCD) in the order of the SRI definition (Furie 2009); their column
# headers are the PARAM texts of codelist RSPARMCD (sap/specs), not retyped here.
SRI_COMPONENTS = ["SLEDR4", "BILNW", "PGANW", "SRI4"]


def fas_responses(adam: Mapping[str, pd.DataFrame], flag: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Population subjects (one row each) and all their ADRS records; a second record for the same
    subject, parameter and visit is an error (it would double count)."""
    subjects = population(dataset(adam, "ADSL", ["USUBJID", flag]), flag)
    adrs = dataset(adam, "ADRS", ADRS_VARS)
    records = adrs[adrs["USUBJID"].isin(subjects["USUBJID"])]
    one_record_per_subject(records, "ADRS", ["PARAMCD", "AVISITN"])
    return subjects, records


def responders_by_visit(records: pd.DataFrame, n: int, paramcds: list[str], visits: list[Visit]) -> pd.DataFrame:
    """Responders x (AVALC = "Y") per parameter and visit with N = n (non-responder imputation: a subject
    without a record is a non-responder). Every parameter x visit appears, with x = 0 when nobody
    responded."""
    grid = pd.MultiIndex.from_product([paramcds, [v.visitnum for v in visits]], names=["PARAMCD", "AVISITN"]).to_frame(index=False)
    counts = records[records["AVALC"].eq("Y")].groupby(["PARAMCD", "AVISITN"]).size().rename("x").reset_index()
    out = grid.merge(counts, on=["PARAMCD", "AVISITN"], how="left")
    out["x"] = out["x"].fillna(0).astype("int64")
    out["n"] = int(n)
    out["visit"] = out["AVISITN"].map({v.visitnum: v.visit.title() for v in visits})
    return out


def sri_by_visit_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.2.2: SRI-4 to SRI-8 responders by post-baseline visit (SAP secondary analysis): n/N with
    N = FAS, %, Clopper-Pearson exact 95% CI; non-responder imputation."""
    subjects, records = fas_responses(adam, spec.population)
    n = len(subjects)
    paramcds = [f"SRI{k}" for k in study.endpoints.sri_thresholds]
    rates = responders_by_visit(records, n, paramcds, study.post_baseline_visits)
    ard = Ard(spec.number)
    visit_names = {v.visitnum: v.visit for v in study.visits}
    groups = [(("PARAMCD", p), ("AVISIT", visit_names[v])) for p, v in zip(rates["PARAMCD"], rates["AVISITN"])]
    shown = rates_into_ard(ard, rates["x"], rates["n"], 1 - study.endpoints.alpha, groups)
    shown.insert(0, "label", (INDENT + rates["visit"]).to_numpy())
    blocks = []  # one block per threshold: a heading row, then its visits
    for paramcd in paramcds:
        blocks.append(pd.DataFrame({"label": [paramcd.replace("SRI", "SRI-")]}))
        blocks.append(shown[rates["PARAMCD"].eq(paramcd).to_numpy()])
    body = pd.concat(blocks, ignore_index=True)
    confidence = 1 - study.endpoints.alpha
    return (Output.from_spec(spec).with_n(n)
            .with_body(body, headers=["Threshold / Visit", "Responders, n/N", "Rate, %", f"{confidence:.0%} CI, %"],
                       col_widths=[4, 3, 2, 3])
            .with_footnotes([f"Primary visit: {study.primary_visit.visit.title()}; the abstract reports SRI response at "
                             f"{study.visit_by_week(study.endpoints.abstract_visit_week).visit.title()}."])
            .with_ard(ard))


def sri_components_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.2.3: the three SRI-4 components (SLEDAI-2K reduction >= 4, no new BILAG-2004 A and <= 1 new
    B, PGA worsening < 0.3) and SRI-4 itself by visit, n (%) of the FAS, non-responder imputation."""
    subjects, records = fas_responses(adam, spec.population)
    n = len(subjects)
    paramcds = SRI_COMPONENTS
    params = load_codelists()["RSPARMCD"]
    counts = responders_by_visit(records, n, paramcds, study.post_baseline_visits)
    wide = counts.pivot(index="AVISITN", columns="PARAMCD", values="x").reindex(columns=paramcds)
    body = pd.DataFrame({"visit": [v.visit.title() for v in study.post_baseline_visits]})
    ard = Ard(spec.number)
    for paramcd in paramcds:
        body[paramcd] = [ard.n_pct(int(x), n, groups=(("PARAMCD", paramcd), ("AVISIT", visit.visit)), variable="AVALC",
                                   level="Y")
                         for x, visit in zip(wide[paramcd].to_numpy(), study.post_baseline_visits)]
    return (Output.from_spec(spec).with_n(n)
            .with_body(body, headers=["Visit", *[params.decode(p) for p in paramcds]],  # "n (%)" in a footnote: no 3-line headers
                       col_widths=[1.6, 3.4, 3.4, 3.4, 3.2])
            .with_ard(ard))


SEROLOGY = ["DDNAIGAB", "C3", "C4", "PROTEXR"]  # Table 14.2.6 (ADLB PARAMCD)


def _change_records(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, name: str, paramcds: list[str],
                    extra: list[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Population subjects and their analysis records (ANL01FL = Y) of `paramcds` in dataset `name`."""
    subjects = population(dataset(adam, "ADSL", ["USUBJID", spec.population]), spec.population)
    data = dataset(adam, name, ["USUBJID", "PARAMCD", "PARAM", "AVISITN", "AVAL", "CHG", "ANL01FL", *extra])
    records = data[data["ANL01FL"].eq("Y") & data["USUBJID"].isin(subjects["USUBJID"]) & data["PARAMCD"].isin(paramcds)]
    one_record_per_subject(records, name, ["PARAMCD", "AVISITN"])
    return subjects, records


CHANGE_FOOTNOTES = ["Observed cases (analysis record closest to the visit target day); baseline: last value on or "
                    "before the first dose.", "n: subjects with a value; change n: subjects with a value at baseline "
                    "and at the visit.",
                    "95% CI of the mean change: t distribution. HL: Hodges-Lehmann estimate of the median change "
                    "(median of the Walsh averages of the non-zero changes) with the confidence interval from the "
                    "signed-rank distribution (exact, or its normal approximation when the test is approximate)."]


def _change_output(spec: OutputSpec, study: Study, subjects: pd.DataFrame, records: pd.DataFrame,
                   paramcds: list[str]) -> Output:
    ard = Ard(spec.number)
    body = change_by_visit(records, paramcds, study.visits, ard=ard, confidence=1 - study.endpoints.alpha)
    return (Output.from_spec(spec).with_n(len(subjects)).with_ard(ard)
            .with_body(body, headers=CHANGE_HEADERS, col_widths=CHANGE_WIDTHS)
            .with_footnotes(CHANGE_FOOTNOTES))


def _change_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study, name: str,
                  paramcds: list[str]) -> Output:
    """Observed value and change from baseline by visit for the parameters of one BDS dataset (analysis
    records ANL01FL = Y of the population), with the Wilcoxon signed-rank p-value per visit."""
    subjects, records = _change_records(adam, spec, name, paramcds)
    return _change_output(spec, study, subjects, records, paramcds)


def _parameter_name(param: str) -> str:
    """"Anti-dsDNA IgG Antibody (IU/mL)" -> ("Anti-dsDNA IgG Antibody", "IU/mL")."""
    return param.rsplit(" (", 1)[0] if param.endswith(")") else param


def below_limit_footnotes(records: pd.DataFrame, factor: float, sensitivity: str | None) -> list[str]:
    """One footnote per parameter with analysis values imputed below the lower limit of quantitation
    (BLQFL = Y): how many, the limit and the rule (the plan's factor), and where the sensitivity analysis is."""
    notes = []
    below = records[records["BLQFL"].eq("Y")]
    for paramcd, part in below.groupby("PARAMCD", sort=False):
        param = str(part["PARAM"].iloc[0])
        unit = param.rsplit(" (", 1)[1].rstrip(")") if param.endswith(")") else ""
        # the limits as the laboratory reported them ("10", "0.05")
        limits = ", ".join(f"{Decimal(repr(float(v))).normalize():f}" for v in sorted(part["ALLOQ"].dropna().unique()))
        rule = "half the limit" if factor == 0.5 else f"{factor:g} × the limit"
        note = (f"{_parameter_name(param)}: {len(part)} results reported below the lower limit of quantitation "
                f"(< {limits} {unit}) are analysed as {rule}.")
        if sensitivity:
            note += f" {sensitivity} repeats the analysis with them set to the limit."
        notes.append(note)
    return notes


def scores_change_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.2.4: SLEDAI-2K total, PGA and BILAG-2004 numeric global score (ADQS SLEDAI, SLEPGA, BILAG):
    n, mean (SD) by visit and change from baseline n, mean (SD), median, Q1-Q3, min-max, Wilcoxon p."""
    return _change_table(adam, spec, study, "ADQS", ["SLEDAI", "SLEPGA", "BILAG"])


SENSITIVITY_OUTPUT = "14.2.6.1"  # the below-LLOQ sensitivity analysis of Table 14.2.6


def serology_change_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.2.6: anti-dsDNA, C3, C4 and 24-h urine protein (ADLB DDNAIGAB, C3, C4, PROTEXR), as 14.2.4;
    results below the lower limit of quantitation enter as ADLB imputes them (the plan's factor x the limit,
    BLQFL = Y), each parameter with such results footnoted."""
    subjects, records = _change_records(adam, spec, "ADLB", SEROLOGY, extra=["BLQFL", "ALLOQ"])
    out = _change_output(spec, study, subjects, records, SEROLOGY)
    return out.with_footnotes(below_limit_footnotes(records, study.laboratory.below_lloq_factor,
                                                    f"Table {SENSITIVITY_OUTPUT}"))


def sensitivity_values(records: pd.DataFrame, factor: float) -> pd.DataFrame:
    """The analysis records with every below-limit value (BLQFL = Y) replaced by `factor` x ALLOQ, and the
    change from baseline recomputed from the replaced values, exactly (decimal arithmetic): AVAL' = factor x
    ALLOQ or AVAL; BASE' = AVAL' of the subject's baseline record; CHG' = AVAL' - BASE' where CHG exists."""
    def exact_or_none(values: pd.Series) -> list:
        return [numbers.exact(v) for v in values]

    below = records["BLQFL"].eq("Y")
    factor_q = numbers.exact(factor)
    value = [limit * factor_q if b and limit is not None else v
             for b, limit, v in zip(below, exact_or_none(records["ALLOQ"]), exact_or_none(records["AVAL"]))]
    out = records.assign(_value=value)
    baseline = out[out["ABLFL"].eq("Y")].drop_duplicates(["USUBJID", "PARAMCD"]).set_index(["USUBJID", "PARAMCD"])["_value"]
    base = [baseline.get((u, p)) for u, p in zip(out["USUBJID"], out["PARAMCD"])]
    change = [None if pd.isna(c) or v is None or b is None else v - b for c, v, b in zip(out["CHG"], value, base)]
    as_float = lambda qs: pd.Series([np.nan if q is None else float(numbers.round_half_away(q, 12)) for q in qs],  # noqa: E731
                                    index=out.index, dtype="float64")
    return out.assign(AVAL=as_float(value), CHG=as_float(change)).drop(columns="_value")


def serology_lloq_sensitivity_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.2.6.1 (sensitivity analysis of Table 14.2.6): the parameters of 14.2.6 with results below the
    lower limit of quantitation, analysed as 14.2.6 with those results set to the plan's sensitivity factor
    x the limit (sap/study.yaml laboratory.sensitivity_lloq_factor: the limit itself, the largest value
    they can have) instead of the primary factor; baseline and change recomputed from the replaced values."""
    subjects, records = _change_records(adam, spec, "ADLB", SEROLOGY, extra=["BLQFL", "ALLOQ", "ABLFL"])
    affected = [p for p in SEROLOGY if records.loc[records["PARAMCD"].eq(p), "BLQFL"].eq("Y").any()]
    factor = study.laboratory.sensitivity_lloq_factor
    replaced = sensitivity_values(records[records["PARAMCD"].isin(affected)], factor)
    out = _change_output(spec, study, subjects, replaced, affected)
    rule = "the limit" if factor == 1 else f"{factor:g} × the limit"
    notes = [f"Results reported below the lower limit of quantitation are set to {rule} (primary analysis, Table 14.2.6: "
             f"{'half the limit' if study.laboratory.below_lloq_factor == 0.5 else f'{study.laboratory.below_lloq_factor:g} × the limit'}); "
             "baseline and change from baseline are recomputed from these values."]
    if not affected:
        notes.append("No result below the lower limit of quantitation in this population: the primary analysis stands alone.")
    return out.with_footnotes(notes)


def immunology_change_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.2.7: Treg, Th17, Tfh and effector helper T cells as % of CD4+ (ADLB TREG, TH17, TFH, TEFF),
    as 14.2.4."""
    return _change_table(adam, spec, study, "ADLB", ["TREG", "TH17", "TFH", "TEFF"])


def organ_groups_at_visit(adqs: pd.DataFrame, subjects: pd.Series, visitnum: float) -> pd.DataFrame:
    """Per subject assessed at the visit (ADQS SLEDAI-2K descriptor records SLE2K01-SLE2K24 with ANL01FL =
    Y), one boolean column per organ group of sap/specs/raw/instruments.yaml: True if any descriptor of the
    group is PRESENT (the rule of the ADSL baseline organ flags, applied at the visit)."""
    items = load_instruments()["sledai_2k"]["items"]
    organ_of = {item["testcd"]: item["organ"] for item in items}
    at = adqs[adqs["ANL01FL"].eq("Y") & adqs["AVISITN"].eq(visitnum) & adqs["PARAMCD"].isin(list(organ_of))
              & adqs["USUBJID"].isin(subjects) & adqs["AVALC"].notna()]
    at = at.assign(organ=at["PARAMCD"].map(organ_of), present=at["AVALC"].eq("PRESENT"))
    wide = at.pivot_table(index="USUBJID", columns="organ", values="present", aggfunc="any", fill_value=False)
    return wide.reindex(columns=sorted(set(organ_of.values())), fill_value=False).astype(bool)


def organ_subgroup_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.2.5: per SLEDAI-2K organ group, subjects involved at baseline (ADSL B*FL), involved at the
    last scheduled visit (its SLEDAI-2K descriptors) with McNemar's exact test on the subjects assessed at
    both (SAP: organ manifestations baseline vs week 12), and SRI-4 at the primary visit within the
    subgroup involved at baseline (n/N, %, Clopper-Pearson 95% CI; non-responder imputation)."""
    groups_of_organs = organ_groups()
    flags = [flag for flag, _, _ in groups_of_organs]
    adsl = dataset(adam, "ADSL", ["USUBJID", spec.population, *flags])
    subjects, records = fas_responses(adam, spec.population)
    adsl = adsl[adsl["USUBJID"].isin(subjects["USUBJID"])].drop_duplicates("USUBJID").set_index("USUBJID")
    n = len(adsl)
    adqs = dataset(adam, "ADQS", ["USUBJID", "PARAMCD", "AVALC", "AVISITN", "ANL01FL"])
    last = study.visits[-1]
    later = organ_groups_at_visit(adqs, adsl.index, last.visitnum)
    responders = set(records.loc[records["PARAMCD"].eq("SRI4") & records["AVISITN"].eq(study.primary_visit.visitnum)
                                 & records["AVALC"].eq("Y"), "USUBJID"])
    rows, xs, ns = [], [], []
    assessed = adsl.index.intersection(later.index)
    ard = Ard(spec.number)
    for flag, organ, label in groups_of_organs:
        at_baseline = adsl[flag].eq("Y")
        before = at_baseline.loc[assessed]
        after = later.loc[assessed, organ] if organ in later.columns else pd.Series(False, index=assessed)
        subgroup = at_baseline[at_baseline].index
        xs.append(int(subgroup.isin(list(responders)).sum()))
        ns.append(len(subgroup))
        organ_group = ("ORGAN", organ)
        rows.append({"organ": label,
                     "baseline": ard.n_pct(int(at_baseline.sum()), n, groups=(organ_group, ("AVISIT", study.visits[0].visit)),
                                           variable="INVOLVED", level="Y"),
                     "later": ard.n_pct(int(after.sum()), len(assessed), groups=(organ_group, ("AVISIT", last.visit)),
                                        variable="INVOLVED", level="Y"),
                     "p": ard.p_value(mcnemar_exact(before, after) if len(assessed) else float("nan"), stat="p_mcnemar",
                                      groups=(organ_group,), variable="INVOLVED")})
    body = pd.DataFrame(rows)
    groups = [(("ORGAN", organ), ("AVISIT", study.primary_visit.visit)) for _, organ, _ in groups_of_organs]
    rates = rates_into_ard(ard, np.array(xs), np.array(ns), 1 - study.endpoints.alpha, groups, variable="SRI4")
    body["sri"] = rates["n_over_n"]
    body["rate"] = np.where(np.array(ns) > 0, rates["percent"] + " (" + rates["ci"] + ")", "NE")
    primary = study.primary_visit.visit.title()
    return (Output.from_spec(spec).with_n(n)
            .with_body(body, headers=["Organ group (SLEDAI-2K)", "Involved at baseline, n (%)",
                                      f"Involved at {last.visit.title()}, n (%)", "McNemar p",
                                      f"SRI-4 at {primary}, n/N", "% (95% CI)"],
                       col_widths=[14, 9, 9, 7, 9, 11])
            .with_footnotes([f"{last.visit.title()} percentages and McNemar's exact test (two-sided binomial test of the "
                             f"discordant pairs) use the {len(assessed)} subjects with SLEDAI-2K descriptors at both "
                             "baseline and that visit.",
                             "SRI-4: N = subjects involved at baseline; responders n among them (non-responder imputation).",
                             "NE: not estimable (McNemar's test is not defined without a discordant pair; no subject in "
                             "the subgroup)."])
            .with_ard(ard))


def sensitivity_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.2.8: SRI-4 at the primary visit under the SAP sensitivity analyses, each n/N, %, Clopper-
    Pearson 95% CI: primary (NRI, N = FAS); observed cases (ADRS ANL02FL = Y: N = subjects with every
    component observed); completers (FAS with COMPLFL = Y, NRI); SRI-5 to SRI-8 (NRI); SLEDAI-only response
    (SLEDAI-2K reduction >= 4, SLEDR4, NRI)."""
    flag = spec.population
    subjects, _ = fas_responses(adam, flag)
    adrs = dataset(adam, "ADRS", [*ADRS_VARS, "ANL02FL"])
    adsl = dataset(adam, "ADSL", ["USUBJID", flag, "COMPLFL"])
    visitnum = study.primary_visit.visitnum
    at = adrs[adrs["USUBJID"].isin(subjects["USUBJID"]) & adrs["AVISITN"].eq(visitnum)]
    n = len(subjects)
    completers = adsl.loc[adsl["USUBJID"].isin(subjects["USUBJID"]) & adsl["COMPLFL"].eq("Y"), "USUBJID"]

    def responders(paramcd: str, among: pd.Series | None = None, observed_only: bool = False) -> tuple[int, int]:
        rows = at[at["PARAMCD"].eq(paramcd)]
        if among is not None:
            rows = rows[rows["USUBJID"].isin(among)]
        if observed_only:
            rows = rows[rows["ANL02FL"].eq("Y")]
            return int(rows["AVALC"].eq("Y").sum()), len(rows)
        return int(rows["AVALC"].eq("Y").sum()), (n if among is None else len(among))

    # (label, ANALYSIS key of the ARD, PARAMCD, (x, N))
    analyses = [("SRI-4, non-responder imputation (primary)", "PRIMARY", "SRI4", responders("SRI4")),
                ("SRI-4, observed cases", "OBSERVED", "SRI4", responders("SRI4", observed_only=True)),
                ("SRI-4, completers (non-responder imputation)", "COMPLETERS", "SRI4", responders("SRI4", among=completers))]
    analyses += [(f"SRI-{k}, non-responder imputation", "NRI", f"SRI{k}", responders(f"SRI{k}"))
                 for k in study.endpoints.sri_thresholds if k != 4]
    analyses.append(("SLEDAI-2K reduction >= 4 only (SLEDAI-only response)", "NRI", "SLEDR4", responders("SLEDR4")))
    xs = np.array([x for *_, (x, _) in analyses])
    ns = np.array([m for *_, (_, m) in analyses])
    ard = Ard(spec.number)
    groups = [(("ANALYSIS", key), ("PARAMCD", paramcd)) for _, key, paramcd, _ in analyses]
    body = rates_into_ard(ard, xs, ns, 1 - study.endpoints.alpha, groups)
    body.insert(0, "analysis", [label for label, *_ in analyses])
    confidence = 1 - study.endpoints.alpha
    return (Output.from_spec(spec).with_n(n)
            .with_body(body, headers=[f"Analysis at {study.primary_visit.visit.title()}", "Responders, n/N", "Rate, %",
                                      f"{confidence:.0%} CI, %"], col_widths=[10, 3, 2, 3])
            .with_footnotes(["Observed cases: N = subjects with the SLEDAI-2K change, all BILAG-2004 domains and the PGA "
                             "observed at the visit.",
                             "Completers: subjects who completed the study."])
            .with_ard(ard))
