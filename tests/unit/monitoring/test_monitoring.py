"""The drift check service over in-memory ports: planning, sharding, ground truth, retries and reruns."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driftloop.contracts import DriftloopEvent
from driftloop.drift import baseline_files, build_baseline
from driftloop.drift.io import read_csv_columns
from driftloop.monitoring import (
    CaptureObject,
    CheckWindow,
    ConcurrentLedgerUpdate,
    DriftCheckSettings,
    DriftLedger,
    finalize,
    load_check_baseline,
    load_ground_truth,
    plan,
    shards_of,
    summarize_objects,
    window_for,
)
from driftloop_local import synthetic

HOUR = datetime(2026, 11, 20, 10, tzinfo=UTC)


class MemoryPorts:
    """DriftPorts in memory, recording the order of effects."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.ledgers: dict[str, DriftLedger] = {}
        self.published: list[DriftloopEvent] = []
        self.effects: list[str] = []
        self.fail_next_publish = False

    def read(self, uri: str) -> bytes | None:
        return self.objects.get(uri)

    def list_objects(self, prefix_uri: str) -> list[tuple[str, int]]:
        return [(uri, len(body)) for uri, body in sorted(self.objects.items()) if uri.startswith(prefix_uri)]

    def write(self, uri: str, body: bytes, content_type: str) -> None:
        self.objects[uri] = body
        self.effects.append(f"write {uri.rsplit('/', 1)[-1]}")

    def load_ledger(self, key: str) -> DriftLedger | None:
        return self.ledgers.get(key)

    def save_ledger(self, key: str, ledger: DriftLedger, expected_version: int) -> None:
        stored = self.ledgers.get(key)
        if (stored.version if stored else 0) != expected_version:
            raise ConcurrentLedgerUpdate(key)
        self.ledgers[key] = ledger
        self.effects.append("save_ledger")

    def publish(self, events: Sequence[DriftloopEvent]) -> list[str]:
        if self.fail_next_publish:
            self.fail_next_publish = False
            raise ConnectionError("PutEvents failed")
        self.published += events
        self.effects.append("publish " + ",".join(e.DETAIL_TYPE for e in events))
        return [f"id-{len(self.published) - i}" for i in range(len(events))]


def settings(**overrides: object) -> DriftCheckSettings:
    values: dict[str, object] = {
        "DRIFTLOOP_ENVIRONMENT": "dev",
        "MODEL_NAME": "churn",
        "ENDPOINT_NAME": "churn-ep",
        "CAPTURE_S3_URI": "s3://capture/dc",
        "BASELINE_S3_URI": "s3://artifacts/baselines/churn",
        "REPORTS_S3_URI": "s3://artifacts/drift-reports",
        "GROUND_TRUTH_S3_URI": "",
        "DRIFT_PERSISTENCE_WINDOWS": 1,
    }
    values.update(overrides)
    return DriftCheckSettings.model_validate(values)


@pytest.fixture(scope="module")
def baseline_bytes() -> dict[str, bytes]:
    baseline = build_baseline(
        read_csv_columns(synthetic.training_csv(rows=8_000, seed=1)),
        target="churned",
        prediction="prediction",
    )
    return baseline_files(baseline)


def add_hour(ports: MemoryPorts, hour: datetime, **shift: object) -> None:
    columns = synthetic.churn_columns(3_000, seed=5, **shift)  # type: ignore[arg-type]
    objects = synthetic.capture_objects("dc", "churn-ep", "AllTraffic", hour, columns, files=3)
    for key, body in objects.items():
        ports.objects[f"s3://capture/{key}"] = body


def world(baseline_bytes: dict[str, bytes], **shift: object) -> MemoryPorts:
    ports = MemoryPorts()
    for name, body in baseline_bytes.items():
        ports.objects[f"s3://artifacts/baselines/churn/{name}"] = body
    add_hour(ports, HOUR, **shift)
    return ports


def test_window_for_checks_the_whole_hours_before_now() -> None:
    window = window_for(datetime(2026, 11, 20, 11, 42, 7, tzinfo=UTC), hours=2)
    assert (window.start, window.end) == (
        datetime(2026, 11, 20, 9, tzinfo=UTC),
        datetime(2026, 11, 20, 11, tzinfo=UTC),
    )
    assert window.check_id == "20261120T0900Z-20261120T1100Z"


