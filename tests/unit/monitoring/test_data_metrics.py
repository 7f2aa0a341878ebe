from __future__ import annotations

import json

import pytest

from driftloop.drift.report import MetricDatum
from driftloop.drift_handlers import DATA_METRICS_NAMESPACE, DriftFunctionSettings, emit_data_metrics


def test_data_metrics_have_model_monitors_dimensions(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "drift-check")
    current = DriftFunctionSettings.model_validate(
        {
            "DRIFTLOOP_ENVIRONMENT": "prod",
            "MODEL_NAME": "churn",
            "ENDPOINT_NAME": "churn-ep",
            "CAPTURE_S3_URI": "s3://c/dc",
            "BASELINE_S3_URI": "s3://a/b",
            "REPORTS_S3_URI": "s3://a/r",
            "STATE_TABLE": "state",
            "EVENT_BUS_NAME": "bus",
        }
    )
    emit_data_metrics([MetricDatum(name="feature_baseline_drift_age", value=0.31)], current)
    (document,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == DATA_METRICS_NAMESPACE
    assert directive["Dimensions"] == [["Endpoint", "MonitoringSchedule"]]
    assert (document["Endpoint"], document["MonitoringSchedule"]) == ("churn-ep", "churn")
    assert document["feature_baseline_drift_age"] == [0.31]
