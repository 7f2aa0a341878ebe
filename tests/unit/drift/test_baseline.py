"""Building baselines, Model Monitor formats, and reading Model-Monitor-only baselines."""

from __future__ import annotations

import json

import numpy as np
import pytest

from driftloop.drift import (
    Baseline,
    BaselineError,
    CategoricalBaseline,
    NumericBaseline,
    build_baseline,
    load_baseline,
)
from driftloop.drift.baseline import CONSTRAINTS_FILE, SIDECAR_FILE, STATISTICS_FILE, baseline_files


def test_build_profiles_numeric_and_categorical(baseline: Baseline, training: dict[str, np.ndarray]) -> None:
    assert baseline.feature_names == ["age", "income", "score", "colour"]
    age = baseline.feature("age")
    assert isinstance(age, NumericBaseline)
    assert len(age.edges) == 199
    assert len(age.counts) == 200
    assert sum(age.counts) == 20_000
    assert max(age.counts) - min(age.counts) <= 2  # quantile bins hold equal mass
    assert age.mean == pytest.approx(float(training["age"].mean()))
    assert sum(age.sums) == pytest.approx(float(training["age"].sum()))
    colour = baseline.feature("colour")
    assert isinstance(colour, CategoricalBaseline)
    assert set(colour.counts) == {"red", "green", "blue"}
    # the label is not a feature, and without a prediction column there is no prediction baseline:
    # comparing model outputs (often probabilities) with labels would flag drift that is not there
    assert baseline.target_spec.target == "label"
    assert baseline.target_spec.problem_type == "binary_classification"
    assert baseline.prediction is None
    assert "label" not in {f.name for f in baseline.features}


def test_the_prediction_column_is_the_prediction_baseline(training) -> None:
    scores = np.linspace(0.0, 1.0, len(training["label"]))
    baseline = build_baseline({**training, "score_out": scores}, target="label", prediction="score_out")
    assert baseline.prediction is not None
    assert baseline.prediction.name == "score_out"
    assert "score_out" not in {f.name for f in baseline.features}


def test_discrete_column_gets_one_bin_per_value_and_missing_rate() -> None:
    built = build_baseline({"k": ["1", "2", "2", "3", "", "3", "3"]})
    k = built.feature("k")
    assert isinstance(k, NumericBaseline)
    assert k.inferred_type == "Integral"
    assert k.edges == [1.0, np.nextafter(1.0, 2.0), 2.0, np.nextafter(2.0, 3.0), 3.0, np.nextafter(3.0, 4.0)]
    assert k.counts == [0, 1, 0, 2, 0, 3, 0]
    assert k.missing == 1
    assert k.missing_rate == pytest.approx(1 / 7)


def test_constant_column_scale_falls_back() -> None:
    built = build_baseline({"c": np.full(100, 5.0)})
    c = built.feature("c")
    assert isinstance(c, NumericBaseline)
    assert c.std == 0
    assert c.scale == 5.0
    assert c.edges == [5.0, np.nextafter(5.0, 6.0)]


def test_model_monitor_files_have_the_documented_fields(baseline: Baseline) -> None:
    files = baseline_files(baseline)
    statistics = json.loads(files[STATISTICS_FILE])
    assert statistics["dataset"]["item_count"] == 20_000
    age = statistics["features"][0]
    assert age["name"] == "age"
    assert age["inferred_type"] == "Fractional"
    numeric = age["numerical_statistics"]
    assert numeric["common"] == {"num_present": 20_000, "num_missing": 0}
    assert {"mean", "sum", "std_dev", "min", "max"} <= set(numeric)
    buckets = numeric["distribution"]["kll"]["buckets"]
    assert len(buckets) == 10
    assert sum(b["count"] for b in buckets) == pytest.approx(20_000)
    assert buckets[0]["lower_bound"] == pytest.approx(numeric["min"])
    colour = statistics["features"][3]
    assert colour["inferred_type"] == "String"
    categorical = colour["string_statistics"]["distribution"]["categorical"]["buckets"]
    assert {b["value"] for b in categorical} == {"red", "green", "blue"}
    constraints = json.loads(files[CONSTRAINTS_FILE])
    assert constraints["features"][3]["string_constraints"]["domains"] == ["blue", "green", "red"]
    assert constraints["monitoring_config"]["distribution_constraints"]["comparison_threshold"] == 0.1


