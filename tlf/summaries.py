"""Summary building blocks shared by the 14.x builders: subject counts, n (%) rows, responder rates with
Clopper-Pearson CIs, descriptive statistics of a value and its change from baseline by visit.

Display conventions (the formatting functions of `tlf.stats`, listed here once):
- n (%): percentage of the population N (or of the stated denominator) to one decimal; "0" alone for none;
- responder rates: n/N, % to one decimal, Clopper-Pearson exact 95% CI in percent to one decimal;
- continuous data: the precision rule of sap/specs/display.yaml from the decimals the variable is collected
  with (mean, median and quartiles one more, SD two more, min/max as collected), rounded half away from
  zero on the exact values (tlf.numbers);
- p-values three decimals, "<0.001" below 0.001; "NE" when not estimable.
All functions are vectorised over subjects: a Python loop runs over visits or parameters only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tlf.ard import Ard
from tlf.numbers import collected_decimals, decimals_for, fmt
from tlf.stats import clopper_pearson_bounds, format_percent, hodges_lehmann, mean_ci, n_percent, wilcoxon_signed_rank

INDENT = "  "
OBSERVED_STATS = ("n", "mean", "sd")  # of the observed value in the change tables: what the display shows


def data_decimals(values: pd.Series, most: int = 3) -> int:
    """The number of decimals the data are recorded with: the smallest k <= `most` such that every value
    equals itself rounded to k decimals (44.1 -> 1, 171.0 -> 0, 2.18 -> 2)."""
    x = pd.Series(values, dtype="float64").dropna().to_numpy()
    if x.size == 0:
        return 0
    for k in range(most + 1):
        if np.all(np.abs(x - np.round(x, k)) < 1e-9 * np.maximum(1.0, np.abs(x))):
            return k
    return most


def count_subjects(df: pd.DataFrame, mask: pd.Series | None = None) -> int:
    """Distinct subjects among the rows of `df` (where `mask` holds): a subject is counted once."""
    rows = df if mask is None else df[mask]
    return int(rows["USUBJID"].nunique())


def n_pct_row(label: str, x: int, n: int) -> tuple[str, str]:
    return (label, n_percent(int(x), int(n)))


def rate_columns(x: np.ndarray, n: np.ndarray, confidence: float) -> pd.DataFrame:
    """Display columns for responder counts: "x/n", "%" and "lower, upper" (Clopper-Pearson exact)."""
    x = np.asarray(x, dtype="int64")
    n = np.asarray(n, dtype="int64")
    lower, upper = clopper_pearson_bounds(x, n, confidence)
    safe_n = np.where(n > 0, n, 1)
    rate = x / safe_n
    return pd.DataFrame({
        "n_over_n": [f"{a}/{b}" for a, b in zip(x, n)],
        "percent": [format_percent(r) if b > 0 else "NE" for r, b in zip(rate, n)],
        "ci": [f"{format_percent(lo)}, {format_percent(hi)}" if b > 0 else "NE" for lo, hi, b in zip(lower, upper, n)],
    })


def rates_into_ard(ard: Ard, x: np.ndarray, n: np.ndarray, confidence: float, groups: list[tuple],
                   variable: str = "AVALC", level: str = "Y") -> pd.DataFrame:
    """`rate_columns` with every statistic recorded in `ard` (n, N, pct, lcl, ucl per row; `groups[i]` are
    the grouping pairs of row i): the display text comes from the ARD."""
    x = np.asarray(x, dtype="int64")
    n = np.asarray(n, dtype="int64")
    lower, upper = clopper_pearson_bounds(x, n, confidence)
    shown = [ard.rate(int(a), int(b), lo, hi, groups=g, variable=variable, level=level)
             for a, b, lo, hi, g in zip(x, n, lower, upper, groups)]
    return pd.DataFrame(shown, columns=["n_over_n", "percent", "ci"])


def change_estimates(ard: Ard, change: pd.Series, decimals: int, confidence: float, where: dict) -> str:
    """Mean change with its t-based CI and the Hodges-Lehmann shift with its CI (tlf.stats.mean_ci,
    hodges_lehmann), recorded as mean_lcl/mean_ucl and hl/hl_lcl/hl_ucl; display "m (l, u); HL h (l, u)",
    "NE" parts when not estimable."""
    mean_d, hl_d = decimals_for("ci_mean", decimals), decimals_for("hodges_lehmann", decimals)
    ci = mean_ci(change, confidence)
    if ci is None:
        mean_text = "NE"
    else:
        low = ard.add("mean_lcl", ci[0], fmt(ci[0], mean_d), variable="CHG", **where)
        high = ard.add("mean_ucl", ci[1], fmt(ci[1], mean_d), variable="CHG", **where)
        mean_text = f"({low}, {high})"
    shift = hodges_lehmann(change, confidence)
    if shift is None:
        return f"{mean_text}; HL NE"
    hl = ard.add("hl", shift.estimate, fmt(shift.estimate, hl_d), variable="CHG", **where)
    low = ard.add("hl_lcl", shift.lower, fmt(shift.lower, hl_d), variable="CHG", **where)
    high = ard.add("hl_ucl", shift.upper, fmt(shift.upper, hl_d), variable="CHG", **where)
    return f"{mean_text}; HL {hl} ({low}, {high})"


def change_by_visit(records: pd.DataFrame, paramcds: list[str], visits: list, decimals: dict[str, int] | None = None,
                    ard: Ard | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Observed value and change from baseline by parameter and visit (SAP secondary analyses):

    one header row per parameter (PARAM), then per visit: n, mean (SD) of the observed value, and of the
    change from baseline n, mean (SD), median, Q1, Q3, min, max and the Wilcoxon signed-rank p-value
    (tlf.stats.wilcoxon_signed_rank). `records` are analysis records (one per subject, parameter and visit:
    ANL01FL = Y) with PARAMCD, PARAM, AVISITN, AVAL, CHG. Baseline is the first visit of `visits` (no
    change). A visit without data keeps its row with n = 0. Decimals: the collected decimals of the
    parameter (sap/specs/display.yaml) and the precision rule; every statistic is recorded in `ard`
    (groups PARAMCD and AVISIT, variables AVAL and CHG).

    Returns display text with columns: label, n, value, chg_n, chg_mean, chg_median, chg_q, chg_range, p.
    """
    ard = ard if ard is not None else Ard("")
    rows = []
    for paramcd in paramcds:
        part = records[records["PARAMCD"].eq(paramcd)]
        name = part["PARAM"].dropna().iloc[0] if part["PARAM"].notna().any() else paramcd
        d = (decimals or {}).get(paramcd, collected_decimals(paramcd, part["AVAL"]))
        rows.append({"label": name})
        for i, visit in enumerate(visits):
            at = part[part["AVISITN"].eq(visit.visitnum)]
            where = {"groups": (("PARAMCD", paramcd), ("AVISIT", visit.visit))}
            value = ard.summary(at["AVAL"], d, only=OBSERVED_STATS, variable="AVAL", **where)
            name_shown = "Baseline" if i == 0 else visit.visit.title()
            row = {"label": INDENT + name_shown, "n": value["n"], "value": value["Mean (SD)"]}
            if i > 0:
                change = ard.summary(at["CHG"], d, variable="CHG", **where)
                row.update({"chg_n": change["n"], "chg_mean": change["Mean (SD)"], "chg_median": change["Median"],
                            "chg_q": change["Q1, Q3"], "chg_range": change["Min, Max"],
                            "chg_ci": change_estimates(ard, at["CHG"], d, confidence, where),
                            "p": ard.p_value(wilcoxon_signed_rank(at["CHG"]), stat="p_wilcoxon", variable="CHG", **where)})
            rows.append(row)
    columns = ["label", "n", "value", "chg_n", "chg_mean", "chg_median", "chg_q", "chg_range", "chg_ci", "p"]
    return pd.DataFrame(rows, columns=columns).fillna("")


CHANGE_HEADERS = ["Parameter / Visit", "n", "Value Mean (SD)", "Change n", "Change Mean (SD)", "Change Median",
                  "Change Q1, Q3", "Change Min, Max", "Change 95% CI of mean; HL shift (95% CI)", "Wilcoxon p"]
CHANGE_WIDTHS = [22, 5, 13, 7, 13, 9, 13, 12, 27, 8]
