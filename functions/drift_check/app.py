"""Scheduled drift check: read the window's data capture, decide, report, announce.

Small windows are checked in this invocation. A window larger than DRIFT_SINGLE_PASS_MAX_BYTES is
split into shards and handed to the drift-check state machine (Distributed Map), named after the
check so a duplicate schedule delivery starts nothing new. A duplicate delivery of a single-pass
check returns the first result (idempotency on the check id), so hysteresis never counts a window twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from driftloop import drift_handlers, monitoring
from driftloop.adapters.workflows import start_once
from driftloop.observability import logger, tracer


class DriftCheckRequest(BaseModel):
    """The schedule's input; operators may also pass an explicit window."""

    model_config = ConfigDict(extra="ignore")

    window_start: datetime | None = None
    window_end: datetime | None = None
    window_hours: int | None = Field(default=None, ge=1, le=168)
    mode: Literal["auto", "single_pass", "sharded"] = "auto"
    shard_count: int | None = Field(
        default=None, ge=1, le=10_000, description="Sharded mode: how many shards."
    )


def _check(window: dict[str, Any]) -> dict[str, Any]:
    settings, ports = drift_handlers.settings(), drift_handlers.ports()
    window = dict(window)  # the idempotency layer hashes the original
    mode, shard_count = window.pop("mode"), window.pop("shard_count")
    check_window = monitoring.CheckWindow.model_validate(window)
    objects = monitoring.plan(ports, settings, check_window)
    total_bytes = sum(o.size for o in objects)
    logger.info(
        "window planned",
        extra={"check_id": check_window.check_id, "objects": len(objects), "bytes": total_bytes},
    )
    if mode == "sharded" or (mode == "auto" and total_bytes > settings.single_pass_max_bytes):
        if not settings.state_machine_arn:
            raise RuntimeError(
                "window too large for one invocation and no DRIFT_STATE_MACHINE_ARN is configured"
            )
        target_bytes = -(-total_bytes // shard_count) if shard_count else settings.shard_target_bytes
        shards = monitoring.shards_of(objects, max(1, target_bytes))
        # Shard lists travel as S3 manifests: the execution input stays small at any window size.
        manifests = monitoring.write_shard_manifests(ports, settings, check_window, shards)
        execution_arn = start_once(
            settings.state_machine_arn,
            name=f"{settings.model_name}-{check_window.check_id}"[:72],
            payload={
                "check_id": check_window.check_id,
                "window_start": check_window.start.isoformat(),
                "window_end": check_window.end.isoformat(),
                "shards": manifests,
            },
        )
        return {
            "mode": "sharded",
            "check_id": check_window.check_id,
            "shards": len(shards),
            "execution_arn": execution_arn,
        }
    baseline, config = monitoring.load_check_baseline(ports, settings)
    truth = monitoring.load_ground_truth(ports, settings, check_window)
    summary = monitoring.summarize_objects(ports, baseline, [o.uri for o in objects], check_window, truth)
    outcome, datapoints = monitoring.finalize(
        ports, settings, baseline, config, summary, check_window, datetime.now(UTC)
    )
    drift_handlers.emit_data_metrics(datapoints, settings)
    return {"mode": "single_pass", **outcome.model_dump()}


_idempotent_check: Any = None


def _run(window: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    global _idempotent_check
    settings = drift_handlers.settings()
    if not settings.idempotency_table:
        return _check(window)
    if _idempotent_check is None:
        config = IdempotencyConfig(event_key_jmespath="check_id", expires_after_seconds=7 * 86_400)
        persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table)
        _idempotent_check = (
            config,
            idempotent_function(data_keyword_argument="window", config=config, persistence_store=persistence)(
                _check
            ),
        )
    config, check = _idempotent_check
    config.register_lambda_context(context)
    result: dict[str, Any] = check(window=window)
    return result


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(event=event, model=DriftCheckRequest)
    settings = drift_handlers.settings()
    window = monitoring.window_for(
        datetime.now(UTC),
        request.window_hours or settings.window_hours,
        request.window_start,
        request.window_end,
    )
    result = _run(
        {**window.model_dump(mode="json"), "mode": request.mode, "shard_count": request.shard_count}, context
    )
    logger.info("drift check finished", extra={"result": result})
    return result
