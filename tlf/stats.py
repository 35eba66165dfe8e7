"""Statistics for the TLFs, each a thin, documented wrapper around scipy so the method named in a footnote
is the method computed.

Formatting rules (one place, used by every builder):
- percentages: one decimal (`90.0`); a CI as `76.3, 97.2` in percent, one decimal;
- p-values: three decimals, `<0.001` below 0.001, `>0.999` above 0.999;
- descriptive statistics: mean, SD, median, quartiles one more decimal than the data (`decimals + 1`),
  min and max as many decimals as the data (`decimals`), SD `decimals + 2` (ICH/PhUSE display convention).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sap.errors import Problem, SapError


@dataclass(frozen=True)
class Proportion:
    """x/n with its exact (Clopper-Pearson) confidence interval, as fractions of 1."""

    x: int
    n: int
    estimate: float
    lower: float
    upper: float
    confidence: float

    def percent_text(self) -> str:
        return format_percent(self.estimate)

    def ci_text(self) -> str:
        return f"{format_percent(self.lower)}, {format_percent(self.upper)}"


def _check_counts(x: int, n: int, where: str) -> None:
    if n <= 0 or x < 0 or x > n:
        raise SapError(Problem(where, "need 0 <= x <= n and n > 0", value=f"x={x}, n={n}"))


def clopper_pearson(x: int, n: int, confidence: float = 0.95) -> Proportion:
    """Clopper-Pearson exact CI for a binomial proportion: [Beta(a/2; x, n-x+1), Beta(1-a/2; x+1, n-x)],
    lower 0 when x = 0 and upper 1 when x = n (SAP primary analysis; scipy
    `binomtest(x, n).proportion_ci(method="exact")`). Not Wilson: gtsummary's default differs."""
    _check_counts(int(x), int(n), "clopper_pearson")
    ci = stats.binomtest(int(x), int(n)).proportion_ci(confidence_level=confidence, method="exact")
    return Proportion(int(x), int(n), x / n, float(ci.low), float(ci.high), confidence)


def binomial_test(x: int, n: int, rate: float, alternative: str = "two-sided") -> float:
    """Exact binomial test of H0: p = rate (SAP: response vs the historical rate). scipy's two-sided p
    sums the probabilities of all outcomes no more likely than the observed one (not doubling)."""
    _check_counts(int(x), int(n), "binomial_test")
    return float(stats.binomtest(int(x), int(n), p=rate, alternative=alternative).pvalue)


def wilcoxon_signed_rank(change: pd.Series | np.ndarray) -> float:
    """Wilcoxon signed-rank test of H0: median change = 0 (SAP change from baseline). Zero differences
    are dropped (Wilcoxon's original rule, scipy `zero_method="wilcox"`); the p-value is exact when
    n <= 50 and there are neither ties nor zeros (scipy `method="auto"`), normal approximation otherwise.
    Returns NaN when fewer than one non-zero change remains."""
    values = pd.Series(change, dtype="float64").dropna()
    values = values[values.ne(0)]
    if values.empty:
        return float("nan")
    return float(stats.wilcoxon(values, zero_method="wilcox", method="auto").pvalue)


def mcnemar_exact(before: pd.Series, after: pd.Series) -> float:
    """McNemar's exact test for paired binary data (organ involvement baseline vs visit): a two-sided
    binomial test of b successes in b + c discordant pairs with p = 0.5. 1.0 when no pair is discordant.
    Pairs with either value missing are dropped."""
    pairs = pd.DataFrame({"before": before, "after": after}).dropna().astype(bool)
    b = int((pairs["before"] & ~pairs["after"]).sum())
    c = int((~pairs["before"] & pairs["after"]).sum())
    if b + c == 0:
        return 1.0
    return float(stats.binomtest(b, b + c, p=0.5).pvalue)


def format_percent(fraction: float) -> str:
    """A fraction of 1 as a percentage with one decimal: 0.9 -> "90.0"."""
    return f"{100 * fraction:.1f}"


def format_p(p: float) -> str:
    """p-values with three decimals; "<0.001" and ">0.999" at the ends; "NE" when not estimable."""
    if p is None or np.isnan(p):
        return "NE"
    if p < 0.001:
        return "<0.001"
    if p > 0.999:
        return ">0.999"
    return f"{p:.3f}"


def n_percent(x: int, n: int) -> str:
    """"x (pp.p)"; "0" with no percentage when x = 0 (house style), "x" alone when n = 0."""
    if x == 0:
        return "0"
    if n == 0:
        return str(x)
    return f"{x} ({format_percent(x / n)})"


def describe(values: pd.Series, decimals: int = 1) -> dict[str, str]:
    """Descriptive summary of a numeric variable as display text: n, Mean (SD), Median, Q1, Q3, Min, Max.

    Quartiles are the type-7 (linear interpolation) quantiles of pandas/numpy and of R's default; SAS
    PROC MEANS uses type 2 by default (differs for small n). Rounding is Python's round-half-even on the
    binary value. Mean/median/Q1/Q3 use `decimals + 1`, SD `decimals + 2`, min/max `decimals`."""
    x = pd.Series(values, dtype="float64").dropna()
    n = len(x)
    if n == 0:
        return {"n": "0", "Mean (SD)": "", "Median": "", "Q1, Q3": "", "Min, Max": ""}
    d1, d2 = decimals + 1, decimals + 2
    sd = f"{x.std(ddof=1):.{d2}f}" if n > 1 else "NE"
    return {
        "n": str(n),
        "Mean (SD)": f"{x.mean():.{d1}f} ({sd})",
        "Median": f"{x.median():.{d1}f}",
        "Q1, Q3": f"{x.quantile(0.25):.{d1}f}, {x.quantile(0.75):.{d1}f}",
        "Min, Max": f"{x.min():.{decimals}f}, {x.max():.{decimals}f}",
    }


def clopper_pearson_bounds(x: np.ndarray, n: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised Clopper-Pearson bounds for many (x, n) pairs (figures, by-visit tables): the beta-quantile
    form [Beta(a/2; x, n-x+1), Beta(1-a/2; x+1, n-x)], lower 0 at x = 0, upper 1 at x = n, NaN when n = 0.
    Identical to `clopper_pearson` (scipy's binomtest uses the same quantiles)."""
    x = np.asarray(x, dtype="float64")
    n = np.asarray(n, dtype="float64")
    alpha = 1 - confidence
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(x > 0, stats.beta.ppf(alpha / 2, x, n - x + 1), 0.0)
        upper = np.where(x < n, stats.beta.ppf(1 - alpha / 2, x + 1, n - x), 1.0)
    empty = n <= 0
    return np.where(empty, np.nan, lower), np.where(empty, np.nan, upper)
