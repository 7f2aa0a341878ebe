from __future__ import annotations

import json
from typing import Any

import pytest

from driftloop.contracts import ModelDeployed
from driftloop.kpi.records import KpiWriterSettings


def envelope(
    event_id: str,
    *,
    source: str = "acme.checkout",
    detail_type: str = "Conversion",
    time: Any = "2026-11-26T14:05:00Z",
    detail: Any = None,
    **extra: Any,
) -> str:
    """An EventBridge envelope as SQS delivers it (the body of one message)."""
    body = {
        "version": "0",
        "id": event_id,
        "source": source,
        "detail-type": detail_type,
        "time": time,
        "account": "123456789012",
        "region": "eu-west-1",
        "resources": [],
        "detail": {"endpoint_name": "churn-ep", "amount": 12.5, "converted": True}
        if detail is None
        else detail,
    }
    body.update(extra)
    return json.dumps(body)


def deployed_detail(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "environment": "dev",
        "model_name": "churn",
        "deployment_id": "dep-1",
        "endpoint_name": "churn-ep",
        "model_version": 2,
        "model_package_arn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/2",
        "strategy": "canary",
    }
    fields.update(overrides)
    return json.loads(ModelDeployed.model_validate(fields).detail_json())


@pytest.fixture
def settings() -> KpiWriterSettings:
    return KpiWriterSettings(KPI_BUCKET="kpi-bucket", KPI_MAX_DETAIL_BYTES=1024)


@pytest.fixture
def make_envelope():
    return envelope


@pytest.fixture
def make_deployed_detail():
    return deployed_detail
