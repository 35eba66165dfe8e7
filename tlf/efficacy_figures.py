"""Efficacy figures (ICH E3 14.2): ADaM in, `tlf.output.Output` with a matplotlib figure out.

Every figure labels both axes (the renderer refuses one that does not), states its N and draws with the
house style of `tlf.render.figures`; the statistics come from the same helpers as the tables.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from sap.study import Study
from tlf.baseline_tables import organ_groups
from tlf import numbers
from tlf.ard import Ard
from tlf.catalog import OutputSpec
from tlf.numbers import collected_decimals
from tlf.efficacy_tables import fas_responses
from tlf.inputs import dataset, one_record_per_subject, population
from tlf.output import Output
from tlf.render.figures import new_figure
from tlf.stats import clopper_pearson_bounds


def _analysis_records(adam: Mapping[str, pd.DataFrame], flag: str, name: str, paramcd: str) -> tuple[int, pd.DataFrame]:
    """Population N and the analysis records (ANL01FL = Y) of one parameter of a BDS dataset."""
    subjects = population(dataset(adam, "ADSL", ["USUBJID", flag]), flag)
    data = dataset(adam, name, ["USUBJID", "PARAMCD", "AVISITN", "AVAL", "CHG", "ANL01FL"])
    records = data[data["ANL01FL"].eq("Y") & data["PARAMCD"].eq(paramcd) & data["USUBJID"].isin(subjects["USUBJID"])]
    one_record_per_subject(records, name, ["PARAMCD", "AVISITN"])
    return len(subjects), records


def mean_se_by_visit(records: pd.DataFrame, value: str = "AVAL") -> pd.DataFrame:
    """n, mean and standard error (SD / sqrt(n), NaN for n < 2) of `value` per AVISITN."""
    summary = records.groupby("AVISITN")[value].agg(["count", "mean", "std"]).rename(columns={"count": "n"})
    summary["se"] = summary["std"] / np.sqrt(summary["n"])
    return summary.reset_index()


def sledai_mean_figure(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Figure 14.2.4.1: mean (SE) SLEDAI-2K total score (ADQS SLEDAI, observed cases) by week, with the
    number of subjects under each visit."""
    n, records = _analysis_records(adam, spec.population, "ADQS", "SLEDAI")
    summary = mean_se_by_visit(records)
    week = {v.visitnum: v.week for v in study.visits}
    summary["week"] = summary["AVISITN"].map(week)
    summary = summary.dropna(subset=["week"]).sort_values("week")
    fig, ax = new_figure()
    ax.errorbar(summary["week"], summary["mean"], yerr=summary["se"], marker="o", markersize=4, capsize=3, linewidth=1.2,
                color="tab:blue")
    weeks = [v.week for v in study.visits]
    ax.set_xticks(weeks, [f"{w}\nn={int(summary.loc[summary['week'].eq(w), 'n'].sum())}" for w in weeks])
    ax.set_xlabel("Week (n = subjects assessed)")
    ax.set_ylabel("SLEDAI-2K total score, mean (SE)")
    ax.set_ylim(bottom=0)
    ax.axvline(study.primary_visit.week, color="grey", linestyle=":", linewidth=0.8)
    ard = Ard(spec.number)  # the plotted points: n, mean and SE per visit, on exact values
    decimals = collected_decimals("SLEDAI", records["AVAL"])
    for visit in study.visits:
        values = records.loc[records["AVISITN"].eq(visit.visitnum), "AVAL"]
        where = {"groups": (("PARAMCD", "SLEDAI"), ("AVISIT", visit.visit)), "variable": "AVAL"}
        s = numbers.summarise(values)
        ard.count(s.n, **where)
        if s.n:
            ard.add("mean", s.mean, numbers.fmt(s.mean, numbers.decimals_for("mean", decimals)), **where)
        if s.se is not None:
            ard.add("se", s.se, numbers.fmt(s.se, numbers.decimals_for("se", decimals)), **where)
    return (Output.from_spec(spec).with_n(n).with_figure(fig).with_ard(ard)
            .with_footnotes([f"Dotted line: primary visit ({study.primary_visit.visit.title()}). SE = SD / sqrt(n)."]))


