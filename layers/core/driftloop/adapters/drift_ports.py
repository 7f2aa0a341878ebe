"""``DriftPorts`` on AWS: S3 for captures, baselines and reports, DynamoDB for the ledger, the bus."""

from __future__ import annotations

from collections.abc import Sequence

from driftloop.adapters import s3
from driftloop.adapters.bus import publish
from driftloop.adapters.clients import client
from driftloop.contracts import DriftloopEvent
from driftloop.monitoring import ConcurrentLedgerUpdate, DriftLedger


class AwsDriftPorts:
    def __init__(self, *, state_table: str, bus_name: str, event_source: str) -> None:
        self.state_table = state_table
        self.bus_name = bus_name
        self.event_source = event_source

    def read(self, uri: str) -> bytes | None:
        return s3.read(uri)

    def list_objects(self, prefix_uri: str) -> list[tuple[str, int]]:
        return s3.list_objects(prefix_uri)

    def write(self, uri: str, body: bytes, content_type: str) -> None:
        s3.write(uri, body, content_type)

    def load_ledger(self, key: str) -> DriftLedger | None:
        item = (
            client("dynamodb")
            .get_item(
                TableName=self.state_table, Key={"pk": {"S": key}, "sk": {"S": "ledger"}}, ConsistentRead=True
            )
            .get("Item")
        )
        return DriftLedger.model_validate_json(item["ledger"]["S"]) if item else None

    def save_ledger(self, key: str, ledger: DriftLedger, expected_version: int) -> None:
        dynamodb = client("dynamodb")
        try:
            dynamodb.put_item(
                TableName=self.state_table,
                Item={
                    "pk": {"S": key},
                    "sk": {"S": "ledger"},
                    "version": {"N": str(ledger.version)},
                    "ledger": {"S": ledger.model_dump_json()},
                },
                ConditionExpression="attribute_not_exists(pk) OR version = :expected",
                ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
            )
        except dynamodb.exceptions.ConditionalCheckFailedException as error:
            raise ConcurrentLedgerUpdate(f"{key}: ledger moved past version {expected_version}") from error

    def publish(self, events: Sequence[DriftloopEvent]) -> list[str]:
        return publish(events, bus_name=self.bus_name, source=self.event_source)
