"""Efficacy builders (ICH E3 14.2): ADaM in, `tlf.output.Output` out; no file is written here.

Conventions (SAP section 6): responder rates use the full analysis set N as denominator; a FAS subject
without an analysis record at the visit counts as a non-responder (non-responder imputation), as ADRS
records with DTYPE "NRI" already do.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sap.study import Study
from tlf.catalog import OutputSpec
from tlf.inputs import dataset, one_record_per_subject, population
from tlf.ard import Ard
from tlf.output import Output
from tlf.render.figures import new_figure
from tlf.stats import binomial_test, clopper_pearson, clopper_pearson_bounds, format_p

RATES_OUTPUT = "14.2.2"  # the catalogue entry whose `reads` name the ADRS variables of the SRI rates


def adrs_variables() -> list[str]:
    """The ADRS variables of the SRI rates: `reads` of Table 14.2.2 in sap/outputs.yaml (the QC stage reads
    the same list from there for the production rates)."""
    from tlf.catalog import load_outputs

    return list(load_outputs().get(RATES_OUTPUT).reads["ADRS"])


def _analysis_responses(adam: Mapping[str, pd.DataFrame], flag: str, primary_only: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Population subjects and their response records. `primary_only`: the primary analysis records
    (ANL01FL = "Y", set by ADRS at the plan's primary visit); otherwise every visit's record (NRI included)."""
    subjects = population(dataset(adam, "ADSL", ["USUBJID", flag]), flag)
    adrs = dataset(adam, "ADRS", adrs_variables())
    records = adrs[adrs["USUBJID"].isin(subjects["USUBJID"])]
    if primary_only:
        records = records[records["ANL01FL"].eq("Y")]
    one_record_per_subject(records, "ADRS", ["PARAMCD", "AVISITN"])
    return subjects, records