def sledai_waterfall_figure(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Figure 14.2.4.2: one bar per FAS subject with a SLEDAI-2K change from baseline at the primary visit
    (ADQS SLEDAI CHG, observed), sorted from the largest increase to the largest decrease, coloured by SRI-4
    response at that visit (ADRS); dashed line at the SRI-4 threshold of -4."""
    n, records = _analysis_records(adam, spec.population, "ADQS", "SLEDAI")
    visit = study.primary_visit
    changes = records[records["AVISITN"].eq(visit.visitnum)].dropna(subset=["CHG"])
    _, responses = fas_responses(adam, spec.population)
    responders = responses.loc[responses["PARAMCD"].eq("SRI4") & responses["AVISITN"].eq(visit.visitnum)
                               & responses["AVALC"].eq("Y"), "USUBJID"]
    bars = changes.assign(responder=changes["USUBJID"].isin(responders)).sort_values(
        ["CHG", "USUBJID"], ascending=[False, True], kind="stable")
    fig, ax = new_figure()
    x = np.arange(len(bars))
    colours = np.where(bars["responder"], "tab:blue", "tab:orange")
    ax.bar(x, bars["CHG"], color=colours, width=0.8)
    threshold = -min(study.endpoints.sri_thresholds)
    ax.axhline(threshold, color="grey", linestyle="--", linewidth=0.8)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xticks([])
    ard = Ard(spec.number)  # one bar per subject: its change, in the plotted order
    for subject, change, responder in zip(bars["USUBJID"], bars["CHG"], bars["responder"]):
        ard.add("chg", change, numbers.fmt(change, collected_decimals("SLEDAI", bars["CHG"])),
                groups=(("USUBJID", subject), ("AVISIT", visit.visit)), variable="CHG", level="Y" if responder else "N")
    ax.set_xlabel(f"Subjects with a SLEDAI-2K assessment at {visit.visit.title()} (n={len(bars)}), sorted by change")
    ax.set_ylabel("SLEDAI-2K change from baseline")
    ax.legend(handles=[Patch(color="tab:blue", label="SRI-4 responder"), Patch(color="tab:orange", label="SRI-4 non-responder")],
              frameon=False, loc="lower left")
    return (Output.from_spec(spec).with_n(n).with_figure(fig).with_ard(ard)
            .with_footnotes([f"Dashed line: reduction of {-threshold} points (SLEDAI-2K component of SRI-4). "
                             f"{n - len(bars)} FAS subjects without a {visit.visit.title()} assessment are not shown."]))


def subgroup_rates(adam: Mapping[str, pd.DataFrame], flag: str, study: Study) -> pd.DataFrame:
    """SRI-4 responders at the primary visit (non-responder imputation) overall and per subgroup of SAP
    section 8.4: baseline involvement of each SLEDAI-2K organ group (ADSL flag = Y; groups, flags and names
    from `organ_groups` of sap/specs/raw/instruments.yaml, as Table 14.2.5). Columns: subgroup, x, n,
    rate, lower, upper (Clopper-Pearson). Empty subgroups are kept with n = 0."""
    groups_of_organs = organ_groups()
    subjects, responses = fas_responses(adam, flag)
    adsl = dataset(adam, "ADSL", ["USUBJID", *[f for f, _, _ in groups_of_organs]])
    adsl = adsl[adsl["USUBJID"].isin(subjects["USUBJID"])].drop_duplicates("USUBJID")
    responders = responses.loc[responses["PARAMCD"].eq("SRI4") & responses["AVISITN"].eq(study.primary_visit.visitnum)
                               & responses["AVALC"].eq("Y"), "USUBJID"]
    respond = adsl["USUBJID"].isin(responders)
    groups = [("All subjects", pd.Series(True, index=adsl.index))]
    groups += [(label, adsl[f].eq("Y")) for f, _, label in groups_of_organs]
    out = pd.DataFrame({"subgroup": [g for g, _ in groups],
                        "x": [int((m & respond).sum()) for _, m in groups],
                        "n": [int(m.sum()) for _, m in groups]})
    out["lower"], out["upper"] = clopper_pearson_bounds(out["x"].to_numpy(), out["n"].to_numpy(), 1 - study.endpoints.alpha)
    out["rate"] = np.where(out["n"] > 0, out["x"] / out["n"].where(out["n"] > 0, 1), np.nan)
    return out


def subgroup_forest_figure(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Figure 14.2.5.1: forest plot of the SRI-4 response rate (%) with Clopper-Pearson 95% CI at the
    primary visit per subgroup (`subgroup_rates`), the overall rate as a dotted line and the historical
    rate (study.yaml) as a dashed line; subgroups without subjects are listed with "n=0"."""
    rates = subgroup_rates(adam, spec.population, study)
    fig, ax = new_figure((7.5, 5.2))
    y = np.arange(len(rates))[::-1]
    shown = rates["n"].to_numpy() > 0
    rate = 100 * rates["rate"].to_numpy()
    err = np.vstack([rate - 100 * rates["lower"].to_numpy(), 100 * rates["upper"].to_numpy() - rate])
    ax.errorbar(rate[shown], y[shown], xerr=err[:, shown], fmt="s", markersize=4, capsize=2, color="tab:blue", linewidth=1)
    ax.set_yticks(y, [f"{g} ({x}/{n})" for g, x, n in zip(rates["subgroup"], rates["x"], rates["n"])])
    ax.axvline(100 * rates["rate"].iloc[0], color="tab:blue", linestyle=":", linewidth=0.8)
    ax.axvline(100 * study.endpoints.historical_response_rate, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlim(-2, 102)  # a little room so a 0% or 100% marker is not cut by the frame
    ax.set_xlabel(f"SRI-4 response at {study.primary_visit.visit.title()}, % (95% CI)")
    ax.set_ylabel("Subgroup (responders/N)")
    ard = Ard(spec.number)  # the plotted points: rate and CI per subgroup
    for row in rates.itertuples():
        ard.rate(int(row.x), int(row.n), row.lower, row.upper, groups=(("SUBGROUP", row.subgroup), ("AVISIT", study.primary_visit.visit)),
                 variable="SRI4", level="Y")
    return (Output.from_spec(spec).with_n(int(rates["n"].iloc[0])).with_figure(fig).with_ard(ard)
            .with_footnotes([f"Dotted line: overall rate; dashed line: historical response rate "
                             f"{study.endpoints.historical_response_rate:.0%}. Non-responder imputation; subgroups are not "
                             "mutually exclusive."]))


def treg_box_figure(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Figure 14.2.7.1: Treg (% of CD4+; ADLB TREG analysis records) by week: a box per visit (median,
    quartiles, whiskers 1.5 x IQR, Tukey) over grey lines joining each subject's values (one matplotlib
    call for all subjects: a week x subject matrix, missing visits leaving gaps)."""
    n, records = _analysis_records(adam, spec.population, "ADLB", "TREG")
    week = {v.visitnum: v.week for v in study.visits}
    records = records.assign(week=records["AVISITN"].map(week)).dropna(subset=["week", "AVAL"])
    weeks = [v.week for v in study.visits]
    matrix = records.pivot_table(index="week", columns="USUBJID", values="AVAL", aggfunc="first").reindex(weeks)
    fig, ax = new_figure()
    if matrix.shape[1]:
        ax.plot(matrix.index.to_numpy(), matrix.to_numpy(), color="grey", alpha=0.35, linewidth=0.6)
    groups = [records.loc[records["week"].eq(w), "AVAL"].to_numpy() for w in weeks]
    ax.boxplot(groups, positions=weeks, widths=1.0, whis=1.5, showfliers=True, patch_artist=True,
               boxprops={"facecolor": "white", "alpha": 0.8}, medianprops={"color": "tab:red"})
    ax.set_xticks(weeks, [f"{w}\nn={len(g)}" for w, g in zip(weeks, groups)])
    ax.set_xlabel("Week (n = subjects with a value)")
    ax.set_ylabel("Treg, % of CD4+ T cells")
    ard = Ard(spec.number)  # each box: n, median, quartiles, min and max per visit
    for visit in study.visits:
        values = records.loc[records["week"].eq(visit.week), "AVAL"]
        ard.summary(values, collected_decimals("TREG", values), only=("n", "median", "q1", "q3", "min", "max"),
                    groups=(("PARAMCD", "TREG"), ("AVISIT", visit.visit)), variable="AVAL")
    return Output.from_spec(spec).with_n(n).with_figure(fig).with_ard(ard)
