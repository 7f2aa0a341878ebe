from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftloop.kpi.records import (
    KpiWriterSettings,
    QuarantineReason,
    build_batch,
    content_key,
    hive_escape,
    iso_utc,
)
from driftloop.settings import SettingsError, load_settings

INGESTED_AT = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def build(bodies, settings, *, fast_path=True):
    return build_batch(bodies, settings=settings, ingested_at=INGESTED_AT, fast_path=fast_path)


def decoded_records(batch):
    return [json.loads(line) for line in gzip.decompress(batch.encode()).splitlines()]


def test_record_carries_envelope_detail_string_and_writer_columns(settings, make_envelope):
    detail = {"endpoint_name": "churn-ep", "amount": 12.5, "converted": True, "note": "café ✓", "n": 10**30}
    body = make_envelope("evt-1", detail=detail, resources=["arn:aws:sagemaker:x"])

    batch = build([body], settings)

    (partition,) = batch.partitions
    (record,) = decoded_records(partition)
    detail_column = record.pop("detail")
    assert record == {
        "id": "evt-1",
        "source": "acme.checkout",
        "detail_type": "Conversion",
        "time": "2026-11-26T14:05:00Z",
        "account": "123456789012",
        "region": "eu-west-1",
        "resources": ["arn:aws:sagemaker:x"],
        "ingested_at": "2026-11-26T12:00:00Z",
        "writer_version": settings.writer_version,
    }
    assert isinstance(detail_column, str)  # a JSON string column, for Athena's json_extract
    assert json.loads(detail_column) == detail  # lossless: big ints, non-ASCII, floats
    assert list(json.loads(detail_column)) == list(detail)  # key order kept


@pytest.mark.parametrize(
    "detail_text",
    [
        '{"amount": 1.0, "big": 123456789012345678901234567890, "tiny": 1e-400, "huge": 1E400}',
        '{ "spaced" :\t[ 1 , 2 ]\n}',
        '{"escaped":"caf\\u00e9 \\/ \\ud83d\\ude00","raw":"café 😀"}',
        '{"dup": 1, "dup": 2}',
    ],
)
def test_detail_is_stored_exactly_as_delivered(settings, make_envelope, detail_text):
    # An audit log keeps what the producer sent: no re-serialisation rounds, reorders or reformats it.
    body = make_envelope("e", detail={}).replace('"detail": {}', f'"detail": {detail_text}')

    fast = build([body], settings)
    reference = build([body], settings, fast_path=False)

    assert decoded_records(fast.partitions[0])[0]["detail"] == detail_text
    assert fast.partitions[0].lines == reference.partitions[0].lines


def test_an_empty_scheduler_detail_sent_as_a_string_is_stored_as_the_object_it_stands_for(
    settings, make_envelope
):
    # EventBridge Scheduler sends "detail": "{}"; the envelope model (Powertools') reads it as {}.
    body = make_envelope("e", source="aws.scheduler", detail="{}")

    for fast_path in (True, False):
        (partition,) = build([body], settings, fast_path=fast_path).partitions
        assert decoded_records(partition)[0]["detail"] == "{}"


def test_a_body_that_is_not_strict_json_is_quarantined_even_where_the_detail_is_fine(settings, make_envelope):
    # pydantic-core's parser reads NaN; JSON (and Athena) do not, wherever it sits in the body.
    body = make_envelope("e")[:-1] + ', "extra": NaN}'

    for fast_path in (True, False):
        batch = build([body], settings, fast_path=fast_path)
        (item,) = batch.quarantined
        assert item.reason is QuarantineReason.BODY_NOT_JSON
        assert item.event_id == "e"


def test_nan_inside_a_string_is_just_text(settings, make_envelope):
    detail = {"label": "NaN", "note": "Infinity and beyond"}

    batch = build([make_envelope("e", detail=detail)], settings)

    assert batch.quarantined == ()
    assert json.loads(decoded_records(batch.partitions[0])[0]["detail"]) == detail


@given(
    st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(),
            lambda children: (
                st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
            ),
            max_leaves=10,
        ),
        max_size=5,
    )
)
def test_any_json_object_detail_round_trips_exactly(detail):
    settings = KpiWriterSettings(KPI_BUCKET="kpi-bucket")
    body = json.dumps(
        {
            "version": "0",
            "id": "e",
            "source": "acme.x",
            "detail-type": "T",
            "time": "2026-11-26T14:05:00Z",
            "account": "1",
            "region": "r",
            "resources": [],
            "detail": detail,
        }
    )
    batch = build([body], settings)
    (record,) = decoded_records(batch.partitions[0])
    assert json.loads(record["detail"]) == detail


