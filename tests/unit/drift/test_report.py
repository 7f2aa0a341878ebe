"""Outputs: Model Monitor violations with numbers, reports, metrics and platform events."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from driftloop.contracts import DriftCheckCompleted, DriftDetected, parse_detail
from driftloop.drift import (
    Baseline,
    DriftConfig,
    DriftState,
    FeatureConfig,
    HysteresisConfig,
    advance,
    build_events,
    constraint_violations_json,
    decide,
    drift_report_html,
    drift_report_json,
    metric_datapoints,
    summarize,
)

START = datetime(2026, 11, 26, 10, tzinfo=UTC)
EVENT_ARGS = {
    "environment": "dev",
    "model_name": "churn",
    "check_id": "chk-1",
    "endpoint_name": "churn-ep",
    "window_start": START,
    "window_end": START + timedelta(hours=1),
}


@pytest.fixture
def drifted(baseline: Baseline, make_current):
    config = DriftConfig(
        features={"age": FeatureConfig(critical=True)}, hysteresis=HysteresisConfig(consecutive_windows=1)
    )
    current = make_current(age_shift=6.0)
    current["colour"] = current["colour"].astype(object)
    current["colour"][:500] = "<script>"
    return decide(summarize(current, baseline), baseline, config)


def test_constraint_violations_carry_numbers(drifted) -> None:
    document = json.loads(constraint_violations_json(drifted))
    violations = {(v["feature_name"], v["constraint_check_type"]): v for v in document["violations"]}
    age = violations[("age", "baseline_drift_check")]
    assert set(age) >= {
        "feature_name",
        "constraint_check_type",
        "description",
        "statistic",
        "threshold",
        "p_value",
        "effect",
    }
    assert age["effect"] >= age["threshold"] > 0
    assert 0 <= age["p_value"] < 0.01
    unseen = violations[("colour", "categorical_values_check")]
    assert unseen["statistic"] == pytest.approx(0.1)


def test_json_report_has_every_statistic(drifted) -> None:
    document = json.loads(drift_report_json(drifted, check_id="chk-1"))
    assert document["context"] == {"check_id": "chk-1"}
    age = next(f for f in document["features"] if f["name"] == "age")
    for key in (
        "ks_statistic",
        "p_value",
        "p_value_adjusted",
        "wasserstein",
        "psi",
        "completeness",
        "severity",
    ):
        assert age[key] is not None
    assert document["dataset_drift"] is True


def test_html_is_self_contained_and_escaped(drifted) -> None:
    page = drift_report_html(drifted, endpoint="churn-ep")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page  # category "<script>" is escaped, and no JS is used
    assert "&lt;script&gt;" in page
    assert not re.search(r"(src|href)=['\"]https?://", page)
    assert page.count("<svg") == 4  # one chart per feature; no prediction baseline, no prediction chart
    assert "Dataset drift: yes" in page


def test_metric_datapoints_follow_model_monitor_names(drifted) -> None:
    points = {p.name: p.value for p in metric_datapoints(drifted)}
    age = next(f for f in drifted.features if f.name == "age")
    assert points["feature_baseline_drift_age"] == age.effect
    assert points["feature_non_null_age"] == 1.0
    assert points["feature_data_age"] == 1.0
    assert points["dataset_drift"] == 1.0
    assert points["drifted_features"] == float(len(drifted.drifted_features))


def test_events_validate_against_contracts(drifted) -> None:
    transition = advance(DriftState(), drifted, START, drifted.config.hysteresis)
    completed, detected = build_events(
        drifted, report_uri="s3://bucket/reports/chk-1/", transition=transition, **EVENT_ARGS
    )
    assert isinstance(completed, DriftCheckCompleted)
    assert isinstance(detected, DriftDetected)
    assert parse_detail("DriftCheckCompleted", json.loads(completed.detail_json())) == completed
    assert parse_detail("DriftDetected", json.loads(detected.detail_json())) == detected
    names = [f.name for f in detected.drifted_features]
    assert names == drifted.drifted_features
    assert detected.drifted_features[0].critical
    assert detected.consecutive_windows == 1
    with pytest.raises(ValueError, match="report_uri"):
        build_events(drifted, report_uri=None, transition=transition, **EVENT_ARGS)


def test_skipped_result_builds_completed_event_only(baseline: Baseline) -> None:
    skipped = decide(summarize({}, baseline), baseline)
    transition = advance(None, skipped, START)
    completed, detected = build_events(skipped, report_uri=None, transition=transition, **EVENT_ARGS)
    assert detected is None
    assert completed.status == "skipped"
    assert completed.skip_reason == "empty window: no rows"
    assert [p.name for p in metric_datapoints(skipped)] == ["drift_check_skipped"]
    assert "skipped" in drift_report_html(skipped)
