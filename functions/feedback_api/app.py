"""Feedback API: POST /feedback (IAM-authorised) -> FeedbackReceived on the bus.

The body is validated against a pydantic model (422 with the field errors otherwise). A client retry
with the same ``feedback_id`` returns the first answer and puts nothing new (Powertools idempotency,
keyed on caller and id); the same id with a different body is a 409, never a silent drop.
No ``from __future__ import annotations`` here: the resolver reads the route's annotations at runtime.
"""

from typing import Annotated, Any, Self

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, model_validator

from driftloop.adapters.bus import publish
from driftloop.contracts import FeedbackReceived
from driftloop.observability import logger, tracer
from driftloop.settings import PlatformSettings, load_settings


class FeedbackSettings(PlatformSettings):
    model_name: str = Field(alias="MODEL_NAME", min_length=1)
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=1)


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feedback_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    inference_id: str | None = Field(default=None, max_length=256)
    rating: int | None = Field(default=None, ge=1, le=5)
    label: str | None = Field(default=None, max_length=256)
    comment: str | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _says_something(self) -> Self:
        if self.rating is None and not (self.label or "").strip() and not (self.comment or "").strip():
            raise ValueError("feedback needs a rating, a label or a comment")
        return self


app = APIGatewayRestResolver(enable_validation=True)
_state: dict[str, Any] = {}


def _settings() -> FeedbackSettings:
    if "settings" not in _state:
        _state["settings"] = load_settings(FeedbackSettings)
    settings: FeedbackSettings = _state["settings"]
    return settings


def _record_feedback(feedback: dict[str, Any], submitted_by: str | None) -> dict[str, Any]:
    """Publish once per feedback_id; wrapped with idempotency on first use (the table comes from settings)."""
    if "record" not in _state:
        settings = _settings()
        persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table)
        config = IdempotencyConfig(
            event_key_jmespath="[submitted_by, feedback.feedback_id]",
            payload_validation_jmespath="feedback",
            expires_after_seconds=7 * 86_400,
        )

        def record(request: dict[str, Any]) -> dict[str, Any]:
            feedback, submitted_by = request["feedback"], request["submitted_by"]
            event = FeedbackReceived(
                environment=settings.environment.value,
                model_name=settings.model_name,
                submitted_by=submitted_by,
                **feedback,
            )
            (event_id,) = publish([event], bus_name=settings.event_bus_name, source=settings.event_source)
            return {"feedback_id": event.feedback_id, "event_id": event_id}

        _state["idempotency_config"] = config
        _state["record"] = idempotent_function(
            data_keyword_argument="request", config=config, persistence_store=persistence
        )(record)
    _state["idempotency_config"].register_lambda_context(_state["context"])
    result: dict[str, Any] = _state["record"](request={"feedback": feedback, "submitted_by": submitted_by})
    return result


@app.post("/feedback")
@tracer.capture_method
def post_feedback(feedback: Annotated[FeedbackRequest, Body()]) -> Response[dict[str, Any]]:
    identity = app.current_event.request_context.identity
    try:
        result = _record_feedback(feedback.model_dump(), identity.user_arn)
    except IdempotencyValidationError:
        body = {"message": f"feedback_id {feedback.feedback_id} was already used for different feedback"}
        return Response(status_code=409, content_type=content_types.APPLICATION_JSON, body=body)
    logger.info("feedback recorded", extra={"feedback_id": feedback.feedback_id})
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=result)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _state["context"] = context
    return app.resolve(event, context)
