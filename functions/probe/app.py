"""Test probe: records every event it receives in the state table and fails on request.

Deployed only where EnableTestProbes is true (never in prod). End-to-end tests use it as a listener
for EventBridge rules and as a Step Functions Task that can raise a typed error.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from driftloop.adapters.clients import client
from driftloop.observability import logger, tracer
from driftloop.settings import PlatformSettings, load_settings


class ProbeFailure(Exception):
    """Raised on request so callers can exercise Retry/Catch and dead-letter paths."""


class ProbeRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    correlation_id: str = Field(min_length=1, max_length=200)
    fail: bool = False


_settings: PlatformSettings | None = None


def settings() -> PlatformSettings:
    global _settings
    if _settings is None:
        _settings = load_settings(PlatformSettings)
    return _settings


def _request_of(event: dict[str, Any]) -> tuple[ProbeRequest, str]:
    if "detail-type" in event:
        envelope = parse(event=event, model=EventBridgeModel)
        return ProbeRequest.model_validate(envelope.detail), "eventbridge"
    return ProbeRequest.model_validate(event), "direct"


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request, via = _request_of(event)
    record_id = f"{time.time_ns()}#{uuid.uuid4().hex[:8]}"
    client("dynamodb").put_item(
        TableName=settings().state_table,
        Item={
            "pk": {"S": f"probe#{request.correlation_id}"},
            "sk": {"S": record_id},
            "via": {"S": via},
            "request_id": {"S": context.aws_request_id},
            "fail": {"BOOL": request.fail},
            "expires_at": {"N": str(int(time.time()) + 86_400)},
        },
    )
    logger.info("probe received", extra={"correlation_id": request.correlation_id, "via": via})
    if request.fail:
        raise ProbeFailure(f"probe {request.correlation_id} was asked to fail")
    return {"correlation_id": request.correlation_id, "via": via, "record_id": record_id}
