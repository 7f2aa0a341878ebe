"""Hysteresis and cooldown for DriftDetected, as a pure state transition.

The caller persists :class:`DriftState` (e.g. one DynamoDB item per endpoint) and feeds it back:
``advance(previous, result, now, config)`` returns the new state and whether to emit DriftDetected.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from driftloop.drift.config import HysteresisConfig
from driftloop.drift.decision import DriftResult


class DriftState(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    consecutive_drift_windows: int = Field(default=0, ge=0)
    last_check_at: datetime | None = None
    last_emitted_at: datetime | None = None
    last_retrained_at: datetime | None = None


class StateTransition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    state: DriftState
    emit_drift_detected: bool
    reason: str
    cooldown_until: datetime | None = None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def advance(
    previous: DriftState | None, result: DriftResult, now: datetime, config: HysteresisConfig | None = None
) -> StateTransition:
    """Count consecutive drifted windows; emit at the N-th unless inside the cooldown.

    A skipped window leaves the streak untouched (no evidence either way); a clean window resets it.
    The cooldown runs from the later of the last emission and the last retraining.
    """
    config = config or result.config.hysteresis
    state = previous or DriftState()
    now = _utc(now)
    if result.status == "skipped":
        return StateTransition(
            state=state.model_copy(update={"last_check_at": now}),
            emit_drift_detected=False,
            reason=f"window skipped ({result.skip_reason}); streak unchanged",
        )
    if not result.dataset_drift:
        return StateTransition(
            state=state.model_copy(update={"consecutive_drift_windows": 0, "last_check_at": now}),
            emit_drift_detected=False,
            reason="no dataset drift; streak reset",
        )
    streak = state.consecutive_drift_windows + 1
    updated = state.model_copy(update={"consecutive_drift_windows": streak, "last_check_at": now})
    if streak < config.consecutive_windows:
        return StateTransition(
            state=updated,
            emit_drift_detected=False,
            reason=f"drift in {streak} consecutive window(s); {config.consecutive_windows} needed",
        )
    anchors = [_utc(t) for t in (state.last_emitted_at, state.last_retrained_at) if t is not None]
    if anchors:
        cooldown_until = max(anchors) + config.cooldown
        if now < cooldown_until:
            return StateTransition(
                state=updated,
                emit_drift_detected=False,
                reason=f"drift persists but cooldown runs until {cooldown_until.isoformat()}",
                cooldown_until=cooldown_until,
            )
    return StateTransition(
        state=updated.model_copy(update={"last_emitted_at": now}),
        emit_drift_detected=True,
        reason=f"drift in {streak} consecutive windows (>= {config.consecutive_windows}); emitting",
        cooldown_until=now + config.cooldown,
    )


def record_retraining(state: DriftState | None, at: datetime) -> DriftState:
    """A retraining (or deployment of a retrained model) restarts the cooldown and clears the streak."""
    return (state or DriftState()).model_copy(
        update={"last_retrained_at": _utc(at), "consecutive_drift_windows": 0}
    )
