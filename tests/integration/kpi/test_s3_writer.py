from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError

from driftloop.kpi.records import KpiWriterSettings
from driftloop.kpi.store import PutOutcome, S3CreateOnlyStore
from driftloop.kpi.writer import ingest

FIRST_DELIVERY = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REDELIVERY = datetime(2026, 11, 26, 12, 7, tzinfo=UTC)


def listing(bucket: str) -> dict[str, str]:
    """key -> ETag of every object in the bucket."""
    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {obj["Key"]: obj["ETag"] for page in pages for obj in page.get("Contents", [])}


def read_lines(bucket: str, key: str) -> list[dict]:
    body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return [json.loads(line) for line in gzip.decompress(body).splitlines()]


@pytest.fixture
def settings(s3_bucket: str) -> KpiWriterSettings:
    return KpiWriterSettings(KPI_BUCKET=s3_bucket)


def test_batch_lands_as_partitioned_gzip_json_lines(s3_bucket, settings, world_bodies, bad_bodies):
    report = ingest(
        world_bodies + bad_bodies,
        settings=settings,
        store=S3CreateOnlyStore(s3_bucket),
        ingested_at=FIRST_DELIVERY,
    )

    objects = listing(s3_bucket)
    event_keys = [key for key in objects if key.startswith("events/")]
    quarantine_keys = [key for key in objects if key.startswith("quarantine/")]
    assert len(event_keys) == len(report.batch.partitions) == report.counts()["objects_written"] - 1
    assert len(quarantine_keys) == 1
    assert quarantine_keys[0].startswith("quarantine/dt=2026-11-26/")
    records = [record for key in event_keys for record in read_lines(s3_bucket, key)]
    assert sorted(r["id"] for r in records) == sorted(json.loads(b)["id"] for b in world_bodies)
    # d3 was sent at 2026-11-05T00:00:00+02:00: stored in its UTC hour
    (d3_key,) = [key for key in event_keys if any(r["id"] == "d3" for r in read_lines(s3_bucket, key))]
    assert d3_key.startswith("events/event_type=ModelDeployed/dt=2026-11-04/hour=22/")
    quarantined = read_lines(s3_bucket, quarantine_keys[0])
    assert [q["reason"] for q in quarantined] == ["body_not_json", "contract_violation"]
    assert [q["raw_body"] for q in quarantined] == bad_bodies
    head = boto3.client("s3").head_object(Bucket=s3_bucket, Key=event_keys[0])
    assert head["ContentType"] == "application/gzip"


def test_replayed_batch_writes_nothing_new(s3_bucket, settings, world_bodies, bad_bodies):
    store = S3CreateOnlyStore(s3_bucket)
    ingest(world_bodies + bad_bodies, settings=settings, store=store, ingested_at=FIRST_DELIVERY)
    before = listing(s3_bucket)

    replay = ingest(world_bodies + bad_bodies, settings=settings, store=store, ingested_at=REDELIVERY)

    assert listing(s3_bucket) == before  # same keys, same ETags: nothing overwritten
    assert replay.counts()["objects_written"] == 0
    assert replay.counts()["objects_already_present"] == len(before)
    assert replay.failed_message_indexes == frozenset()


def test_overwrite_attempt_with_if_none_match_is_refused(s3_bucket, settings, world_bodies):
    ingest(
        world_bodies[:3], settings=settings, store=S3CreateOnlyStore(s3_bucket), ingested_at=FIRST_DELIVERY
    )
    key, etag = next(iter(listing(s3_bucket).items()))

    with pytest.raises(ClientError) as refused:
        boto3.client("s3").put_object(Bucket=s3_bucket, Key=key, Body=b"tampered", IfNoneMatch="*")

    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    assert S3CreateOnlyStore(s3_bucket).put_if_absent(key, b"tampered") is PutOutcome.ALREADY_EXISTS
    assert listing(s3_bucket)[key] == etag


def test_unwritable_bucket_fails_the_messages_for_redelivery(s3_bucket, world_bodies, bad_bodies):
    missing = KpiWriterSettings(KPI_BUCKET="kpi-no-such-bucket")
    bodies = world_bodies[:4] + bad_bodies

    report = ingest(
        bodies, settings=missing, store=S3CreateOnlyStore("kpi-no-such-bucket"), ingested_at=FIRST_DELIVERY
    )

    assert report.failed_message_indexes == frozenset(range(len(bodies)))
    assert all("NoSuchBucket" in (w.error or "") for w in report.writes)
