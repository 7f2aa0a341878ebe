"""The DriftDetected state machine: persistence over windows and cooldown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from driftloop.drift import DriftConfig, DriftResult, DriftState, HysteresisConfig, advance, record_retraining

T0 = datetime(2026, 11, 26, 0, tzinfo=UTC)
CONFIG = HysteresisConfig(consecutive_windows=3, cooldown=timedelta(hours=12))


def result(drift: bool, *, skipped: bool = False) -> DriftResult:
    if skipped:
        return DriftResult(
            status="skipped",
            skip_reason="empty window: no rows",
            baseline_fingerprint="b",
            rows=0,
            config=DriftConfig(),
        )
    return DriftResult(
        status="completed",
        baseline_fingerprint="b",
        rows=1000,
        dataset_drift=drift,
        drift_share=0.5 if drift else 0.0,
        config=DriftConfig(),
    )


def run(sequence: list[DriftResult], start: DriftState | None = None) -> list[bool]:
    state, emitted = start, []
    for hour, item in enumerate(sequence):
        transition = advance(state, item, T0 + timedelta(hours=hour), CONFIG)
        state = transition.state
        emitted.append(transition.emit_drift_detected)
    return emitted


def test_emits_only_after_n_consecutive_drifted_windows() -> None:
    assert run([result(True), result(True), result(True), result(True)]) == [False, False, True, False]


def test_clean_window_resets_streak_and_skipped_window_does_not() -> None:
    assert run([result(True), result(True), result(False), result(True), result(True)]) == [False] * 5
    assert run([result(True), result(True), result(False, skipped=True), result(True)]) == [
        False,
        False,
        False,
        True,
    ]


def test_cooldown_suppresses_repeats_then_allows_them() -> None:
    sequence = [result(True)] * 16
    emitted = run(sequence)
    assert [i for i, e in enumerate(emitted) if e] == [2, 14]  # 12 h cooldown after the first emission


def test_retraining_starts_cooldown_and_clears_streak() -> None:
    state = record_retraining(DriftState(consecutive_drift_windows=5), T0 - timedelta(hours=1))
    assert state.consecutive_drift_windows == 0
    transitions = []
    for hour in range(14):
        transition = advance(state, result(True), T0 + timedelta(hours=hour), CONFIG)
        state = transition.state
        transitions.append(transition)
    assert [i for i, t in enumerate(transitions) if t.emit_drift_detected] == [11]
    assert transitions[5].cooldown_until == T0 + timedelta(hours=11)
    assert "cooldown" in transitions[5].reason


def test_naive_datetimes_are_treated_as_utc() -> None:
    transition = advance(None, result(True), datetime(2026, 1, 1), HysteresisConfig(consecutive_windows=1))
    assert transition.emit_drift_detected
    assert transition.state.last_emitted_at == datetime(2026, 1, 1, tzinfo=UTC)
