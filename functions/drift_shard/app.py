"""One shard of a sharded drift check: summarise capture objects, store the additive summary in S3."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from driftloop import drift_handlers, monitoring
from driftloop.drift_handlers import ShardRequest
from driftloop.observability import logger, tracer


class ShardReadError(Exception):
    """A shard's inputs could not be read; Retry in the state machine matches this name."""


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@event_parser(model=ShardRequest)
def lambda_handler(event: ShardRequest, context: LambdaContext) -> dict[str, Any]:
    settings, ports = drift_handlers.settings(), drift_handlers.ports()
    window = event.window
    manifest = ports.read(event.manifest_uri)
    if manifest is None:
        raise ShardReadError(f"shard manifest {event.manifest_uri} is missing")
    uris: list[str] = json.loads(manifest)["uris"]
    baseline, _ = monitoring.load_check_baseline(ports, settings)
    truth = monitoring.load_ground_truth(ports, settings, window)
    try:
        summary = monitoring.summarize_objects(ports, baseline, uris, window, truth)
    except (OSError, ClientError) as error:  # transient S3 trouble: the state machine retries this type
        raise ShardReadError(str(error)) from error
    check_folder = f"{settings.reports_uri.rstrip('/')}/{settings.model_name}/{event.check_id}"
    summary_uri = f"{check_folder}/shards/{event.shard_index:05d}.json"
    ports.write(summary_uri, summary.model_dump_json().encode(), "application/json")
    logger.info(
        "shard summarised",
        extra={"shard": event.shard_index, "rows": summary.rows, "objects": len(uris)},
    )
    return {"summary_uri": summary_uri, "rows": summary.rows}
