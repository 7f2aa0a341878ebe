from __future__ import annotations

import gzip
from datetime import UTC, date, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from driftloop.kpi.records import build_batch
from driftloop.kpi.store import DirectoryCreateOnlyStore, ObjectStoreError, PutOutcome
from driftloop.kpi.writer import SqsBatch, ingest, not_queryable, write_batch

INGESTED_AT = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


class RecordingStore:
    """In-memory create-only store; keys listed in ``failing`` raise like a throttled S3."""

    def __init__(self, failing_prefixes: tuple[str, ...] = ()) -> None:
        self.objects: dict[str, bytes] = {}
        self.failing_prefixes = failing_prefixes

    def put_if_absent(self, key: str, body: bytes) -> PutOutcome:
        if key.startswith(self.failing_prefixes):
            raise ObjectStoreError(f"SlowDown on {key}")
        if key in self.objects:
            return PutOutcome.ALREADY_EXISTS
        self.objects[key] = body
        return PutOutcome.WRITTEN


def test_one_object_per_partition_plus_one_for_quarantine(settings, make_envelope):
    bodies = [make_envelope("a"), make_envelope("b", time="2026-11-26T15:00:00Z"), "not json"]
    store = RecordingStore()

    report = ingest(bodies, settings=settings, store=store, ingested_at=INGESTED_AT)

    assert sorted(key.split("/")[0] + "/" + key.split("/")[-2] for key in store.objects) == [
        "events/hour=14",
        "events/hour=15",
        "quarantine/dt=2026-11-26",
    ]
    counts = report.counts()
    assert (counts["objects_written"], counts["accepted"], counts["quarantined"]) == (3, 2, 1)
    assert (counts["events_written"], counts["quarantined_written"]) == (2, 1)
    assert counts["bytes_written"] == sum(len(body) for body in store.objects.values())
    assert report.failed_message_indexes == frozenset()


def test_replayed_batch_writes_nothing_new(settings, make_envelope):
    bodies = [make_envelope(f"e{i}") for i in range(5)] + ["{bad"]
    store = RecordingStore()
    ingest(bodies, settings=settings, store=store, ingested_at=INGESTED_AT)
    before = dict(store.objects)

    replay = ingest(
        list(reversed(bodies)),
        settings=settings,
        store=store,
        ingested_at=datetime(2026, 11, 26, 12, 5, tzinfo=UTC),
    )

    assert store.objects == before
    assert replay.counts()["objects_written"] == 0
    assert replay.counts()["objects_already_present"] == 2
    # metrics count first writes only: the redelivery adds nothing
    assert (replay.counts()["events_written"], replay.counts()["quarantined_written"]) == (0, 0)


def test_failed_put_fails_only_the_messages_in_that_object(settings, make_envelope):
    bodies = [
        make_envelope("a", time="2026-11-26T14:00:00Z"),
        make_envelope("b", time="2026-11-26T15:00:00Z"),
        make_envelope("c", time="2026-11-26T14:30:00Z"),
        "not json",
    ]
    store = RecordingStore(failing_prefixes=("events/event_type=Conversion/dt=2026-11-26/hour=14/",))

    report = write_batch(build_batch(bodies, settings=settings, ingested_at=INGESTED_AT), store)

    assert report.failed_message_indexes == frozenset({0, 2})
    assert report.counts()["objects_failed"] == 1
    assert report.counts()["objects_written"] == 2
    failed = [w for w in report.writes if w.outcome is None]
    assert failed[0].error is not None
    assert "SlowDown" in failed[0].error


def test_directory_store_is_create_only(tmp_path):
    store = DirectoryCreateOnlyStore(tmp_path)
    key = "events/event_type=X/dt=2026-11-26/hour=14/k.json.gz"
    body = gzip.compress(b'{"id":"1"}\n')

    assert store.put_if_absent(key, body) is PutOutcome.WRITTEN
    assert store.put_if_absent(key, b"something else") is PutOutcome.ALREADY_EXISTS
    assert (tmp_path / key).read_bytes() == body
    assert [p.name for p in (tmp_path / key).parent.iterdir()] == ["k.json.gz"]  # no temp files left


def test_the_writer_event_needs_message_ids_and_bodies() -> None:
    record = {"messageId": "m-1", "body": "{}", "eventSource": "aws:sqs", "attributes": {"x": "1"}}
    adapter = TypeAdapter(SqsBatch)  # what Powertools' event_parser validates with
    assert adapter.validate_python({"Records": [record]}) == {"Records": [{"messageId": "m-1", "body": "{}"}]}
    for broken in ({"Records": []}, {"Records": [{"messageId": "m-1"}]}, {"records": [record]}):
        with pytest.raises(ValidationError):
            adapter.validate_python(broken)


def test_objects_are_standard_gzip_json_lines(settings, make_envelope):
    batch = build_batch([make_envelope("a"), make_envelope("b")], settings=settings, ingested_at=INGESTED_AT)
    (partition,) = batch.partitions
    body = partition.encode()
    assert body[:2] == b"\x1f\x8b"  # gzip magic; stdlib gzip (and Athena, DuckDB) read ISA-L's output
    assert gzip.decompress(body).splitlines() == list(partition.lines)
    assert partition.encode() == body  # mtime=0: the same lines give the same bytes


def test_events_outside_the_partition_projection_are_reported(settings, make_envelope):
    bodies = [
        make_envelope("listed"),  # Conversion, 2026-11-26
        make_envelope("unlisted", detail_type="Refund"),
        make_envelope("too-old", time="2019-12-31T23:00:00Z"),
        make_envelope("next-day", time="2026-11-27T23:00:00Z"),
        make_envelope("too-far-ahead", time="2026-11-28T00:00:00Z"),
    ]
    batch = build_batch(bodies, settings=settings, ingested_at=INGESTED_AT)

    hidden = not_queryable(
        batch.partitions,
        event_types=frozenset({"Conversion"}),
        first_day=date(2020, 1, 1),
        today=date(2026, 11, 26),
    )

    assert hidden == {
        "events/event_type=Conversion/dt=2019-12-31/hour=23/": 1,
        "events/event_type=Conversion/dt=2026-11-28/hour=00/": 1,
        "events/event_type=Refund/dt=2026-11-26/hour=14/": 1,
    }
