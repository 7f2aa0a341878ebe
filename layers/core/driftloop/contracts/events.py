"""Event contracts.

Every event is an EventBridge entry with ``source`` = the platform source (``driftloop``),
``detail-type`` = the contract's ``DETAIL_TYPE`` and ``detail`` = the model's JSON. The detail carries
``schema_version``; an incompatible change adds a new model with the next version and registers it
beside the old one, so consumers and the KPI log can still read history.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ContractError(ValueError):
    """An event's detail does not satisfy its registered contract."""


class DriftloopEvent(BaseModel):
    """Fields common to every platform event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    DETAIL_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1

    schema_version: int = Field(default=1, description="Version of this detail-type's contract.")
    environment: Literal["dev", "staging", "prod"]
    model_name: str = Field(min_length=1, max_length=63)

    def detail_json(self) -> str:
        return self.model_dump_json(exclude_none=False)


class Severity(StrEnum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class FeatureDrift(BaseModel):
    """One drifted feature, with the numbers behind the decision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    test: str = Field(description="Statistical test, e.g. ks, chi2.")
    statistic: float
    p_value: float | None = Field(default=None, ge=0.0, le=1.0)
    effect_metric: str = Field(description="Effect-size measure, e.g. psi, wasserstein, jensen_shannon.")
    effect: float
    threshold: float
    critical: bool = False


class DriftCheckCompleted(DriftloopEvent):
    """Emitted after every drift check, drifted or not, completed or skipped."""

    DETAIL_TYPE: ClassVar[str] = "DriftCheckCompleted"

    check_id: str = Field(min_length=1)
    endpoint_name: str
    window_start: datetime
    window_end: datetime
    status: Literal["completed", "skipped"]
    skip_reason: str | None = None
    rows: int = Field(ge=0)
    malformed_records: int = Field(default=0, ge=0)
    features_checked: int = Field(ge=0)
    drifted_features: list[str] = Field(default_factory=list)
    drift_share: float = Field(ge=0.0, le=1.0)
    dataset_drift: bool
    severity: Severity = Severity.NONE
    report_uri: str | None = None


class DriftDetected(DriftloopEvent):
    """Emitted when a check decides the dataset drifted (after hysteresis and cooldown)."""

    DETAIL_TYPE: ClassVar[str] = "DriftDetected"

    check_id: str = Field(min_length=1)
    endpoint_name: str
    window_start: datetime
    window_end: datetime
    severity: Severity
    drift_share: float = Field(ge=0.0, le=1.0)
    consecutive_windows: int = Field(ge=1)
    drifted_features: list[FeatureDrift] = Field(min_length=1)
    report_uri: str


class RetrainingStarted(DriftloopEvent):
    DETAIL_TYPE: ClassVar[str] = "RetrainingStarted"

    run_id: str = Field(min_length=1)
    trigger: Literal["drift", "schedule", "manual"]
    trigger_event_id: str | None = None
    dataset_snapshot_uri: str | None = None


class ChallengerEvaluated(DriftloopEvent):
    DETAIL_TYPE: ClassVar[str] = "ChallengerEvaluated"

    run_id: str = Field(min_length=1)
    metric_name: str
    higher_is_better: bool = True
    champion_version: int | None = Field(default=None, ge=1)
    champion_score: float | None = None
    challenger_score: float
    challenger_wins: bool


class ModelRegistered(DriftloopEvent):
    DETAIL_TYPE: ClassVar[str] = "ModelRegistered"

    run_id: str | None = None
    model_package_arn: str
    model_version: int = Field(ge=1)
    approval_status: Literal["Approved", "Rejected", "PendingManualApproval"]


class ModelDeployed(DriftloopEvent):
    DETAIL_TYPE: ClassVar[str] = "ModelDeployed"

    deployment_id: str = Field(min_length=1)
    endpoint_name: str
    model_version: int = Field(ge=1)
    model_package_arn: str
    strategy: Literal["all_at_once", "canary", "linear"]
    previous_version: int | None = Field(default=None, ge=1)


class DeploymentRolledBack(DriftloopEvent):
    DETAIL_TYPE: ClassVar[str] = "DeploymentRolledBack"

    deployment_id: str = Field(min_length=1)
    endpoint_name: str
    failed_version: int = Field(ge=1)
    restored_version: int | None = Field(default=None, ge=1)
    reason: str


class FeedbackReceived(DriftloopEvent):
    """Stakeholder feedback on a prediction, posted through the feedback API."""

    DETAIL_TYPE: ClassVar[str] = "FeedbackReceived"

    feedback_id: str = Field(min_length=1, max_length=128)
    inference_id: str | None = Field(default=None, max_length=256)
    rating: int | None = Field(default=None, ge=1, le=5)
    label: str | None = Field(default=None, max_length=256)
    comment: str | None = Field(default=None, max_length=4000)
    submitted_by: str | None = None


CONTRACTS: dict[tuple[str, int], type[DriftloopEvent]] = {
    (model.DETAIL_TYPE, model.SCHEMA_VERSION): model
    for model in (
        DriftCheckCompleted,
        DriftDetected,
        RetrainingStarted,
        ChallengerEvaluated,
        ModelRegistered,
        ModelDeployed,
        DeploymentRolledBack,
        FeedbackReceived,
    )
}


def contract_for(detail_type: str, schema_version: int = 1) -> type[DriftloopEvent] | None:
    return CONTRACTS.get((detail_type, schema_version))


def parse_detail(detail_type: str, detail: dict[str, Any]) -> DriftloopEvent:
    """Validate a platform event's detail against its registered contract."""
    version = detail.get("schema_version", 1)
    if not isinstance(version, int):
        raise ContractError(f"{detail_type}: schema_version must be an integer, got {version!r}")
    model = contract_for(detail_type, version)
    if model is None:
        raise ContractError(f"no contract registered for {detail_type} v{version}")
    try:
        return model.model_validate(detail)
    except ValidationError as exc:
        raise ContractError(f"{detail_type} v{version}: {exc.errors(include_url=False)}") from exc


def export_json_schemas(out_dir: Path) -> list[Path]:
    """Write one JSON Schema file per contract (``<DetailType>.v<N>.schema.json``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for (detail_type, version), model in sorted(CONTRACTS.items()):
        path = out_dir / f"{detail_type}.v{version}.schema.json"
        path.write_text(json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