def test_round_trip_through_sidecar_is_identical(baseline: Baseline) -> None:
    files = baseline_files(baseline)
    assert load_baseline(files[STATISTICS_FILE], files[CONSTRAINTS_FILE], files[SIDECAR_FILE]) == baseline


def test_round_trip_without_sidecar_keeps_fine_bins(baseline: Baseline) -> None:
    files = baseline_files(baseline)
    derived = load_baseline(files[STATISTICS_FILE], files[CONSTRAINTS_FILE])
    assert derived.source == "model_monitor"
    original, reread = baseline.feature("age"), derived.feature("age")
    assert isinstance(original, NumericBaseline)
    assert isinstance(reread, NumericBaseline)
    assert reread.edges == pytest.approx(original.edges)
    assert reread.counts == original.counts
    assert derived.feature("colour") == baseline.feature("colour")


MODEL_MONITOR_STATISTICS = {
    "version": 0.0,
    "dataset": {"item_count": 1000},
    "features": [
        {
            "name": "amount",
            "inferred_type": "Fractional",
            "numerical_statistics": {
                "common": {"num_present": 990, "num_missing": 10},
                "mean": 50.0,
                "sum": 49_500.0,
                "std_dev": 28.0,
                "min": 0.0,
                "max": 100.0,
                "distribution": {
                    "kll": {
                        "buckets": [
                            {"lower_bound": 10.0 * i, "upper_bound": 10.0 * (i + 1), "count": 99.0}
                            for i in range(10)
                        ],
                        "sketch": {"parameters": {"c": 0.64, "k": 2048.0}, "data": [[1.0, 2.0]]},
                    }
                },
            },
        },
        {
            "name": "country",
            "inferred_type": "String",
            "string_statistics": {
                "common": {"num_present": 1000, "num_missing": 0},
                "distinct_count": 2.0,
                "distribution": {
                    "categorical": {"buckets": [{"value": "DE", "count": 600}, {"value": "FR", "count": 400}]}
                },
            },
        },
    ],
}


def test_reads_model_monitor_only_baseline_from_buckets() -> None:
    constraints = {
        "version": 0.0,
        "features": [{"name": "amount", "inferred_type": "Fractional", "completeness": 0.9}],
    }
    baseline = load_baseline(json.dumps(MODEL_MONITOR_STATISTICS).encode(), json.dumps(constraints).encode())
    amount = baseline.feature("amount")
    assert isinstance(amount, NumericBaseline)
    assert amount.edges == [10.0 * i for i in range(1, 10)]
    assert amount.counts == [99] * 10
    assert amount.sums[0] == pytest.approx(5.0 * 99)  # bucket midpoints
    assert amount.q25 == pytest.approx(25.0)
    assert amount.q75 == pytest.approx(75.0)
    assert amount.missing == 110  # completeness 0.9 from constraints.json wins
    country = baseline.feature("country")
    assert isinstance(country, CategoricalBaseline)
    assert country.counts == {"DE": 600, "FR": 400}


def test_reads_kll_sketch_levels_as_weighted_quantiles() -> None:
    stats_doc = json.loads(json.dumps(MODEL_MONITOR_STATISTICS))
    level0 = [float(v) for v in range(0, 100, 2)]  # weight 1 each
    level1 = [float(v) for v in range(1, 100, 2)]  # weight 2 each
    stats_doc["features"][0]["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"] = [
        level0,
        level1,
    ]
    amount = load_baseline(json.dumps(stats_doc).encode()).feature("amount")
    assert isinstance(amount, NumericBaseline)
    assert len(amount.edges) >= 20
    assert sum(amount.counts) == 990
    assert amount.edges == sorted(amount.edges)


def test_bad_baseline_files_raise_baseline_error() -> None:
    with pytest.raises(BaselineError, match=r"need statistics\.json"):
        load_baseline()
    with pytest.raises(BaselineError, match="does not parse"):
        load_baseline(b"{nope")
    with pytest.raises(BaselineError, match="not a valid driftloop baseline"):
        load_baseline(sidecar=b'{"item_count": -1}')
    with pytest.raises(BaselineError, match="not in the data"):
        build_baseline({"a": [1, 2]}, target="missing")