@pytest.mark.parametrize(
    ("event_time", "dt", "hour", "stored_time"),
    [
        ("2026-11-26T14:05:00Z", "2026-11-26", "14", "2026-11-26T14:05:00Z"),
        ("2026-11-26T14:05:00.250Z", "2026-11-26", "14", "2026-11-26T14:05:00.250Z"),
        ("2026-11-26T23:59:59.999999Z", "2026-11-26", "23", "2026-11-26T23:59:59.999999Z"),
        ("2026-11-27T00:00:00Z", "2026-11-27", "00", "2026-11-27T00:00:00Z"),
        # offsets move the event into its UTC day and hour
        ("2026-11-27T01:30:00+02:00", "2026-11-26", "23", "2026-11-26T23:30:00Z"),
        ("2026-11-26T20:15:00-05:00", "2026-11-27", "01", "2026-11-27T01:15:00Z"),
        ("2026-12-31T23:30:00-01:00", "2027-01-01", "00", "2027-01-01T00:30:00Z"),
    ],
)
def test_partition_comes_from_event_time_in_utc(settings, make_envelope, event_time, dt, hour, stored_time):
    batch = build([make_envelope("evt-1", time=event_time)], settings)

    (partition,) = batch.partitions
    assert (partition.partition.dt, partition.partition.hour) == (dt, hour)
    assert partition.object_key.startswith(f"events/event_type=Conversion/dt={dt}/hour={hour}/")
    assert decoded_records(partition)[0]["time"] == stored_time


def test_events_are_grouped_by_detail_type_day_and_hour(settings, make_envelope, make_deployed_detail):
    bodies = [
        make_envelope("a", time="2026-11-26T14:00:00Z"),
        make_envelope("b", time="2026-11-26T14:59:59Z"),
        make_envelope("c", time="2026-11-26T15:00:00Z"),
        make_envelope("d", source="driftloop", detail_type="ModelDeployed", detail=make_deployed_detail()),
    ]

    batch = build(bodies, settings)

    grouped = {p.object_key.rsplit("/", 1)[0]: (p.event_ids, p.message_indexes) for p in batch.partitions}
    assert grouped == {
        "events/event_type=Conversion/dt=2026-11-26/hour=14": (("a", "b"), frozenset({0, 1})),
        "events/event_type=Conversion/dt=2026-11-26/hour=15": (("c",), frozenset({2})),
        "events/event_type=ModelDeployed/dt=2026-11-26/hour=14": (("d",), frozenset({3})),
    }


def test_key_is_the_same_for_the_same_ids_in_any_order(settings, make_envelope):
    forward = build([make_envelope(i) for i in ("a", "b", "c")], settings)
    backward = build([make_envelope(i) for i in ("c", "a", "b", "a")], settings)

    assert forward.partitions[0].object_key == backward.partitions[0].object_key
    assert forward.partitions[0].encode() == backward.partitions[0].encode()
    assert content_key(["b", "a"]) == content_key(["a", "b"])


def test_key_differs_when_the_ids_differ(settings, make_envelope):
    keys = {
        build([make_envelope(i) for i in ids], settings).partitions[0].object_key
        for ids in (("a", "b"), ("a", "c"), ("a",), ("a", "b", "c"))
    }
    assert len(keys) == 4


@pytest.mark.parametrize(
    ("left", "right"), [(["a\nb"], ["a", "b"]), (["a,b"], ["a", "b"]), (["ab"], ["a", "b"])]
)
def test_key_has_no_separator_collisions(left, right):
    assert content_key(left) != content_key(right)


def test_repeated_id_in_one_batch_is_written_once_and_counted(settings, make_envelope):
    batch = build([make_envelope("a"), make_envelope("b"), make_envelope("a")], settings)

    assert batch.partitions[0].event_ids == ("a", "b")
    assert batch.partitions[0].message_indexes == frozenset({0, 1, 2})
    assert batch.counts()["duplicates_in_batch"] == 1
    assert batch.counts()["accepted"] == 2


def test_detail_type_with_path_characters_stays_one_partition_segment(settings, make_envelope):
    batch = build([make_envelope("a", detail_type="Order/Placed: v=2")], settings)

    assert batch.partitions[0].object_key.startswith(
        "events/event_type=Order%2FPlaced%3A v%3D2/dt=2026-11-26/"
    )
    assert hive_escape("SageMaker Model Package State Change") == "SageMaker Model Package State Change"


def test_iso_utc_normalises_offsets_and_keeps_precision():
    assert iso_utc(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    assert iso_utc(datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)) == "2026-01-02T03:04:05.120Z"
    assert iso_utc(datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)) == "2026-01-02T03:04:05.123456Z"


def test_settings_come_from_the_environment_with_defaults():
    settings = load_settings(KpiWriterSettings, {"KPI_BUCKET": "kpi-bucket"})
    assert settings.max_detail_bytes == 256 * 1024
    assert settings.platform_source == "driftloop"
    with pytest.raises(SettingsError, match="KPI_BUCKET"):
        load_settings(KpiWriterSettings, {})
    with pytest.raises(SettingsError, match="KPI_MAX_DETAIL_BYTES"):
        load_settings(KpiWriterSettings, {"KPI_BUCKET": "kpi-bucket", "KPI_MAX_DETAIL_BYTES": "0"})
