"""Safety tables (ICH E3 14.3.1 adverse events, 14.3.4 laboratory shifts): ADaM in, `tlf.output.Output` out.

Counting rules (SAP safety; OCCDS): treatment-emergent events only (ADAE TRTEMFL = "Y") of the safety
population; a subject is counted once per row however many events they had (per SOC, per PT, per
category), percentages of the safety population N; "Events" counts records. Rows are sorted by descending
number of subjects, ties alphabetically; every severity category of the AESEV codelist is shown, with 0
when nobody falls in it. A missing severity counts as severe (the conservative convention).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sap.specs import load_codelists
from sap.study import Study
from tlf.catalog import OutputSpec
from tlf.inputs import dataset, population
from tlf.ard import Ard
from tlf.output import Output
from fractions import Fraction

from tlf import numbers
from tlf.stats import clopper_pearson_bounds
from tlf.summaries import INDENT

ADAE_VARS = ["USUBJID", "AEBODSYS", "AEDECOD", "TRTEMFL", "ASEV", "ASEVN", "ARELFL", "AESER", "AEACN", "AEOUT", "CQ01NAM"]
SEVERE = 3  # ASEVN of SEVERE (codelist ASEVN: 1 MILD, 2 MODERATE, 3 SEVERE)


def treatment_emergent(adam: Mapping[str, pd.DataFrame], flag: str) -> tuple[int, pd.DataFrame]:
    """The population N and its treatment-emergent events (TRTEMFL = Y), severity missing -> severe."""
    subjects = population(dataset(adam, "ADSL", ["USUBJID", flag]), flag)
    adae = dataset(adam, "ADAE", ADAE_VARS)
    events = adae[adae["TRTEMFL"].eq("Y") & adae["USUBJID"].isin(subjects["USUBJID"])]
    events = events.assign(ASEVN=pd.to_numeric(events["ASEVN"], errors="coerce").fillna(SEVERE).astype("int64"),
                           AEBODSYS=events["AEBODSYS"].fillna("Uncoded"), AEDECOD=events["AEDECOD"].fillna("Uncoded"))
    return len(subjects), events


def _ranked(counts: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Sort by descending subjects, ties alphabetically (within the levels of `by`)."""
    return counts.sort_values(["subjects", *by], ascending=[False] + [True] * len(by), kind="stable")


def soc_pt_counts(events: pd.DataFrame) -> pd.DataFrame:
    """Subjects (distinct USUBJID) and events per SOC and per SOC/PT, in display order: each SOC by
    descending subjects (ties alphabetical), followed by its PTs in the same order. Columns: level ("soc"
    or "pt"), AEBODSYS, AEDECOD, subjects, events."""
    soc = events.groupby("AEBODSYS").agg(subjects=("USUBJID", "nunique"), events=("USUBJID", "size")).reset_index()
    pt = events.groupby(["AEBODSYS", "AEDECOD"]).agg(subjects=("USUBJID", "nunique"), events=("USUBJID", "size")).reset_index()
    soc = _ranked(soc, ["AEBODSYS"]).assign(level="soc", soc_rank=lambda d: np.arange(len(d)), pt_rank=-1)
    pt = _ranked(pt, ["AEDECOD"]).assign(level="pt", pt_rank=lambda d: np.arange(len(d)))
    pt = pt.merge(soc[["AEBODSYS", "soc_rank"]], on="AEBODSYS")
    rows = pd.concat([soc, pt], ignore_index=True).sort_values(["soc_rank", "pt_rank"], kind="stable")
    return rows[["level", "AEBODSYS", "AEDECOD", "subjects", "events"]].reset_index(drop=True)


