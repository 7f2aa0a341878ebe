"""Sharding: summarize each shard + merge + decide == single pass."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftloop.drift import (
    Baseline,
    DriftConfig,
    ShardSummary,
    SummaryError,
    build_baseline,
    decide,
    merge,
    summarize,
)


def comparable(result) -> dict:
    """The decision with float fields rounded (per-bin sums differ in the last bits between orders)."""
    document = result.model_dump(mode="json")

    def walk(value):
        if isinstance(value, float):
            return round(value, 9)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(document)


def split(columns: dict[str, np.ndarray], cuts: list[int]) -> list[dict[str, np.ndarray]]:
    bounds = [0, *cuts, len(next(iter(columns.values())))]
    return [{k: v[a:b] for k, v in columns.items()} for a, b in itertools.pairwise(bounds)]


def test_sharded_equals_single_pass(baseline: Baseline, make_current) -> None:
    current = make_current(rows=6_000, age_shift=3.0, colour_p=(0.4, 0.3, 0.3))
    current["colour"] = current["colour"].astype(object)
    current["colour"][::97] = "violet"
    current["age"] = current["age"].astype(object)
    current["age"][::50] = None
    single = decide(summarize(current, baseline), baseline)
    shards = [summarize(part, baseline) for part in split(current, [1_000, 1_001, 4_500])]
    merged = merge(shards)
    assert merged.rows == 6_000
    assert merged.features["age"].counts == summarize(current, baseline).features["age"].counts
    assert comparable(decide(merged, baseline)) == comparable(single)
    assert single.drifted_features == ["age", "colour"]


def test_summary_round_trips_through_json(baseline: Baseline, make_current) -> None:
    summary = summarize(make_current(rows=500), baseline, malformed_records=3)
    assert ShardSummary.model_validate_json(summary.model_dump_json()) == summary


def test_merge_refuses_mixed_baselines(baseline: Baseline) -> None:
    other = build_baseline({"z": np.arange(10.0)})
    with pytest.raises(SummaryError, match="different baselines"):
        merge([summarize({"age": np.ones(3)}, baseline), summarize({"z": np.ones(3)}, other)])
    with pytest.raises(SummaryError, match="nothing to merge"):
        merge([])
    with pytest.raises(SummaryError, match="different baseline"):
        decide(summarize({"z": np.ones(3)}, other), baseline)


SMALL_BASELINE = build_baseline(
    {
        "num": np.random.default_rng(1).normal(size=3_000),
        "cat": np.random.default_rng(2).choice(np.array(["a", "b", "c"]), 3_000),
    }
)
values = st.one_of(st.none(), st.floats(-5, 5), st.just(float("nan")), st.sampled_from(["x", "", "1.5"]))


@settings(max_examples=40, deadline=None)
@given(
    nums=st.lists(values, min_size=0, max_size=300),
    cats=st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", ""])), min_size=0, max_size=300),
    cut_fractions=st.lists(st.floats(0, 1), min_size=0, max_size=4),
)
def test_property_sharded_equals_single_pass(nums: list, cats: list, cut_fractions: list[float]) -> None:
    size = min(len(nums), len(cats))
    columns = {"num": np.asarray(nums[:size], dtype=object), "cat": np.asarray(cats[:size], dtype=object)}
    cuts = sorted(int(f * size) for f in cut_fractions)
    config = DriftConfig(min_rows=1, min_feature_rows=1)
    single_summary = summarize(columns, SMALL_BASELINE)
    merged = merge([summarize(part, SMALL_BASELINE) for part in split(columns, cuts)])
    assert merged.rows == single_summary.rows
    assert merged.features["num"].counts == single_summary.features["num"].counts
    assert merged.features["cat"].counts == single_summary.features["cat"].counts
    assert comparable(decide(merged, SMALL_BASELINE, config)) == comparable(
        decide(single_summary, SMALL_BASELINE, config)
    )
