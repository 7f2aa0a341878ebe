"""The KPI event log on the local stack: bus -> rule -> SQS -> writer -> S3 -> Athena (DuckDB)."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from driftloop_local.stack import LocalStack

pytestmark = pytest.mark.e2e


def athena_rows(
    stack: LocalStack, sql: str, parameters: list[str] | None = None
) -> list[dict[str, str | None]]:
    athena = stack.client("athena")
    kwargs: dict[str, Any] = {"QueryString": sql, "WorkGroup": stack.outputs["KpiWorkGroupName"]}
    if parameters:
        kwargs["ExecutionParameters"] = parameters
    execution_id = athena.start_query_execution(**kwargs)["QueryExecutionId"]
    state = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]["State"]
    assert state == "SUCCEEDED"
    header, *rows = athena.get_query_results(QueryExecutionId=execution_id)["ResultSet"]["Rows"]
    names = [cell["VarCharValue"] for cell in header["Data"]]
    return [dict(zip(names, (cell.get("VarCharValue") for cell in row["Data"]), strict=True)) for row in rows]


def keys(stack: LocalStack, prefix: str) -> dict[str, str]:
    s3 = stack.client("s3")
    listing = s3.list_objects_v2(Bucket=stack.outputs["KpiEventsBucketName"], Prefix=prefix)
    return {item["Key"]: item["ETag"] for item in listing.get("Contents", [])}


def put_business_events(stack: LocalStack, run_id: str, count: int) -> list[str]:
    events = stack.client("events")
    ids: list[str] = []
    for start in range(0, count, 10):
        entries = [
            {
                "EventBusName": stack.outputs["EventBusName"],
                "Source": "acme.checkout",
                "DetailType": "Conversion",
                "Detail": json.dumps(
                    {"run_id": run_id, "n": n, "amount": 2.5, "endpoint_name": "churn-classifier"}
                ),
            }
            for n in range(start, min(start + 10, count))
        ]
        response = events.put_events(Entries=entries)
        assert response["FailedEntryCount"] == 0
        ids += [entry["EventId"] for entry in response["Entries"]]
    return ids


def test_business_events_appear_exactly_once_in_the_dedup_view(stack: LocalStack) -> None:
    run_id = uuid.uuid4().hex
    ids = put_business_events(stack, run_id, 25)
    stack.drain()
    rows = athena_rows(
        stack,
        "SELECT id, count(*) AS copies FROM kpi_events "
        "WHERE json_extract_scalar(detail, '$.run_id') = ? GROUP BY id",
        [f"'{run_id}'"],
    )
    assert sorted(row["id"] for row in rows) == sorted(ids)
    assert {row["copies"] for row in rows} == {"1"}


def sqs_event_for(stack: LocalStack, bodies: list[str]) -> dict[str, Any]:
    queue_arn = f"arn:aws:sqs:{stack.region}:123456789012:driftloop-dev-kpi-ingest"
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "replayed",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "2",
                    "SentTimestamp": str(int(time.time() * 1000)),
                    "SenderId": "AIDAREPLAY",
                    "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": stack.region,
            }
            for body in bodies
        ]
    }


def envelope(detail_type: str, detail: Any, source: str = "acme.checkout") -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-11-20T09:15:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def invoke_writer(stack: LocalStack, event: dict[str, Any]) -> dict[str, Any]:
    response = stack.client("lambda").invoke(
        FunctionName=stack.outputs["KpiWriterFunctionName"], Payload=json.dumps(event)
    )
    assert "FunctionError" not in response
    result: dict[str, Any] = json.loads(response["Payload"].read())
    return result


def test_a_replayed_sqs_batch_writes_nothing_new(stack: LocalStack) -> None:
    bodies = [json.dumps(envelope("Purchase", {"order": n, "amount": 10})) for n in range(30)]
    first = invoke_writer(stack, sqs_event_for(stack, bodies))
    before = keys(stack, "events/event_type=Purchase/dt=2026-11-20/")
    second = invoke_writer(stack, sqs_event_for(stack, list(reversed(bodies))))  # same ids, new delivery
    after = keys(stack, "events/event_type=Purchase/dt=2026-11-20/")
    assert first == second == {"batchItemFailures": []}
    assert len(before) == 1
    assert after == before  # same key, same ETag: nothing overwritten, nothing added


def test_written_objects_cannot_be_overwritten_or_deleted(stack: LocalStack) -> None:
    invoke_writer(stack, sqs_event_for(stack, [json.dumps(envelope("Churn", {"customer": "c-1"}))]))
    (key,) = keys(stack, "events/event_type=Churn/dt=2026-11-20/")
    s3, bucket = stack.client("s3"), stack.outputs["KpiEventsBucketName"]
    with pytest.raises(ClientError) as overwrite:
        s3.put_object(
            Bucket=bucket, Key=key, Body=b"tampered", IfNoneMatch="*", ServerSideEncryption="AES256"
        )
    assert overwrite.value.response["Error"]["Code"] == "PreconditionFailed"
    with pytest.raises(ClientError) as blind_overwrite:  # no If-None-Match: a new version, if allowed
        s3.put_object(Bucket=bucket, Key=key, Body=b"tampered", ServerSideEncryption="AES256")
    assert blind_overwrite.value.response["Error"]["Code"] == "AccessDenied"  # DenyWritesThatCouldOverwrite
    assert len(s3.list_object_versions(Bucket=bucket, Prefix=key)["Versions"]) == 1
    with pytest.raises(ClientError) as delete:
        s3.delete_object(Bucket=bucket, Key=key)
    assert delete.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403  # bucket policy DenyDeletes
    body = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert json.loads(body)["detail_type"] == "Churn"


def test_malformed_events_are_quarantined_and_the_valid_ones_stored(stack: LocalStack, load_event) -> None:
    marker = uuid.uuid4().hex
    valid = envelope("Conversion", {"batch": marker, "amount": 1.0})
    broken_contract = load_event("platform/ModelDeployed.json")
    broken_contract["id"] = str(uuid.uuid4())
    broken_contract["detail"]["endpoint_name"] = marker
    del broken_contract["detail"]["deployment_id"]
    bodies = [
        json.dumps(valid),
        f"this is not json {marker}",
        json.dumps(envelope("Conversion", ["not", "an", "object", marker])),
        json.dumps(broken_contract),
    ]
    assert invoke_writer(stack, sqs_event_for(stack, bodies)) == {"batchItemFailures": []}
    stored = athena_rows(stack, "SELECT id FROM kpi_events WHERE id = ?", [f"'{valid['id']}'"])
    assert stored == [{"id": valid["id"]}]
    s3, bucket = stack.client("s3"), stack.outputs["KpiEventsBucketName"]
    reasons = []
    for key in keys(stack, "quarantine/"):
        lines = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode().splitlines()
        reasons += [json.loads(line)["reason"] for line in lines if marker in line]
    assert sorted(reasons) == ["body_not_json", "contract_violation", "detail_not_object"]


def test_the_writer_emits_its_counts_as_metrics(stack: LocalStack) -> None:
    invoke_writer(stack, sqs_event_for(stack, ["{broken"]))
    metrics = stack.client("cloudwatch").list_metrics(Namespace="driftloop")["Metrics"]
    names = {metric["MetricName"] for metric in metrics}
    assert {"EventsAccepted", "EventsQuarantined", "ObjectsWritten"} <= names


def test_feedback_api_validates_publishes_once_and_reaches_the_log(stack: LocalStack) -> None:
    feedback_id = f"fb-{uuid.uuid4().hex[:10]}"
    caller = "arn:aws:iam::123456789012:user/analyst"
    status, first = stack.api_request(
        "POST", "/feedback", {"feedback_id": feedback_id, "rating": 2}, user_arn=caller
    )
    assert status == 202
    status, again = stack.api_request(
        "POST", "/feedback", {"feedback_id": feedback_id, "rating": 2}, user_arn=caller
    )
    assert status == 202
    assert again["event_id"] == first["event_id"]  # idempotent: the retry put nothing new
    status, invalid = stack.api_request("POST", "/feedback", {"feedback_id": "x", "rating": 9})
    assert status == 422
    assert any(error["loc"][-1] == "rating" for error in invalid["detail"])
    stack.drain()
    rows = athena_rows(
        stack,
        "SELECT json_extract_scalar(detail, '$.submitted_by') AS who FROM kpi_events "
        "WHERE event_type = 'FeedbackReceived' AND json_extract_scalar(detail, '$.feedback_id') = ?",
        [f"'{feedback_id}'"],
    )
    assert rows == [{"who": caller}]


def test_named_queries_from_the_template_run_on_the_local_athena(stack: LocalStack) -> None:
    athena = stack.client("athena")
    ids = athena.list_named_queries(WorkGroup=stack.outputs["KpiWorkGroupName"])["NamedQueryIds"]
    queries = [athena.get_named_query(NamedQueryId=i)["NamedQuery"] for i in ids]
    by_name = {q["Name"].removeprefix("driftloop-dev-"): q for q in queries}
    assert set(by_name) >= {"events_per_type_per_day", "rollback_rate", "challenger_win_rate"}
    day_batch = [envelope("Purchase", {"order": n}) | {"time": "2026-11-18T23:59:59Z"} for n in range(7)]
    # Refund is not in BusinessEventTypes: stored, but outside the partition projection, so Athena (and
    # the local Athena, which reads the Glue table's projection) does not see it.
    unlisted = [envelope("Refund", {"order": n}) | {"time": "2026-11-18T10:00:00Z"} for n in range(2)]
    bodies = [json.dumps(event) for event in day_batch + day_batch[:3] + unlisted]
    invoke_writer(stack, sqs_event_for(stack, bodies))
    assert keys(stack, "events/event_type=Refund/dt=2026-11-18/")
    day = ["'2026-11-18'", "'2026-11-18'"]
    rows = athena_rows(stack, by_name["events_per_type_per_day"]["QueryString"], day)
    per_type = {row["detail_type"]: int(row["events"] or 0) for row in rows}
    assert per_type == {"Purchase": 7}  # three ids delivered twice in the batch, counted once
