"""Capture parsing (all encodings, malformed lines), windows and ground-truth joins."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from driftloop.drift import (
    CaptureSchema,
    filter_window,
    hour_prefixes,
    join_ground_truth,
    parse_capture,
    parse_ground_truth,
)

SCHEMA = CaptureSchema(feature_names=["x", "y", "c"], numeric_features=frozenset({"x", "y"}))
NUMERIC_SCHEMA = CaptureSchema(feature_names=["x", "y"], numeric_features=frozenset({"x", "y"}))


def as_floats(values: np.ndarray) -> list[float]:
    return [float(v) for v in values]


def test_mixed_encodings_in_one_file(make_capture_line: Callable[..., str]) -> None:
    lines = [
        make_capture_line("1.5,2,a", event_id="csv"),
        make_capture_line(
            json.dumps({"x": 3, "y": 4, "c": "b"}),
            encoding="JSON",
            content_type="application/json",
            output=json.dumps({"predictions": [{"score": 0.2}]}),
            output_encoding="JSON",
            output_type="application/json",
            event_id="json",
        ),
        make_capture_line(base64.b64encode(b"5,6,a").decode(), encoding="BASE64", event_id="b64"),
        make_capture_line(
            base64.b64encode(json.dumps({"instances": [[7, 8, "c"], [9, 10, "a"]]}).encode()).decode(),
            encoding="BASE64",
            content_type="application/json",
            output="0.1\n0.9",
            event_id="b64-json",
        ),
        make_capture_line("11,12,b", compact=False, event_id="spaced"),
    ]
    batch = parse_capture("\n".join(lines).encode(), SCHEMA)
    assert batch.malformed_records == 0
    assert batch.records == 5
    assert batch.rows == 6
    order = np.argsort(np.asarray(batch.event_ids, dtype=object).astype(str), kind="stable")
    by_event = {batch.event_ids[i]: i for i in order}
    x = batch.columns["x"]
    assert float(x[by_event["csv"]]) == 1.5
    assert float(x[by_event["json"]]) == 3.0
    assert float(x[by_event["b64"]]) == 5.0
    assert float(x[by_event["spaced"]]) == 11.0
    assert sorted(as_floats(x)) == [1.5, 3.0, 5.0, 7.0, 9.0, 11.0]
    assert sorted(str(v) for v in batch.columns["c"]) == ["a", "a", "a", "b", "b", "c"]
    assert sorted(float(v) for v in batch.columns["prediction"]) == [0.1, 0.2, 0.7, 0.7, 0.7, 0.9]


def test_malformed_lines_are_counted_never_raised(make_capture_line: Callable[..., str]) -> None:
    lines = [
        make_capture_line("1,2,a"),
        "not json at all",
        '{"captureData": {}}',
        make_capture_line("1,2"),  # wrong width
        make_capture_line("%%%", encoding="BASE64"),  # not base64
        json.dumps({"captureData": {"endpointInput": {"data": "1,2,a", "encoding": "CSV"}}}),  # no metadata
        make_capture_line(
            json.dumps({"instances": "oops"}), encoding="JSON", content_type="application/json"
        ),
        "",
        make_capture_line("3,4,b"),
    ]
    batch = parse_capture("\n".join(lines).encode(), SCHEMA)
    assert batch.rows == 2
    assert batch.records == 8  # the blank line is not a record
    assert batch.malformed_records == 6
    assert {s.line for s in batch.malformed_samples} == {2, 3, 4, 5, 6, 7}
    assert any("expected 3 features" in s.reason for s in batch.malformed_samples)


def test_numeric_fast_path_and_fallback_with_bad_tokens(make_capture_line: Callable[..., str]) -> None:
    clean = parse_capture(
        "\n".join(make_capture_line(f"{i},{i * 2}") for i in range(100)).encode(), NUMERIC_SCHEMA
    )
    assert clean.columns["x"].dtype == np.float64  # vectorised path
    assert as_floats(clean.columns["y"][:3]) == [0.0, 2.0, 4.0]
    dirty = parse_capture(
        "\n".join(make_capture_line(data) for data in ["1,2", "x,3", ",4", "5"]).encode(), NUMERIC_SCHEMA
    )
    assert dirty.rows == 3
    assert dirty.malformed_records == 1
    assert list(dirty.columns["x"]) == ["1", "x", ""]  # raw tokens: summarize counts type errors and missing


def test_undecodable_bytes_do_not_crash(make_capture_line: Callable[..., str]) -> None:
    batch = parse_capture(b"\xff\xfe garbage\n" + make_capture_line("1,2,a").encode(), SCHEMA)
    assert batch.rows == 1
    assert batch.malformed_records == 1


def test_hour_prefixes_cover_window_plus_late_hour() -> None:
    start = datetime(2026, 11, 26, 22, 30, tzinfo=UTC)
    prefixes = hour_prefixes("s3://bucket/capture/", "ep", "AllTraffic", start, start + timedelta(hours=2))
    assert prefixes == [
        "s3://bucket/capture/ep/AllTraffic/2026/11/26/22/",
        "s3://bucket/capture/ep/AllTraffic/2026/11/26/23/",
        "s3://bucket/capture/ep/AllTraffic/2026/11/27/00/",
        "s3://bucket/capture/ep/AllTraffic/2026/11/27/01/",
    ]
    aligned = hour_prefixes("p", "ep", "v", datetime(2026, 1, 1, 10), datetime(2026, 1, 1, 11), late_hours=0)
    assert aligned == ["p/ep/v/2026/01/01/10/"]
    assert hour_prefixes("p", "ep", "v", start, start) == []


def test_filter_window_by_inference_time(make_capture_line: Callable[..., str]) -> None:
    lines = [
        make_capture_line("1,2,a", time="2026-11-26T09:59:59Z"),
        make_capture_line("2,2,a", time="2026-11-26T10:00:00Z"),
        make_capture_line("3,2,a", time="2026-11-26T10:59:59.999+00:00"),
        make_capture_line("4,2,a", time="2026-11-26T11:00:00Z"),
        make_capture_line("5,2,a", time="yesterday"),
    ]
    batch = parse_capture("\n".join(lines).encode(), SCHEMA)
    window = filter_window(
        batch, datetime(2026, 11, 26, 10, tzinfo=UTC), datetime(2026, 11, 26, 11, tzinfo=UTC)
    )
    assert as_floats(window.columns["x"]) == [2.0, 3.0]
    assert window.malformed_records == 1


def test_ground_truth_joins_on_inference_id_then_event_id(make_capture_line: Callable[..., str]) -> None:
    lines = [
        make_capture_line("1,2,a", event_id="e1", inference_id="inf-1"),
        make_capture_line("2,2,a", event_id="e2"),
        make_capture_line("3,2,a", event_id="e3"),
    ]
    batch = parse_capture("\n".join(lines).encode(), SCHEMA)
    truth_lines = [
        json.dumps(
            {
                "groundTruthData": {"data": "1", "encoding": "CSV"},
                "eventMetadata": {"eventId": "inf-1"},
                "eventVersion": "0",
            }
        ),
        json.dumps(
            {
                "groundTruthData": {"data": base64.b64encode(b"0").decode(), "encoding": "BASE64"},
                "eventMetadata": {"eventId": "e2"},
                "eventVersion": "0",
            }
        ),
        "broken",
    ]
    truth = parse_ground_truth("\n".join(truth_lines).encode())
    assert truth.malformed_records == 1
    joined = join_ground_truth(batch, truth, "label")
    assert list(joined.columns["label"]) == ["1", "0", None]


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ('{"predictions": [0.4]}', 0.4),
        ('[{"score": 0.3, "predicted_label": 1}]', 0.3),
        ('{"score": 0.8}', 0.8),
        ("0.55", 0.55),
    ],
)
def test_json_output_shapes(output: str, expected: float, make_capture_line: Callable[..., str]) -> None:
    line = make_capture_line("1,2,a", output=output, output_encoding="JSON", output_type="application/json")
    batch = parse_capture(line.encode(), SCHEMA)
    assert batch.malformed_records == 0
    assert float(batch.columns["prediction"][0]) == expected


def test_whole_object_fast_path_agrees_with_per_line_parser(make_capture_line: Callable[..., str]) -> None:
    lines = [
        make_capture_line(f"{i},{i * 0.5}", event_id=f"e{i}", inference_id=f"i{i}", output=str(i % 2))
        for i in range(50)
    ]
    fast = parse_capture("\n".join(lines).encode(), NUMERIC_SCHEMA)
    # a trailing non-canonical (spaced) line forces the per-line path for the same records
    slow = parse_capture(
        "\n".join([*lines, make_capture_line("99,1", compact=False)]).encode(), NUMERIC_SCHEMA
    )
    assert fast.rows == 50
    assert slow.rows == 51
    assert as_floats(fast.columns["x"]) == as_floats(slow.columns["x"][:50])
    assert fast.event_ids == slow.event_ids[:50]
    assert fast.inference_ids == slow.inference_ids[:50]
    assert list(fast.columns["prediction"]) == list(slow.columns["prediction"][:50])


def test_fast_path_rejects_same_length_key_change(make_capture_line: Callable[..., str]) -> None:
    good = make_capture_line("1,2", event_id="a")
    renamed = make_capture_line("3,4", event_id="b").replace('"data":"3,4"', '"dato":"3,4"')
    batch = parse_capture("\n".join([good, renamed, good]).encode(), NUMERIC_SCHEMA)
    assert batch.rows == 2
    assert batch.malformed_records == 1
    assert batch.malformed_samples[0].line == 2


def test_blank_lines_and_crlf_are_tolerated(make_capture_line: Callable[..., str]) -> None:
    first, second, third = (make_capture_line(data) for data in ["1,2", "3,4", "5,6"])
    text = "\n\n" + first + "\r\n" + second + "\n\n" + third + "\n"
    batch = parse_capture(text.encode(), NUMERIC_SCHEMA)
    assert batch.rows == 3
    assert batch.malformed_records == 0
    assert as_floats(batch.columns["x"]) == [1.0, 3.0, 5.0]


def test_large_objects_are_parsed_in_pieces_with_true_line_numbers(
    monkeypatch: pytest.MonkeyPatch, make_capture_line: Callable[..., str]
) -> None:
    lines = [make_capture_line(f"{i},{i}", event_id=f"e{i}") for i in range(40)]
    lines[25] = "garbage"
    data = "\n".join(lines).encode()
    whole = parse_capture(data, NUMERIC_SCHEMA)
    monkeypatch.setattr("driftloop.drift.capture.CHUNK_BYTES", 500)
    pieces = parse_capture(data, NUMERIC_SCHEMA)
    assert pieces.rows == whole.rows == 39
    assert as_floats(pieces.columns["x"]) == as_floats(whole.columns["x"])
    assert pieces.event_ids == whole.event_ids
    assert [s.line for s in pieces.malformed_samples] == [26]
