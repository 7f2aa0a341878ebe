"""KPI writer: SQS batches of bus events -> write-once objects in the KPI bucket.

The whole batch is written together (a few conditional PUTs per partition rather than one per event),
so the handler does not use Powertools' per-record BatchProcessor; it returns the same
``batchItemFailures`` contract (ReportBatchItemFailures) for the messages whose object failed.
Bad events are quarantined by the core with a reason and never fail the batch.

The parser model, ``SqsBatch``, reads only the message ids and bodies (see its docstring for why).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from driftloop.kpi.records import KpiWriterSettings
from driftloop.kpi.store import S3CreateOnlyStore
from driftloop.kpi.writer import SqsBatch, ingest
from driftloop.observability import logger, metrics, tracer
from driftloop.settings import load_settings

_METRICS = {
    "accepted": "EventsAccepted",  # valid events in this delivery
    "events_written": "EventsWritten",  # first stored by this delivery: each event counted once
    "duplicates_in_batch": "DuplicatesInBatch",
    "quarantined_written": "EventsQuarantined",  # first quarantined by this delivery
    "objects_written": "ObjectsWritten",
    "objects_already_present": "ObjectsAlreadyPresent",
    "objects_failed": "ObjectsFailed",
    "failed_messages": "MessagesRetried",
}


class WriterSettings(KpiWriterSettings):
    queryable_event_types: str = Field(
        default="",
        alias="KPI_QUERYABLE_EVENT_TYPES",
        description="Comma-separated event_type values Athena's partition projection enumerates.",
    )

    @property
    def queryable(self) -> frozenset[str]:
        return frozenset(t.strip() for t in self.queryable_event_types.split(",") if t.strip())


_state: dict[str, Any] = {}


def _dependencies() -> tuple[WriterSettings, S3CreateOnlyStore]:
    if not _state:
        settings = load_settings(WriterSettings)
        _state.update(settings=settings, store=S3CreateOnlyStore(settings.bucket))
    return _state["settings"], _state["store"]


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=SqsBatch)
def lambda_handler(event: SqsBatch, context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    settings, store = _dependencies()
    records = event["Records"]
    bodies = [record["body"] for record in records]
    report = ingest(bodies, settings=settings, store=store, ingested_at=datetime.now(UTC))
    counts = report.counts()
    for key, metric_name in _METRICS.items():
        metrics.add_metric(name=metric_name, unit=MetricUnit.Count, value=counts.get(key, 0))
    metrics.add_metric(name="BytesWritten", unit=MetricUnit.Bytes, value=counts.get("bytes_written", 0))
    if settings.queryable:
        hidden = {
            p.partition.event_type: len(p.event_ids)
            for p in report.batch.partitions
            if p.partition.event_type not in settings.queryable
        }
        # Stored all the same; Athena shows them once the type is added to BusinessEventTypes.
        metrics.add_metric(name="EventsNotQueryable", unit=MetricUnit.Count, value=sum(hidden.values()))
        if hidden:
            logger.warning("event types missing from the partition projection", extra={"types": hidden})
    for failed in (write for write in report.writes if write.outcome is None):
        logger.error(
            "object write failed; its messages will be redelivered",
            extra={"key": failed.key, "error": failed.error},
        )
    logger.info("batch written", extra={"counts": counts})
    return report.batch_item_failures([record["messageId"] for record in records])
