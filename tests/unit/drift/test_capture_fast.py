"""The capture parser's fast paths agree with its generic path and with numpy.loadtxt, bit for bit."""

from __future__ import annotations

import base64
import json
import struct
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftloop.drift import CaptureBatch, CaptureSchema, parse_capture
from driftloop.drift.capture import _loads, _parse_floats

NUMERIC = CaptureSchema(feature_names=["a", "b", "c"], numeric_features=frozenset({"a", "b", "c"}))
MIXED = CaptureSchema(feature_names=["a", "b", "c"], numeric_features=frozenset({"a", "b"}))

TOKENS = [
    "0", "-0", "0.0", "-0.0", "7", "-7", "5.", "-5.", ".5", "-.5", "007.250", "123456789012345",
    "-999999999999999", "0.1", "0.30000000000000004", "-1.2345678901234", "9007199254740991",
    "9007199254740993", "1e-05", "-2.5E+10", "+3", "1.7976931348623157e308", "4.9e-324",
    "0.000001234567890123456789", "12345678901234567890", "3.141592653589793", "-0.00001",
]  # fmt: skip


def loadtxt(rows: list[str]) -> np.ndarray | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
            return np.loadtxt(rows, delimiter=",", dtype=np.float64, ndmin=2, comments=None)
    except ValueError:
        return None


def bits(values: Any) -> list[bytes]:
    return [struct.pack("<d", float(v)) for v in values]


def assert_same_batch(fast: CaptureBatch, generic: CaptureBatch, schema: CaptureSchema) -> None:
    assert fast.rows == generic.rows
    assert fast.records == generic.records
    assert fast.malformed_records == generic.malformed_records
    # the fast path rejects bad CSV widths after the line loop, so samples may come in another order
    assert sorted(s.line for s in fast.malformed_samples) == sorted(s.line for s in generic.malformed_samples)
    assert fast.event_ids == generic.event_ids
    assert fast.inference_ids == generic.inference_ids
    assert fast.inference_times == generic.inference_times
    for name in schema.feature_names:
        if name in schema.numeric_features:
            assert bits(fast.columns[name]) == bits(generic.columns[name]), name
        else:
            assert [str(v) for v in fast.columns[name]] == [str(v) for v in generic.columns[name]], name
    assert [str(v) for v in fast.columns["prediction"]] == [str(v) for v in generic.columns["prediction"]]


def test_decimal_reader_matches_loadtxt_bit_for_bit() -> None:
    rng = np.random.default_rng(3)
    plain = [
        repr(round(float(v), int(d)))
        for v, d in zip(rng.normal(0, 1000, 3000), rng.integers(0, 12, 3000), strict=True)
    ]
    rows = [",".join(plain[i : i + 3]) for i in range(0, len(plain), 3)]
    rows += [",".join((TOKENS * 3)[i : i + 3]) for i in range(len(TOKENS))]  # a few hard tokens each
    matrix = _parse_floats(rows, 3)
    expected = loadtxt(rows)
    assert matrix is not None
    assert expected is not None
    assert matrix.tobytes() == expected.tobytes()
    assert struct.pack("<d", _parse_floats(["-0"], 1)[0, 0]) == struct.pack("<d", -0.0)  # type: ignore[index]


@pytest.mark.parametrize(
    ("rows", "width"),
    [
        (["1,2", "3"], 2),  # ragged
        (["1,2,3"], 2),  # too wide
        (["1,,2"], 3),  # empty token
        (["1,2 ,3"], 3),  # whitespace: loadtxt's business
        (["1_0,2,3"], 3),  # float() takes underscores, loadtxt does not
        (["nan,inf,-inf"], 3),
        (["1.2.3,1,2"], 3),
        (["1-2,3,4"], 3),
        (["-,1,2"], 3),
        ([".,1,2"], 3),
        (["1e,1,2"], 3),
        (["\u00e9,1,2"], 3),
        (["1,2,3", ""], 3),  # loadtxt would skip the empty row
    ],
)
def test_decimal_reader_declines_what_it_does_not_own(rows: list[str], width: int) -> None:
    assert _parse_floats(rows, width) is None


TOKEN = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(0, 20)
    .flatmap(lambda p: st.decimals(allow_nan=False, allow_infinity=False, places=p))
    .map(str),
    st.integers(-(10**20), 10**20).map(str),
    st.builds(
        lambda sign, whole, frac: f"{sign}{whole}.{frac}",
        st.sampled_from(["", "-"]),
        st.text("0123456789", max_size=10),
        st.text("0123456789", max_size=10),
    ),
    st.text("0123456789.-+eE", max_size=18),
)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 4).flatmap(lambda w: st.lists(st.lists(TOKEN, min_size=w, max_size=w), min_size=1)))
def test_decimal_reader_is_loadtxt_or_declines(table: list[list[str]]) -> None:
    rows = [",".join(row) for row in table]
    width = len(table[0])
    matrix = _parse_floats(rows, width)
    expected = loadtxt(rows)
    if expected is None or expected.shape != (len(rows), width):
        assert matrix is None
    elif matrix is not None:
        assert matrix.tobytes() == expected.tobytes()


