"""``DriftPorts`` on AWS: S3 for captures, baselines and reports, DynamoDB for state, the bus for events."""

from __future__ import annotations

from collections.abc import Sequence

from driftloop.adapters import s3
from driftloop.adapters.bus import publish
from driftloop.adapters.clients import client
from driftloop.contracts import DriftloopEvent
from driftloop.drift import DriftState


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

    def load_state(self, key: str) -> DriftState | None:
        item = (
            client("dynamodb")
            .get_item(
                TableName=self.state_table, Key={"pk": {"S": key}, "sk": {"S": "state"}}, ConsistentRead=True
            )
            .get("Item")
        )
        return DriftState.model_validate_json(item["state"]["S"]) if item else None

    def save_state(self, key: str, state: DriftState) -> None:
        client("dynamodb").put_item(
            TableName=self.state_table,
            Item={"pk": {"S": key}, "sk": {"S": "state"}, "state": {"S": state.model_dump_json()}},
        )

    def publish(self, events: Sequence[DriftloopEvent]) -> list[str]:
        return publish(events, bus_name=self.bus_name, source=self.event_source)
