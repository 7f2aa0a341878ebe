"""The fast path (msgspec's typed decoder, orjson) must never change what the writer stores.

Whatever it accepts, the precise path (the pydantic envelope model) accepts with the same partition,
event id and record line; everything else it leaves to the precise path, which decides the reason.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from driftloop.kpi import records
from driftloop.kpi.records import BuiltBatch, KpiWriterSettings, build_batch

INGESTED_AT = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
SETTINGS = KpiWriterSettings(KPI_BUCKET="kpi-bucket", KPI_MAX_DETAIL_BYTES=512)
INGESTED = records.iso_utc(INGESTED_AT)

ENVELOPE: dict[str, Any] = {
    "version": "0",
    "id": "evt-1",
    "source": "acme.checkout",
    "detail-type": "Conversion",
    "time": "2026-11-26T14:05:00Z",
    "account": "123456789012",
    "region": "eu-west-1",
    "resources": [],
    "detail": {"endpoint_name": "churn-ep", "amount": 12.5, "converted": True},
}


def body(*, ensure_ascii: bool = True, **changes: Any) -> str:
    envelope = {**ENVELOPE, **changes}
    return json.dumps(
        {key: value for key, value in envelope.items() if value is not _DROP}, ensure_ascii=ensure_ascii
    )


_DROP = object()


def precise(text: str) -> records._Accepted | records.QuarantineReason:
    try:
        return records._accept_precise(text, SETTINGS, ingested_at=INGESTED)
    except records._Rejected as rejected:
        return rejected.reason


def assert_agree(text: str) -> records._Accepted | None:
    fast = records._accept_fast(text, SETTINGS, ingested_at=INGESTED)
    if fast is not None:
        assert fast == precise(text)
    return fast


def batch_view(batch: BuiltBatch) -> tuple[Any, ...]:
    quarantine = batch.quarantine
    return (
        [(p.object_key, p.event_ids, p.lines, p.message_indexes, p.encode()) for p in batch.partitions],
        batch.quarantined,
        None if quarantine is None else (quarantine.object_key, quarantine.encode()),
        batch.counts(),
    )


def test_the_common_envelope_takes_the_fast_path(make_deployed_detail):
    platform = body(source="driftloop", **{"detail-type": "ModelDeployed"}, detail=make_deployed_detail())
    numbers = body(detail={"n": 2**64, "f": 1e16, "neg": -(2**63) - 1})  # no re-encoding: any JSON number
    replayed = body(**{"replay-name": "r1"})
    for text in (body(), body(resources=["arn:aws:s3:::b"]), replayed, platform, numbers):
        assert assert_agree(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        # numbers orjson reads differently (beyond 64 bits) or refuses (NaN, Infinity, overflow)
        body(detail={"n": 2**64}),
        body(detail={"n": -(2**63) - 1}),
        body(detail={"n": 10**30, "m": [1, {"k": 2**70}]}),
        body(detail={"f": 1e16, "g": 12345678901234567890.5}),
        body(detail={"amount": 1}).replace(": 1}", ": 1e400}"),
        body(detail={"amount": 1}).replace(": 1}", ": NaN}"),
        body(detail={"amount": 1}).replace(": 1}", ": -Infinity}"),
        body(detail={"label": "NaN and Infinity e+ 1e+5"}),
        # pydantic-core's limits (4,300 digits, 200 levels), which msgspec does not have, anywhere
        body()[:-1] + ', "x": ' + "1" * 4301 + "}",
        body()[:-1] + ', "x": ' + "[" * 201 + "]" * 201 + "}",
        '{"detail": ' + "[" * 201 + "]" * 201 + ", " + body()[1:],  # an overwritten duplicate
        # strings: surrogates, control characters, non-ASCII
        body(detail={"s": "x"}).replace('"x"', '"\\ud800"'),
        body(detail={"s": "x"}).replace('"x"', '"\\udc00\\ud800"'),
        body(detail={"s": "x"}).replace('"x"', '"\\ud83d\\ude00"'),
        body(detail={"s": '\x00\x1f\x7f\u2028 café ✓ \U0001f600 \\ "'}),
        body(id="e\u2028\x7f", source="acme/é", **{"detail-type": "Order/Placed: v=2"}),
        "\ufeff" + body(),
        body(detail={"s": "\ud800"}, ensure_ascii=False),  # a raw unpaired surrogate in the str itself
        "[" * 5000 + "]" * 5000,
        body() + " x",
        # envelope shapes the model takes or refuses
        body(detail="{}"),
        body(source="aws.scheduler", detail="{}"),
        body(detail=[1, 2]),
        body(detail=None),
        body(detail=_DROP),
        body(id=_DROP),
        body(id=7),
        body(version=None),
        body(resources=["arn", 3]),
        body(resources="arn"),
        body(**{"detail-type": _DROP, "detail_type": "ByName"}),
        body(**{"detail_type": "ByName"}),
        body(**{"replay-name": 5}),
        body(**{"replay_name": 5}),
        body(**{"replay-name": None, "replay_name": "r"}),
        body(**{"replay-name": "r", "replay_name": 5}),
        body()[:-1] + ', "id": "second"}',
        body()[:-1] + ', "detail": {"z": 1, "a": 2, "z": 3}}',
        "[1, 2, 3]",
        '"text"',
        "null",
        "",
        # times: offsets, precision, odd but accepted forms, refused forms
        *(
            body(time=moment)
            for moment in (
                "2026-11-26T14:05:00.250Z",
                "2026-11-26T23:59:59.999999Z",
                "2026-11-26T14:05:00.1234567Z",
                "2026-11-27T01:30:00+02:00",
                "2026-12-31T23:30:00-01:00",
                "2026-11-26 14:05:00z",
                "2026-11-26T14:05Z",
                "2026-11-26T14:05:00,5Z",
                "2026-11-26T14:05:00-00:00",
                "1764165900",
                "2026-11-26T23:59:60Z",
                "2026-02-30T00:00:00Z",
                "2026-11-26T14:05:00",
                "2026-11-26T14:05:00+23:59:59",
                "",
            )
        ),
        body(time=1764165900),
        # size limit and contracts
        body(detail={"blob": "x" * 600}),
        body(detail={"blob": "é" * 240}),
        body(detail={"deep": json.loads("[" * 300 + "]" * 300)}),
        body(source="driftloop", **{"detail-type": "ModelDeployed"}, detail={"anything": True}),
        body(source="acme.ops", **{"detail-type": "ModelDeployed"}, detail={"anything": True}),
    ],
)
def test_fast_path_agrees_with_the_precise_path(text):
    assert_agree(text)


def test_whole_batches_are_identical_with_and_without_the_fast_path(make_deployed_detail):
    bodies = [
        body(id=f"e{i}", time=f"2026-11-26T1{i % 3}:0{i % 7}:00Z", detail={"i": i, "x": 2**64 * (i % 2)})
        for i in range(40)
    ]
    bodies += [bodies[3], "{broken", body(detail=[1]), body(detail={"s": "é" * 600})]
    bodies += [
        body(id="d", source="driftloop", **{"detail-type": "ModelDeployed"}, detail=make_deployed_detail()),
        body(id="v", source="driftloop", **{"detail-type": "ModelDeployed"}, detail={"model_version": 0}),
    ]

    fast = build_batch(bodies, settings=SETTINGS, ingested_at=INGESTED_AT)
    reference = build_batch(bodies, settings=SETTINGS, ingested_at=INGESTED_AT, fast_path=False)

    assert batch_view(fast) == batch_view(reference)
    assert fast.counts()["quarantined"] == 4
    assert fast.counts()["duplicates_in_batch"] == 1


def test_time_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(records, "_TIME_PARTS_MAX", 3)
    records._TIME_PARTS.clear()
    for minute in range(10):
        assert records._time_parts(f"2026-11-26T14:{minute:02d}:00+01:00") == (
            "2026-11-26",
            "13",
            f"2026-11-26T13:{minute:02d}:00Z",
        )
        assert len(records._TIME_PARTS) <= 3
    assert records._time_parts("2026-11-26T14:05:00") is None  # refused, and not cached


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    st.sampled_from(["Z", "+00:00", "-05:30", "+14:00"]),
    st.sampled_from(["seconds", "milliseconds", "microseconds"]),
)
def test_time_parts_match_the_envelope_model(moment, offset, timespec):
    records._TIME_PARTS.clear()
    text = moment.isoformat(timespec=timespec) + offset
    parsed = records._EVENT_TIME.validate_json(json.dumps(text))

    assert records._time_parts(text) == records._utc_parts(parsed)
    assert records._time_parts(text) == records._utc_parts(parsed)  # and from the cache


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_json_values = st.recursive(
    _json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=12,
)
_times = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.sampled_from([UTC, None])
).map(lambda moment: moment.isoformat().replace("+00:00", "Z"))
_fields = st.fixed_dictionaries(
    {},
    optional={
        "version": st.just("0") | _json_scalars,
        "id": st.text(max_size=12) | _json_scalars,
        "source": st.sampled_from(["acme.checkout", "driftloop", "aws.scheduler"]) | _json_scalars,
        "detail-type": st.sampled_from(["Conversion", "ModelDeployed", "a/b=c"]) | _json_scalars,
        "detail_type": st.text(max_size=5),
        "time": _times | st.text(max_size=30) | _json_scalars,
        "account": st.just("123456789012") | _json_scalars,
        "region": st.just("eu-west-1") | _json_scalars,
        "resources": st.lists(st.text(max_size=10), max_size=2) | _json_values,
        "detail": st.dictionaries(st.text(max_size=8), _json_values, max_size=5) | _json_values,
        "replay-name": st.none() | st.text(max_size=5) | st.integers(),
        "replay_name": st.none() | st.text(max_size=5) | st.integers(),
    },
)


@settings(max_examples=400, deadline=None)
@given(_fields, st.data())
def test_fast_path_agrees_on_generated_envelopes(fields, data):
    # Mostly complete envelopes (so the fast path is exercised), with random gaps and wrong types.
    envelope = {**{key: value for key, value in ENVELOPE.items() if data.draw(st.booleans())}, **fields}
    if data.draw(st.booleans()):
        envelope = {**ENVELOPE, **{key: value for key, value in fields.items() if key in ("detail", "time")}}
    assert_agree(json.dumps(envelope, ensure_ascii=data.draw(st.booleans())))


@settings(max_examples=300, deadline=None)
@given(
    st.from_regex(r"-?(0|[1-9][0-9]{0,30})(\.[0-9]{1,25})?([eE][-+]?[0-9]{1,3})?", fullmatch=True),
    st.text(max_size=20),
)
def test_fast_path_agrees_on_number_and_string_text(number, text):
    assert_agree(body(detail={"s": text}).replace('{"s"', '{"n": ' + number + ', "s"'))


@settings(max_examples=500, deadline=None)
@example(2026, 11, 26, 24, 0, 0)  # hour 24: some fromisoformat versions take it, the model must decide
@example(2026, 12, 31, 23, 59, 60)  # a leap second
@example(2024, 2, 29, 12, 0, 0)
@example(2025, 2, 29, 12, 0, 0)
@given(
    st.integers(0, 9999),
    st.integers(0, 19),
    st.integers(0, 39),
    st.integers(0, 29),
    st.integers(0, 69),
    st.integers(0, 69),
)
def test_eventbridge_shaped_times_are_refused_exactly_when_the_model_refuses(year, month, day, h, m, s):
    # The fast path checks strings of EventBridge's shape with fromisoformat instead of the model.
    text = f"{year:04d}-{month:02d}-{day:02d}T{h:02d}:{m:02d}:{s:02d}Z"
    records._TIME_PARTS.clear()
    parts = records._time_parts(text)
    try:
        records._EVENT_TIME.validate_json(json.dumps(text))
    except ValueError:
        assert parts is None
    else:
        assert parts == (text[:10], text[11:13], text)


@pytest.mark.parametrize("depth", [150, 199, 200, 201, 254])
def test_deeply_nested_details_get_the_precise_paths_verdict(depth):
    detail: dict[str, Any] = {}
    inner = detail
    for _ in range(depth - 1):
        inner["a"] = {}
        inner = inner["a"]
    text = body(detail=detail)
    roomy = KpiWriterSettings(KPI_BUCKET="kpi-bucket")  # the default 256 KB limit: depth decides
    fast = build_batch([text], settings=roomy, ingested_at=INGESTED_AT)
    reference = build_batch([text], settings=roomy, ingested_at=INGESTED_AT, fast_path=False)
    assert batch_view(fast) == batch_view(reference)
    assert fast.accepted == (1 if depth <= 200 else 0)  # the envelope adds one level


@pytest.mark.parametrize("number", ["1" * 4300, "1" * 4301, "9" * 4301 + ".5", "-" + "9" * 4301 + "e-5"])
def test_numbers_longer_than_the_precise_parser_reads_get_its_verdict(number):
    text = body(detail={"n": 1}).replace(": 1}", ": " + number + "}")
    roomy = KpiWriterSettings(KPI_BUCKET="kpi-bucket")  # the default 256 KB limit: the digits decide
    fast = build_batch([text], settings=roomy, ingested_at=INGESTED_AT)
    reference = build_batch([text], settings=roomy, ingested_at=INGESTED_AT, fast_path=False)
    assert batch_view(fast) == batch_view(reference)
    assert fast.accepted == (1 if len(number) == 4300 else 0)
