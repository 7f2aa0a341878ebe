"""From SQS message bodies to KPI log records: validation, partitioning, deterministic keys.

Pure code (no I/O, no boto3). The writer Lambda receives EventBridge envelopes through SQS; every
message ends up either in exactly one partition batch or in quarantine, never dropped.

Layout (Hive-style, what the Glue table ``kpi_events_raw`` reads)::

    events/event_type=<detail-type>/dt=YYYY-MM-DD/hour=HH/<sha256 of the sorted event ids>.json.gz
    quarantine/dt=YYYY-MM-DD/<sha256 of the sorted body digests>.json.gz

The partition comes from the event's own ``time`` (UTC) and detail-type, so every delivery of one
event id lands in the same partition; the dedup view relies on that to keep partition pruning.

The ``detail`` column is the detail's JSON text exactly as delivered (msgspec reads its span from the
body and checks it is JSON, RFC 8259): the log keeps what producers sent, byte for byte, not a
re-serialisation (which would turn 1e400 into Infinity, or 1.0 into 1 in some encoders). Its size limit
is measured on that text.

Two paths, one behaviour. The fast path (msgspec and orjson) takes the common case: a well-formed
envelope whose detail is an object that passes. Anything it is not sure about (not JSON for msgspec, a
missing or mistyped field, an odd time, an oversize detail, nesting or a number beyond pydantic's parser
limits, a contract violation) goes to the precise path (the pydantic envelope model, pydantic-core's
JSON), which decides and words every quarantine reason. The fast path never rejects, so reasons come
from one place; tests check that whatever the fast path accepts, the precise path accepts with the same
partition and line.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

import msgspec
import orjson
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from isal import igzip
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

import driftloop
from driftloop.contracts import CONTRACTS, ContractError, parse_detail

EVENTS_PREFIX = "events"
QUARANTINE_PREFIX = "quarantine"
OBJECT_SUFFIX = ".json.gz"
DEFAULT_MAX_DETAIL_BYTES = 256 * 1024
# ISA-L's level 1 (igzip): ~5x faster than zlib's level 3 and ~10% smaller; standard gzip that every
# reader (Athena, DuckDB, gzip -d) takes. benchmarks/kpi_writer_bench.py measures zlib 1-9 and ISA-L 0-2.
GZIP_LEVEL = 1

REGISTERED_DETAIL_TYPES = frozenset(detail_type for detail_type, _ in CONTRACTS)

# Characters Hive escapes in partition values (FileUtils.escapePathName); DuckDB and Athena decode them.
_HIVE_UNSAFE = frozenset("\"#%'*/:=?\\\x7f{[]^")

# Built once: json.dumps with non-default options constructs a new encoder on every call.
_ASCII_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))
# Errors pydantic reports when the body is not JSON text at all (rather than the wrong JSON).
_NOT_JSON_ERRORS = frozenset({"json_invalid", "string_unicode"})


class KpiWriterSettings(BaseModel):
    """Environment of the KPI writer function (validate with ``driftloop.settings.load_settings``)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    bucket: str = Field(min_length=3, alias="KPI_BUCKET")
    max_detail_bytes: int = Field(default=DEFAULT_MAX_DETAIL_BYTES, gt=0, alias="KPI_MAX_DETAIL_BYTES")
    platform_source: str = Field(default="driftloop", min_length=1, alias="EVENT_SOURCE")
    writer_version: str = Field(default=driftloop.__version__, min_length=1, alias="KPI_WRITER_VERSION")


class KpiEventEnvelope(EventBridgeModel):
    """An EventBridge envelope as delivered in an SQS body.

    Extends Powertools' model: ``time`` must be an ISO-8601 string with an offset (strict: no epoch
    numbers), and ``detail`` is accepted as anything so a non-object detail gets its own quarantine reason.
    """

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    time: AwareDatetime = Field(strict=True)
    detail: Any


