"""The KPI writer and feedback handlers against in-process moto."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from moto import mock_aws

from driftloop.adapters.clients import reset_clients
from driftloop.kpi.store import S3CreateOnlyStore

BUCKET = "kpi-events-test"
PLATFORM_ENV = {
    "DRIFTLOOP_ENVIRONMENT": "dev",
    "EVENT_BUS_NAME": "driftloop-test",
    "STATE_TABLE": "state",
    "ARTIFACTS_BUCKET": "artifacts",
    "MODEL_NAME": "churn-classifier",
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in PLATFORM_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KPI_BUCKET", BUCKET)
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "idempotency")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "test")
    with mock_aws():
        reset_clients()
        boto3.client("s3").create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        yield
    reset_clients()


def sqs_event(bodies: list[str]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{index}",
                "receiptHandle": "r",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795700000000",
                    "SenderId": "AIDA",
                    "ApproximateFirstReceiveTimestamp": "1795700000000",
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:kpi",
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }


def test_writer_stores_valid_events_encrypted_and_quarantines_the_rest(
    aws: None, load_handler, lambda_context, load_event
) -> None:
    handler = load_handler("kpi_writer")
    good = load_event("platform/DriftCheckCompleted.json")
    response = handler.lambda_handler(sqs_event([json.dumps(good), "{oops"]), lambda_context)
    assert response == {"batchItemFailures": []}
    s3 = boto3.client("s3")
    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys[0].startswith("events/event_type=DriftCheckCompleted/dt=2026-11-26/hour=11/")
    assert keys[1].startswith("quarantine/")
    head = s3.head_object(Bucket=BUCKET, Key=keys[0])
    assert head["ServerSideEncryption"] == "AES256"
    record = json.loads(gzip.decompress(s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()))
    assert record["id"] == good["id"]
    assert json.loads(record["detail"]) == good["detail"]


def test_writer_reports_only_the_messages_whose_object_failed(
    aws: None, load_handler, lambda_context, load_event, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = load_handler("kpi_writer")
    s3 = boto3.client("s3")
    real_put = s3.put_object

    def throttled_for_model_deployed(**kwargs: Any) -> Any:
        if "event_type=ModelDeployed/" in kwargs["Key"]:
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow down"}}, "PutObject")
        return real_put(**kwargs)

    monkeypatch.setattr(s3, "put_object", throttled_for_model_deployed)
    monkeypatch.setattr(
        handler,
        "_dependencies",
        lambda: (handler.load_settings(handler.WriterSettings), S3CreateOnlyStore(BUCKET, s3=s3)),
    )
    deployed, checked = (
        load_event("platform/ModelDeployed.json"),
        load_event("platform/DriftCheckCompleted.json"),
    )
    event = sqs_event([json.dumps(checked), json.dumps(deployed), json.dumps(checked | {"id": "other"})])

    assert handler.lambda_handler(event, lambda_context) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert [key.split("/")[1] for key in keys] == ["event_type=DriftCheckCompleted"]


def test_writer_raises_when_no_object_could_be_written(
    aws: None, load_handler, lambda_context, load_event
) -> None:
    handler = load_handler("kpi_writer")
    boto3.client("s3").delete_bucket(Bucket=BUCKET)  # every PUT now fails
    event = sqs_event([json.dumps(load_event("platform/ModelDeployed.json"))])
    with pytest.raises(BatchProcessingError):  # Powertools' rule: the whole batch is retried
        handler.lambda_handler(event, lambda_context)


@pytest.fixture
def feedback_aws(aws: None) -> str:
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name="driftloop-test")
    queue_url = sqs.create_queue(QueueName="listener")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="all", EventBusName="driftloop-test", EventPattern=json.dumps({"source": ["driftloop"]})
    )
    events.put_targets(Rule="all", EventBusName="driftloop-test", Targets=[{"Id": "q", "Arn": arn}])
    boto3.client("dynamodb").create_table(
        TableName="idempotency",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return queue_url


def api_event(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "resource": "/feedback",
        "path": "/feedback",
        "httpMethod": "POST",
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "stage": "v1",
            "requestId": str(uuid.uuid4()),
            "httpMethod": "POST",
            "path": "/v1/feedback",
            "resourcePath": "/feedback",
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": 0,
            "requestTime": "26/Nov/2026:11:00:00 +0000",
            "identity": {"sourceIp": "10.0.0.1", "userArn": "arn:aws:iam::123456789012:user/qa"},
        },
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def test_feedback_is_published_once_per_feedback_id(feedback_aws: str, load_handler, lambda_context) -> None:
    handler = load_handler("feedback_api")
    body = {"feedback_id": "fb-42", "inference_id": "inf-1", "label": "churned"}
    first = handler.lambda_handler(api_event(body), lambda_context)
    second = handler.lambda_handler(api_event(body), lambda_context)
    assert first["statusCode"] == second["statusCode"] == 202
    assert json.loads(first["body"]) == json.loads(second["body"])
    messages = boto3.client("sqs").receive_message(QueueUrl=feedback_aws, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    detail = json.loads(messages[0]["Body"])["detail"]
    assert detail["submitted_by"] == "arn:aws:iam::123456789012:user/qa"
    assert detail["label"] == "churned"


def test_a_reused_feedback_id_with_different_feedback_is_a_conflict(
    feedback_aws: str, load_handler, lambda_context
) -> None:
    handler = load_handler("feedback_api")
    assert (
        handler.lambda_handler(api_event({"feedback_id": "fb-7", "rating": 5}), lambda_context)["statusCode"]
        == 202
    )
    conflict = handler.lambda_handler(api_event({"feedback_id": "fb-7", "rating": 1}), lambda_context)
    assert conflict["statusCode"] == 409
    assert (
        len(boto3.client("sqs").receive_message(QueueUrl=feedback_aws, MaxNumberOfMessages=10)["Messages"])
        == 1
    )


def test_feedback_with_unknown_fields_is_refused(feedback_aws: str, load_handler, lambda_context) -> None:
    handler = load_handler("feedback_api")
    response = handler.lambda_handler(
        api_event({"feedback_id": "fb-1", "rating": 3, "admin": True}), lambda_context
    )
    assert response["statusCode"] == 422
    assert "admin" in response["body"]


def test_feedback_that_says_nothing_is_refused(feedback_aws: str, load_handler, lambda_context) -> None:
    handler = load_handler("feedback_api")
    response = handler.lambda_handler(
        api_event({"feedback_id": "fb-2", "label": "", "comment": "  "}), lambda_context
    )
    assert response["statusCode"] == 422
    assert json.loads(response["body"])["detail"] == [{"loc": ["body"], "type": "value_error"}]
    assert "Messages" not in boto3.client("sqs").receive_message(QueueUrl=feedback_aws)  # nothing published


def test_types_missing_from_the_projection_are_stored_and_counted(
    aws: None, load_handler, lambda_context, load_event, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("KPI_QUERYABLE_EVENT_TYPES", "DriftCheckCompleted,Conversion")
    handler = load_handler("kpi_writer")
    known = load_event("platform/DriftCheckCompleted.json")
    unknown = {
        **known,
        "id": "1b7c5e8a-0d3f-4b2a-9c61-000000000099",
        "detail-type": "Refund",
        "source": "acme",
    }
    assert handler.lambda_handler(sqs_event([json.dumps(known), json.dumps(unknown)]), lambda_context) == {
        "batchItemFailures": []
    }
    keys = [item["Key"] for item in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert any(key.startswith("events/event_type=Refund/") for key in keys)  # stored, never dropped
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [doc["EventsNotQueryable"] for doc in emf] == [[1.0]]
