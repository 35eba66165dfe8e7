"""Time to first SRI-4 response (SAP section 8.6): Kaplan-Meier table and figure from ADTTE.

The event is a response, so the displays show the cumulative response probability 1 - S(t) (the
proportion of subjects who have responded by day t) with S(t) the Kaplan-Meier estimate of remaining a
non-responder; the median time to response is the first day at which S(t) <= 0.5.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sap.study import Study
from tlf.catalog import OutputSpec
from tlf import numbers
from tlf.ard import Ard
from tlf.inputs import dataset, one_record_per_subject, population
from tlf.output import Output
from tlf.render.figures import new_figure
from tlf.survival import at_risk, kaplan_meier

ADTTE_VARS = ["USUBJID", "PARAMCD", "AVAL", "CNSR"]


def _records(adam: Mapping[str, pd.DataFrame], flag: str, study: Study) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    subjects = population(dataset(adam, "ADSL", ["USUBJID", flag]), flag)
    paramcd = f"TTSRI{min(study.endpoints.sri_thresholds)}"
    adtte = dataset(adam, "ADTTE", ADTTE_VARS)
    records = adtte[adtte["PARAMCD"].eq(paramcd) & adtte["USUBJID"].isin(subjects["USUBJID"])]
    one_record_per_subject(records, "ADTTE", ["PARAMCD"])
    return subjects, records, paramcd


def time_to_response_table(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Table 14.2.9: subjects, responders (events), censored; Kaplan-Meier median time to first SRI-4
    response with its confidence interval (Brookmeyer-Crowley, log-log); the cumulative response probability
    1 - S(t) with confidence limits at the target day of each post-baseline visit."""
    subjects, records, paramcd = _records(adam, spec.population, study)
    n = len(subjects)
    confidence = 1 - study.endpoints.alpha
    km = kaplan_meier(records["AVAL"], 1 - records["CNSR"].astype("int64"), confidence)
    median, low, high = km.median()
    ard = Ard(spec.number)
    where = {"groups": (("PARAMCD", paramcd),), "variable": "AVAL"}
    days = numbers.decimals_for("minmax", 0)  # days are whole: shown as collected

    def day(stat: str, value: float) -> str:
        return "NE" if np.isnan(value) else ard.add(stat, value, numbers.fmt(value, days), **where)

    rows = [
        ("Subjects, n", ard.count(n, stat="N", **where)),
        ("Responded (event), n (%)", ard.n_pct(km.events, n, **{**where, "variable": "CNSR", "level": "0"})),
        ("Censored without a response, n (%)", ard.n_pct(n - km.events, n, **{**where, "variable": "CNSR", "level": "1"})),
        ("Median time to response, days", day("median", median)),
        (f"  {confidence:.0%} CI", f"{day('median_lcl', low)}, {day('median_ucl', high)}"),
    ]
    def responded(stat: str, survival: float, at: dict) -> str:
        """1 - S as a percentage (ARD value in percent); NE where the limit is not defined (S = 0)."""
        q = numbers.exact(survival)
        if q is None:
            return "NE"
        return ard.add(stat, (1 - q) * 100, numbers.format_percent(1 - q), **at)

    for visit in study.post_baseline_visits:
        s, s_low, s_high = km.survival_at(visit.target_day)
        at = {"groups": (("PARAMCD", paramcd), ("ADY", visit.target_day)), "variable": "AVAL"}
        pct, lcl, ucl = responded("cum_pct", s, at), responded("cum_lcl", s_high, at), responded("cum_ucl", s_low, at)
        rows.append((f"Responded by day {visit.target_day} ({visit.visit.title()}), % ({confidence:.0%} CI)",
                     f"{pct} ({lcl}, {ucl})"))
    body = pd.DataFrame(rows, columns=["statistic", "value"])
    return (Output.from_spec(spec).with_n(n).with_ard(ard)
            .with_body(body, headers=[f"Time to first {paramcd.removeprefix('TT').replace('SRI', 'SRI-')} response",
                                      f"{study.arm.arm} (N={n})"], col_widths=[3.2, 1.8], align=["l", "c"]))


def time_to_response_figure(adam: Mapping[str, pd.DataFrame], spec: OutputSpec, study: Study) -> Output:
    """Figure 14.2.9.1: Kaplan-Meier cumulative response probability 1 - S(t) by study day (step function,
    censored subjects marked +), with the number of subjects still without a response under each visit."""
    subjects, records, paramcd = _records(adam, spec.population, study)
    km = kaplan_meier(records["AVAL"], 1 - records["CNSR"].astype("int64"), 1 - study.endpoints.alpha)
    steps = pd.concat([pd.DataFrame({"time": [0.0], "survival": [1.0]}), km.table[["time", "survival"]]], ignore_index=True)
    last_day = float(max(records["AVAL"].max() if len(records) else 0, study.visits[-1].target_day))
    fig, ax = new_figure()
    ax.step(list(steps["time"]) + [last_day], list(1 - steps["survival"]) + [1 - steps["survival"].iloc[-1]], where="post",
            color="tab:blue", linewidth=1.4)
    censored = records[records["CNSR"].eq(1)]
    if len(censored):
        heights = [1 - km.survival_at(t)[0] for t in censored["AVAL"]]
        ax.plot(censored["AVAL"], heights, linestyle="none", marker="+", markersize=8, color="tab:blue")
    days = [v.target_day for v in study.visits]
    counts = at_risk(records["AVAL"], days)
    ax.set_xticks(days, [f"{d}\n{c}" for d, c in zip(days, counts)])
    ax.set_xlim(0, last_day)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Study day (below: subjects at risk, i.e. not yet responded and not censored)")
    ax.set_ylabel(f"Cumulative probability of {paramcd.removeprefix('TT').replace('SRI', 'SRI-')} response")
    ard = Ard(spec.number)  # the step function: 1 - S(t) in percent at each event day
    for time, survival in zip(km.table["time"], km.table["survival"]):
        q = 1 - numbers.exact(float(survival))
        ard.add("cum_pct", q * 100, numbers.format_percent(q), groups=(("PARAMCD", paramcd), ("ADY", int(time))), variable="AVAL")
    return (Output.from_spec(spec).with_n(len(subjects)).with_figure(fig).with_ard(ard)
            .with_footnotes(["+: censored (no response by the last assessment)."]))
