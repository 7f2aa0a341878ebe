"""Drift detection on the local stack: capture in S3 + baseline -> scheduled check -> reports, metrics,
DriftCheckCompleted/DriftDetected on the bus reaching their rules' targets; sharded == single pass."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from driftloop.drift import baseline_files, build_baseline
from driftloop.drift.io import read_csv_columns
from driftloop_local import synthetic
from driftloop_local.stack import LocalStack

pytestmark = pytest.mark.e2e


def put_uri(stack: LocalStack, uri: str, body: bytes) -> None:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    stack.client("s3").put_object(Bucket=bucket, Key=key, Body=body)


def get_uri(stack: LocalStack, uri: str) -> bytes:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    body: bytes = stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


@pytest.fixture(scope="module")
def baseline_uploaded(stack: LocalStack) -> None:
    columns = read_csv_columns(synthetic.training_csv(rows=20_000, seed=1))
    baseline = build_baseline(columns, target="churned", prediction="prediction")
    for name, body in baseline_files(baseline).items():
        put_uri(stack, f"{stack.outputs['BaselineS3Uri']}/{name}", body)


def upload_hour(stack: LocalStack, hour: datetime, seed: int | None = None, **shift: Any) -> None:
    bucket, prefix = stack.outputs["DataCaptureS3Uri"].removeprefix("s3://").split("/", 1)
    columns = synthetic.churn_columns(6_000, seed=seed or int(hour.timestamp()) % 10_000, **shift)
    objects = synthetic.capture_objects(prefix, "churn-classifier", "AllTraffic", hour, columns, files=4)
    for key, body in objects.items():
        stack.client("s3").put_object(Bucket=bucket, Key=key, Body=body)


def drain_queue(stack: LocalStack, url: str) -> list[dict[str, Any]]:
    sqs, bodies = stack.client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        bodies += [json.loads(m["Body"]) for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return bodies


def test_scheduled_check_reports_emits_metrics_and_announces_drift(
    stack: LocalStack, baseline_uploaded
) -> None:
    last_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    upload_hour(stack, last_hour, charges_shift=25.0, plan_p=(0.2, 0.3, 0.5))
    drain_queue(stack, stack.outputs["RetrainingRequestsQueueUrl"])

    stack.fire_schedule(stack.outputs["DriftScheduleName"])
    stack.drain()

    requests = drain_queue(stack, stack.outputs["RetrainingRequestsQueueUrl"])
    assert len(requests) == 1, "DriftDetected reaches the retraining-requests queue through its rule"
    detected = requests[0]
    assert detected["detail-type"] == "DriftDetected"
    drifted = {feature["name"]: feature for feature in detected["detail"]["drifted_features"]}
    assert {"monthly_charges", "plan"} <= set(drifted)
    assert not {"tenure_months", "support_calls"} & set(drifted)  # unshifted columns stay quiet
    assert drifted["monthly_charges"]["p_value"] < 0.01

    report_uri = detected["detail"]["report_uri"]
    html = get_uri(stack, report_uri).decode()
    assert "monthly_charges" in html
    assert "<svg" in html
    report = json.loads(get_uri(stack, report_uri.replace("drift_report.html", "drift_report.json")))
    assert report["dataset_drift"] is True
    violations = json.loads(
        get_uri(stack, report_uri.replace("drift_report.html", "constraint_violations.json"))
    )
    checks = {(v["feature_name"], v["constraint_check_type"]) for v in violations["violations"]}
    assert ("monthly_charges", "baseline_drift_check") in checks

    metrics = stack.client("cloudwatch").list_metrics(Namespace="driftloop/data-metrics")["Metrics"]
    names = {m["MetricName"] for m in metrics}
    assert {"feature_baseline_drift_monthly_charges", "feature_non_null_plan"} <= names

    athena = stack.client("athena")
    execution_id = athena.start_query_execution(
        QueryString="SELECT detail_type FROM kpi_events WHERE json_extract_scalar(detail, '$.check_id') = ?",
        ExecutionParameters=[f"'{detected['detail']['check_id']}'"],
        WorkGroup=stack.outputs["KpiWorkGroupName"],
    )["QueryExecutionId"]
    rows = athena.get_query_results(QueryExecutionId=execution_id)["ResultSet"]["Rows"][1:]
    assert sorted(row["Data"][0]["VarCharValue"] for row in rows) == ["DriftCheckCompleted", "DriftDetected"]


def invoke_check(stack: LocalStack, payload: dict[str, Any]) -> dict[str, Any]:
    response = stack.client("lambda").invoke(
        FunctionName=stack.outputs["DriftCheckFunctionName"], Payload=json.dumps(payload)
    )
    assert "FunctionError" not in response, response["Payload"].read()
    result: dict[str, Any] = json.loads(response["Payload"].read())
    return result


def wait_for(stack: LocalStack, execution_arn: str, timeout: float = 120) -> dict[str, Any]:
    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = sfn.describe_execution(executionArn=execution_arn)
        if execution["status"] != "RUNNING":
            return dict(execution)
        time.sleep(0.3)
    raise AssertionError(f"{execution_arn} still running")


def test_sharded_check_decides_exactly_like_the_single_pass(stack: LocalStack, baseline_uploaded) -> None:
    # The same traffic (same seed) in two hours: one window is checked sharded, the other in one pass.
    # A subtle shift, so the decision has to be exact, not obvious.
    hour, twin = datetime(2026, 11, 2, 8, tzinfo=UTC), datetime(2026, 11, 2, 14, tzinfo=UTC)
    upload_hour(stack, hour, seed=404, charges_shift=4.0)
    upload_hour(stack, twin, seed=404, charges_shift=4.0)
    window = {"window_start": hour.isoformat(), "window_end": (hour + timedelta(hours=1)).isoformat()}
    twin_window = {"window_start": twin.isoformat(), "window_end": (twin + timedelta(hours=1)).isoformat()}

    started = invoke_check(stack, {**window, "mode": "sharded", "shard_count": 3})
    assert started["mode"] == "sharded"
    assert started["shards"] == 3
    execution = wait_for(stack, started["execution_arn"])
    assert execution["status"] == "SUCCEEDED", execution.get("error")
    sharded = json.loads(execution["output"])
    sharded_report = json.loads(get_uri(stack, sharded["report_uri"].replace(".html", ".json")))

    single = invoke_check(stack, {**twin_window, "mode": "single_pass"})
    single_report = json.loads(get_uri(stack, single["report_uri"].replace(".html", ".json")))

    assert sharded["rows"] == single["rows"] == 6_000
    for key in ("drifted_features", "dataset_drift", "severity", "status"):
        assert sharded[key] == single[key], key
    by_name = {f["name"]: f for f in single_report["features"]}
    for feature in sharded_report["features"]:
        # decisions, counts and strings exactly; float statistics up to summation order (last-bit rounding)
        single_feature = by_name[feature["name"]]
        assert feature.keys() == single_feature.keys()
        for key, value in feature.items():
            if isinstance(value, float):
                assert value == pytest.approx(single_feature[key], rel=1e-12, abs=1e-15), key
            else:
                assert value == single_feature[key], key


def test_a_duplicate_schedule_delivery_changes_nothing(stack: LocalStack, baseline_uploaded) -> None:
    hour = datetime(2026, 11, 3, 9, tzinfo=UTC)
    upload_hour(stack, hour)
    window = {"window_start": hour.isoformat(), "window_end": (hour + timedelta(hours=1)).isoformat()}
    first = invoke_check(stack, window)
    second = invoke_check(stack, window)
    assert first == second
    assert first["mode"] == "single_pass"
    assert first["dataset_drift"] is False  # unshifted traffic


def test_an_empty_window_is_skipped_with_a_reason(stack: LocalStack, baseline_uploaded) -> None:
    window = {"window_start": "2026-10-01T00:00:00Z", "window_end": "2026-10-01T01:00:00Z"}
    result = invoke_check(stack, window)
    assert result["status"] == "skipped"
    assert result["skip_reason"]
    assert result["drift_detected_emitted"] is False
