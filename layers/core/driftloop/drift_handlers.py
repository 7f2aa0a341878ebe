"""Pieces the three drift functions share: settings, ports, request models, metric emission."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from driftloop.adapters.drift_ports import AwsDriftPorts
from driftloop.drift.report import MetricDatum
from driftloop.monitoring import CheckWindow, DriftCheckSettings
from driftloop.settings import load_settings

DATA_METRICS_NAMESPACE = "driftloop/data-metrics"


class DriftFunctionSettings(DriftCheckSettings):
    state_table: str = Field(alias="STATE_TABLE", min_length=1)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    event_source: str = Field(default="driftloop", alias="EVENT_SOURCE", min_length=1)
    idempotency_table: str | None = Field(default=None, alias="IDEMPOTENCY_TABLE")
    state_machine_arn: str | None = Field(default=None, alias="DRIFT_STATE_MACHINE_ARN")


class _WindowRequest(BaseModel):
    """What every step of a sharded check receives: which check, over which window."""

    model_config = ConfigDict(extra="forbid")

    check_id: str = Field(min_length=1)
    window_start: datetime
    window_end: datetime

    @property
    def window(self) -> CheckWindow:
        return CheckWindow(check_id=self.check_id, start=self.window_start, end=self.window_end)


class ShardRequest(_WindowRequest):
    shard_index: int = Field(ge=0)
    manifest_uri: str = Field(pattern=r"^s3://[^/]+/.+")


class ReduceRequest(_WindowRequest):
    summary_uris: list[str]


_cache: dict[str, dict[str, Any]] = {}


def _function_cache() -> dict[str, Any]:
    """Per function: in Lambda there is one, but the local stack runs every function in one process."""
    return _cache.setdefault(os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""), {})


def settings() -> DriftFunctionSettings:
    cache = _function_cache()
    if "settings" not in cache:
        cache["settings"] = load_settings(DriftFunctionSettings)
    value: DriftFunctionSettings = cache["settings"]
    return value


def ports() -> AwsDriftPorts:
    cache = _function_cache()
    if "ports" not in cache:
        current = settings()
        cache["ports"] = AwsDriftPorts(
            state_table=current.state_table,
            bus_name=current.event_bus_name,
            event_source=current.event_source,
        )
    value: AwsDriftPorts = cache["ports"]
    return value


_UNITS = {"None": MetricUnit.NoUnit, "Count": MetricUnit.Count, "Percent": MetricUnit.Percent}


def emit_data_metrics(datapoints: list[MetricDatum], current: DriftFunctionSettings) -> None:
    """Model-Monitor-style metrics (``feature_baseline_drift_<f>`` ...) as EMF, per endpoint and model."""
    # service="" keeps Powertools from adding its `service` dimension: the dimension set stays Model
    # Monitor's own, so dashboards and alarms written for Model Monitor metrics work unchanged.
    metrics = EphemeralMetrics(namespace=DATA_METRICS_NAMESPACE, service="")
    metrics.add_dimension(name="Endpoint", value=current.endpoint_name)
    metrics.add_dimension(name="MonitoringSchedule", value=current.model_name)
    for datum in datapoints:
        metrics.add_metric(name=datum.name, unit=_UNITS[datum.unit], value=datum.value)
    metrics.flush_metrics()
