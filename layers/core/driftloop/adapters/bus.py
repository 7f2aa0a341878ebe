"""Publishing platform events to the driftloop EventBridge bus."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from driftloop.adapters.clients import client
from driftloop.contracts import DriftloopEvent

MAX_ENTRIES_PER_CALL = 10


class PublishError(RuntimeError):
    """EventBridge refused one or more entries."""


def to_entry(
    event: DriftloopEvent, *, bus_name: str, source: str, resources: Sequence[str] = ()
) -> dict[str, Any]:
    return {
        "EventBusName": bus_name,
        "Source": source,
        "DetailType": event.DETAIL_TYPE,
        "Detail": event.detail_json(),
        "Resources": list(resources),
    }


def publish(
    events: Sequence[DriftloopEvent], *, bus_name: str, source: str, resources: Sequence[str] = ()
) -> list[str]:
    """Put ``events`` on the bus; returns their event ids. Raises if any entry failed."""
    ids: list[str] = []
    for start in range(0, len(events), MAX_ENTRIES_PER_CALL):
        chunk = events[start : start + MAX_ENTRIES_PER_CALL]
        entries = [to_entry(e, bus_name=bus_name, source=source, resources=resources) for e in chunk]
        response = client("events").put_events(Entries=entries)
        if response.get("FailedEntryCount", 0):
            failures = [
                f"{entry['DetailType']}: {result.get('ErrorCode')} {result.get('ErrorMessage')}"
                for entry, result in zip(entries, response["Entries"], strict=True)
                if "ErrorCode" in result
            ]
            raise PublishError("; ".join(failures))
        ids.extend(result["EventId"] for result in response["Entries"])
    return ids