def mixed_lines(make_capture_line: Callable[..., str], *, bad_rows: bool) -> list[str]:
    rng = np.random.default_rng(5)
    lines = []
    for i in range(120):
        a, b, c = (repr(float(v)) for v in rng.normal(0, 50, 3).round(int(rng.integers(0, 9))))
        kind = i % 12
        if kind == 3:
            lines.append(
                make_capture_line(
                    json.dumps({"instances": [[float(a), float(b), float(c)]]}),
                    encoding="JSON",
                    content_type="application/json",
                    output=json.dumps({"predictions": [0.25]}),
                    output_encoding="JSON",
                    output_type="application/json",
                    event_id=f"e{i}",
                )
            )
        elif kind == 5:
            lines.append(
                make_capture_line(
                    base64.b64encode(f"{a},{b},{c}".encode()).decode(), encoding="BASE64", event_id=f"e{i}"
                )
            )
        elif kind == 7 and bad_rows:
            lines.append(make_capture_line(f"{a},{b}", event_id=f"e{i}"))  # wrong width
        elif kind == 9 and bad_rows:
            lines.append("not json")
        elif kind == 11:
            lines.append(
                make_capture_line(
                    f"{a},1e-05,{TOKENS[i % len(TOKENS)]}", event_id=f"e{i}", inference_id=f"i{i}"
                )
            )
        else:
            lines.append(
                make_capture_line(f"{a},{b},{c}", event_id=f"e{i}", inference_id=f"i{i}" if i % 2 else None)
            )
    return lines


def spaced(lines: list[str]) -> list[str]:
    """The same records as pretty JSON: every line goes through the generic json path."""
    return [record_from(line) for line in lines]


def record_from(line: str) -> str:
    try:
        return json.dumps(json.loads(line), indent=1).replace("\n", "")
    except ValueError:
        return line


@pytest.mark.parametrize("schema", [NUMERIC, MIXED])
@pytest.mark.parametrize("bad_rows", [False, True])
def test_fast_paths_agree_with_generic_path_on_mixed_file(
    schema: CaptureSchema, bad_rows: bool, make_capture_line: Callable[..., str]
) -> None:
    lines = mixed_lines(make_capture_line, bad_rows=bad_rows)
    fast = parse_capture("\n".join(lines).encode(), schema)
    generic = parse_capture("\n".join(spaced(lines)).encode(), schema)
    assert fast.malformed_records == (20 if bad_rows else 0)  # 10 wrong widths, 10 non-JSON lines
    if schema is NUMERIC and not bad_rows:  # 100 CSV rows as floats from the decimal reader, 10 JSON rows
        assert sum(isinstance(v, float) for v in fast.columns["a"]) == 110
    assert_same_batch(fast, generic, schema)


def test_whole_object_fast_path_agrees_with_generic_path(make_capture_line: Callable[..., str]) -> None:
    rng = np.random.default_rng(9)
    lines = [
        make_capture_line(
            ",".join(repr(float(v)) for v in row), event_id=f"e{i}", inference_id=f"i{i}", output=str(i % 2)
        )
        for i, row in enumerate(rng.normal(0, 10, (300, 3)).round(5))
    ]
    lines[17] = make_capture_line("1e-05,-0,12345678901234567", event_id="e17", inference_id="i17")
    fast = parse_capture("\n".join(lines).encode(), NUMERIC)
    assert fast.columns["a"].dtype == np.float64
    generic = parse_capture("\n".join(spaced(lines)).encode(), NUMERIC)
    assert_same_batch(fast, generic, NUMERIC)


def test_empty_payload_rows_keep_columns_aligned(make_capture_line: Callable[..., str]) -> None:
    schema = CaptureSchema(feature_names=["x"], numeric_features=frozenset({"x"}))
    lines = [make_capture_line(data, event_id=f"e{i}") for i, data in enumerate(["1", "", "2"])]
    batch = parse_capture("\n".join(lines).encode(), schema)
    assert batch.event_ids == ["e0", "e1", "e2"]
    assert [str(v) for v in batch.columns["x"]] == ["1", "", "2"]  # summarize counts "" as missing


@pytest.mark.parametrize(
    "text",
    [
        '{"x": NaN, "y": Infinity}',
        '{"x": 123456789012345678901234567890}',
        '{"x": "\\ud800"}',
        '{"x": 1e400}',
        '{"x": 0.30000000000000004, "y": -0.0, "z": [1, 2.5e-7]}',
        '{"x": 1, "x": 2}',
        "[" * 2000 + "]" * 2000,
    ],
)
def test_loads_gives_what_json_gives(text: str) -> None:
    assert repr(_loads(text)) == repr(json.loads(text))


@pytest.mark.parametrize("text", ["[1,]", "{'a': 1}", "[1] x", '{"a": "\x01"}'])
def test_loads_refuses_what_json_refuses(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    with pytest.raises(json.JSONDecodeError):  # orjson's error is a subclass
        _loads(text)


PLAIN = st.builds(  # at most 16 characters and 14 digits: always read by the vectorised path
    lambda sign, whole, frac: f"{sign}{whole}{frac}",
    st.sampled_from(["", "-"]),
    st.text("0123456789", min_size=1, max_size=7),
    st.one_of(st.just(""), st.text("0123456789", max_size=7).map(lambda digits: "." + digits)),
)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 4).flatmap(lambda w: st.lists(st.lists(PLAIN, min_size=w, max_size=w), min_size=1)))
def test_decimal_reader_answers_plain_decimals(table: list[list[str]]) -> None:
    rows = [",".join(row) for row in table]
    matrix = _parse_floats(rows, len(table[0]))
    expected = loadtxt(rows)
    assert matrix is not None
    assert expected is not None
    assert matrix.tobytes() == expected.tobytes()