def _soc_pt_body(events: pd.DataFrame, n: int, any_label: str, ard: Ard) -> pd.DataFrame:
    """Display rows of a SOC/PT table; every count recorded in `ard` (groups AEBODSYS and AEDECOD, "" for
    the any-event row and the SOC rows' PT; variable USUBJID: subjects n (%), events n as STAT "events")."""
    counts = soc_pt_counts(events)
    label = np.where(counts["level"].eq("soc"), counts["AEBODSYS"], INDENT + counts["AEDECOD"].astype(str))
    groups = [(("AEBODSYS", soc), ("AEDECOD", pt if level == "pt" else ""))
              for level, soc, pt in zip(counts["level"], counts["AEBODSYS"], counts["AEDECOD"])]
    body = pd.DataFrame({"term": label,
                         "subjects": [ard.n_pct(int(x), n, groups=g, variable="USUBJID") for x, g in zip(counts["subjects"], groups)],
                         "events": [ard.count(int(e), stat="events", groups=g, variable="USUBJID")
                                    for e, g in zip(counts["events"], groups)]})
    anyone = (("AEBODSYS", ""), ("AEDECOD", ""))
    first = pd.DataFrame({"term": [any_label],
                          "subjects": [ard.n_pct(int(events["USUBJID"].nunique()), n, groups=anyone, variable="USUBJID")],
                          "events": [ard.count(len(events), stat="events", groups=anyone, variable="USUBJID")]})
    return pd.concat([first, body], ignore_index=True)


def _soc_pt_output(spec: OutputSpec, study: Study, n: int, events: pd.DataFrame, any_label: str) -> Output:
    ard = Ard(spec.number)
    body = _soc_pt_body(events, n, any_label, ard)
    return (Output.from_spec(spec).with_n(n)
            .with_body(body, headers=["System organ class / Preferred term",
                                      f"Subjects, n (%) (N={n})", "Events, n"], col_widths=[6, 2, 1.2])
            .with_ard(ard))


def teae_overview_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.3.1.1: subjects with at least one TEAE of each kind (any, related, severe, serious, leading
    to withdrawal of study treatment, fatal, injection-site reaction) and the number of such events."""
    n, events = treatment_emergent(adam, spec.population)
    # (label, ARD key CATEGORY, events of that kind)
    kinds = [("Any TEAE", "ANY", pd.Series(True, index=events.index)),
             ("Treatment-related TEAE", "RELATED", events["ARELFL"].eq("Y")),
             ("Severe TEAE", "SEVERE", events["ASEVN"].eq(SEVERE)),
             ("Serious TEAE", "SERIOUS", events["AESER"].eq("Y")),
             ("TEAE leading to withdrawal of study treatment", "WITHDRAWN", events["AEACN"].eq("DRUG WITHDRAWN")),
             ("TEAE with fatal outcome", "FATAL", events["AEOUT"].eq("FATAL")),
             ("Injection-site reaction (CQ01)", "CQ01", events["CQ01NAM"].notna())]
    ard = Ard(spec.number)
    adsl = dataset(adam, "ADSL", ["USUBJID", spec.population, "TRTDURD"])
    exposure_days = pd.to_numeric(adsl.loc[adsl[spec.population].eq("Y"), "TRTDURD"], errors="coerce").sum()
    subject_years = numbers.exact(float(exposure_days)) / Fraction(36525, 100)  # days / 365.25, exact
    confidence = 1 - study.endpoints.alpha
    rows = []
    for label, key, mask in kinds:
        where = {"groups": (("CATEGORY", key),), "variable": "USUBJID"}
        x = int(events.loc[mask, "USUBJID"].nunique())
        lower, upper = clopper_pearson_bounds(np.array([x]), np.array([n]), confidence)
        shown = ard.rate(x, n, float(lower[0]), float(upper[0]), **where)
        rate = Fraction(x * 100) / subject_years if subject_years else None
        rows.append({"kind": label, "subjects": "0" if x == 0 else f"{x} ({shown['percent']})", "ci": shown["ci"],
                     "eair": ard.add("eair", rate, numbers.fmt(rate, numbers.decimals_for("rate_per_100py", 0)), **where)
                     if rate is not None else "NE",
                     "events": ard.count(int(mask.sum()), stat="events", **where)})
    body = pd.DataFrame(rows)
    return (Output.from_spec(spec).with_n(n).with_ard(ard)
            .with_body(body, headers=["Subjects with", f"Subjects, n (%) (N={n})", f"{confidence:.0%} CI, %",
                                      "Per 100 subject-years", "Events, n"], col_widths=[6, 2, 2, 2, 1.2])
            .with_footnotes(["95% CI: Clopper-Pearson exact, of the percentage of subjects.",
                             f"Per 100 subject-years: subjects with the event / total treatment duration of the safety "
                             f"population ({numbers.fmt(subject_years, 1)} subject-years; "
                             "days / 365.25) × 100 (exposure-adjusted incidence rate)."]))


def teae_soc_pt_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.3.1.2: TEAEs by MedDRA SOC and PT, subjects counted once per SOC and per PT, sorted by
    descending frequency (ties alphabetical)."""
    n, events = treatment_emergent(adam, spec.population)
    return _soc_pt_output(spec, study, n, events, "Any TEAE")


