"""The drift check, shard and reduce handlers against in-process moto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from driftloop import drift_handlers
from driftloop.adapters.clients import reset_clients
from driftloop.drift import baseline_files, build_baseline
from driftloop.drift.io import read_csv_columns
from driftloop_local import synthetic

HOUR = datetime(2026, 11, 20, 10, tzinfo=UTC)
WINDOW = {"window_start": HOUR.isoformat(), "window_end": (HOUR + timedelta(hours=1)).isoformat()}
ENVIRONMENT = {
    "DRIFTLOOP_ENVIRONMENT": "dev",
    "MODEL_NAME": "churn",
    "ENDPOINT_NAME": "churn-ep",
    "CAPTURE_S3_URI": "s3://artifacts/dc",
    "BASELINE_S3_URI": "s3://artifacts/baselines/churn",
    "REPORTS_S3_URI": "s3://artifacts/drift-reports",
    "GROUND_TRUTH_S3_URI": "",
    "DRIFT_PERSISTENCE_WINDOWS": "1",
    "STATE_TABLE": "state",
    "IDEMPOTENCY_TABLE": "idempotency",
    "EVENT_BUS_NAME": "bus",
    "ARTIFACTS_BUCKET": "artifacts",
    "POWERTOOLS_SERVICE_NAME": "drift-test",
}


def _table(name: str, keys: list[str]) -> None:
    boto3.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in zip(keys, ["HASH", "RANGE"], strict=False)],
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Buckets, tables, the bus with a listener queue; baseline and one drifted hour of capture."""
    for key, value in ENVIRONMENT.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(drift_handlers, "_cache", {})
    with mock_aws():
        reset_clients()
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="artifacts")
        _table("state", ["pk", "sk"])
        _table("idempotency", ["id"])
        events, sqs = boto3.client("events"), boto3.client("sqs")
        events.create_event_bus(Name="bus")
        queue_url = sqs.create_queue(QueueName="listener")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name="all", EventBusName="bus", EventPattern=json.dumps({"source": ["driftloop"]}))
        events.put_targets(Rule="all", EventBusName="bus", Targets=[{"Id": "q", "Arn": arn}])
        baseline = build_baseline(
            read_csv_columns(synthetic.training_csv(rows=6_000, seed=1)),
            target="churned",
            prediction="prediction",
        )
        for name, body in baseline_files(baseline).items():
            s3.put_object(Bucket="artifacts", Key=f"baselines/churn/{name}", Body=body)
        columns = synthetic.churn_columns(2_000, seed=3, charges_shift=20.0, plan_p=(0.2, 0.3, 0.5))
        for key, body in synthetic.capture_objects(
            "dc", "churn-ep", "AllTraffic", HOUR, columns, files=3
        ).items():
            s3.put_object(Bucket="artifacts", Key=key, Body=body)
        yield queue_url
    reset_clients()


def bus_events(queue_url: str) -> list[dict[str, Any]]:
    sqs, found = boto3.client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        found += [json.loads(m["Body"]) for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return found


def test_single_pass_check_reports_saves_state_and_publishes(aws: str, load_handler, lambda_context) -> None:
    result = load_handler("drift_check").lambda_handler({**WINDOW, "mode": "single_pass"}, lambda_context)
    assert result["mode"] == "single_pass"
    assert result["drift_detected_emitted"] is True
    kinds = sorted(event["detail-type"] for event in bus_events(aws))
    assert kinds == ["DriftCheckCompleted", "DriftDetected"]
    keys = {
        o["Key"]
        for o in boto3.client("s3").list_objects_v2(Bucket="artifacts", Prefix="drift-reports/")["Contents"]
    }
    folder = f"drift-reports/churn/{result['check_id']}/"
    assert {
        f"{folder}drift_report.html",
        f"{folder}drift_report.json",
        f"{folder}constraint_violations.json",
    } <= keys
    ledger = boto3.client("dynamodb").get_item(
        TableName="state", Key={"pk": {"S": "drift#churn#churn-ep#AllTraffic"}, "sk": {"S": "ledger"}}
    )
    stored = json.loads(ledger["Item"]["ledger"]["S"])
    assert stored["state"]["consecutive_drift_windows"] == 1
    assert stored["last_check_id"] == result["check_id"]
    assert stored["outbox"] == []  # everything decided was published


def test_a_redelivered_schedule_event_publishes_nothing_new(aws: str, load_handler, lambda_context) -> None:
    handler = load_handler("drift_check")
    first = handler.lambda_handler(WINDOW, lambda_context)
    bus_events(aws)
    assert handler.lambda_handler(WINDOW, lambda_context) == first
    assert bus_events(aws) == []


def test_shard_and_reduce_reach_the_single_pass_decision(aws: str, load_handler, lambda_context) -> None:
    keys = [
        o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="artifacts", Prefix="dc/")["Contents"]
    ]
    shard = load_handler("drift_shard")
    s3 = boto3.client("s3")
    summaries = []
    for index, key in enumerate(keys):
        manifest = f"manifests/c1/{index}.json"
        s3.put_object(Bucket="artifacts", Key=manifest, Body=json.dumps({"uris": [f"s3://artifacts/{key}"]}))
        request = {
            "check_id": "c1",
            **WINDOW,
            "shard_index": index,
            "manifest_uri": f"s3://artifacts/{manifest}",
        }
        summaries.append(shard.lambda_handler(request, lambda_context)["summary_uri"])
    reduced = load_handler("drift_reduce").lambda_handler(
        {"check_id": "c1", **WINDOW, "summary_uris": summaries}, lambda_context
    )
    single = load_handler("drift_check").lambda_handler({**WINDOW, "mode": "single_pass"}, lambda_context)
    for key in ("rows", "drifted_features", "dataset_drift", "severity"):
        assert reduced[key] == single[key], key


def test_a_missing_shard_manifest_is_a_retryable_typed_error(aws: str, load_handler, lambda_context) -> None:
    shard = load_handler("drift_shard")
    request = {"check_id": "c4", **WINDOW, "shard_index": 0, "manifest_uri": "s3://artifacts/gone.json"}
    with pytest.raises(shard.ShardReadError):
        shard.lambda_handler(request, lambda_context)


def test_reduce_refuses_to_decide_on_a_missing_shard(aws: str, load_handler, lambda_context) -> None:
    reduce = load_handler("drift_reduce")
    with pytest.raises(reduce.MissingShardSummary):
        reduce.lambda_handler(
            {"check_id": "c2", **WINDOW, "summary_uris": ["s3://artifacts/nope.json"]}, lambda_context
        )
    assert bus_events(aws) == []  # nothing announced, no state advanced
    assert "Item" not in boto3.client("dynamodb").get_item(
        TableName="state", Key={"pk": {"S": "drift#churn#churn-ep#AllTraffic"}, "sk": {"S": "ledger"}}
    )


def test_invalid_shard_requests_are_refused(aws: str, load_handler, lambda_context) -> None:
    from aws_lambda_powertools.utilities.parser import ValidationError

    with pytest.raises(ValidationError):
        load_handler("drift_shard").lambda_handler(
            {"check_id": "c3", **WINDOW, "shard_index": 0, "manifest_uri": "shards.json"}, lambda_context
        )
