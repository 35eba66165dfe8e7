"""Statistics for the TLFs, each a thin, documented wrapper around scipy so the method named in a footnote
is the method computed.

Formatting: every number is rounded half away from zero on its exact value with the precision of
sap/specs/display.yaml (tlf.numbers): percentages one decimal (`90.0`), a CI as `76.3, 97.2` in percent,
p-values three decimals (`<0.001` below 0.001, `>0.999` above 0.999), descriptive statistics mean, median
and quartiles one decimal more than collected, SD two more, min and max as collected.

Methods (SAP section "Statistical methods"): all tests two-sided, p-values nominal (not adjusted for
multiplicity). Wilcoxon signed-rank: differences of zero dropped before ranking (Wilcoxon's rule), exact
null distribution when at most 50 non-zero differences without ties, otherwise the normal approximation with
the tie-corrected variance and no continuity correction; computed with pingouin (scipy underneath).
McNemar: exact (binomial test of the discordant pairs), pingouin `chi2_mcnemar` "p_exact".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from fractions import Fraction

from sap.errors import Problem, SapError
from tlf import numbers


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


EXACT_WILCOXON_MAX_N = 50  # SAP: exact signed-rank distribution up to 50 non-zero differences without ties


def wilcoxon_method(nonzero: np.ndarray) -> str:
    """The SAP's Wilcoxon variant for these non-zero differences: "exact" when n <= 50 and no two |d| tie,
    else "asymptotic" (normal approximation, tie-corrected variance, no continuity correction). scipy's
    `method="auto"` is not used: it switches to a permutation test with ties at n <= 13."""
    magnitudes = np.abs(nonzero)
    ties = len(np.unique(magnitudes)) < len(magnitudes)
    return "exact" if len(nonzero) <= EXACT_WILCOXON_MAX_N and not ties else "asymptotic"


def wilcoxon_signed_rank(change: pd.Series | np.ndarray) -> float:
    """Wilcoxon signed-rank test of H0: median change = 0, two-sided (SAP change from baseline): zero
    differences dropped (`zero_method="wilcox"`), the variant of `wilcoxon_method`, no continuity
    correction; pingouin.wilcoxon (which passes these to scipy.stats.wilcoxon). The changes are exact
    decimals (adam.derive.baseline), so equal changes tie. NaN when no non-zero change remains."""
    import pingouin

    values = pd.Series(change, dtype="float64").dropna().to_numpy()
    values = values[values != 0]
    if values.size == 0:
        return float("nan")
    result = pingouin.wilcoxon(values, alternative="two-sided", zero_method="wilcox", correction=False,
                               method=wilcoxon_method(values))
    return float(result["p_val"].iloc[0])


def discordant_pairs(before: pd.Series, after: pd.Series) -> tuple[int, int]:
    """(b, c): pairs present before and absent after, and absent before and present after (pairs with a
    missing side dropped)."""
    pairs = pd.DataFrame({"before": before, "after": after}).dropna().astype(bool)
    return int((pairs["before"] & ~pairs["after"]).sum()), int((~pairs["before"] & pairs["after"]).sum())


def mcnemar_exact(before: pd.Series, after: pd.Series) -> float:
    """McNemar's exact test for paired binary data (organ involvement baseline vs visit), two-sided: the
    binomial test of b successes in b + c discordant pairs with p = 0.5 (pingouin `chi2_mcnemar`
    "p_exact"). NaN ("NE" in the tables) when no pair is discordant: the test is not defined."""
    import pingouin

    b, c = discordant_pairs(before, after)
    if b + c == 0:
        return float("nan")
    pairs = pd.DataFrame({"before": before, "after": after}).dropna().astype(bool).astype("int64")
    _, result = pingouin.chi2_mcnemar(pairs, "before", "after")
    return float(result["p_exact"].iloc[0])


def format_percent(fraction: float) -> str:
    """A fraction of 1 as a percentage with the percent precision, half away from zero: 0.9 -> "90.0"."""
    return numbers.format_percent(fraction)


def format_p(p: float) -> str:
    """p-values with three decimals; "<0.001" and ">0.999" at the ends; "NE" when not estimable."""
    return numbers.format_p(p)


def n_percent(x: int, n: int) -> str:
    """"x (pp.p)"; "0" with no percentage when x = 0 (house style), "x" alone when n = 0."""
    if x == 0:
        return "0"
    if n == 0:
        return str(x)
    return f"{x} ({numbers.format_percent(Fraction(int(x), int(n)))})"


def describe(values: pd.Series, decimals: int = 1) -> dict[str, str]:
    """Descriptive summary of a numeric variable as display text: n, Mean (SD), Median, Q1, Q3, Min, Max,
    on exact values (tlf.numbers.summarise: quantile definition 7) with the precision rule of display.yaml
    from `decimals` collected decimals, rounded half away from zero."""
    from tlf.ard import Ard

    return Ard("").summary(values, decimals)


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


def signed_rank_quantile(probability: float, n: int) -> int:
    """R's qsignrank(p, n): the smallest t with P(T+ <= t) >= p under the exact null distribution of the
    signed-rank statistic for n untied non-zero differences (counts of subsets of 1..n by their sum)."""
    counts = np.zeros(n * (n + 1) // 2 + 1, dtype=object)
    counts[0] = 1
    for rank in range(1, n + 1):  # subset-sum counts, exact integers
        counts[rank:] = counts[rank:] + counts[:-rank].copy()
    cumulative = np.cumsum(counts) / (2 ** n)
    return int(np.argmax(cumulative >= probability - 1e-12))


@dataclass(frozen=True)
class ShiftEstimate:
    """Hodges-Lehmann estimate of the median change with its confidence limits (exact rationals)."""

    estimate: object
    lower: object
    upper: object


def hodges_lehmann(change: pd.Series, confidence: float = 0.95) -> ShiftEstimate | None:
    """Hodges-Lehmann one-sample shift (SAP: estimate with the Wilcoxon test): the median of the Walsh
    averages (x_i + x_j) / 2, i <= j, of the non-zero changes (zeros dropped as for the test, as R's
    wilcox.test), on exact values. CI [W(k), W(M + 1 - k)], M = n(n + 1) / 2: k = qsignrank(alpha/2, n)
    (at least 1) from the exact distribution when the test is exact (`wilcoxon_method`), else
    k = floor(M / 2 - z(1 - alpha/2) * sqrt(n(n + 1)(2n + 1) / 24)) (normal approximation, at least 1).
    None without a non-zero change."""
    values = [q for q in numbers.exact_values(change) if q != 0]
    n = len(values)
    if n == 0:
        return None
    walsh = sorted((values[i] + values[j]) / 2 for i in range(n) for j in range(i, n))
    m = len(walsh)
    alpha = 1 - confidence
    if wilcoxon_method(np.array([float(v) for v in values])) == "exact":
        k = max(signed_rank_quantile(alpha / 2, n), 1)
    else:
        k = max(int(np.floor(m / 2 - stats.norm.ppf(1 - alpha / 2) * np.sqrt(n * (n + 1) * (2 * n + 1) / 24))), 1)
    return ShiftEstimate(numbers.quantile7(walsh, Fraction(1, 2)), walsh[k - 1], walsh[m - k])


def mean_ci(change: pd.Series, confidence: float = 0.95) -> tuple[object, object] | None:
    """t-based confidence interval of a mean: mean -/+ t(1 - alpha/2; n - 1) * SD / sqrt(n), on the exact
    mean and SD (tlf.numbers.summarise); None when n < 2."""
    from decimal import Decimal, localcontext

    s = numbers.summarise(change)
    if s.n < 2:
        return None
    t = Decimal(repr(float(stats.t.ppf(1 - (1 - confidence) / 2, s.n - 1))))
    with localcontext() as ctx:
        ctx.prec = 40
        mean = Decimal(s.mean.numerator) / Decimal(s.mean.denominator)
        half = t * s.se
        return mean - half, mean + half