# The envelope's ``time`` field on its own, with the same strict rules, for the fast path.
_EVENT_TIME: TypeAdapter[datetime] = TypeAdapter(Annotated[AwareDatetime, Field(strict=True)])
# Per distinct time string: (dt, hour, ISO-8601 UTC with Z); a batch spans few distinct seconds.
_TIME_PARTS: dict[str, tuple[str, str, str]] = {}
_TIME_PARTS_MAX = 16384
# Whole seconds in UTC with Z: once the envelope's rules accept such a string, it is its own normal form.
_CANONICAL_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", re.ASCII)
# pydantic-core's JSON parser refuses nesting deeper than this (brackets in a body bound its depth) and
# numbers with more digits than this; msgspec skips values with neither limit, so the fast path leaves
# bodies that could reach them to the precise path.
_PRECISE_MAX_DEPTH = 200
_PRECISE_MAX_DIGITS = 4300
_TOO_MANY_DIGITS = re.compile(rf"\d{{{_PRECISE_MAX_DIGITS + 1}}}", re.ASCII)

type _PartitionKey = tuple[str, str, str]  # detail-type, dt, hour
type _Accepted = tuple[_PartitionKey, str, bytes]  # partition, event id, record line


class QuarantineReason(StrEnum):
    BODY_NOT_JSON = "body_not_json"
    INVALID_ENVELOPE = "invalid_envelope"
    DETAIL_NOT_OBJECT = "detail_not_object"
    DETAIL_TOO_LARGE = "detail_too_large"
    CONTRACT_VIOLATION = "contract_violation"
    # A failure this module did not foresee: the message is kept with the exception's text rather than
    # failing the whole batch (which would send up to 10,000 good messages to the DLQ with it). The
    # writer alarms on it (QuarantinedUnexpected): a bug that hits every message must not look quiet.
    UNEXPECTED_ERROR = "unexpected_error"


# Not a property of one message: these fail the batch (SQS redelivers it) instead of quarantining.
_FATAL = (MemoryError, RecursionError)


@dataclass(frozen=True, slots=True)
class Partition:
    event_type: str
    dt: str
    hour: str

    @property
    def prefix(self) -> str:
        return f"{EVENTS_PREFIX}/event_type={hive_escape(self.event_type)}/dt={self.dt}/hour={self.hour}/"


@dataclass(frozen=True, slots=True)
class PartitionBatch:
    """The records of one partition from one SQS batch: one object, one conditional PUT."""

    partition: Partition
    event_ids: tuple[str, ...]
    lines: tuple[bytes, ...]
    message_indexes: frozenset[int]

    @property
    def object_key(self) -> str:
        return f"{self.partition.prefix}{content_key(self.event_ids)}{OBJECT_SUFFIX}"

    def encode(self) -> bytes:
        return encode_lines(self.lines)


@dataclass(frozen=True, slots=True)
class QuarantinedMessage:
    message_index: int
    reason: QuarantineReason
    error: str
    raw_body: str
    event_id: str | None = None
    source: str | None = None
    detail_type: str | None = None

    @property
    def body_sha256(self) -> str:
        return hashlib.sha256(self.raw_body.encode("utf-8", "backslashreplace")).hexdigest()


@dataclass(frozen=True, slots=True)
class QuarantineBatch:
    """Every quarantined message of one SQS batch: one object under ``quarantine/dt=<ingest day>/``."""

    dt: str
    lines: tuple[bytes, ...]
    body_digests: tuple[str, ...]
    message_indexes: frozenset[int]

    @property
    def object_key(self) -> str:
        return f"{QUARANTINE_PREFIX}/dt={self.dt}/{content_key(self.body_digests)}{OBJECT_SUFFIX}"

    def encode(self) -> bytes:
        return encode_lines(self.lines)