def sri_primary_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.2.1: SRI-4 at the primary visit (SAP primary analysis): responders n/N with N = FAS,
    response rate, Clopper-Pearson exact 95% CI, and the exact binomial test against the historical
    response rate (study.yaml endpoints.historical_response_rate, the RCT placebo arm)."""
    subjects, records = _analysis_responses(adam, spec.population)
    visit = study.primary_visit
    at_visit = records[records["PARAMCD"].eq("SRI4") & records["AVISITN"].eq(visit.visitnum)]
    n = len(subjects)
    responders = int(at_visit["AVALC"].eq("Y").sum())
    # observed = records derived from collected data (DTYPE missing); ADRS also holds the imputed records
    # (DTYPE "NRI"), and a FAS subject with no record at all is imputed too, so imputed = N - observed
    observed = int(at_visit["DTYPE"].isna().sum())
    rate = study.endpoints.historical_response_rate
    confidence = 1 - study.endpoints.alpha
    ci = clopper_pearson(responders, n, confidence) if n else None
    p = binomial_test(responders, n, rate) if n else float("nan")
    arm = f"{study.arm.arm} (N={n})"
    ard = Ard(spec.number)
    where = {"groups": (("PARAMCD", "SRI4"), ("AVISIT", visit.visit))}
    shown = ard.rate(responders, n, ci.lower if ci else np.nan, ci.upper if ci else np.nan, variable="AVALC", level="Y",
                     **where, column=arm)
    ci_label = f"{confidence:.0%} CI, %"
    p_label = f"p-value vs historical rate of {rate:.0%}"
    rows = [
        ("Responders, n/N", shown["n_over_n"]),
        ("Response rate, %", shown["percent"]),
        (ci_label, shown["ci"]),
        ("Non-responders, n", ard.count(n - responders, variable="AVALC", level="N", **where, row="Non-responders, n")),
        ("  without an assessment (imputed non-responder)",
         ard.count(n - observed, variable="DTYPE", level="NRI", **where, row="without an assessment")),
        (p_label, ard.p_value(p, stat="p_binomial", variable="AVALC", level="Y", **where, row=p_label)),
    ]
    body = pd.DataFrame(rows, columns=["statistic", "value"])
    return (Output.from_spec(spec)
            .with_n(n)
            .with_body(body, headers=[f"SRI-4 at {visit.visit.title()}", arm], col_widths=[3, 2], align=["l", "c"])
            .with_ard(ard))


def sri_rates_by_visit(adam: Mapping[str, pd.DataFrame], flag: str, study: Study) -> pd.DataFrame:
    """Responders, N, rate and Clopper-Pearson bounds per SRI parameter and post-baseline visit (NRI:
    N = population size at every visit). Every scheduled visit and threshold appears, with 0 responders
    when nobody responded (zero rows are kept)."""
    subjects, records = _analysis_responses(adam, flag, primary_only=False)
    paramcds = [f"SRI{k}" for k in study.endpoints.sri_thresholds]
    grid = pd.MultiIndex.from_product([paramcds, [v.visitnum for v in study.post_baseline_visits]],
                                      names=["PARAMCD", "AVISITN"]).to_frame(index=False)
    counts = (records[records["AVALC"].eq("Y")].groupby(["PARAMCD", "AVISITN"]).size().rename("x").reset_index())
    out = grid.merge(counts, on=["PARAMCD", "AVISITN"], how="left").fillna({"x": 0})
    out["x"] = out["x"].astype("int64")
    out["n"] = len(subjects)
    out["week"] = out["AVISITN"].map({v.visitnum: v.week for v in study.visits})
    lower, upper = clopper_pearson_bounds(out["x"].to_numpy(), out["n"].to_numpy(), 1 - study.endpoints.alpha)
    out["rate"] = np.where(out["n"] > 0, out["x"] / out["n"].where(out["n"] > 0, 1), np.nan)
    out["lower"], out["upper"] = lower, upper
    return out


def sri_by_visit_figure(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Figure 14.2.2.1: SRI-4 to SRI-8 response rate (%) by week with Clopper-Pearson exact 95% CIs
    (SAP secondary analysis), one line per threshold, slightly dodged so the bars do not overlap."""
    rates = sri_rates_by_visit(adam, spec.population, study)
    fig, ax = new_figure()
    params = list(dict.fromkeys(rates["PARAMCD"]))
    dodge = np.linspace(-0.3, 0.3, len(params)) if len(params) > 1 else np.zeros(1)
    markers = ["o", "s", "^", "D", "v", "P", "X"]
    for shift, marker, paramcd in zip(dodge, markers * 2, params):
        part = rates[rates["PARAMCD"].eq(paramcd)]
        y = 100 * part["rate"]
        err = np.vstack([y - 100 * part["lower"], 100 * part["upper"] - y])
        ax.errorbar(part["week"] + shift, y, yerr=err, marker=marker, markersize=4, capsize=2, linewidth=1,
                    label=paramcd.replace("SRI", "SRI-"))
    weeks = [v.week for v in study.post_baseline_visits]
    ax.set_xticks(weeks, [f"{w}" for w in weeks])
    ax.set_xlabel("Week")
    ax.set_ylabel("Responders, % (95% CI)")
    ax.set_ylim(0, 100)
    ax.axvline(study.primary_visit.week, color="grey", linestyle=":", linewidth=0.8)
    # legend outside the axes, below: inside it would hide the low-rate points of the stricter thresholds
    fig.legend(frameon=False, loc="outside lower center", ncols=len(params))
    n = int(rates["n"].iloc[0]) if len(rates) else 0
    ard = Ard(spec.number)  # the plotted points: rate and CI per threshold and visit
    visit_names = {v.visitnum: v.visit for v in study.visits}
    for row in rates.itertuples():
        ard.rate(int(row.x), int(row.n), row.lower, row.upper, groups=(("PARAMCD", row.PARAMCD), ("AVISIT", visit_names[row.AVISITN])),
                 variable="AVALC", level="Y")
    return (Output.from_spec(spec)
            .with_n(n)
            .with_figure(fig)
            .with_ard(ard)
            .with_footnotes([f"Dotted line: primary visit ({study.primary_visit.visit.title()})."]))