def related_teae_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.3.1.4: treatment-related TEAEs (ADAE ARELFL = Y: possibly, probably or definitely related, or
    causality missing) by SOC and PT, counted and sorted as 14.3.1.2."""
    n, events = treatment_emergent(adam, spec.population)
    return _soc_pt_output(spec, study, n, events[events["ARELFL"].eq("Y")], "Any treatment-related TEAE")


def max_severity_counts(events: pd.DataFrame, by: list[str], levels: list[int]) -> pd.DataFrame:
    """Subjects by their maximum severity (ASEVN) within each `by` group: one column per level, 0 kept."""
    worst = events.groupby(["USUBJID", *by])["ASEVN"].max().reset_index()
    table = worst.groupby([*by, "ASEVN"]).size().unstack("ASEVN", fill_value=0) if by else worst["ASEVN"].value_counts().to_frame().T
    return table.reindex(columns=levels, fill_value=0)


def teae_max_severity_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.3.1.3: subjects by maximum severity (mild, moderate, severe), once overall, once per SOC
    and once per PT at the most severe of their events in that row; rows in the order of 14.3.1.2."""
    n, events = treatment_emergent(adam, spec.population)
    names = load_codelists()["AESEV"].values  # MILD, MODERATE, SEVERE = ASEVN 1, 2, 3
    levels = list(range(1, len(names) + 1))
    order = soc_pt_counts(events)
    overall = max_severity_counts(events, [], levels) if len(events) else pd.DataFrame(np.zeros((1, len(levels)), dtype="int64"))
    soc = max_severity_counts(events, ["AEBODSYS"], levels)
    pt = max_severity_counts(events, ["AEBODSYS", "AEDECOD"], levels)
    soc_rows = soc.reindex(pd.Index(order.loc[order["level"].eq("soc"), "AEBODSYS"]))
    pt_rows = pt.reindex(pd.MultiIndex.from_frame(order.loc[order["level"].eq("pt"), ["AEBODSYS", "AEDECOD"]]))
    grid = np.zeros((len(order), len(levels)), dtype="int64")
    grid[order["level"].eq("soc").to_numpy()] = soc_rows.to_numpy()
    grid[order["level"].eq("pt").to_numpy()] = pt_rows.to_numpy()
    labels = np.where(order["level"].eq("soc"), order["AEBODSYS"], INDENT + order["AEDECOD"].astype(str))
    counts = np.vstack([overall.to_numpy().reshape(1, -1), grid])
    keys = [("", "")] + [(soc, pt if level == "pt" else "")
                         for level, soc, pt in zip(order["level"], order["AEBODSYS"], order["AEDECOD"])]
    ard = Ard(spec.number)
    body = pd.DataFrame({"term": ["Any TEAE", *labels]})
    for j, name in enumerate(names):
        body[name] = [ard.n_pct(int(x), n, groups=(("AEBODSYS", soc), ("AEDECOD", pt)), variable="ASEV", level=name)
                      for x, (soc, pt) in zip(counts[:, j], keys)]
    return (Output.from_spec(spec).with_n(n).with_ard(ard)
            .with_body(body, headers=["System organ class / Preferred term", *[f"{v.title()}, n (%)" for v in names]],
                       col_widths=[6, 2, 2, 2])
            .with_footnotes(["A missing severity is counted as severe."]))