@dataclass(frozen=True, slots=True)
class BuiltBatch:
    partitions: tuple[PartitionBatch, ...]
    quarantined: tuple[QuarantinedMessage, ...]
    quarantine: QuarantineBatch | None
    duplicates_in_batch: int
    message_count: int

    @property
    def accepted(self) -> int:
        return sum(len(batch.event_ids) for batch in self.partitions)

    def counts(self) -> dict[str, int]:
        """Numbers for metrics: messages, accepted, duplicates and quarantined (total and per reason)."""
        counts = {
            "messages": self.message_count,
            "accepted": self.accepted,
            "duplicates_in_batch": self.duplicates_in_batch,
            "quarantined": len(self.quarantined),
        }
        for reason in QuarantineReason:
            counts[f"quarantined_{reason.value}"] = sum(1 for q in self.quarantined if q.reason is reason)
        return counts


@dataclass(slots=True)
class _PartitionAccumulator:
    lines_by_id: dict[str, bytes] = field(default_factory=dict)
    message_indexes: list[int] = field(default_factory=list)


class _Rejected(Exception):
    """Raised inside this module to route a message to quarantine."""

    def __init__(self, reason: QuarantineReason, error: str, envelope: KpiEventEnvelope | None = None):
        super().__init__(error)
        self.reason = reason
        self.error = error
        self.envelope = envelope


def hive_escape(value: str) -> str:
    """Escape a partition value the way Hive does, so any detail-type yields one valid path segment."""
    return "".join(f"%{ord(ch):02X}" if ch in _HIVE_UNSAFE or ord(ch) < 0x20 else ch for ch in value)


def content_key(ids: Iterable[str]) -> str:
    """Deterministic object name: sha256 over the sorted, unique ids (order of delivery is irrelevant).

    The ids are hashed as a JSON array, not joined by a separator, so ``["a\\nb"]`` and ``["a", "b"]``
    cannot collide (a collision would make the second batch look already written).
    """
    # sorted() first, then dedupe: a partition's ids arrive sorted, which timsort checks in one pass
    # (sorting the set's hash order instead costs ~0.5 ms per thousand ids).
    canonical = _ASCII_ENCODER.encode(list(dict.fromkeys(sorted(ids))))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def encode_lines(lines: Sequence[bytes]) -> bytes:
    """Gzip JSON lines; ``mtime=0`` so equal content gives equal bytes."""
    return igzip.compress(b"\n".join(lines) + b"\n", compresslevel=GZIP_LEVEL, mtime=0)


def partition_of(event_time: datetime, detail_type: str) -> Partition:
    dt, hour, _ = _utc_parts(event_time)
    return Partition(event_type=detail_type, dt=dt, hour=hour)


def iso_utc(moment: datetime) -> str:
    """UTC ISO-8601 with ``Z``: text order equals time order, and Athena's from_iso8601_timestamp reads it."""
    return _utc_parts(moment)[2]


@lru_cache(maxsize=8192)  # a batch spans few distinct seconds: most events hit the cache
def _utc_parts(moment: datetime) -> tuple[str, str, str]:
    """(dt, hour, ISO-8601 UTC with Z) from one isoformat() call (strftime is several times slower)."""
    utc = moment.astimezone(UTC)
    timespec = "milliseconds" if utc.microsecond % 1000 == 0 and utc.microsecond else "auto"
    iso = utc.isoformat(timespec=timespec)[:-6]  # drop "+00:00"
    return iso[:10], iso[11:13], iso + "Z"


def _parse_envelope(body: str) -> KpiEventEnvelope:
    try:
        # One pass in pydantic-core's JSON parser: no json.loads, and no unpaired surrogates get through.
        return KpiEventEnvelope.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        if any(error["type"] in _NOT_JSON_ERRORS for error in errors):
            raise _Rejected(QuarantineReason.BODY_NOT_JSON, f"body is not JSON: {errors}") from exc
        raise _Rejected(QuarantineReason.INVALID_ENVELOPE, f"not an EventBridge envelope: {errors}") from exc


class _DetailText(msgspec.Struct):
    """The span of the body's ``detail`` value, checked as JSON text (RFC 8259) but not decoded."""

    detail: msgspec.Raw


