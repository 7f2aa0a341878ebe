"""KPI writer: SQS batches of bus events -> write-once objects in the KPI bucket.

The whole batch is written together (one conditional PUT per partition rather than one per event).
When an object could not be written, Powertools' BatchProcessor goes over the records and fails exactly
those in it, so the partial-batch response (ReportBatchItemFailures) follows Powertools' rules,
including raising when every record failed. Bad events are quarantined by the core with a reason and
never fail the batch.

The parser model, ``SqsBatch``, reads only the message ids and bodies (see its docstring for why).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from driftloop.kpi.records import KpiWriterSettings
from driftloop.kpi.store import S3CreateOnlyStore
from driftloop.kpi.writer import SqsBatch, ingest, not_queryable
from driftloop.observability import logger, metrics, tracer
from driftloop.settings import load_settings

_METRICS = {
    "accepted": "EventsAccepted",  # valid events in this delivery
    # In objects this delivery wrote first: an identical redelivery adds nothing. A redelivery batched
    # with other messages gets a new object key and counts again (kpi_events deduplicates; exact
    # distinct counts come from Athena).
    "events_written": "EventsWritten",
    "duplicates_in_batch": "DuplicatesInBatch",
    "quarantined_written": "EventsQuarantined",
    "quarantined_unexpected_error": "QuarantinedUnexpected",  # alarmed: a bug, not bad input
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

    queryable_from: date = Field(
        default=date(2020, 1, 1),
        alias="KPI_QUERYABLE_FROM",
        description="First dt of the partition projection (template parameter KpiProjectionStart).",
    )

    @property
    def queryable(self) -> frozenset[str]:
        return frozenset(t.strip() for t in self.queryable_event_types.split(",") if t.strip())


class ObjectNotStoredError(RuntimeError):
    """The KPI log object holding this message could not be written; SQS will deliver it again."""


_state: dict[str, Any] = {}
_processor = BatchProcessor(event_type=EventType.SQS)


def _dependencies() -> tuple[WriterSettings, S3CreateOnlyStore]:
    if not _state:
        settings = load_settings(WriterSettings)
        _state.update(settings=settings, store=S3CreateOnlyStore(settings.bucket))
    return _state["settings"], _state["store"]


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=SqsBatch)
def lambda_handler(event: SqsBatch, context: LambdaContext) -> PartialItemFailureResponse:
    settings, store = _dependencies()
    records = event["Records"]
    bodies = [record["body"] for record in records]
    now = datetime.now(UTC)
    report = ingest(bodies, settings=settings, store=store, ingested_at=now)
    counts = report.counts()
    for key, metric_name in _METRICS.items():
        metrics.add_metric(name=metric_name, unit=MetricUnit.Count, value=counts.get(key, 0))
    metrics.add_metric(name="BytesWritten", unit=MetricUnit.Bytes, value=counts.get("bytes_written", 0))
    if settings.queryable:
        hidden = not_queryable(
            report.batch.partitions,
            event_types=settings.queryable,
            first_day=settings.queryable_from,
            today=now.date(),
        )
        # Stored all the same; Athena shows them once the type or the date is inside the projection.
        metrics.add_metric(name="EventsNotQueryable", unit=MetricUnit.Count, value=sum(hidden.values()))
        if hidden:
            logger.warning("events outside Athena's partition projection", extra={"partitions": hidden})
    for failed in (write for write in report.writes if write.outcome is None):
        logger.error(
            "object write failed; its messages will be redelivered",
            extra={"key": failed.key, "error": failed.error},
        )
    logger.info("batch written", extra={"counts": counts})
    if not report.failed_message_indexes:
        # Every object was written: nothing to report, which is the processor's answer too. Its pass
        # over the records costs ~2 us each (~10 ms of a 5,000-message batch), so it runs only when
        # there is something to map back to message ids.
        return {"batchItemFailures": []}
    not_stored = {records[index]["messageId"] for index in report.failed_message_indexes}

    def confirm_stored(record: SQSRecord) -> None:
        if record.message_id in not_stored:
            raise ObjectNotStoredError(f"message {record.message_id}: its KPI log object was not written")

    return process_partial_response(
        event=dict(event), record_handler=confirm_stored, processor=_processor, context=context
    )