@given(st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=60), st.integers(1, 20_000))
def test_shards_keep_every_object_once_and_stay_near_the_target(sizes: list[int], target: int) -> None:
    objects = [CaptureObject(f"s3://b/{i:03d}", size) for i, size in enumerate(sizes)]
    shards = shards_of(objects, target)
    assert sorted(uri for shard in shards for uri in shard) == sorted(o.uri for o in objects)
    assert len(shards) <= max(1, -(-sum(sizes) // target))


def test_plan_lists_the_window_hours_and_one_late_hour(baseline_bytes: dict[str, bytes]) -> None:
    ports = world(baseline_bytes)
    late = HOUR + timedelta(hours=1)
    ports.objects[f"s3://capture/dc/churn-ep/AllTraffic/{late:%Y/%m/%d/%H}/late.jsonl"] = b"{}\n"
    ports.objects[f"s3://capture/dc/churn-ep/AllTraffic/{HOUR + timedelta(hours=3):%Y/%m/%d/%H}/x.jsonl"] = (
        b"{}\n"
    )
    found = plan(ports, settings(), CheckWindow(check_id="w", start=HOUR, end=HOUR + timedelta(hours=1)))
    assert len(found) == 4  # three objects of the hour + the late one, not the one three hours later


def test_missing_baseline_is_a_clear_error() -> None:
    with pytest.raises(FileNotFoundError, match="no baseline under s3://artifacts/baselines/churn/"):
        load_check_baseline(MemoryPorts(), settings())


def test_drift_config_overrides_thresholds_and_criticality(baseline_bytes: dict[str, bytes]) -> None:
    ports = world(baseline_bytes)
    ports.objects["s3://artifacts/baselines/churn/drift_config.json"] = json.dumps(
        {"alpha": 0.001, "features": {"plan": {"critical": True}}}
    ).encode()
    _, config = load_check_baseline(ports, settings(DRIFT_PERSISTENCE_WINDOWS=3))
    assert config.alpha == 0.001
    assert config.features["plan"].critical
    assert config.hysteresis.consecutive_windows == 3


def run(ports: MemoryPorts, current: DriftCheckSettings, hour: datetime = HOUR):  # type: ignore[no-untyped-def]
    baseline, config = load_check_baseline(ports, current)
    window = CheckWindow(check_id=f"{hour:%H}", start=hour, end=hour + timedelta(hours=1))
    now = hour + timedelta(hours=2)
    uris = [o.uri for o in plan(ports, current, window)]
    summary = summarize_objects(ports, baseline, uris, window, load_ground_truth(ports, current, window))
    return finalize(ports, current, baseline, config, summary, window, now)


def test_a_drifted_window_is_reported_and_announced(baseline_bytes: dict[str, bytes]) -> None:
    ports = world(baseline_bytes, charges_shift=20.0, plan_p=(0.2, 0.3, 0.5))  # 2 of 4 features move
    outcome, datapoints = run(ports, settings())
    assert outcome.drift_detected_emitted
    assert "monthly_charges" in outcome.drifted_features
    assert [e.DETAIL_TYPE for e in ports.published] == ["DriftCheckCompleted", "DriftDetected"]
    detected = ports.published[1]
    report = detected.report_uri  # type: ignore[attr-defined]
    assert report in ports.objects  # an event never points at a missing report
    assert report.replace(".html", ".json") in ports.objects
    assert report.replace("drift_report.html", "constraint_violations.json") in ports.objects
    assert any(d.name == "feature_baseline_drift_monthly_charges" for d in datapoints)


def test_a_retry_after_a_failed_publish_still_announces_once(baseline_bytes: dict[str, bytes]) -> None:
    ports = world(baseline_bytes, charges_shift=20.0, plan_p=(0.2, 0.3, 0.5))
    ports.fail_next_publish = True
    with pytest.raises(ConnectionError):
        run(ports, settings())
    retried, _ = run(ports, settings())
    assert retried.drift_detected_emitted
    assert [e.DETAIL_TYPE for e in ports.published] == ["DriftCheckCompleted", "DriftDetected"]
    again, _ = run(ports, settings())  # a third delivery: nothing left to send, nothing counted
    assert again.event_ids == []
    assert len(ports.published) == 2
    assert ports.ledgers[settings().state_key].state.consecutive_drift_windows == 1


def test_a_stale_ledger_write_is_refused(baseline_bytes: dict[str, bytes]) -> None:
    ports = world(baseline_bytes)
    with pytest.raises(ConcurrentLedgerUpdate):
        ports.save_ledger("k", DriftLedger(version=3), expected_version=2)


def test_a_steady_window_announces_only_the_completed_check(baseline_bytes: dict[str, bytes]) -> None:
    ports = world(baseline_bytes)
    outcome, _ = run(ports, settings())
    assert outcome.dataset_drift is False
    assert [e.DETAIL_TYPE for e in ports.published] == ["DriftCheckCompleted"]


def test_persistence_needs_consecutive_drifted_windows_not_reruns(baseline_bytes: dict[str, bytes]) -> None:
    ports = world(baseline_bytes, charges_shift=20.0, plan_p=(0.2, 0.3, 0.5))
    next_hour = HOUR + timedelta(hours=1)
    add_hour(ports, next_hour, charges_shift=20.0, plan_p=(0.2, 0.3, 0.5))
    current = settings(DRIFT_PERSISTENCE_WINDOWS=2)
    first, _ = run(ports, current)
    rerun, _ = run(ports, current)  # the same window again (another mode, a redelivery): not a second window
    second, _ = run(ports, current, hour=next_hour)
    assert (first.drift_detected_emitted, rerun.drift_detected_emitted, second.drift_detected_emitted) == (
        False,
        False,
        True,
    )


def test_ground_truth_is_joined_for_model_quality(baseline_bytes: dict[str, bytes]) -> None:
    ports = world(baseline_bytes)
    captured = [
        json.loads(line)
        for uri, body in ports.objects.items()
        if uri.startswith("s3://capture/")
        for line in body.decode().splitlines()
    ]
    truth_lines = [
        json.dumps(
            {
                "groundTruthData": {"data": base64.b64encode(b"1").decode(), "encoding": "BASE64"},
                "eventMetadata": {"eventId": record["eventMetadata"]["inferenceId"]},
                "eventVersion": "0",
            }
        )
        for record in captured[:500]
    ]
    ports.objects[f"s3://artifacts/gt/churn/{HOUR:%Y/%m/%d/%H}/labels.jsonl"] = "\n".join(
        truth_lines
    ).encode()
    current = settings(GROUND_TRUTH_S3_URI="s3://artifacts/gt/churn")
    truth = load_ground_truth(
        ports, current, CheckWindow(check_id="w", start=HOUR, end=HOUR + timedelta(hours=1))
    )
    assert truth is not None
    assert len(truth.labels) == 500
    run(ports, current)
    report = json.loads(ports.objects[f"s3://artifacts/drift-reports/churn/{HOUR:%H}/drift_report.json"])
    assert report["quality"] is not None
    assert report["quality"]["rows"] == 500  # only the labelled rows are scored


def test_a_gap_between_windows_restarts_the_streak(baseline_bytes: dict[str, bytes]) -> None:
    ports = world(baseline_bytes, charges_shift=20.0, plan_p=(0.2, 0.3, 0.5))
    later = HOUR + timedelta(hours=5)  # the hours between were never checked
    add_hour(ports, later, charges_shift=20.0, plan_p=(0.2, 0.3, 0.5))
    current = settings(DRIFT_PERSISTENCE_WINDOWS=2)
    first, _ = run(ports, current)
    after_gap, _ = run(ports, current, hour=later)
    assert (first.drift_detected_emitted, after_gap.drift_detected_emitted) == (False, False)
    assert ports.ledgers[current.state_key].state.consecutive_drift_windows == 1


def test_an_older_window_checked_late_changes_no_state(baseline_bytes: dict[str, bytes]) -> None:
    ports = world(baseline_bytes, charges_shift=20.0, plan_p=(0.2, 0.3, 0.5))
    earlier = HOUR - timedelta(hours=3)
    add_hour(ports, earlier, charges_shift=20.0, plan_p=(0.2, 0.3, 0.5))
    current = settings(DRIFT_PERSISTENCE_WINDOWS=2)
    run(ports, current)
    state_before = ports.ledgers[current.state_key].state
    late, _ = run(ports, current, hour=earlier)
    assert late.hysteresis_reason == "older than the last counted window"
    assert late.dataset_drift  # still reported as drifted ...
    assert not late.drift_detected_emitted  # ... but not announced, and not counted
    assert ports.ledgers[current.state_key].state == state_before
    assert [e.DETAIL_TYPE for e in ports.published][-1] == "DriftCheckCompleted"
