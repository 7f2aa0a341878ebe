"""SageMaker data capture: object keys for a window, and capture/ground-truth bytes to columns.

Parsing is built for throughput and never raises on bad input: a line that is not a capture record,
or whose payload does not fit the baseline's columns, is counted as malformed (with a short sample of
reasons) and skipped. Compact lines in SageMaker's own key order are split on '"' and checked
against a fixed template without building dicts; the ``data`` strings of all CSV records are then
parsed together by a vectorised decimal reader that matches ``numpy.loadtxt`` bit for bit (which
takes over for anything unusual). Anything else is parsed per line with orjson, or ``json`` where
orjson could read it differently.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import orjson
from pydantic import BaseModel, ConfigDict

from driftloop.drift.baseline import Baseline, NumericBaseline

MAX_MALFORMED_SAMPLES = 20

_FIELDS = (
    "in_type",
    "in_data",
    "in_enc",
    "out_type",
    "out_data",
    "out_enc",
    "event_id",
    "inference_id",
    "time",
)


class _Fields(NamedTuple):
    in_type: str
    in_data: str
    in_enc: str
    out_type: str
    out_data: str
    out_enc: str
    event_id: str
    inference_id: str | None
    time: str


class _Layout:
    """Where the values sit when a compact canonical line is split on '"'.

    SageMaker writes compact JSON in a fixed key order. In a line without backslashes every '"'
    delimits a string, so ``line.split('"')`` puts keys and punctuation at fixed positions (checked
    against a template) and the field values at the others: no dict is built.
    """

    def __init__(self, with_inference_id: bool) -> None:
        meta = {"eventId": "@@event_id"}
        if with_inference_id:
            meta["inferenceId"] = "@@inference_id"
        meta["inferenceTime"] = "@@time"
        sample = {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "@@in_type",
                    "mode": "INPUT",
                    "data": "@@in_data",
                    "encoding": "@@in_enc",
                },
                "endpointOutput": {
                    "observedContentType": "@@out_type",
                    "mode": "OUTPUT",
                    "data": "@@out_data",
                    "encoding": "@@out_enc",
                },
            },
            "eventMetadata": meta,
            "eventVersion": "@@version",
        }
        parts = json.dumps(sample, separators=(",", ":")).split('"')
        self.with_inference_id = with_inference_id
        self.parts = len(parts)
        self.structural = tuple(i for i, part in enumerate(parts) if not part.startswith("@@"))
        self.template = tuple(parts[i] for i in self.structural)
        self.positions = {part[2:]: i for i, part in enumerate(parts) if part.startswith("@@")}
        self.structure = operator.itemgetter(*self.structural)
        self.values = operator.itemgetter(
            *(self.positions[name] for name in _FIELDS if name in self.positions)
        )

    def fields(self, parts: list[str]) -> _Fields | None:
        if self.structure(parts) != self.template:
            return None
        found: tuple[str, ...] = self.values(parts)
        if self.with_inference_id:
            return _Fields._make(found)
        return _Fields._make((*found[:7], None, found[7]))


_LAYOUTS = {layout.parts: layout for layout in (_Layout(False), _Layout(True))}


class CaptureSchema(BaseModel):
    """What a capture payload means: feature names in order, which are numeric, the output column."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feature_names: list[str]
    numeric_features: frozenset[str] = frozenset()
    prediction_column: str = "prediction"
    output_key: str | None = None

    @classmethod
    def from_baseline(cls, baseline: Baseline, *, output_key: str | None = None) -> CaptureSchema:
        return cls(
            feature_names=baseline.feature_names,
            numeric_features=frozenset(f.name for f in baseline.features if isinstance(f, NumericBaseline)),
            prediction_column=baseline.target_spec.prediction,
            output_key=output_key,
        )


class MalformedRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    line: int
    reason: str


@dataclass
class CaptureBatch:
    """Rows parsed from capture files: feature and prediction columns plus per-row metadata."""

    columns: dict[str, npt.NDArray[Any]]
    event_ids: list[str]
    inference_ids: list[str | None]
    inference_times: list[str]
    records: int = 0
    malformed_records: int = 0
    malformed_samples: list[MalformedRecord] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.event_ids)

    @property
    def join_keys(self) -> list[str]:
        """Ground truth's eventId is the capture's inferenceId when the caller set one, else its eventId."""
        return [i if i is not None else e for i, e in zip(self.inference_ids, self.event_ids, strict=True)]


