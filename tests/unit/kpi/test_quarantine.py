from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime

import pytest

from driftloop.kpi.records import QuarantineReason, build_batch

INGESTED_AT = datetime(2026, 11, 26, 23, 59, 0, tzinfo=UTC)


def build(bodies, settings):
    return build_batch(bodies, settings=settings, ingested_at=INGESTED_AT)


def bad_bodies(make_envelope, make_deployed_detail):
    """One body per quarantine reason, with the reason expected for it."""
    return [
        ("not json at all {", QuarantineReason.BODY_NOT_JSON),
        ("", QuarantineReason.BODY_NOT_JSON),
        (make_envelope("nan", detail={"amount": 1}).replace("1}", "NaN}"), QuarantineReason.BODY_NOT_JSON),
        ('{"id": "x", "detail": "\\ud800"}', QuarantineReason.BODY_NOT_JSON),
        ("[1, 2, 3]", QuarantineReason.INVALID_ENVELOPE),
        ('{"id": "no-envelope"}', QuarantineReason.INVALID_ENVELOPE),
        (make_envelope("naive-time", time="2026-11-26T14:05:00"), QuarantineReason.INVALID_ENVELOPE),
        (make_envelope("epoch-time", time=1764165900), QuarantineReason.INVALID_ENVELOPE),
        # valid offsets whose UTC instant falls outside datetime's range
        (make_envelope("before-year-1", time="0001-01-01T00:30:00+01:00"), QuarantineReason.INVALID_ENVELOPE),
        (make_envelope("after-9999", time="9999-12-31T23:59:59-01:00"), QuarantineReason.INVALID_ENVELOPE),
        (make_envelope("string-detail", detail='{"a": 1}'), QuarantineReason.DETAIL_NOT_OBJECT),
        (make_envelope("list-detail", detail=[1, 2]), QuarantineReason.DETAIL_NOT_OBJECT),
        (
            make_envelope("null-detail", detail=None).replace('"detail": {', '"detail": null, "x": {'),
            QuarantineReason.DETAIL_NOT_OBJECT,
        ),
        (make_envelope("too-big", detail={"blob": "x" * 2000}), QuarantineReason.DETAIL_TOO_LARGE),
        (
            make_envelope(
                "bad-contract",
                source="driftloop",
                detail_type="ModelDeployed",
                detail={**make_deployed_detail(), "model_version": 0},
            ),
            QuarantineReason.CONTRACT_VIOLATION,
        ),
        (
            make_envelope(
                "unknown-version",
                source="driftloop",
                detail_type="ModelDeployed",
                detail={**make_deployed_detail(), "schema_version": 99},
            ),
            QuarantineReason.CONTRACT_VIOLATION,
        ),
    ]


def test_each_kind_of_bad_input_gets_its_reason(settings, make_envelope, make_deployed_detail):
    cases = bad_bodies(make_envelope, make_deployed_detail)

    batch = build([body for body, _ in cases], settings)

    assert batch.partitions == ()
    assert [(q.message_index, q.reason) for q in batch.quarantined] == [
        (index, reason) for index, (_, reason) in enumerate(cases)
    ]
    assert all(q.error for q in batch.quarantined)


def test_bad_input_never_poisons_the_valid_events_of_the_batch(settings, make_envelope, make_deployed_detail):
    cases = bad_bodies(make_envelope, make_deployed_detail)
    good = [make_envelope(f"good-{i}") for i in range(3)]
    bodies = [good[0], *(body for body, _ in cases), good[1], good[2]]

    batch = build(bodies, settings)

    (partition,) = batch.partitions
    assert partition.event_ids == ("good-0", "good-1", "good-2")
    assert partition.message_indexes == frozenset({0, len(bodies) - 2, len(bodies) - 1})
    counts = batch.counts()
    assert counts["messages"] == len(bodies)
    assert counts["accepted"] + counts["quarantined"] == len(bodies)  # nothing dropped
    assert counts["quarantined"] == len(cases)
    assert counts["quarantined_body_not_json"] == 4
    assert counts["quarantined_invalid_envelope"] == 6
    assert counts["quarantined_detail_not_object"] == 3
    assert counts["quarantined_detail_too_large"] == 1
    assert counts["quarantined_contract_violation"] == 2