def injection_site_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.3.1.5: treatment-emergent injection-site reactions (ADAE CQ01NAM, the customised query of
    sap/specs/queries.yaml): subjects and events overall, by PT, by maximum severity, serious, related and
    leading to withdrawal of study treatment. ARD: group CATEGORY (ANY, PT with AEDECOD, MAXSEV with ASEV,
    SERIOUS, RELATED, WITHDRAWN), subjects n (%) and events."""
    n, events = treatment_emergent(adam, spec.population)
    isr = events[events["CQ01NAM"].notna()]
    names = load_codelists()["AESEV"].values
    ard = Ard(spec.number)
    rows: list[tuple[str, str, str]] = []

    def counted(label: str, groups: tuple, subjects: int, records: int) -> None:
        rows.append((label, ard.n_pct(subjects, n, groups=groups, variable="USUBJID"),
                     ard.count(records, stat="events", groups=groups, variable="USUBJID")))

    counted("Any injection-site reaction", (("CATEGORY", "ANY"),), int(isr["USUBJID"].nunique()), len(isr))
    pts = isr.groupby("AEDECOD").agg(subjects=("USUBJID", "nunique"), events=("USUBJID", "size")).reset_index()
    for term, subjects, records in _ranked(pts, ["AEDECOD"])[["AEDECOD", "subjects", "events"]].itertuples(index=False):
        counted(INDENT + term, (("CATEGORY", "PT"), ("AEDECOD", term)), int(subjects), int(records))
    rows.append(("By maximum severity", "", ""))
    worst = isr.groupby("USUBJID")["ASEVN"].max()
    for level, name in enumerate(names, start=1):
        counted(INDENT + name.title(), (("CATEGORY", "MAXSEV"), ("ASEV", name)), int(worst.eq(level).sum()),
                int(isr["ASEVN"].eq(level).sum()))
    for label, key, mask in (("Serious", "SERIOUS", isr["AESER"].eq("Y")), ("Treatment-related", "RELATED", isr["ARELFL"].eq("Y")),
                             ("Leading to withdrawal of study treatment", "WITHDRAWN", isr["AEACN"].eq("DRUG WITHDRAWN"))):
        counted(label, (("CATEGORY", key),), int(isr.loc[mask, "USUBJID"].nunique()), int(mask.sum()))
    body = pd.DataFrame(rows, columns=["label", "subjects", "events"])
    return (Output.from_spec(spec).with_n(n).with_ard(ard)
            .with_body(body, headers=["Injection-site reactions", f"Subjects, n (%) (N={n})", "Events, n"],
                       col_widths=[6, 2, 1.2])
            .with_footnotes(["Severity rows: subjects at their most severe injection-site reaction; events of that severity."]))


SHIFT_BASELINE = ["LOW", "NORMAL", "HIGH", "Missing"]
SHIFT_WORST = ["LOW", "NORMAL", "HIGH", "LOW and HIGH"]


def worst_shift_counts(adlb: pd.DataFrame) -> pd.DataFrame:
    """Subjects per parameter by baseline category (BNRIND; "Missing" when absent) and worst on-treatment
    category over every on-treatment record (ONTRTFL = Y) with a reference-range indicator: LOW if any value
    was low and none high, HIGH if any high and none low, "LOW and HIGH" if both, NORMAL if all normal.
    Every cell appears (0 kept). Index (PARAMCD, baseline), columns SHIFT_WORST."""
    post = adlb[adlb["ONTRTFL"].eq("Y") & adlb["ANRIND"].notna()]
    per_subject = post.assign(low=post["ANRIND"].eq("LOW"), high=post["ANRIND"].eq("HIGH")).groupby(
        ["PARAMCD", "USUBJID"]).agg(low=("low", "any"), high=("high", "any")).reset_index()
    per_subject["worst"] = np.select([per_subject["low"] & per_subject["high"], per_subject["low"], per_subject["high"]],
                                     ["LOW and HIGH", "LOW", "HIGH"], "NORMAL")
    baseline = adlb.dropna(subset=["BNRIND"]).drop_duplicates(["PARAMCD", "USUBJID"])[["PARAMCD", "USUBJID", "BNRIND"]]
    per_subject = per_subject.merge(baseline, on=["PARAMCD", "USUBJID"], how="left")
    per_subject["baseline"] = per_subject["BNRIND"].fillna("Missing")
    counts = per_subject.groupby(["PARAMCD", "baseline", "worst"]).size().unstack("worst", fill_value=0)
    params = sorted(per_subject["PARAMCD"].unique())
    grid = pd.MultiIndex.from_product([params, SHIFT_BASELINE], names=["PARAMCD", "baseline"])
    return counts.reindex(index=grid, columns=SHIFT_WORST, fill_value=0).astype("int64")


def lab_shift_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.3.4: shift from the baseline reference-range category (BNRIND) to the worst on-treatment
    category (ANRIND over ONTRTFL = Y records) per laboratory parameter with reference ranges; cells are
    numbers of subjects with at least one on-treatment value; parameters in the order of PARCAT1, PARAM."""
    subjects = population(dataset(adam, "ADSL", ["USUBJID", spec.population]), spec.population)
    adlb = dataset(adam, "ADLB", ["USUBJID", "PARAMCD", "PARAM", "PARCAT1", "ANRIND", "BNRIND", "ONTRTFL"])
    adlb = adlb[adlb["USUBJID"].isin(subjects["USUBJID"])]
    counts = worst_shift_counts(adlb)
    names = adlb.drop_duplicates("PARAMCD").set_index("PARAMCD")[["PARAM", "PARCAT1"]]
    params = names.loc[counts.index.get_level_values("PARAMCD").unique()].sort_values(["PARCAT1", "PARAM"])
    ard = Ard(spec.number)
    blocks = []
    for paramcd, (param, category) in params.iterrows():  # one block per parameter (a few dozen at most)
        block = counts.loc[paramcd]
        rows = pd.DataFrame({"label": [INDENT + b.title() if b != "Missing" else INDENT + b for b in block.index]})
        for column in SHIFT_WORST:
            rows[column] = [ard.count(int(x), groups=(("PARAMCD", paramcd), ("BNRIND", baseline)), variable="WORST",
                                      level=column) for baseline, x in zip(block.index, block[column])]
        rows["total"] = [ard.count(int(x), groups=(("PARAMCD", paramcd), ("BNRIND", baseline)), variable="WORST",
                                   level="TOTAL") for baseline, x in zip(block.index, block.sum(axis=1))]
        blocks.append(pd.DataFrame({"label": [f"{param} [{category.title()}]"]}))
        blocks.append(rows)
    body = pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame(columns=["label", *SHIFT_WORST, "total"])
    return (Output.from_spec(spec).with_n(len(subjects)).with_ard(ard)
            .with_body(body, headers=["Parameter / Baseline category", "Worst: Low", "Worst: Normal", "Worst: High",
                                      "Worst: Low and high", "Total"], col_widths=[16, 4, 4, 4, 5, 3])
            .with_footnotes(["Cells: number of subjects with at least one on-treatment value (after the first dose up to "
                             f"{study.safety.treatment_emergent_window_days} days after the last).",
                             "Worst on treatment: low if any value was low and none high, high if any high and none low, "
                             "low and high if both, normal if all were normal.",
                             "A result reported below the lower limit of quantitation is low when the limit is at or below "
                             "the range's lower bound, normal when the range starts at 0 (or has no lower bound), and "
                             "not classified otherwise."]))
