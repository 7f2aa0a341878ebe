"""Statistics and their distributions in numpy + stdlib (no scipy at runtime).

Everything here is pure: arrays and counts in, floats out. The reference implementations the tests
compare against are scipy's (``kstwo``, ``kstwobign``, ``chi2.sf``, ``chi2_contingency``,
``jensenshannon``, ``wasserstein_distance``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_PI2 = math.pi**2
_PI4 = math.pi**4
_PI6 = math.pi**6
_SCALE_EXP = 128
_SCALE_UP = math.ldexp(1.0, _SCALE_EXP)
_SCALE_DOWN = math.ldexp(1.0, -_SCALE_EXP)


# --------------------------------------------------------------------------------------------------
# Kolmogorov distributions
# --------------------------------------------------------------------------------------------------


def kolmogorov_limit_sf(x: float) -> float:
    """Survival function of Kolmogorov's limiting distribution (scipy ``kstwobign.sf``)."""
    if x <= 0.04:  # CDF < 1e-300 here; the theta series below would underflow or divide by zero
        return 1.0
    if x < 1.0:
        # Jacobi theta form converges fast for small x: CDF = sqrt(2 pi)/x * sum exp(-(2k-1)^2 pi^2/(8x^2))
        total = 0.0
        for k in range(1, 50):
            term = math.exp(-((2 * k - 1) ** 2) * _PI2 / (8.0 * x * x))
            total += term
            if term < 1e-17 * total:
                break
        return min(1.0, max(0.0, 1.0 - _SQRT_2PI / x * total))
    total = 0.0
    for k in range(1, 100):
        term = math.exp(-2.0 * k * k * x * x)
        total += term if k % 2 else -term
        if term < 1e-300 or term < 1e-17 * abs(total):
            break
    return min(1.0, max(0.0, 2.0 * total))


def smirnov_sf(n: int, d: float) -> float:
    """Exact one-sided P(D_n+ >= d) by the Birnbaum-Tingey sum, evaluated in log space."""
    if d <= 0.0:
        return 1.0
    if d >= 1.0:
        return 0.0
    jmax = math.floor(n * (1.0 - d))
    j = np.arange(0, jmax + 1, dtype=np.float64)
    log_binom = np.concatenate(([0.0], np.cumsum(np.log(n - j[1:] + 1.0) - np.log(j[1:]))))
    upper = 1.0 - d - j / n
    lower = d + j / n
    valid = (upper > 0.0) | (n - j == 0)
    with np.errstate(divide="ignore"):
        log_terms = (
            math.log(d)
            + log_binom
            + np.where(n - j == 0, 0.0, (n - j) * np.log(np.where(upper > 0, upper, 1.0)))
            + (j - 1.0) * np.log(lower)
        )
    log_terms = log_terms[valid]
    if log_terms.size == 0:
        return 0.0
    peak = float(log_terms.max())
    return float(min(1.0, math.exp(peak) * float(np.exp(log_terms - peak).sum())))


def _log_factorial_over_power(n: int) -> float:
    """log(n! / n^n)."""
    return math.lgamma(n + 1.0) - n * math.log(n)


def _kolmogorov_cdf_durbin(n: int, d: float) -> float:
    """Exact P(D_n <= d) by Durbin's matrix (Marsaglia, Tsang & Wang 2003), with rescaling."""
    nd = n * d
    k = math.ceil(nd)
    h = k - nd
    m = 2 * k - 1
    powers = np.arange(1, m + 1, dtype=np.float64)
    first_col = 1.0 - h**powers
    inv_fact = np.empty(m)
    fact = 1.0
    for j in range(1, m + 1):
        inv_fact[j - 1] = fact
        fact /= j
        first_col[j - 1] *= fact
    first_col[-1] = (1.0 + max(2.0 * h - 1.0, 0.0) ** m - 2.0 * h**m) * fact
    matrix = np.zeros((m, m))
    for i in range(1, m):
        matrix[i - 1 :, i] = inv_fact[: m - i + 1]
    matrix[:, 0] = first_col
    matrix[-1, :] = first_col[::-1]

    result = np.eye(m)
    exponent = 0
    matrix_exponent = 0
    remaining = n
    while remaining > 0:
        if remaining % 2:
            result = result @ matrix
            exponent += matrix_exponent
        matrix = matrix @ matrix
        matrix_exponent *= 2
        if abs(matrix[k - 1, k - 1]) > _SCALE_UP:
            matrix /= _SCALE_UP
            matrix_exponent += _SCALE_EXP
        remaining //= 2
    p = float(result[k - 1, k - 1])
    for i in range(1, n + 1):
        p = i * p / n
        if abs(p) < _SCALE_DOWN:
            p *= _SCALE_UP
            exponent -= _SCALE_EXP
    return math.ldexp(p, exponent)


