"""Coercion of raw values and the fast binner."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from driftloop.drift.columns import Binner, category_key, coerce_numeric, count_categories


def test_coerce_numeric_separates_missing_from_type_errors() -> None:
    floats, missing, errors = coerce_numeric(["1.5", "", None, "abc", 2, float("nan"), " 3 ", "NaN"])
    assert missing == 4
    assert errors == 1
    assert floats[0] == 1.5
    assert floats[4] == 2.0
    assert floats[6] == 3.0
    assert np.isnan(floats[[1, 2, 3, 5, 7]]).all()


def test_coerce_numeric_fast_paths_for_arrays() -> None:
    floats, missing, errors = coerce_numeric(np.array([1.0, np.nan, 3.0]))
    assert (missing, errors) == (1, 0)
    floats, missing, errors = coerce_numeric(np.array(["1", "2.5", "x"]))
    assert (missing, errors) == (0, 1)
    assert floats[1] == 2.5


def test_category_keys_unify_number_spellings() -> None:
    assert category_key(3.0) == "3"
    assert category_key("3") == "3"
    assert category_key(float("nan")) is None
    assert category_key(" ") is None
    counts, missing = count_categories(np.array(["a", "b", "a", "", "zz"]), known=["a", "b"])
    assert counts == {"a": 2, "b": 1, "zz": 1}
    assert missing == 1


@settings(max_examples=80, deadline=None)
@given(
    edges=hnp.arrays(np.float64, st.integers(1, 300), elements=st.floats(-1e6, 1e6)).map(np.unique),
    values=hnp.arrays(
        np.float64,
        st.integers(0, 9_000),
        elements=st.floats(-2e6, 2e6, allow_nan=False, allow_infinity=False),
    ),
)
@example(edges=np.array([0.0, 5e-324]), values=np.array([0.0, 5e-324, 1.0] * 1500))  # subnormal width
def test_binner_equals_searchsorted(edges: np.ndarray, values: np.ndarray) -> None:
    binner = Binner(edges)
    assert np.array_equal(binner.bins(values), np.searchsorted(edges, values, side="right"))


def test_binner_fast_path_on_dense_edges_and_infinities() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=100_000)
    edges = np.unique(np.quantile(base, np.linspace(0, 1, 201)[1:-1]))
    binner = Binner(edges)
    values = np.concatenate([rng.normal(size=50_000), edges, np.nextafter(edges, -np.inf), [-1e300, 1e300]])
    assert binner._table is not None  # the lookup grid is in use
    assert np.array_equal(binner.bins(values), np.searchsorted(edges, values, side="right"))
    counts, sums = binner.histogram(np.concatenate([values, [np.nan, np.inf, -np.inf]]))
    assert sum(counts) == values.size  # NaN and +-inf are left out
    assert counts[0] >= 1
    assert counts[-1] >= 1
    moderate = values[np.abs(values) < 1e10]
    assert math.isclose(
        math.fsum(sums[1:-1]), math.fsum(moderate[(moderate >= edges[0]) & (moderate < edges[-1])])
    )


@settings(max_examples=40, deadline=None)
@given(
    distinct=st.lists(st.integers(-50, 50), min_size=2, max_size=30, unique=True),
    shift=st.sampled_from([0.0, 0.5, 1e-9]),
)
def test_discrete_binner_equals_searchsorted(distinct: list[int], shift: float) -> None:
    values_set = np.sort(np.asarray(distinct, dtype=np.float64))
    edges = np.unique(np.concatenate([values_set, np.nextafter(values_set, np.inf)]))
    binner = Binner(edges)
    assert binner._discrete is not None
    rng = np.random.default_rng(len(distinct))
    values = np.concatenate([rng.choice(values_set, 5_000) + shift, [-1e9, 1e9]])
    assert np.array_equal(binner.bins(values), np.searchsorted(edges, values, side="right"))