def test_quarantine_object_keeps_reason_and_raw_body(settings, make_envelope, make_deployed_detail):
    bad_contract = make_envelope(
        "bad-contract",
        source="driftloop",
        detail_type="ModelDeployed",
        detail={**make_deployed_detail(), "strategy": "yolo"},
    )
    bodies = ["{broken", bad_contract]

    batch = build(bodies, settings)

    assert batch.quarantine is not None
    assert batch.quarantine.object_key.startswith("quarantine/dt=2026-11-26/")
    assert batch.quarantine.message_indexes == frozenset({0, 1})
    lines = [json.loads(line) for line in gzip.decompress(batch.quarantine.encode()).splitlines()]
    assert [line["raw_body"] for line in lines] == bodies
    assert [line["reason"] for line in lines] == ["body_not_json", "contract_violation"]
    assert lines[1]["event_id"] == "bad-contract"
    assert lines[1]["detail_type"] == "ModelDeployed"
    assert "strategy" in lines[1]["error"]
    assert lines[0]["body_sha256"] == hashlib.sha256(b"{broken").hexdigest()


def test_quarantine_key_is_deterministic_for_the_same_bad_messages(settings):
    first = build(["{a", "{b"], settings)
    again = build(["{b", "{a"], settings)
    other = build(["{a", "{c"], settings)

    assert first.quarantine is not None
    assert again.quarantine is not None
    assert other.quarantine is not None
    assert first.quarantine.object_key == again.quarantine.object_key
    assert first.quarantine.object_key != other.quarantine.object_key


def test_platform_contracts_apply_only_to_the_platform_source_and_registered_types(
    settings, make_envelope, make_deployed_detail
):
    not_a_contract = {"anything": True}
    bodies = [
        # another source may use a platform detail-type name: not validated against our contract
        make_envelope("foreign", source="acme.ops", detail_type="ModelDeployed", detail=not_a_contract),
        # platform source, unregistered detail-type: stored as is
        make_envelope("unregistered", source="driftloop", detail_type="SomethingNew", detail=not_a_contract),
        make_envelope(
            "valid", source="driftloop", detail_type="ModelDeployed", detail=make_deployed_detail()
        ),
    ]

    batch = build(bodies, settings)

    assert batch.quarantined == ()
    assert sorted(i for p in batch.partitions for i in p.event_ids) == ["foreign", "unregistered", "valid"]


@pytest.mark.parametrize(
    ("detail_text", "size"),
    [
        ('{"k":"éééééééééé"}', 28),  # 10 x 2 UTF-8 bytes + 8
        ('{"k":"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"}', 68),  # as sent
        ('{ "k" : "éééééééééé" }', 32),  # whitespace is part of what was delivered
    ],
)
def test_size_limit_is_measured_on_the_detail_text_as_delivered_in_utf8_bytes(
    settings, make_envelope, detail_text, size
):
    body = make_envelope("e", detail={}).replace('"detail": {}', f'"detail": {detail_text}')
    for limit, stored in ((size - 1, 0), (size, 1)):
        batch = build([body], settings.model_copy(update={"max_detail_bytes": limit}))

        assert (batch.counts()["quarantined_detail_too_large"], batch.accepted) == (1 - stored, stored)


def test_an_unforeseen_failure_quarantines_that_message_only(settings, make_envelope, monkeypatch):
    from driftloop.kpi import records

    def explode(detail_type, detail):
        if detail.get("boom"):
            raise RuntimeError("validator crashed")
        return None

    monkeypatch.setattr(records, "parse_detail", explode)
    good = make_envelope("good", source="driftloop", detail_type="ModelDeployed", detail={"ok": 1})
    boom = make_envelope("boom", source="driftloop", detail_type="ModelDeployed", detail={"boom": 1})

    batch = build([good, boom], settings)

    assert batch.accepted == 1
    (item,) = batch.quarantined
    assert (item.message_index, item.reason, item.error) == (
        1,
        QuarantineReason.UNEXPECTED_ERROR,
        "RuntimeError: validator crashed",
    )
    assert item.raw_body == boom


def test_a_fast_path_failure_falls_back_to_the_precise_path(settings, make_envelope, monkeypatch):
    from driftloop.kpi import records

    def broken(*args, **kwargs):
        raise KeyError("fast path bug")

    monkeypatch.setattr(records, "_accept_fast", broken)
    batch = build([make_envelope("a")], settings)
    assert (batch.accepted, batch.quarantined) == (1, ())


def test_memory_and_recursion_errors_fail_the_batch(settings, make_envelope, monkeypatch):
    from driftloop.kpi import records

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(records, "_accept_precise", exhausted)
    with pytest.raises(MemoryError):  # not a property of the message: SQS delivers the batch again
        build(["not json"], settings)
