"""Versioned pydantic contracts for every event driftloop puts on its bus."""

from driftloop.contracts.events import (
    CONTRACTS,
    ChallengerEvaluated,
    ContractError,
    DeploymentRolledBack,
    DriftCheckCompleted,
    DriftDetected,
    DriftloopEvent,
    FeatureDrift,
    FeedbackReceived,
    ModelDeployed,
    ModelRegistered,
    RetrainingStarted,
    contract_for,
    export_json_schemas,
    parse_detail,
)

__all__ = [
    "CONTRACTS",
    "ChallengerEvaluated",
    "ContractError",
    "DeploymentRolledBack",
    "DriftCheckCompleted",
    "DriftDetected",
    "DriftloopEvent",
    "FeatureDrift",
    "FeedbackReceived",
    "ModelDeployed",
    "ModelRegistered",
    "RetrainingStarted",
    "contract_for",
    "export_json_schemas",
    "parse_detail",
]
