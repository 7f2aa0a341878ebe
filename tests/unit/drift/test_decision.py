"""Decisions: significance AND effect size, multiple testing, edge cases, quality."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon

from driftloop.drift import Baseline, DriftConfig, FeatureConfig, build_baseline, decide, summarize


def run(columns: dict[str, object], baseline: Baseline, config: DriftConfig | None = None):
    return decide(summarize(columns, baseline), baseline, config or DriftConfig())


def by_name(result, name: str):
    return next(f for f in result.features if f.name == name)


def test_no_drift_on_same_distribution(baseline: Baseline, make_current) -> None:
    result = run(make_current(), baseline)
    assert result.status == "completed"
    assert result.features_checked == 4
    assert result.drifted_features == []
    assert not result.dataset_drift
    assert result.severity == "none"
    assert [v.constraint_check_type for v in result.violations] == []


def test_mean_shift_is_detected_with_statistics_matching_scipy(
    baseline: Baseline, training: dict[str, np.ndarray], make_current
) -> None:
    current = make_current(age_shift=5.0)
    result = run(current, baseline)
    age = by_name(result, "age")
    assert age.drifted
    assert age.significant
    assert age.practically_large
    exact_ks = sps.ks_2samp(training["age"], current["age"]).statistic
    assert age.ks_statistic == pytest.approx(exact_ks, abs=0.006)  # binned KS within one fine bin's mass
    assert age.ks_statistic <= exact_ks + 1e-12
    exact_w = sps.wasserstein_distance(training["age"], current["age"]) / training["age"].std()
    assert age.wasserstein == pytest.approx(exact_w, rel=0.02)
    assert age.wasserstein == pytest.approx(0.5, abs=0.05)
    assert age.severity in ("medium", "high")
    assert result.drifted_features == ["age"]
    assert result.drift_share == pytest.approx(0.25)
    assert not result.dataset_drift  # 25% < 30% and age is not critical


def test_critical_feature_alone_makes_dataset_drift(baseline: Baseline, make_current) -> None:
    config = DriftConfig(features={"age": FeatureConfig(critical=True)})
    result = run(make_current(age_shift=5.0), baseline, config)
    assert result.dataset_drift
    assert result.critical_drifted == ["age"]
    assert any("critical" in line for line in result.explanation)


def test_category_frequency_shift_uses_chi2_and_js(
    baseline: Baseline, training: dict[str, np.ndarray], make_current
) -> None:
    current = make_current(colour_p=(0.2, 0.3, 0.5))
    result = run(current, baseline)
    colour = by_name(result, "colour")
    table = np.array(
        [
            [np.sum(training["colour"] == c) for c in ("red", "green", "blue")],
            [np.sum(current["colour"] == c) for c in ("red", "green", "blue")],
        ]
    )
    reference = sps.chi2_contingency(table)
    assert colour.chi2_statistic == pytest.approx(reference.statistic, rel=1e-9)
    assert colour.chi2_dof == 2
    assert colour.drifted
    assert colour.effect_metric == "jensen_shannon"
    assert colour.jensen_shannon == pytest.approx(jensenshannon(table[0], table[1], base=2), abs=1e-9)
    assert colour.jensen_shannon == pytest.approx(0.31, abs=0.02)


def test_large_sample_noise_is_significant_but_not_drift() -> None:
    """A tiny real shift on 200k rows is significant; the effect threshold keeps it from flagging."""
    rng = np.random.default_rng(5)
    baseline = build_baseline({"v": rng.normal(0.0, 1.0, 200_000)})
    result = run({"v": rng.normal(0.03, 1.0, 200_000)}, baseline)
    v = result.features[0]
    assert v.significant
    assert not v.practically_large
    assert not v.drifted
    assert v.wasserstein == pytest.approx(0.03, abs=0.01)
    assert any("too small to matter" in line for line in result.explanation)


def test_multiple_testing_correction_controls_borderline_p_values() -> None:
    """Twenty null features: raw p < 0.05 happens by chance; after BH nothing is significant."""
    rng = np.random.default_rng(9)
    names = [f"f{i}" for i in range(20)]
    baseline = build_baseline({n: rng.normal(size=5_000) for n in names})
    current = {n: rng.normal(size=2_000) for n in names}
    config = DriftConfig(alpha=0.05, wasserstein_threshold=0.01)
    result = run(current, baseline, config)
    raw = [f.p_value for f in result.features]
    adjusted = [f.p_value_adjusted for f in result.features]
    assert all(a >= r for a, r in zip(adjusted, raw, strict=True))
    assert not any(f.significant for f in result.features)
    holm = run(current, baseline, config.model_copy(update={"correction": "holm"}))
    assert all(
        h.p_value_adjusted >= b.p_value_adjusted for h, b in zip(holm.features, result.features, strict=True)
    )


def test_empty_and_small_windows_are_skipped(baseline: Baseline, make_current) -> None:
    empty = run({}, baseline)
    assert empty.status == "skipped"
    assert empty.skip_reason == "empty window: no rows"
    one_row = run({k: v[:1] for k, v in make_current().items()}, baseline)
    assert one_row.status == "skipped"
    assert one_row.skip_reason == "too few rows: 1 < min_rows 100"
    assert not one_row.dataset_drift
    assert one_row.features == []


def test_one_row_window_computes_when_allowed(baseline: Baseline, make_current) -> None:
    config = DriftConfig(min_rows=1, min_feature_rows=1)
    result = run({k: v[:1] for k, v in make_current().items()}, baseline, config)
    assert result.status == "completed"
    age = by_name(result, "age")
    assert age.present == 1
    assert 0.0 <= age.p_value <= 1.0
    assert not age.drifted  # one row is never significant


def test_nan_type_errors_and_completeness(baseline: Baseline, make_current) -> None:
    current = make_current()
    age = current["age"].astype(object)
    age[:1000] = None  # 20% missing
    age[1000:1100] = "n/a-text"  # 2% not numeric
    current["age"] = age
    result = run(current, baseline)
    feature = by_name(result, "age")
    assert feature.missing == 1000
    assert feature.type_errors == 100
    assert feature.completeness == pytest.approx(4000 / 5000)
    checks = {(v.feature_name, v.constraint_check_type): v for v in result.violations}
    completeness = checks[("age", "completeness_check")]
    assert completeness.statistic == pytest.approx(0.8)
    assert completeness.threshold == pytest.approx(0.95)
    data_type = checks[("age", "data_type_check")]
    assert data_type.statistic == pytest.approx(100 / 4000)


def test_constant_columns() -> None:
    baseline = build_baseline({"k": np.full(1000, 3.0), "v": np.arange(1000.0)})
    same = run({"k": np.full(500, 3.0), "v": np.arange(500.0) * 2}, baseline)
    k = by_name(same, "k")
    assert k.status == "checked"
    assert k.ks_statistic == 0.0
    assert k.wasserstein == 0.0
    assert not k.drifted
    moved = run({"k": np.full(500, 4.0), "v": np.arange(500.0) * 2}, baseline)
    k = by_name(moved, "k")
    assert k.ks_statistic == 1.0
    assert k.wasserstein == pytest.approx(1.0 / 3.0)  # W1 = 1, scale = |mean| = 3
    assert k.drifted


def test_unseen_categories_and_missing_and_extra_columns(baseline: Baseline, make_current) -> None:
    current = make_current()
    colour = current["colour"].astype(object)
    colour[:250] = "purple"  # 5% unseen
    current["colour"] = colour
    del current["score"]
    current["new_col"] = np.zeros(5000)
    result = run(current, baseline)
    feature = by_name(result, "colour")
    assert feature.unseen_share == pytest.approx(0.05)
    assert feature.unseen_categories == ["purple"]
    assert feature.effect_metric == "unseen_share"
    assert feature.drifted
    kinds = {(v.feature_name, v.constraint_check_type) for v in result.violations}
    assert ("colour", "categorical_values_check") in kinds
    assert ("score", "missing_column_check") in kinds
    assert ("new_col", "extra_column_check") in kinds
    assert by_name(result, "score").status == "missing_column"


def test_prediction_drift_and_model_quality(make_current, make_training) -> None:
    columns = make_training(rows=10_000)
    rng = np.random.default_rng(2)
    labels = columns["label"].astype(int)
    columns["prediction"] = np.clip(labels * 0.6 + rng.uniform(0, 0.4, labels.size), 0, 1)
    baseline = build_baseline(columns, target="label", prediction="prediction")
    assert baseline.quality_metrics["accuracy"] == pytest.approx(1.0)
    assert baseline.quality_metrics["auc"] == pytest.approx(1.0)
    current = make_current(rows=4_000)
    current_labels = rng.integers(0, 2, 4_000)
    current["label"] = current_labels.astype(str)
    current["prediction"] = rng.uniform(0, 1, 4_000)  # a broken model: scores are noise
    result = run(current, baseline)
    assert result.quality is not None
    assert result.quality.metrics["accuracy"] == pytest.approx(0.5, abs=0.05)
    assert result.quality.metrics["auc"] == pytest.approx(0.5, abs=0.05)
    assert set(result.quality.degraded) == {"accuracy", "f1", "auc"}
    assert result.prediction is not None
    assert result.prediction.drifted


def test_regression_quality_metrics() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=5_000)
    baseline = build_baseline(
        {"x": x, "y": 2 * x, "pred": 2 * x + rng.normal(0, 0.1, 5_000)}, target="y", prediction="pred"
    )
    assert baseline.target_spec.problem_type == "regression"
    assert baseline.quality_metrics["rmse"] == pytest.approx(0.1, rel=0.05)
    xc = rng.normal(size=1_000)
    result = run({"x": xc, "y": 2 * xc, "pred": 2 * xc + rng.normal(0, 0.5, 1_000)}, baseline)
    assert result.quality is not None
    assert result.quality.metrics["rmse"] == pytest.approx(0.5, rel=0.1)
    assert result.quality.metrics["mae"] == pytest.approx(0.5 * np.sqrt(2 / np.pi), rel=0.1)
    assert result.quality.degraded == ["rmse", "mae"]