def _kolmogorov_cdf_pelz_good(n: int, x: float) -> float:
    """Pelz-Good (1976) asymptotic expansion of P(D_n <= x), accurate for large n."""
    z = math.sqrt(n) * x
    z2, z3, z4, z6 = z * z, z**3, z**4, z**6
    q_log = -_PI2 / 8.0 / z2
    if q_log < -708:
        return 0.0
    q = math.exp(q_log)
    k1a, k1b = -z2, _PI2 / 4.0
    k2a = 6.0 * z6 + 2.0 * z4
    k2b = (2.0 * z4 - 5.0 * z2) * _PI2 / 4.0
    k2c = _PI4 * (1.0 - 2.0 * z2) / 16.0
    k3d = _PI6 * (5.0 - 30.0 * z2) / 64.0
    k3c = _PI4 * (-60.0 * z2 + 212.0 * z4) / 16.0
    k3b = _PI2 * (135.0 * z4 - 96.0 * z6) / 4.0
    k3a = -30.0 * z6 - 90.0 * z**8
    terms = np.zeros(4)
    max_k = math.ceil(16.0 * z / math.pi)
    for k in range(max_k, 0, -1):
        m = 2 * k - 1
        m2, m4, m6 = m * m, m**4, m**6
        terms *= q ** (8 * k)
        terms += np.array(
            [1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6]
        )
    terms *= q * _SQRT_2PI
    terms /= np.array([z, 6.0 * z4, 72.0 * z**7, 6480.0 * z**10])
    q2 = math.exp(-_PI2 / 2.0 / z2)
    ks = np.arange(max_k, 0, -1, dtype=np.float64)
    ks2 = ks * ks
    q_powers = q2**ks2
    terms[2] += float(np.sum(ks2 * q_powers)) * _PI2 * _SQRT_2PI / (-36.0 * z3)
    sqrt3z = math.sqrt(3.0) * z
    kpi = math.pi * ks
    terms[3] += (
        float(np.sum((sqrt3z + kpi) * (sqrt3z - kpi) * ks2 * q_powers)) * _PI2 * _SQRT_2PI / (216.0 * z6)
    )
    terms /= np.power(float(n), np.arange(4) / 2.0)
    return float(terms.sum())


def kolmogorov_sf(n: int, d: float) -> float:
    """P(D_n >= d) for the two-sided one-sample KS statistic (scipy ``kstwo.sf``).

    Follows Simard & L'Ecuyer (2011): exact Ruben-Gambino tails, Durbin's matrix where it is cheap,
    the exact Smirnov sum where the two one-sided tails cannot overlap, Pelz-Good otherwise.
    """
    if n <= 0:
        raise ValueError("n must be positive")
    if d >= 1.0:
        return 0.0
    t = n * d
    if t <= 0.5:
        return 1.0
    if t <= 1.0:
        cdf = math.exp(_log_factorial_over_power(n) + n * math.log(2.0 * t - 1.0))
        return min(1.0, max(0.0, 1.0 - cdf))
    if t >= n - 1:
        return min(1.0, 2.0 * (1.0 - d) ** n)
    if d >= 0.5:
        return min(1.0, 2.0 * smirnov_sf(n, d))
    nx2 = t * d
    if n <= 140:
        if nx2 <= 4.0:
            return min(1.0, max(0.0, 1.0 - _kolmogorov_cdf_durbin(n, d)))
        return min(1.0, 2.0 * smirnov_sf(n, d))
    if nx2 >= 370.0:
        return 0.0
    if nx2 >= 2.2:
        return min(1.0, 2.0 * smirnov_sf(n, d))
    if n <= 100_000 and n * d**1.5 <= 1.4:
        cdf = _kolmogorov_cdf_durbin(n, d)
    else:
        cdf = _kolmogorov_cdf_pelz_good(n, d)
    return min(1.0, max(0.0, 1.0 - cdf))


