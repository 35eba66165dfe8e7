"""tlf.stats against values worked out by hand (or from the published oracle in domain.md)."""

import numpy as np
import pandas as pd
import pytest

from sap.errors import SapError
from tlf import stats


def test_clopper_pearson_primary_oracle():
    # domain.md: 36/40 = 90.0%, Clopper-Pearson 95% CI 76.34-97.21%
    p = stats.clopper_pearson(36, 40)
    assert p.percent_text() == "90.0"
    assert p.lower == pytest.approx(0.7634, abs=5e-5)
    assert p.upper == pytest.approx(0.9721, abs=5e-5)
    assert p.ci_text() == "76.3, 97.2"


def test_clopper_pearson_edges_by_hand():
    # x = 0: lower is 0 and upper = 1 - (alpha/2)^(1/n); n = 10 -> 1 - 0.025**0.1 = 0.30850
    p = stats.clopper_pearson(0, 10)
    assert p.lower == 0.0 and p.upper == pytest.approx(1 - 0.025 ** 0.1, rel=1e-9)
    # x = n: upper is 1 and lower = (alpha/2)^(1/n) = 0.025**0.1 = 0.69150
    p = stats.clopper_pearson(10, 10)
    assert p.upper == 1.0 and p.lower == pytest.approx(0.025 ** 0.1, rel=1e-9)


def test_vectorised_bounds_equal_scalar_ones():
    lower, upper = stats.clopper_pearson_bounds(np.array([36, 0, 10, 0]), np.array([40, 10, 10, 0]))
    assert lower[0] == pytest.approx(stats.clopper_pearson(36, 40).lower, rel=1e-9)
    assert upper[0] == pytest.approx(stats.clopper_pearson(36, 40).upper, rel=1e-9)
    assert lower[1] == 0.0 and upper[2] == 1.0
    assert np.isnan(lower[3]) and np.isnan(upper[3])  # n = 0: not estimable


def test_bad_counts_are_user_errors():
    with pytest.raises(SapError, match="x=41, n=40"):
        stats.clopper_pearson(41, 40)


def test_binomial_test_by_hand():
    # 3/3 vs p = 0.5 one-sided greater: 0.5^3 = 0.125
    assert stats.binomial_test(3, 3, 0.5, alternative="greater") == pytest.approx(0.125)
    # 5/10 vs 0.5 two-sided: the observed outcome is the most likely one -> p = 1
    assert stats.binomial_test(5, 10, 0.5) == pytest.approx(1.0)


def test_wilcoxon_exact_by_hand():
    # five positive changes: W- = 0; exact P(W- <= 0) = 1/2^5; two-sided 2/32 = 0.0625
    assert stats.wilcoxon_signed_rank(pd.Series([1.0, 2, 3, 4, 5])) == pytest.approx(0.0625)
    # zeros dropped (Wilcoxon): same as above
    assert stats.wilcoxon_signed_rank(pd.Series([0.0, 1, 2, 3, 4, 5, np.nan])) == pytest.approx(0.0625)
    # -1, 2..6: W- = rank 1 = 1; P(W- <= 1) = 2/64 -> two-sided 4/64 = 0.0625
    assert stats.wilcoxon_signed_rank([-1.0, 2, 3, 4, 5, 6]) == pytest.approx(0.0625)
    assert np.isnan(stats.wilcoxon_signed_rank([0.0, 0.0]))


def test_mcnemar_exact_by_hand():
    # discordant pairs: 3 yes->no, 0 no->yes; two-sided binomial(3 of 3, 0.5) = 2 * 0.125 = 0.25
    before = pd.Series([True, True, True, True, False])
    after = pd.Series([False, False, False, True, False])
    assert stats.mcnemar_exact(before, after) == pytest.approx(0.25)
    assert np.isnan(stats.mcnemar_exact(before, before))  # no discordant pair: not defined ("NE")


def test_describe_by_hand():
    # 1,2,3,4: mean 2.5; SD sqrt(((1.5^2+0.5^2)*2)/3) = sqrt(5/3) = 1.2910; Q1 = 1 + 0.75 = 1.75 (type 7)
    d = stats.describe(pd.Series([1.0, 2, 3, 4, np.nan]), decimals=1)
    assert d == {"n": "4", "Mean (SD)": "2.50 (1.291)", "Median": "2.50", "Q1, Q3": "1.75, 3.25", "Min, Max": "1.0, 4.0"}
    assert stats.describe(pd.Series([7.0]), decimals=0)["Mean (SD)"] == "7.0 (NE)"