@dataclass
class _Builder:
    schema: CaptureSchema
    csv_rows: list[str] = field(default_factory=list)
    csv_meta: list[tuple[str, str | None, str]] = field(default_factory=list)
    csv_outputs: list[Any] = field(default_factory=list)
    csv_lines: list[int] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    row_lines: list[int] = field(default_factory=list)
    meta: list[tuple[str, str | None, str]] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    records: int = 0
    malformed: int = 0
    samples: list[MalformedRecord] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        self.malformed += 1
        if len(self.samples) < MAX_MALFORMED_SAMPLES:
            self.samples.append(MalformedRecord(line=line, reason=reason[:200]))


_DIGITS_AS_NINES = bytes.maketrans(b"012345678", b"999999999")
_LONG_NUMBER = b"9" * 19


def _loads(text: str) -> Any:
    """``json.loads``, by way of orjson where that gives the same value.

    orjson refuses NaN, Infinity, numbers beyond a double, lone surrogates and deep nesting, which
    json accepts (then json parses), and reads integers beyond 64 bits as floats: text with a run of
    19 digits or more goes to json.
    """
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return json.loads(text)
    if _LONG_NUMBER not in encoded.translate(_DIGITS_AS_NINES):
        try:
            return orjson.loads(encoded)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def _split_canonical(line: str) -> _Fields | None:
    """The nine field values of a compact canonical capture line, or None (then json.loads decides)."""
    if "\\" in line:
        return None
    parts = line.split('"')
    layout = _LAYOUTS.get(len(parts))
    return None if layout is None else layout.fields(parts)


_EXTRACTED = ("in_data", "out_data", "event_id", "inference_id", "time")