_DETAIL_TEXT = msgspec.json.Decoder(_DetailText)


def _detail_text(body: str, envelope: KpiEventEnvelope, settings: KpiWriterSettings) -> str:
    """The detail's JSON text as delivered, once the envelope model has accepted the body."""
    detail = envelope.detail
    if not isinstance(detail, dict):
        raise _Rejected(
            QuarantineReason.DETAIL_NOT_OBJECT, f"detail is a JSON {type(detail).__name__}", envelope
        )
    try:
        # pydantic-core's parser also takes NaN and Infinity, which are not JSON (nor does Athena read
        # them); msgspec holds the body to the JSON grammar.
        detail_bytes = bytes(_DETAIL_TEXT.decode(body).detail)
    except (msgspec.DecodeError, UnicodeEncodeError) as exc:
        raise _Rejected(QuarantineReason.BODY_NOT_JSON, f"body is not JSON: {exc}", envelope) from exc
    if not detail_bytes.startswith(b"{"):
        # EventBridge Scheduler sends an empty detail as the string "{}", which the envelope model reads
        # as the object {} (the only non-object it converts): store that object.
        detail_bytes = b"{}"
    size = len(detail_bytes)
    if size > settings.max_detail_bytes:
        raise _Rejected(
            QuarantineReason.DETAIL_TOO_LARGE,
            f"detail is {size} bytes, limit {settings.max_detail_bytes}",
            envelope,
        )
    if envelope.source == settings.platform_source and envelope.detail_type in REGISTERED_DETAIL_TYPES:
        try:
            parse_detail(envelope.detail_type, detail)
        except ContractError as exc:
            raise _Rejected(QuarantineReason.CONTRACT_VIOLATION, str(exc), envelope) from exc
    return detail_bytes.decode()


class _RecordLine(msgspec.Struct, gc=False):
    """One line of ``kpi_events_raw``, fields in the table's column order (partition columns are in the key).

    msgspec writes it straight into a right-sized bytes object: ~1 us per event less than orjson with a
    dict, whose result keeps an oversized buffer that had to be copied before thousands were held.
    """

    id: str
    source: str
    detail_type: str
    time: str
    account: str
    region: str
    resources: list[str]
    detail: str
    ingested_at: str
    writer_version: str


_LINE_ENCODER = msgspec.json.Encoder()


def record_line(
    envelope: KpiEventEnvelope | _FastEnvelope,
    detail_json: str,
    event_time: str,
    *,
    ingested_at: str,
    writer_version: str,
) -> bytes:
    """One JSON line of ``kpi_events_raw``: both paths write every line with this function."""
    return _LINE_ENCODER.encode(
        _RecordLine(
            envelope.id,
            envelope.source,
            envelope.detail_type,
            event_time,
            envelope.account,
            envelope.region,
            envelope.resources,
            detail_json,
            ingested_at,
            writer_version,
        )
    )


def _quarantine_line(item: QuarantinedMessage, *, quarantined_at: str, writer_version: str) -> bytes:
    # ensure_ascii: the raw body may hold anything, the line must still be valid UTF-8 JSON.
    return _ASCII_ENCODER.encode(
        {
            "reason": item.reason.value,
            "error": item.error,
            "event_id": item.event_id,
            "source": item.source,
            "detail_type": item.detail_type,
            "body_sha256": item.body_sha256,
            "raw_body": item.raw_body,
            "quarantined_at": quarantined_at,
            "writer_version": writer_version,
        }
    ).encode("ascii")


