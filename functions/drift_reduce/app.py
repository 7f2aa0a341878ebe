"""The reducer of a sharded drift check: merge shard summaries, then decide, report and announce."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from driftloop import drift_handlers, monitoring
from driftloop.drift import ShardSummary, merge
from driftloop.drift_handlers import ReduceRequest
from driftloop.observability import logger, tracer


class MissingShardSummary(Exception):
    """A shard's summary object is gone; the check cannot be decided on partial data."""


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ReduceRequest)
def lambda_handler(event: ReduceRequest, context: LambdaContext) -> dict[str, Any]:
    settings, ports = drift_handlers.settings(), drift_handlers.ports()
    window = event.window
    baseline, config = monitoring.load_check_baseline(ports, settings)
    summaries = []
    for uri in event.summary_uris:
        raw = ports.read(uri)
        if raw is None:
            raise MissingShardSummary(uri)
        summaries.append(ShardSummary.model_validate_json(raw))
    merged = merge(summaries) if summaries else monitoring.summarize_objects(ports, baseline, [], window)
    outcome, datapoints = monitoring.finalize(
        ports, settings, baseline, config, merged, window, datetime.now(UTC)
    )
    drift_handlers.emit_data_metrics(datapoints, settings)
    return {"mode": "sharded", **outcome.model_dump()}
