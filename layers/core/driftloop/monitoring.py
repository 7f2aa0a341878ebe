"""The drift check as an application service: plan a window, summarise shards, decide, report, announce.

Storage, state and the bus come in through ``DriftPorts`` (the AWS implementation is
``driftloop.adapters.drift_ports``); this module and ``driftloop.drift`` never import boto3. The same
functions serve the single-pass scheduled check and the sharded Step Functions path, so both reach the
same decision from the same summaries.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from driftloop.contracts import DriftloopEvent, parse_detail
from driftloop.drift import (
    Baseline,
    CaptureSchema,
    DriftConfig,
    DriftResult,
    DriftState,
    GroundTruth,
    ShardSummary,
    StateTransition,
    advance,
    build_events,
    constraint_violations_json,
    decide,
    drift_report_html,
    drift_report_json,
    filter_window,
    hour_prefixes,
    join_ground_truth,
    load_baseline,
    merge,
    metric_datapoints,
    parse_capture,
    parse_ground_truth,
    summarize,
)
from driftloop.drift.baseline import CONSTRAINTS_FILE, SIDECAR_FILE, STATISTICS_FILE
from driftloop.drift.report import MetricDatum

CONFIG_FILE = "drift_config.json"


class DriftPorts(Protocol):
    """What the drift check needs from the outside world."""

    def read(self, uri: str) -> bytes | None: ...  # None when the object does not exist

    def list_objects(self, prefix_uri: str) -> list[tuple[str, int]]: ...  # (uri, size)

    def write(self, uri: str, body: bytes, content_type: str) -> None: ...

    def load_ledger(self, key: str) -> DriftLedger | None: ...

    def save_ledger(self, key: str, ledger: DriftLedger, expected_version: int) -> None:
        """Store ``ledger`` only if the stored version is still ``expected_version`` (0: none stored);
        raise ``ConcurrentLedgerUpdate`` otherwise."""

    def publish(self, events: Sequence[DriftloopEvent]) -> list[str]: ...


class ConcurrentLedgerUpdate(RuntimeError):
    """Another check changed the drift ledger first; the invocation fails and is retried."""


class PendingEvent(BaseModel):
    detail_type: str
    detail: dict[str, Any]


class DriftLedger(BaseModel):
    """The state table's record of one monitored variant: hysteresis state plus the last counted check.

    ``last_check_id`` makes counting a window idempotent (a retry or a re-run of the same window does not
    advance the streak twice); ``outbox`` holds the events decided for that check until they are
    published, so a failed ``PutEvents`` is retried rather than lost.
    """

    model_config = ConfigDict(frozen=True)

    state: DriftState = Field(default_factory=DriftState)
    version: int = Field(default=0, ge=0)
    last_check_id: str | None = None
    last_window_end: datetime | None = None
    baseline_fingerprint: str | None = None
    last_emitted: bool = False
    last_reason: str = ""
    outbox: list[PendingEvent] = Field(default_factory=list)


class DriftCheckSettings(BaseModel):
    """Where the check reads and writes, and its decision thresholds (from the template parameters)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    environment: Literal["dev", "staging", "prod"] = Field(alias="DRIFTLOOP_ENVIRONMENT")
    model_name: str = Field(alias="MODEL_NAME", min_length=1)
    endpoint_name: str = Field(alias="ENDPOINT_NAME", min_length=1)
    variant_name: str = Field(default="AllTraffic", alias="VARIANT_NAME", min_length=1)
    capture_uri: str = Field(alias="CAPTURE_S3_URI", pattern=r"^s3://[^/]+(/.*)?$")
    baseline_uri: str = Field(alias="BASELINE_S3_URI", pattern=r"^s3://[^/]+(/.*)?$")
    reports_uri: str = Field(alias="REPORTS_S3_URI", pattern=r"^s3://[^/]+(/.*)?$")
    window_hours: int = Field(default=1, alias="DRIFT_WINDOW_HOURS", ge=1, le=168)
    alpha: float = Field(default=0.01, alias="DRIFT_FALSE_DISCOVERY_RATE", gt=0, lt=1)
    dataset_drift_share: float = Field(default=0.3, alias="DRIFT_SHARE_THRESHOLD", gt=0, le=1)
    consecutive_windows: int = Field(default=2, alias="DRIFT_PERSISTENCE_WINDOWS", ge=1)
    cooldown_hours: float = Field(default=24, alias="DRIFT_COOLDOWN_HOURS", ge=0)
    ground_truth_uri: str | None = Field(default=None, alias="GROUND_TRUTH_S3_URI")
    shard_target_bytes: int = Field(default=64 * 1024 * 1024, alias="DRIFT_SHARD_TARGET_BYTES", gt=0)
    single_pass_max_bytes: int = Field(default=256 * 1024 * 1024, alias="DRIFT_SINGLE_PASS_MAX_BYTES", gt=0)

    @field_validator("ground_truth_uri", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None

    @property
    def state_key(self) -> str:
        return f"drift#{self.model_name}#{self.endpoint_name}#{self.variant_name}"


class CheckWindow(BaseModel):
    model_config = ConfigDict(frozen=True)

    check_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class CaptureObject:
    uri: str
    size: int


class CheckOutcome(BaseModel):
    """What a finished check did: the decision, where the report is, which events went out."""

    check_id: str
    status: Literal["completed", "skipped"]
    skip_reason: str | None
    rows: int
    drifted_features: list[str]
    dataset_drift: bool
    severity: str
    drift_detected_emitted: bool
    hysteresis_reason: str
    report_uri: str
    event_ids: list[str]


def window_for(
    now: datetime, hours: int, start: datetime | None = None, end: datetime | None = None
) -> CheckWindow:
    """The window a scheduled run checks: the ``hours`` whole hours before ``now`` unless given."""
    window_end = end or now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    window_start = start or window_end - timedelta(hours=hours)
    check_id = f"{window_start:%Y%m%dT%H%MZ}-{window_end:%Y%m%dT%H%MZ}"
    return CheckWindow(check_id=check_id, start=window_start, end=window_end)


def load_check_baseline(ports: DriftPorts, settings: DriftCheckSettings) -> tuple[Baseline, DriftConfig]:
    base = settings.baseline_uri.rstrip("/")
    statistics = ports.read(f"{base}/{STATISTICS_FILE}")
    sidecar = ports.read(f"{base}/{SIDECAR_FILE}")
    if statistics is None and sidecar is None:
        raise FileNotFoundError(f"no baseline under {base}/ ({STATISTICS_FILE} or {SIDECAR_FILE})")
    baseline = load_baseline(statistics, ports.read(f"{base}/{CONSTRAINTS_FILE}"), sidecar)
    raw_config = ports.read(f"{base}/{CONFIG_FILE}")
    overrides = json.loads(raw_config) if raw_config else {}
    config = DriftConfig.model_validate(
        {
            "alpha": settings.alpha,
            "dataset_drift_share": settings.dataset_drift_share,
            **overrides,
            "hysteresis": {
                "consecutive_windows": settings.consecutive_windows,
                "cooldown": timedelta(hours=settings.cooldown_hours),
                **overrides.get("hysteresis", {}),
            },
        }
    )
    return baseline, config


def plan(ports: DriftPorts, settings: DriftCheckSettings, window: CheckWindow) -> list[CaptureObject]:
    """Capture objects whose hour folder can hold records of the window (one late hour included)."""
    bucket_prefix = settings.capture_uri.rstrip("/")
    objects: list[CaptureObject] = []
    for prefix in hour_prefixes(
        bucket_prefix, settings.endpoint_name, settings.variant_name, window.start, window.end
    ):
        objects += [CaptureObject(uri, size) for uri, size in ports.list_objects(prefix)]
    return objects


def shards_of(objects: Sequence[CaptureObject], target_bytes: int) -> list[list[str]]:
    """Group objects into shards of about ``target_bytes`` each (one object is never split)."""
    total = sum(o.size for o in objects)
    count = max(1, math.ceil(total / target_bytes))
    shards: list[list[str]] = [[] for _ in range(count)]
    loads = [0] * count
    for obj in sorted(objects, key=lambda o: o.size, reverse=True):
        lightest = loads.index(min(loads))
        shards[lightest].append(obj.uri)
        loads[lightest] += obj.size
    return [sorted(shard) for shard in shards if shard]


def write_shard_manifests(
    ports: DriftPorts, settings: DriftCheckSettings, window: CheckWindow, shards: Sequence[Sequence[str]]
) -> list[str]:
    """One ``{"uris": [...]}`` object per shard; returns their URIs, in shard order."""
    folder = f"{settings.reports_uri.rstrip('/')}/{settings.model_name}/{window.check_id}/shards"
    manifests = []
    for index, uris in enumerate(shards):
        uri = f"{folder}/{index:05d}.manifest.json"
        ports.write(uri, json.dumps({"uris": list(uris)}).encode(), "application/json")
        manifests.append(uri)
    return manifests


def load_ground_truth(
    ports: DriftPorts, settings: DriftCheckSettings, window: CheckWindow
) -> GroundTruth | None:
    """Ground truth of the window's hours (``<uri>/yyyy/mm/dd/hh/*.jsonl``, Model Monitor's layout)."""
    if not settings.ground_truth_uri:
        return None
    merged = GroundTruth(labels={})
    hour = window.start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while hour < window.end:
        for uri, _ in ports.list_objects(f"{settings.ground_truth_uri.rstrip('/')}/{hour:%Y/%m/%d/%H}/"):
            data = ports.read(uri)
            if data is not None:
                part = parse_ground_truth(data)
                merged.labels.update(part.labels)
                merged.records += part.records
                merged.malformed_records += part.malformed_records
        hour += timedelta(hours=1)
    return merged


def summarize_objects(
    ports: DriftPorts,
    baseline: Baseline,
    uris: Sequence[str],
    window: CheckWindow,
    truth: GroundTruth | None = None,
) -> ShardSummary:
    """Summarise capture objects' rows inside the window, joined to ground truth when there is some."""
    schema = CaptureSchema.from_baseline(baseline)
    target = baseline.target_spec.target
    summaries = []
    for uri in uris:
        data = ports.read(uri)
        if data is None:
            continue  # deleted between listing and reading: nothing to count
        batch = filter_window(parse_capture(data, schema), window.start, window.end)
        if truth is not None and target:
            batch = join_ground_truth(batch, truth, target)
        summaries.append(
            summarize(batch.columns, baseline, malformed_records=batch.malformed_records, rows=batch.rows)
        )
    if not summaries:
        return summarize({}, baseline, rows=0)
    return merge(summaries)


def finalize(
    ports: DriftPorts,
    settings: DriftCheckSettings,
    baseline: Baseline,
    config: DriftConfig,
    summary: ShardSummary,
    window: CheckWindow,
    now: datetime,
) -> tuple[CheckOutcome, list[MetricDatum]]:
    """Decide, write the reports, count the window once in the ledger, then announce.

    The ledger write is the commit point: it advances the hysteresis state and records the check id and
    the events to publish (the outbox) in one conditional put. Events go out after it and the outbox is
    cleared after they went out, so a retry after any failure neither loses ``DriftDetected`` nor counts
    the window twice. Reports are written first, so an event never points at a missing report.
    """
    result: DriftResult = decide(summary, baseline, config)
    report_base = f"{settings.reports_uri.rstrip('/')}/{settings.model_name}/{window.check_id}"
    report_uri = f"{report_base}/drift_report.html"
    ledger = ports.load_ledger(settings.state_key) or DriftLedger()
    if ledger.last_check_id != window.check_id:
        transition: StateTransition = _advance_in_window_order(ledger, result, window, now)
        _write_reports(ports, settings, result, window, transition, report_base)
        completed, detected = build_events(
            result,
            environment=settings.environment,
            model_name=settings.model_name,
            check_id=window.check_id,
            endpoint_name=settings.endpoint_name,
            window_start=window.start,
            window_end=window.end,
            report_uri=report_uri,
            transition=transition,
        )
        counted = DriftLedger(
            state=transition.state,
            version=ledger.version + 1,
            last_check_id=window.check_id,
            last_window_end=max(window.end, ledger.last_window_end or window.end),
            baseline_fingerprint=result.baseline_fingerprint,
            last_emitted=detected is not None,
            last_reason=transition.reason,
            outbox=[  # events an earlier check could not publish go out first
                *ledger.outbox,
                *(
                    PendingEvent(detail_type=e.DETAIL_TYPE, detail=e.model_dump(mode="json"))
                    for e in ([completed] if detected is None else [completed, detected])
                ),
            ],
        )
        ports.save_ledger(settings.state_key, counted, expected_version=ledger.version)
        ledger = counted
    event_ids: list[str] = []
    if ledger.outbox:
        event_ids = ports.publish([parse_detail(p.detail_type, p.detail) for p in ledger.outbox])
        published = ledger.model_copy(update={"outbox": [], "version": ledger.version + 1})
        ports.save_ledger(settings.state_key, published, expected_version=ledger.version)
    outcome = CheckOutcome(
        check_id=window.check_id,
        status=result.status,
        skip_reason=result.skip_reason,
        rows=result.rows,
        drifted_features=result.drifted_features,
        dataset_drift=result.dataset_drift,
        severity=str(result.severity),
        drift_detected_emitted=ledger.last_emitted,
        hysteresis_reason=ledger.last_reason,
        report_uri=report_uri,
        event_ids=event_ids,
    )
    return outcome, metric_datapoints(result)


def _advance_in_window_order(
    ledger: DriftLedger, result: DriftResult, window: CheckWindow, now: datetime
) -> StateTransition:
    """Hysteresis over windows in time order, not in processing order.

    A window older than the last counted one (a late sharded result, a manual re-check) is reported but
    changes no state. A gap since the last counted window, or a new baseline, restarts the streak:
    "consecutive" means adjacent windows of the same baseline.
    """
    previous = ledger.state
    if ledger.last_window_end is not None and window.end <= ledger.last_window_end:
        return StateTransition(
            state=previous, emit_drift_detected=False, reason="older than the last counted window"
        )
    gap = ledger.last_window_end is not None and window.start > ledger.last_window_end
    new_baseline = ledger.baseline_fingerprint not in (None, result.baseline_fingerprint)
    if gap or new_baseline:
        previous = previous.model_copy(update={"consecutive_drift_windows": 0})
    return advance(previous, result, now)


def _write_reports(
    ports: DriftPorts,
    settings: DriftCheckSettings,
    result: DriftResult,
    window: CheckWindow,
    transition: StateTransition,
    report_base: str,
) -> None:
    context = {
        "check_id": window.check_id,
        "model_name": settings.model_name,
        "endpoint_name": settings.endpoint_name,
        "variant_name": settings.variant_name,
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "hysteresis": transition.reason,
    }
    ports.write(
        f"{report_base}/drift_report.json", drift_report_json(result, **context).encode(), "application/json"
    )
    ports.write(
        f"{report_base}/drift_report.html",
        drift_report_html(result, **context).encode(),
        "text/html; charset=utf-8",
    )
    ports.write(
        f"{report_base}/constraint_violations.json",
        constraint_violations_json(result).encode(),
        "application/json",
    )