def _accept_precise(body: str, settings: KpiWriterSettings, *, ingested_at: str) -> _Accepted:
    """(partition as event_type/dt/hour, event id, record line) or ``_Rejected``."""
    envelope = _parse_envelope(body)
    detail_json = _detail_text(body, envelope, settings)
    try:
        dt, hour, event_time = _utc_parts(envelope.time)
    except OverflowError as exc:  # e.g. 0001-01-01T00:30:00+01:00 has no UTC datetime
        raise _Rejected(
            QuarantineReason.INVALID_ENVELOPE,
            f"time {envelope.time.isoformat()} has no UTC equivalent",
            envelope,
        ) from exc
    line = record_line(
        envelope, detail_json, event_time, ingested_at=ingested_at, writer_version=settings.writer_version
    )
    return (envelope.detail_type, dt, hour), envelope.id, line


def _time_parts(value: str) -> tuple[str, str, str] | None:
    """``_utc_parts`` of a time string, parsed by the envelope's own rules; None if they refuse it."""
    parts = _TIME_PARTS.get(value)
    if parts is not None:
        return parts
    if _CANONICAL_UTC.fullmatch(value) is not None:
        # EventBridge's own format (whole seconds, Z) is already what _utc_parts writes; only the calendar
        # needs checking, and fromisoformat refuses exactly the strings of this shape the envelope model
        # refuses (checked on 200,000 random ones). ~5x cheaper than the model on a cache miss.
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return None  # not cached: the precise path words the error
        parts = (value[:10], value[11:13], value)
    else:
        try:
            parts = _utc_parts(_EVENT_TIME.validate_json(orjson.dumps(value)))
        except (ValidationError, OverflowError):  # OverflowError: no UTC equivalent
            return None
    if len(_TIME_PARTS) >= _TIME_PARTS_MAX:
        _TIME_PARTS.clear()
    _TIME_PARTS[value] = parts
    return parts


class _FastEnvelope(msgspec.Struct, gc=False):
    """The envelope fields, typed as the envelope model takes them as they are (strict: no coercion)."""

    id: str
    source: str
    detail_type: str = msgspec.field(name="detail-type")
    time: str
    account: str
    region: str
    version: str
    resources: list[str]
    detail: msgspec.Raw  # checked as JSON, not decoded: stored as delivered
    replay_name: str | None = msgspec.field(name="replay-name", default=None)
    # The model also reads replay_name under its Python name (populate_by_name): a body with that key
    # goes to the precise path, which decides between the two.
    replay_name_by_name: Any = msgspec.field(name="replay_name", default=msgspec.UNSET)


_FAST_DECODER = msgspec.json.Decoder(_FastEnvelope)


def _accept_fast(body: str, settings: KpiWriterSettings, *, ingested_at: str) -> _Accepted | None:
    """What ``_accept_precise`` returns, for the common case; None when only the precise path can tell.

    msgspec decodes the body straight into typed fields (its C decoder does the envelope checks) and
    only checks the detail's JSON text, which is stored as it is: no detail is decoded or re-encoded
    unless it is a platform event with a contract. Whatever msgspec refuses (invalid JSON, NaN/Infinity,
    unpaired surrogates, a missing or mistyped field) goes to the precise path.
    """
    if len(body) >= 2 * _PRECISE_MAX_DEPTH and body.count("{") + body.count("[") >= _PRECISE_MAX_DEPTH:
        return None  # maybe nested deeper than pydantic's parser reads, anywhere in the body
    if len(body) > _PRECISE_MAX_DIGITS and _TOO_MANY_DIGITS.search(body) is not None:
        return None  # maybe a number longer than pydantic's parser reads
    try:
        envelope = _FAST_DECODER.decode(body)
    except (msgspec.DecodeError, UnicodeEncodeError):  # UnicodeEncodeError: a raw unpaired surrogate
        return None
    if envelope.replay_name_by_name is not msgspec.UNSET:
        return None
    parts = _time_parts(envelope.time)
    if parts is None:
        return None
    detail_bytes = bytes(envelope.detail)
    if not detail_bytes.startswith(b"{") or len(detail_bytes) > settings.max_detail_bytes:
        return None
    detail_type = envelope.detail_type
    if envelope.source == settings.platform_source and detail_type in REGISTERED_DETAIL_TYPES:
        try:
            parse_detail(detail_type, orjson.loads(detail_bytes))
        except (ContractError, orjson.JSONDecodeError):  # orjson: e.g. a number beyond a double's range
            return None
    dt, hour, iso = parts
    line = record_line(
        envelope,
        detail_bytes.decode(),
        iso,
        ingested_at=ingested_at,
        writer_version=settings.writer_version,
    )
    return (detail_type, dt, hour), envelope.id, line