def ks_two_sample_pvalue(statistic: float, n1: int, n2: int) -> float:
    """Asymptotic two-sample p-value, as scipy ``ks_2samp(method="asymp")``: kstwo.sf(D, round(en))."""
    if n1 <= 0 or n2 <= 0:
        return 1.0
    big, small = max(n1, n2), min(n1, n2)
    effective_n = round(float(big) * small / (big + small))
    return kolmogorov_sf(max(effective_n, 1), statistic)


def ks_statistic(sample1: npt.ArrayLike, sample2: npt.ArrayLike) -> float:
    """Exact two-sample KS distance between raw samples (NaN dropped)."""
    a = np.sort(_finite(sample1))
    b = np.sort(_finite(sample2))
    if a.size == 0 or b.size == 0:
        return 0.0
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / a.size
    cdf_b = np.searchsorted(b, grid, side="right") / b.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def _finite(values: npt.ArrayLike) -> FloatArray:
    array = np.asarray(values, dtype=np.float64).ravel()
    return array[~np.isnan(array)]


# --------------------------------------------------------------------------------------------------
# Chi-square
# --------------------------------------------------------------------------------------------------


def regularized_upper_gamma(a: float, x: float) -> float:
    """Q(a, x) = Gamma(a, x) / Gamma(a): series below a+1, Lentz continued fraction above."""
    if a <= 0.0:
        raise ValueError("a must be positive")
    if x <= 0.0:
        return 1.0
    if math.isinf(x):
        return 0.0
    log_prefactor = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        term = 1.0 / a
        total = term
        denom = a
        for _ in range(100_000):
            denom += 1.0
            term *= x / denom
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        lower = math.exp(log_prefactor) * total
        return min(1.0, max(0.0, 1.0 - lower))
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 100_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < tiny:
            d = tiny
        c = b + an / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return min(1.0, max(0.0, math.exp(log_prefactor) * h))


def chi2_sf(statistic: float, dof: int | float) -> float:
    """Chi-square survival function (scipy ``chi2.sf``)."""
    if dof <= 0:
        raise ValueError("dof must be positive")
    if math.isnan(statistic):
        return math.nan
    return regularized_upper_gamma(dof / 2.0, max(statistic, 0.0) / 2.0)


def chi2_homogeneity(counts_a: npt.ArrayLike, counts_b: npt.ArrayLike) -> tuple[float, float, int]:
    """Pearson chi-square test on the 2 x k table [counts_a; counts_b], like ``chi2_contingency``.

    Categories empty in both rows are dropped; Yates' correction is applied when dof == 1 (scipy's
    default). Returns (statistic, p_value, dof); a degenerate table gives (0, 1, 0).
    """
    table = np.vstack([np.asarray(counts_a, dtype=np.float64), np.asarray(counts_b, dtype=np.float64)])
    table = table[:, table.sum(axis=0) > 0]
    row_totals = table.sum(axis=1)
    if table.shape[1] < 2 or np.any(row_totals == 0):
        return 0.0, 1.0, 0
    expected = np.outer(row_totals, table.sum(axis=0)) / table.sum()
    dof = table.shape[1] - 1
    diff = table - expected
    if dof == 1:
        diff = np.sign(diff) * np.minimum(np.abs(diff), 0.5)  # Yates, as scipy does
        diff = table - expected - diff
    statistic = float(np.sum(diff * diff / expected))
    return statistic, chi2_sf(statistic, dof), dof


# --------------------------------------------------------------------------------------------------
# Divergences and distances
# --------------------------------------------------------------------------------------------------