def _parse_uniform(data: bytes, schema: CaptureSchema) -> CaptureBatch | None:
    """Whole-object fast path for the common case: every line canonical and CSV, like the first.

    The first line is checked against the layout; its bytes, minus the five per-record values (input
    and output data, event id, inference id, time), form a skeleton every other line must equal byte
    for byte. With Q quotes per line the values sit between known quotes, so the check and the
    extraction are a few vectorised passes over the buffer instead of a parse per line. Returns None
    whenever the object is not that regular; the per-line parser then handles it.
    """
    body = data.strip()
    if not body or not body.isascii() or b"\\" in body:
        return None
    first_end = body.find(b"\n")
    first = (body if first_end < 0 else body[:first_end]).decode("ascii")
    parts = first.split('"')
    layout = _LAYOUTS.get(len(parts))
    first_fields = layout.fields(parts) if layout is not None else None
    if layout is None or first_fields is None:
        return None
    if first_fields.in_enc != "CSV" or first_fields.out_enc != "CSV" or "json" in first_fields.in_type:
        return None
    buf = np.frombuffer(body, dtype=np.uint8)
    quotes = np.flatnonzero(buf == ord('"'))
    lines = body.count(b"\n") + 1
    if quotes.size != lines * (layout.parts - 1):
        return None
    grid = quotes.reshape(lines, layout.parts - 1)
    names = sorted((n for n in _EXTRACTED if n in layout.positions), key=layout.positions.__getitem__)
    value_parts = [layout.positions[n] for n in names]
    bounds = np.empty((lines, 2 * len(value_parts)), dtype=np.intp)
    bounds[:, 0::2] = grid[:, [c - 1 for c in value_parts]] + 1  # value starts
    bounds[:, 1::2] = grid[:, value_parts] + 1  # value ends, closing quote included
    edges = np.concatenate(([0], bounds.ravel(), [buf.size]))
    runs = np.diff(edges)
    is_value = np.zeros(runs.size, dtype=bool)
    is_value[1::2] = True
    mask = np.repeat(is_value, runs)
    skeleton = buf[~mask].tobytes()
    first_skeleton = skeleton[: len(skeleton) // lines] if lines else b""
    if skeleton != b"\n".join([first_skeleton] * lines):
        return None
    values = buf[mask].copy()
    values[values == ord('"')] = ord("\n")  # each value ends with its closing quote
    flat = values.tobytes().decode("ascii").split("\n")
    field = {name: flat[i : len(flat) - 1 : len(names)] for i, name in enumerate(names)}
    outputs = field["out_data"]
    if "," in "\n".join(outputs):
        return None
    leading_blank_lines = data[: len(data) - len(data.lstrip())].count(b"\n")
    inference_ids: list[str | None] = (
        list(field["inference_id"]) if "inference_id" in field else [None] * lines
    )
    matrix = _numeric_matrix(field["in_data"], schema)
    if matrix is not None:  # the common case: no per-record Python objects beyond the strings
        columns = {name: matrix[:, i] for i, name in enumerate(schema.feature_names)}
        columns[schema.prediction_column] = np.asarray(outputs, dtype=object)
        return CaptureBatch(
            columns=columns,
            event_ids=field["event_id"],
            inference_ids=inference_ids,
            inference_times=field["time"],
            records=lines,
        )
    builder = _Builder(
        schema,
        csv_rows=field["in_data"],
        csv_meta=list(zip(field["event_id"], inference_ids, field["time"], strict=True)),
        csv_outputs=list(outputs),
        csv_lines=list(range(leading_blank_lines + 1, leading_blank_lines + 1 + lines)),
        records=lines,
    )
    return _finish(builder)


def _numeric_matrix(rows: list[str], schema: CaptureSchema) -> npt.NDArray[np.float64] | None:
    """All-numeric schema and well-formed rows: a (rows, features) float matrix; otherwise None.

    :func:`_parse_floats` handles plain decimal tokens; whatever it declines goes to ``loadtxt``.
    """
    names = schema.feature_names
    if not rows or not all(name in schema.numeric_features for name in names):
        return None
    matrix = _parse_floats(rows, len(names))
    if matrix is not None:
        return matrix
    try:
        matrix = np.loadtxt(rows, delimiter=",", dtype=np.float64, ndmin=2, comments=None)
    except ValueError:
        return None
    # loadtxt skips empty rows: then the matrix no longer lines up with the records
    return matrix if matrix.shape == (len(rows), len(names)) else None


_POW10 = np.array([10.0**k for k in range(23)])  # exact doubles: 10**22 is the largest
_SIGNED_POW10 = np.concatenate((_POW10, -_POW10))
_PAD = 24  # bytes of "0" before the text, so every token's last 16 bytes lie inside the buffer
_TWO_53 = 2**53
_TOKEN_BYTES = b"0123456789.-,\n"
_HARD_BYTES = b"+eE"  # valid in a number, left to float(), which agrees with loadtxt on these bytes
_U64 = np.uint64
_ONES = _U64(0x0101010101010101)
_HIGH_BITS = _U64(0x8080808080808080)
_LOW7 = _U64(0x7F7F7F7F7F7F7F7F)
# _TOP_BYTES[k]: the k most significant bytes of a little-endian word, i.e. its last k characters
_TOP_BYTES = np.array([((1 << (8 * k)) - 1) << (8 * (8 - k)) for k in range(9)], dtype=np.uint64)


def _byte_flags(word: npt.NDArray[np.uint64], byte: int) -> npt.NDArray[np.uint64]:
    """0x80 in every byte of ``word`` equal to ``byte``, 0 elsewhere (exact: no borrow between bytes)."""
    diff = word ^ (_ONES * _U64(byte))
    nonzero = ((diff & _LOW7) + _LOW7) | diff
    return ~nonzero & _HIGH_BITS


def _digit_flags(word: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """0x80 in every byte of ``word`` that is an ASCII digit (bytes must be ASCII)."""
    digits = word ^ (_ONES * _U64(0x30))
    is_ten_or_more = (digits + _ONES * _U64(0x76)) & _HIGH_BITS
    return ~is_ten_or_more & _HIGH_BITS


def _digits_value(word: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The 8 characters of each word (digits, other bytes as 0 digits) read as a decimal integer."""
    digits = word ^ (_ONES * _U64(0x30))  # '0'..'9' -> 0..9; bytes are ASCII, so all stay below 0x80
    other = (digits + _ONES * _U64(0x76)) & _HIGH_BITS  # 0x80 where the byte is 10 or more
    digits &= ~((other >> _U64(7)) * _U64(0xFF))
    digits = (digits * _U64(10) + (digits >> _U64(8))) & _U64(0x00FF00FF00FF00FF)
    digits = (digits * _U64(100) + (digits >> _U64(16))) & _U64(0x0000FFFF0000FFFF)
    value: npt.NDArray[np.uint64] = (digits * _U64(10000) + (digits >> _U64(32))) & _U64(0xFFFFFFFF)
    return value


def _parse_floats(rows: list[str], width: int) -> npt.NDArray[np.float64] | None:
    """Rows of ``width`` comma-separated decimals to a (rows, width) matrix, equal bit for bit to
    ``np.loadtxt(rows, delimiter=",")``; None when a row or token is anything else (then loadtxt decides).

    A token ``-?digits[.digits]`` of at most 16 characters whose digits, read as one integer m, stay
    below 2**53 is exactly ``m / 10**k`` (k digits after the point): both operands are exact doubles
    and one IEEE division rounds correctly, as ``strtod`` does. Each token's last 16 bytes are read
    as two little-endian words and turned into digits, dot and minus counts with SWAR arithmetic.
    Other tokens made of digits, '.', '-', '+', 'e' and 'E' (exponents, long mantissas) go through
    ``float()``, which parses that alphabet as loadtxt does (both use ``PyOS_string_to_double``).
    Any other byte (spaces, 'nan', '_') gives None.
    """
    text = "\n".join(rows)
    count = len(rows) * width
    if not count or not text.isascii():
        return None
    raw = ("0" * _PAD + text + ",").encode("ascii")  # the trailing ',' is a sentinel, not data
    leftover = raw.translate(None, _TOKEN_BYTES)
    if leftover.translate(None, _HARD_BYTES):
        return None
    padded = np.frombuffer(raw, dtype=np.uint8)
    tail = padded[_PAD:]  # the text and the sentinel: an empty last token still has a first byte
    buf = tail[:-1]
    is_sep = buf == ord(",")
    is_sep |= buf == ord("\n")
    seps = np.flatnonzero(is_sep)
    if seps.size != count - 1:
        return None
    row_ends = np.append(buf[seps] == ord("\n"), True).reshape(len(rows), width)
    if row_ends[:, :-1].any() or not row_ends[:, -1].all():
        return None
    starts = np.empty(count, dtype=np.intp)
    starts[0] = 0
    starts[1:] = seps + 1
    ends = np.empty(count, dtype=np.intp)
    ends[:-1] = seps
    ends[-1] = buf.size
    lengths = ends - starts
    negative = tail[starts] == ord("-")
    # unaligned little-endian words at every byte offset; a token's last 8 bytes are the word
    # ending at its end, the 8 before them the word 8 bytes earlier
    words = np.ndarray(shape=(len(raw) - 7,), dtype="<u8", buffer=raw, strides=(1,))
    last_word = ends + (_PAD - 8)
    high = words[last_word] & _TOP_BYTES[np.minimum(lengths, 8)]
    low = words[last_word - 8] & _TOP_BYTES[np.clip(lengths - 8, 0, 8)]
    dot_high, dot_low = _byte_flags(high, ord(".")), _byte_flags(low, ord("."))
    dots = np.bitwise_count(dot_high) + np.bitwise_count(dot_low)
    minuses = np.bitwise_count(_byte_flags(high, ord("-"))) + np.bitwise_count(_byte_flags(low, ord("-")))
    hard = lengths > 16
    hard |= dots > 1
    hard |= minuses != negative
    hard |= lengths <= dots + minuses  # no digit
    if leftover:  # '+', 'e' or 'E' somewhere (else a token's bytes are digits, dots and minuses)
        digit_count = np.bitwise_count(_digit_flags(high)) + np.bitwise_count(_digit_flags(low))
        hard |= digit_count + dots + minuses != lengths
    # the digits as one integer, the dot read as a 0 digit (dropped below), minus and padding as leading 0s
    shifted = _digits_value(low) * _U64(10**8) + _digits_value(high)
    hard |= shifted >= _U64(_TWO_53)
    after_dot = np.where(
        dot_low != 0,
        8 + np.bitwise_count(~(dot_low * _U64(2) - _U64(1)) & _HIGH_BITS),
        np.bitwise_count(~(dot_high * _U64(2) - _U64(1)) & _HIGH_BITS),
    ).astype(np.intp)
    exact = shifted.astype(np.float64)
    # drop the dot's 0 digit: above * 10**(k+1) + below -> above * 10**k + below, with k = after_dot
    divisor = _POW10[np.where(dots == 1, after_dot + 1, 22)]  # no dot: 10**22 > shifted, above = 0
    above = np.floor(exact / divisor)  # exact: the rounded quotient of integers below 2**53 floors right
    mantissa = exact - above * (divisor - _POW10[after_dot])
    # a negative divisor negates the quotient exactly, and turns 0 into -0.0 as strtod does for "-0"
    values: npt.NDArray[np.float64] = mantissa / _SIGNED_POW10[after_dot + 23 * negative]
    redo = np.flatnonzero(hard)
    if redo.size > count // 8:  # mostly long or exponent tokens: loadtxt is faster than float() each
        return None
    if redo.size:
        try:
            values[redo] = [
                float(raw[start:end])
                for start, end in zip(
                    (starts[redo] + _PAD).tolist(), (ends[redo] + _PAD).tolist(), strict=True
                )
            ]
        except ValueError:
            return None
    return values.reshape(len(rows), width)


CHUNK_BYTES = 2 << 20  # the vectorised passes stay cache-friendly on pieces of a few MiB


def parse_capture(data: bytes, schema: CaptureSchema) -> CaptureBatch:
    """Parse one capture object's bytes (JSON lines) into columns. Never raises on bad records.

    Large objects are parsed in pieces of about ``CHUNK_BYTES`` cut at line ends and concatenated.
    """
    if len(data) <= CHUNK_BYTES:
        return _parse_piece(data, schema)
    batches: list[CaptureBatch] = []
    start = 0
    while start < len(data):
        cut = data.find(b"\n", start + CHUNK_BYTES)
        end = len(data) if cut < 0 else cut + 1
        batch = _parse_piece(data[start:end], schema)
        if batch.malformed_samples:  # line numbers within the piece -> within the object
            lines_before = data.count(b"\n", 0, start)
            batch.malformed_samples = [
                MalformedRecord(line=s.line + lines_before, reason=s.reason) for s in batch.malformed_samples
            ]
        batches.append(batch)
        start = end
    return concat_batches(batches)


def concat_batches(batches: Sequence[CaptureBatch]) -> CaptureBatch:
    """One batch from several (e.g. the capture objects of one window), rows in the given order."""
    if not batches:
        raise ValueError("no batches to concatenate")
    names = list(batches[0].columns)
    return CaptureBatch(
        columns={name: _concat([b.columns[name] for b in batches]) for name in names},
        event_ids=[e for b in batches for e in b.event_ids],
        inference_ids=[i for b in batches for i in b.inference_ids],
        inference_times=[t for b in batches for t in b.inference_times],
        records=sum(b.records for b in batches),
        malformed_records=sum(b.malformed_records for b in batches),
        malformed_samples=[s for b in batches for s in b.malformed_samples][:MAX_MALFORMED_SAMPLES],
    )


def _parse_piece(data: bytes, schema: CaptureSchema) -> CaptureBatch:
    uniform = _parse_uniform(data, schema)
    if uniform is not None:
        return uniform
    text = data.decode("utf-8", errors="replace")
    builder = _Builder(schema)
    csv_rows, csv_meta = builder.csv_rows, builder.csv_meta
    csv_outputs, csv_lines = builder.csv_outputs, builder.csv_lines
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line or line.isspace():
            continue
        builder.records += 1
        fields = _split_canonical(line)
        if fields is None:
            _add_generic(builder, line_no, line)
            continue
        in_type, in_data, in_enc, out_type, out_data, out_enc, event_id, inference_id, time = fields
        if in_enc == "CSV" and out_enc == "CSV" and "," not in out_data:
            csv_rows.append(in_data)
            csv_meta.append((event_id, inference_id, time))
            csv_outputs.append(out_data)
            csv_lines.append(line_no)
            continue
        try:
            input_text = _decode(in_data, in_enc)
            output_text = _decode(out_data, out_enc)
        except (ValueError, binascii.Error) as exc:
            builder.reject(line_no, f"undecodable payload: {exc}")
            continue
        _add_payload(
            builder, line_no, input_text, in_type, output_text, out_type, (event_id, inference_id, time)
        )
    return _finish(builder)


def _add_generic(builder: _Builder, line_no: int, line: str) -> None:
    try:
        record = _loads(line)
        capture = record["captureData"]
        endpoint_input = capture["endpointInput"]
        endpoint_output = capture.get("endpointOutput")
        meta = record["eventMetadata"]
        event_meta = (str(meta["eventId"]), meta.get("inferenceId"), str(meta["inferenceTime"]))
        input_text = _decode(endpoint_input["data"], endpoint_input.get("encoding", "CSV"))
        output_text = (
            _decode(endpoint_output["data"], endpoint_output.get("encoding", "CSV"))
            if endpoint_output
            else None
        )
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        builder.reject(line_no, f"not a capture record: {type(exc).__name__}: {exc}")
        return
    out_type = endpoint_output.get("observedContentType", "") if endpoint_output else ""
    _add_payload(
        builder,
        line_no,
        input_text,
        endpoint_input.get("observedContentType", ""),
        output_text,
        out_type,
        event_meta,
    )


def _decode(data: Any, encoding: str) -> str:
    if not isinstance(data, str):
        raise ValueError(f"data is {type(data).__name__}, not a string")
    if encoding == "BASE64":
        return base64.b64decode(data, validate=True).decode("utf-8")
    if encoding in ("CSV", "JSON"):
        return data
    raise ValueError(f"unknown encoding {encoding!r}")


def _add_payload(
    builder: _Builder,
    line_no: int,
    input_text: str,
    input_type: str,
    output_text: str | None,
    output_type: str,
    event_meta: tuple[str, str | None, str],
) -> None:
    names = builder.schema.feature_names
    try:
        rows = _input_rows(input_text, input_type, names)
        outputs = _output_values(output_text, output_type, builder.schema.output_key) if output_text else []
    except (ValueError, KeyError, TypeError) as exc:
        builder.reject(line_no, f"unreadable payload: {exc}")
        return
    bad = [r for r in rows if len(r) != len(names)]
    if not rows or bad:
        width = len(bad[0]) if bad else 0
        builder.reject(line_no, f"expected {len(names)} features per row, got {width}")
        return
    if outputs and len(outputs) != len(rows):
        builder.reject(line_no, f"{len(rows)} input rows but {len(outputs)} outputs")
        return
    builder.rows.extend(rows)
    builder.row_lines.extend([line_no] * len(rows))
    builder.meta.extend([event_meta] * len(rows))
    builder.outputs.extend(outputs or [None] * len(rows))


def _looks_json(text: str, content_type: str) -> bool:
    return "json" in content_type or text.lstrip()[:1] in ("{", "[")


def _input_rows(text: str, content_type: str, names: Sequence[str]) -> list[list[Any]]:
    if _looks_json(text, content_type) and "csv" not in content_type:
        return _json_rows(_loads(text), names)
    if "jsonlines" in content_type:
        return [r for line in text.splitlines() if line.strip() for r in _json_rows(_loads(line), names)]
    return [row for row in csv.reader(io.StringIO(text)) if row]


def _json_rows(payload: Any, names: Sequence[str]) -> list[list[Any]]:
    """Accepts [..], [[..], ..], {"instances": [...]}, {"features": [..]} and {"name": value, ...}."""
    if isinstance(payload, dict):
        for key in ("instances", "inputs", "data"):
            if key in payload:
                return _json_rows(payload[key], names)
        if "features" in payload and isinstance(payload["features"], list):
            return [list(payload["features"])]
        return [[payload.get(name) for name in names]] if any(n in payload for n in names) else [[]]
    if isinstance(payload, list):
        if payload and all(isinstance(item, (list, dict)) for item in payload):
            return [r for item in payload for r in _json_rows(item, names)]
        return [list(payload)]
    raise ValueError(f"unsupported JSON payload {type(payload).__name__}")


def _output_values(text: str, content_type: str, output_key: str | None) -> list[Any]:
    if _looks_json(text, content_type) and "csv" not in content_type:
        return _json_outputs(_loads(text), output_key)
    values: list[Any] = []
    for row in csv.reader(io.StringIO(text)):
        if row:
            values.append(row[0])
    return values


_OUTPUT_KEYS = ("predictions", "outputs", "results", "scores")
_SCALAR_KEYS = ("score", "predicted_label", "prediction", "label")


def _json_outputs(payload: Any, output_key: str | None) -> list[Any]:
    if isinstance(payload, dict):
        if output_key is not None and output_key in payload:
            return _json_outputs(payload[output_key], output_key)
        for key in _OUTPUT_KEYS:
            if key in payload:
                return _json_outputs(payload[key], output_key)
        for key in _SCALAR_KEYS:
            if key in payload:
                return [payload[key]]
        raise ValueError("no prediction field in JSON output")
    if isinstance(payload, list):
        values: list[Any] = []
        for item in payload:
            values.extend(_json_outputs(item, output_key) if isinstance(item, (dict, list)) else [item])
        return values
    return [payload]


def _finish(builder: _Builder) -> CaptureBatch:
    names = builder.schema.feature_names
    columns: dict[str, npt.NDArray[Any]] = {}
    fast_columns = _vectorised_csv(builder)
    slow = [list(col) for col in zip(*builder.rows, strict=True)] if builder.rows else [[] for _ in names]
    for index, name in enumerate(names):
        parts: list[npt.NDArray[Any]] = []
        if fast_columns is not None:
            parts.append(fast_columns[index])
        if builder.rows:
            parts.append(np.asarray(slow[index], dtype=object))
        columns[name] = _concat(parts)
    outputs = builder.csv_outputs + builder.outputs
    columns[builder.schema.prediction_column] = np.asarray(outputs, dtype=object)
    meta = builder.csv_meta + builder.meta
    if builder.csv_lines and builder.row_lines:
        # rows came through two paths; put them back in file order
        order = np.argsort(np.asarray(builder.csv_lines + builder.row_lines), kind="stable")
        columns = {name: values[order] for name, values in columns.items()}
        meta = [meta[i] for i in order]
    return CaptureBatch(
        columns=columns,
        event_ids=[m[0] for m in meta],
        inference_ids=[m[1] for m in meta],
        inference_times=[m[2] for m in meta],
        records=builder.records,
        malformed_records=builder.malformed,
        malformed_samples=builder.samples,
    )


def _concat(parts: list[npt.NDArray[Any]]) -> npt.NDArray[Any]:
    if not parts:
        return np.empty(0, dtype=np.float64)
    if len(parts) == 1:
        return parts[0]
    if all(p.dtype.kind == "f" for p in parts):
        return np.concatenate(parts)
    return np.concatenate([p.astype(object) for p in parts])


def _vectorised_csv(builder: _Builder) -> list[npt.NDArray[Any]] | None:
    """Parse all single-row CSV payloads at once; rows that do not fit move to the per-row path."""
    if not builder.csv_rows:
        return None
    names = builder.schema.feature_names
    matrix = _numeric_matrix(builder.csv_rows, builder.schema)
    if matrix is not None:
        return [matrix[:, i] for i in range(len(names))]
    # mixed types, empty fields or ragged rows: split per row, keep tokens as strings
    good_rows: list[list[str]] = []
    good_meta: list[tuple[str, str | None, str]] = []
    good_outputs: list[Any] = []
    good_lines: list[int] = []
    for row, meta, output, line in zip(
        builder.csv_rows, builder.csv_meta, builder.csv_outputs, builder.csv_lines, strict=True
    ):
        tokens = row.split(",")
        if len(tokens) != len(names):
            builder.reject(line, f"expected {len(names)} features per row, got {len(tokens)}")
            continue
        good_rows.append(tokens)
        good_meta.append(meta)
        good_outputs.append(output)
        good_lines.append(line)
    builder.csv_meta, builder.csv_outputs, builder.csv_lines = good_meta, good_outputs, good_lines
    if not good_rows:
        return [np.empty(0, dtype=object) for _ in names]
    matrix_str = np.asarray(good_rows, dtype=str)
    return [matrix_str[:, i] for i in range(len(names))]


# --------------------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------------------


@dataclass
class GroundTruth:
    labels: dict[str, list[str]]
    records: int = 0
    malformed_records: int = 0


def parse_ground_truth(data: bytes) -> GroundTruth:
    """Ground-truth JSON lines -> eventId -> label(s) (several when the capture held several rows)."""
    result = GroundTruth(labels={})
    for line in data.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        result.records += 1
        try:
            record = _loads(line)
            truth = record["groundTruthData"]
            event_id = str(record["eventMetadata"]["eventId"])
            text = _decode(truth["data"], truth.get("encoding", "CSV"))
            labels = _output_values(text, "json" if truth.get("encoding") == "JSON" else "text/csv", None)
        except (ValueError, KeyError, TypeError, binascii.Error):
            result.malformed_records += 1
            continue
        result.labels[event_id] = [str(v) for v in labels]
    return result


def join_ground_truth(batch: CaptureBatch, truth: GroundTruth, target_column: str) -> CaptureBatch:
    """Add ``target_column`` to the batch (None where no label), matching row order within a record."""
    labels: list[str | None] = []
    seen: dict[str, int] = {}
    for key in batch.join_keys:
        position = seen.get(key, 0)
        seen[key] = position + 1
        values = truth.labels.get(key)
        labels.append(values[position] if values is not None and position < len(values) else None)
    columns = dict(batch.columns)
    columns[target_column] = np.asarray(labels, dtype=object)
    return CaptureBatch(
        columns=columns,
        event_ids=batch.event_ids,
        inference_ids=batch.inference_ids,
        inference_times=batch.inference_times,
        records=batch.records,
        malformed_records=batch.malformed_records,
        malformed_samples=batch.malformed_samples,
    )


# --------------------------------------------------------------------------------------------------
# Windows
# --------------------------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def hour_prefixes(
    prefix: str, endpoint_name: str, variant_name: str, start: datetime, end: datetime, *, late_hours: int = 1
) -> list[str]:
    """Capture key prefixes ``{prefix}/{endpoint}/{variant}/yyyy/mm/dd/hh/`` covering [start, end).

    SageMaker files records under the hour they were written, which can be after the inference time,
    so ``late_hours`` extra hours after ``end`` are listed too; filter records with :func:`filter_window`.
    """
    start, end = _utc(start), _utc(end)
    if end <= start:
        return []
    base = prefix.rstrip("/")
    hour = start.replace(minute=0, second=0, microsecond=0)
    last = (end - timedelta(microseconds=1)).replace(minute=0, second=0, microsecond=0) + timedelta(
        hours=late_hours
    )
    prefixes = []
    while hour <= last:
        prefixes.append(f"{base}/{endpoint_name}/{variant_name}/{hour:%Y/%m/%d/%H}/")
        hour += timedelta(hours=1)
    return prefixes


def parse_inference_time(value: str) -> datetime | None:
    try:
        return _utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def filter_window(batch: CaptureBatch, start: datetime, end: datetime) -> CaptureBatch:
    """Rows with start <= inferenceTime < end; rows with an unreadable time are dropped as malformed."""
    start, end = _utc(start), _utc(end)
    cache: dict[str, datetime | None] = {}
    keep: list[int] = []
    unreadable = 0
    for index, raw in enumerate(batch.inference_times):
        moment = cache.get(raw)
        if raw not in cache:
            moment = cache[raw] = parse_inference_time(raw)
        if moment is None:
            unreadable += 1
        elif start <= moment < end:
            keep.append(index)
    take = np.asarray(keep, dtype=np.intp)
    return CaptureBatch(
        columns={name: values[take] for name, values in batch.columns.items()},
        event_ids=[batch.event_ids[i] for i in keep],
        inference_ids=[batch.inference_ids[i] for i in keep],
        inference_times=[batch.inference_times[i] for i in keep],
        records=batch.records,
        malformed_records=batch.malformed_records + unreadable,
        malformed_samples=batch.malformed_samples,
    )