def build_batch(
    bodies: Sequence[str], *, settings: KpiWriterSettings, ingested_at: datetime, fast_path: bool = True
) -> BuiltBatch:
    """Turn SQS message bodies (EventBridge envelopes) into partition batches and quarantined messages.

    ``message_indexes`` on every output refer to positions in ``bodies`` so the handler can map a failed
    write back to SQS message ids (ReportBatchItemFailures). Repeated event ids within one partition
    are written once. ``fast_path=False`` sends every message through the pydantic model (the
    reference the fast path is tested and benchmarked against); the result is the same.
    """
    ingested = iso_utc(ingested_at)
    # plain tuples as keys while looping: hashing a frozen dataclass costs a Python call per event
    accumulators: dict[_PartitionKey, _PartitionAccumulator] = {}
    quarantined: list[QuarantinedMessage] = []
    duplicates = 0
    for index, body in enumerate(bodies):
        accepted = None
        if fast_path:
            try:
                accepted = _accept_fast(body, settings, ingested_at=ingested)
            except _FATAL:
                raise
            except Exception:  # the fast path never rejects: the precise path decides
                accepted = None
        if accepted is None:
            try:
                accepted = _accept_precise(body, settings, ingested_at=ingested)
            except _FATAL:
                raise
            except Exception as exc:  # one message must not fail the batch (see UNEXPECTED_ERROR)
                rejected = (
                    exc
                    if isinstance(exc, _Rejected)
                    else _Rejected(QuarantineReason.UNEXPECTED_ERROR, f"{type(exc).__name__}: {exc}")
                )
                known = rejected.envelope
                quarantined.append(
                    QuarantinedMessage(
                        message_index=index,
                        reason=rejected.reason,
                        error=rejected.error,
                        raw_body=body,
                        event_id=known.id if known else None,
                        source=known.source if known else None,
                        detail_type=known.detail_type if known else None,
                    )
                )
                continue
        partition, event_id, line = accepted
        accumulator = accumulators.get(partition)
        if accumulator is None:
            accumulator = accumulators[partition] = _PartitionAccumulator()
        accumulator.message_indexes.append(index)
        if event_id in accumulator.lines_by_id:
            duplicates += 1
        else:
            accumulator.lines_by_id[event_id] = line

    partitions = []
    for partition, acc in sorted(accumulators.items()):
        event_ids = tuple(sorted(acc.lines_by_id))
        lines_by_id = acc.lines_by_id
        partitions.append(
            PartitionBatch(
                partition=Partition(*partition),
                event_ids=event_ids,
                lines=tuple([lines_by_id[event_id] for event_id in event_ids]),
                message_indexes=frozenset(acc.message_indexes),
            )
        )
    return BuiltBatch(
        partitions=tuple(partitions),
        quarantined=tuple(quarantined),
        quarantine=_quarantine_batch(quarantined, ingested_at, ingested, settings.writer_version),
        duplicates_in_batch=duplicates,
        message_count=len(bodies),
    )


def _quarantine_batch(
    items: Sequence[QuarantinedMessage], ingested_at: datetime, ingested: str, writer_version: str
) -> QuarantineBatch | None:
    if not items:
        return None
    return QuarantineBatch(
        dt=_utc_parts(ingested_at)[0],
        lines=tuple(
            _quarantine_line(item, quarantined_at=ingested, writer_version=writer_version) for item in items
        ),
        body_digests=tuple(item.body_sha256 for item in items),
        message_indexes=frozenset(item.message_index for item in items),
    )