def jensen_shannon_distance(p: npt.ArrayLike, q: npt.ArrayLike) -> float:
    """sqrt of the Jensen-Shannon divergence, base 2 (in [0, 1]); inputs are normalised."""
    pa = np.asarray(p, dtype=np.float64)
    qa = np.asarray(q, dtype=np.float64)
    if pa.sum() <= 0 or qa.sum() <= 0:
        return 0.0
    pa = pa / pa.sum()
    qa = qa / qa.sum()
    m = 0.5 * (pa + qa)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(pa > 0, pa * np.log2(pa / m), 0.0)
        kl_q = np.where(qa > 0, qa * np.log2(qa / m), 0.0)
    divergence = 0.5 * float(kl_p.sum() + kl_q.sum())
    return math.sqrt(max(divergence, 0.0))


def population_stability_index(baseline_counts: npt.ArrayLike, current_counts: npt.ArrayLike) -> float:
    """PSI = sum (c - b) ln(c / b) over bins, with empty bins floored at 1e-4 (the usual convention)."""
    b = np.asarray(baseline_counts, dtype=np.float64)
    c = np.asarray(current_counts, dtype=np.float64)
    if b.sum() <= 0 or c.sum() <= 0:
        return 0.0
    bp = np.maximum(b / b.sum(), 1e-4)
    cp = np.maximum(c / c.sum(), 1e-4)
    return float(np.sum((cp - bp) * np.log(cp / bp)))


def wasserstein_distance(sample1: npt.ArrayLike, sample2: npt.ArrayLike) -> float:
    """Exact W1 between two raw samples (NaN dropped): integral of |F1 - F2|."""
    a = np.sort(_finite(sample1))
    b = np.sort(_finite(sample2))
    if a.size == 0 or b.size == 0:
        return 0.0
    grid = np.sort(np.concatenate([a, b]))
    widths = np.diff(grid)
    cdf_a = np.searchsorted(a, grid[:-1], side="right") / a.size
    cdf_b = np.searchsorted(b, grid[:-1], side="right") / b.size
    return float(np.sum(np.abs(cdf_a - cdf_b) * widths))


def binned_wasserstein(
    inner_edges: FloatArray,
    counts_a: npt.ArrayLike,
    sums_a: npt.ArrayLike,
    counts_b: npt.ArrayLike,
    sums_b: npt.ArrayLike,
    low: float,
    high: float,
) -> float:
    """W1 from mergeable per-bin counts and per-bin value sums.

    Bins are (-inf, e0), [e0, e1), ..., [e_last, inf); the outer bins are closed at ``low``/``high``
    (the smallest/largest value seen on either side). Within one bin, the signed integral of F_a - F_b
    is exact from counts and sums (integration by parts: integral of F = b F(b) - a F(a) - E[X; bin]);
    W1 sums the absolute values per bin, which is exact unless the CDFs cross inside a bin.
    """
    ca = np.asarray(counts_a, dtype=np.float64)
    cb = np.asarray(counts_b, dtype=np.float64)
    na, nb = ca.sum(), cb.sum()
    if na <= 0 or nb <= 0:
        return 0.0
    low = min(low, float(inner_edges[0])) if inner_edges.size else low
    high = max(high, float(inner_edges[-1])) if inner_edges.size else high
    bounds = np.concatenate(([low], inner_edges, [high]))
    cdf_a = np.concatenate(([0.0], np.cumsum(ca) / na))
    cdf_b = np.concatenate(([0.0], np.cumsum(cb) / nb))
    mean_part_a = np.asarray(sums_a, dtype=np.float64) / na
    mean_part_b = np.asarray(sums_b, dtype=np.float64) / nb
    left, right = bounds[:-1], bounds[1:]
    integral_a = right * cdf_a[1:] - left * cdf_a[:-1] - mean_part_a
    integral_b = right * cdf_b[1:] - left * cdf_b[:-1] - mean_part_b
    return float(np.sum(np.abs(integral_a - integral_b)))


# --------------------------------------------------------------------------------------------------
# Multiple testing
# --------------------------------------------------------------------------------------------------


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """BH-adjusted p-values (step-up, monotone, capped at 1)."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    adjusted_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(adjusted_sorted, 1.0)
    return [float(v) for v in adjusted]


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1)."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return []
    order = np.argsort(p)
    ranked = p[order] * (m - np.arange(m))
    adjusted_sorted = np.minimum(np.maximum.accumulate(ranked), 1.0)
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return [float(v) for v in adjusted]