def test_formatting():
    assert stats.format_p(0.0004) == "<0.001"
    assert stats.format_p(0.0523) == "0.052"
    assert stats.format_p(0.9996) == ">0.999"
    assert stats.n_percent(5, 40) == "5 (12.5)"  # 5/40 = 0.125
    assert stats.n_percent(0, 40) == "0"


def test_mcnemar_exact_agrees_with_scipy():
    from scipy import stats as sp

    # 4 yes->no, 1 no->yes: two-sided binomial(1 of 5, 0.5) = 2 * (1 + 5) / 32 = 0.375
    frame = pd.DataFrame({"before": [1, 1, 1, 1, 0, 1, 0], "after": [0, 0, 0, 0, 1, 1, 0]})
    assert stats.mcnemar_exact(frame["before"].astype(bool), frame["after"].astype(bool)) == pytest.approx(0.375)
    assert sp.binomtest(1, 5, 0.5).pvalue == pytest.approx(0.375)


def test_wilcoxon_variant_agrees_with_scipy():
    from scipy import stats as sp

    # no ties, n = 6: exact; -1, 2..6 -> 4/64 (worked above); scipy exact gives the same
    assert stats.wilcoxon_method(np.array([-1.0, 2, 3, 4, 5, 6])) == "exact"
    assert stats.wilcoxon_signed_rank([-1.0, 2, 3, 4, 5, 6]) == pytest.approx(
        sp.wilcoxon([-1.0, 2, 3, 4, 5, 6], method="exact").pvalue)
    # ties (|0.04| twice): normal approximation without continuity correction. By hand: |d| = 0.04, 0.04,
    # 0.1, 0.2, 0.3 -> ranks 1.5, 1.5, 3, 4, 5; d = -0.04, 0.04, 0.1, 0.2, 0.3: T+ = 13.5, E = 7.5,
    # Var = n(n+1)(2n+1)/24 - sum(t^3 - t)/48 = 13.75 - 6/48 = 13.625; z = 6 / sqrt(13.625) = 1.62549;
    # p = 2 * (1 - Phi(1.62549)) = 0.10405
    changes = [-0.04, 0.04, 0.1, 0.2, 0.3]
    assert stats.wilcoxon_method(np.array(changes)) == "asymptotic"
    assert stats.wilcoxon_signed_rank(changes) == pytest.approx(0.10405, abs=5e-5)
    assert stats.wilcoxon_signed_rank(changes) == pytest.approx(
        sp.wilcoxon(changes, method="asymptotic", correction=False).pvalue)


def test_hodges_lehmann_by_hand():
    from fractions import Fraction

    # 1..10: 55 Walsh averages, median 5.5; qsignrank(0.025, 10) = 9 (P(T+ <= 8) = 25/1024 < 0.025 <=
    # P(T+ <= 9) = 33/1024); the 9 smallest Walsh averages are 1, 1.5, 2, 2, 2.5, 2.5, 3, 3, 3 -> lower 3,
    # upper 8 by symmetry (R: wilcox.test(1:10, conf.int = TRUE) gives 5.5 and 3 to 8)
    assert stats.signed_rank_quantile(0.025, 10) == 9
    shift = stats.hodges_lehmann(pd.Series([float(v) for v in range(1, 11)]))
    assert (shift.estimate, shift.lower, shift.upper) == (Fraction(11, 2), 3, 8)
    # zeros dropped: 0 and 0 add nothing
    assert stats.hodges_lehmann(pd.Series([0.0, 0.0, *range(1, 11)])) == shift


def test_mean_ci_by_hand():
    # 1..5: mean 3, SD sqrt(2.5), SE sqrt(0.5); t(0.975; 4) = 2.7764451 -> 3 -/+ 1.9632432
    low, high = stats.mean_ci(pd.Series([1.0, 2, 3, 4, 5]))
    assert float(low) == pytest.approx(3 - 1.9632432, abs=1e-6) and float(high) == pytest.approx(4.9632432, abs=1e-6)
    assert stats.mean_ci(pd.Series([1.0])) is None
