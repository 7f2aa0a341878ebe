"""Every statistic and distribution against scipy's reference implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from driftloop.drift import stats


@pytest.mark.parametrize("n", [1, 2, 5, 20, 100, 140, 141, 1_000, 50_000, 100_001, 400_000])
def test_kolmogorov_sf_matches_scipy_kstwo_across_regimes(n: int) -> None:
    for d in np.linspace(0.0005, 0.999, 120):
        expected = sps.kstwo.sf(d, n)
        got = stats.kolmogorov_sf(n, float(d))
        assert got == pytest.approx(expected, rel=1e-6, abs=1e-12), (n, d)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 200_000), d=st.floats(0.0, 1.0))
def test_kolmogorov_sf_property_against_scipy(n: int, d: float) -> None:
    assert stats.kolmogorov_sf(n, d) == pytest.approx(sps.kstwo.sf(d, n), rel=1e-6, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(x=st.floats(0.0, 6.0))
def test_kolmogorov_limit_matches_kstwobign(x: float) -> None:
    assert stats.kolmogorov_limit_sf(x) == pytest.approx(sps.kstwobign.sf(x), rel=1e-9, abs=1e-14)


@settings(max_examples=300, deadline=None)
@given(dof=st.integers(1, 5_000), fraction=st.floats(0.0, 4.0))
def test_chi2_sf_matches_scipy(dof: int, fraction: float) -> None:
    statistic = fraction * dof
    assert stats.chi2_sf(statistic, dof) == pytest.approx(sps.chi2.sf(statistic, dof), rel=1e-9, abs=1e-300)


def test_chi2_sf_extreme_tail_keeps_relative_precision() -> None:
    assert stats.chi2_sf(500.0, 3) == pytest.approx(sps.chi2.sf(500.0, 3), rel=1e-9)
    assert stats.chi2_sf(0.0, 4) == 1.0


def test_regularized_upper_gamma_rejects_bad_shape() -> None:
    with pytest.raises(ValueError, match="a must be positive"):
        stats.regularized_upper_gamma(0.0, 1.0)


@settings(max_examples=100, deadline=None)
@given(
    table=st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=2, max_size=12).filter(
        lambda rows: sum(a for a, _ in rows) > 0 and sum(b for _, b in rows) > 0
    )
)
def test_chi2_homogeneity_matches_chi2_contingency(table: list[tuple[int, int]]) -> None:
    a = np.array([r[0] for r in table])
    b = np.array([r[1] for r in table])
    observed = np.vstack([a, b])
    observed = observed[:, observed.sum(axis=0) > 0]
    statistic, p_value, dof = stats.chi2_homogeneity(a, b)
    if observed.shape[1] < 2:
        assert (statistic, p_value, dof) == (0.0, 1.0, 0)
        return
    reference = sps.chi2_contingency(observed)
    assert dof == reference.dof
    assert statistic == pytest.approx(reference.statistic, rel=1e-9, abs=1e-9)
    assert p_value == pytest.approx(reference.pvalue, rel=1e-7, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(
    p=st.lists(st.floats(0.0, 100.0), min_size=2, max_size=10),
    q=st.lists(st.floats(0.0, 100.0), min_size=2, max_size=10),
)
def test_jensen_shannon_matches_scipy(p: list[float], q: list[float]) -> None:
    size = min(len(p), len(q))
    pa, qa = np.array(p[:size]), np.array(q[:size])
    if pa.sum() <= 0 or qa.sum() <= 0:
        assert stats.jensen_shannon_distance(pa, qa) == 0.0
        return
    assert stats.jensen_shannon_distance(pa, qa) == pytest.approx(jensenshannon(pa, qa, base=2), abs=1e-7)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n1=st.integers(1, 400),
    n2=st.integers(1, 400),
    shift=st.floats(-2.0, 2.0),
)
def test_exact_ks_and_wasserstein_match_scipy(seed: int, n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n1)
    b = rng.normal(shift, 1.5, size=n2)
    assert stats.ks_statistic(a, b) == pytest.approx(sps.ks_2samp(a, b).statistic, abs=1e-12)
    assert stats.wasserstein_distance(a, b) == pytest.approx(
        sps.wasserstein_distance(a, b), rel=1e-9, abs=1e-12
    )


@pytest.mark.parametrize(
    ("n1", "n2", "shift"), [(200, 300, 0.0), (5_000, 3_000, 0.05), (20_000, 20_000, 0.02)]
)
def test_two_sample_pvalue_matches_ks_2samp_asymptotic(n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(n1)
    a, b = rng.normal(size=n1), rng.normal(shift, 1.0, size=n2)
    reference = sps.ks_2samp(a, b, method="asymp")
    got = stats.ks_two_sample_pvalue(stats.ks_statistic(a, b), n1, n2)
    assert got == pytest.approx(reference.pvalue, rel=1e-6, abs=1e-12)


def test_binned_wasserstein_close_to_exact_and_exact_for_pure_shift() -> None:
    rng = np.random.default_rng(3)
    base = rng.normal(size=50_000)
    edges = np.quantile(base, np.linspace(0, 1, 201)[1:-1])
    for current in (rng.normal(0.3, 1.0, 20_000), rng.normal(0.0, 2.0, 20_000), rng.exponential(1.0, 20_000)):
        idx_b = np.searchsorted(edges, base, side="right")
        idx_c = np.searchsorted(edges, current, side="right")
        got = stats.binned_wasserstein(
            edges,
            np.bincount(idx_b, minlength=200),
            np.bincount(idx_b, weights=base, minlength=200),
            np.bincount(idx_c, minlength=200),
            np.bincount(idx_c, weights=current, minlength=200),
            float(min(base.min(), current.min())),
            float(max(base.max(), current.max())),
        )
        exact = sps.wasserstein_distance(base, current)
        assert got <= exact + 1e-9  # |sum| per bin never exceeds the integral of |F1 - F2|
        assert got == pytest.approx(exact, rel=0.02, abs=2e-3)


def test_psi_zero_for_identical_and_known_value() -> None:
    assert stats.population_stability_index([10, 20, 30], [1, 2, 3]) == pytest.approx(0.0)
    b, c = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    expected = (0.25 - 0.5) * math.log(0.5) + (0.75 - 0.5) * math.log(1.5)
    assert stats.population_stability_index(b, c) == pytest.approx(expected)


@settings(max_examples=100, deadline=None)
@given(p=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40))
def test_benjamini_hochberg_matches_scipy(p: list[float]) -> None:
    assert stats.benjamini_hochberg(p) == pytest.approx(list(sps.false_discovery_control(p, method="bh")))


def test_holm_known_values() -> None:
    # sorted p: 0.01, 0.02, 0.03, 0.04 -> 0.04, 0.06, 0.06, 0.06 (monotone step-down)
    assert stats.holm([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    assert stats.holm([]) == []
    assert stats.holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])
