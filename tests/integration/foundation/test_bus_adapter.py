from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from driftloop.adapters.bus import publish
from driftloop.contracts import parse_detail


@pytest.fixture
def bus_with_listener() -> Iterator[str]:
    with mock_aws():
        events, sqs = boto3.client("events"), boto3.client("sqs")
        events.create_event_bus(Name="driftloop-test")
        queue_url = sqs.create_queue(QueueName="listener")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(
            Name="all", EventBusName="driftloop-test", EventPattern=json.dumps({"source": ["driftloop"]})
        )
        events.put_targets(Rule="all", EventBusName="driftloop-test", Targets=[{"Id": "q", "Arn": queue_arn}])
        yield queue_url


def test_publish_puts_contract_events_in_chunks_of_ten(bus_with_listener: str, load_event) -> None:
    detail = load_event("platform/ModelDeployed.json")["detail"]
    events = [parse_detail("ModelDeployed", {**detail, "deployment_id": f"dep-{i}"}) for i in range(23)]
    ids = publish(events, bus_name="driftloop-test", source="driftloop")
    assert len(set(ids)) == 23
    sqs = boto3.client("sqs")
    received = []
    while batch := sqs.receive_message(QueueUrl=bus_with_listener, MaxNumberOfMessages=10).get("Messages"):
        received += [json.loads(m["Body"]) for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=bus_with_listener, ReceiptHandle=m["ReceiptHandle"])
    assert sorted(e["detail"]["deployment_id"] for e in received) == sorted(f"dep-{i}" for i in range(23))
    assert {e["detail-type"] for e in received} == {"ModelDeployed"}
