"""A known KPI world (29 events over 2026-11-01..05) and S3 backends to deliver it to."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from driftloop.adapters.clients import reset_clients
from driftloop.contracts import (
    ChallengerEvaluated,
    DeploymentRolledBack,
    DriftCheckCompleted,
    DriftDetected,
    DriftloopEvent,
    FeatureDrift,
    FeedbackReceived,
    ModelDeployed,
    ModelRegistered,
    RetrainingStarted,
)
from driftloop.kpi.duckdb_athena import KpiDuckDB
from driftloop.kpi.records import KpiWriterSettings
from driftloop.kpi.store import S3CreateOnlyStore
from driftloop.kpi.writer import ingest

REGION = "eu-west-1"
ACCOUNT = "123456789012"
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def envelope(event_id: str, source: str, detail_type: str, time: str, detail: dict[str, Any]) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": event_id,
            "source": source,
            "detail-type": detail_type,
            "time": time,
            "account": ACCOUNT,
            "region": REGION,
            "resources": [],
            "detail": detail,
        }
    )


def platform(event_id: str, time: str, event: DriftloopEvent) -> str:
    return envelope(event_id, "driftloop", event.DETAIL_TYPE, time, json.loads(event.detail_json()))


def conversion(event_id: str, time: str, endpoint: str, amount: float, converted: bool) -> str:
    detail = {
        "endpoint_name": endpoint,
        "amount": amount,
        "converted": converted,
        "order_id": f"o-{event_id}",
    }
    return envelope(event_id, "acme.checkout", "Conversion", time, detail)


def deployed(event_id: str, time: str, endpoint: str, model: str, version: int, deployment_id: str) -> str:
    return platform(
        event_id,
        time,
        ModelDeployed(
            environment="dev",
            model_name=model,
            deployment_id=deployment_id,
            endpoint_name=endpoint,
            model_version=version,
            model_package_arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{model}/{version}",
            strategy="canary",
        ),
    )


def drift_check_fields(event_id: str, endpoint: str) -> dict[str, Any]:
    """The fields a drift check's events share: model, check id, endpoint and window."""
    return {
        "environment": "dev",
        "model_name": endpoint.removesuffix("-ep"),
        "check_id": f"chk-{event_id}",
        "endpoint_name": endpoint,
        "window_start": "2026-11-01T00:00:00Z",
        "window_end": "2026-11-01T01:00:00Z",
    }


def check(event_id: str, time: str, endpoint: str, status: str, share: float, drifted: bool) -> str:
    return platform(
        event_id,
        time,
        DriftCheckCompleted(
            **drift_check_fields(event_id, endpoint),
            status=status,
            skip_reason="too few rows" if status == "skipped" else None,
            rows=0 if status == "skipped" else 500,
            features_checked=4,
            drifted_features=["tenure"] if drifted else [],
            drift_share=share,
            dataset_drift=drifted,
        ),
    )


def detected(event_id: str, time: str, endpoint: str, severity: str) -> str:
    return platform(
        event_id,
        time,
        DriftDetected(
            **drift_check_fields(event_id, endpoint),
            severity=severity,
            drift_share=0.5,
            consecutive_windows=2,
            drifted_features=[
                FeatureDrift(
                    name="tenure",
                    test="ks",
                    statistic=0.4,
                    p_value=0.001,
                    effect_metric="psi",
                    effect=0.3,
                    threshold=0.2,
                )
            ],
            report_uri=f"s3://reports/{event_id}.html",
        ),
    )


def evaluated(event_id: str, time: str, model: str, metric: str, wins: bool) -> str:
    return platform(
        event_id,
        time,
        ChallengerEvaluated(
            environment="dev",
            model_name=model,
            run_id=f"run-{event_id}",
            metric_name=metric,
            champion_version=1,
            champion_score=0.8,
            challenger_score=0.85 if wins else 0.75,
            challenger_wins=wins,
        ),
    )


def kpi_world() -> list[str]:
    """29 valid events. Expected query results are written out by hand in the tests."""
    return [
        deployed("d1", "2026-11-01T00:00:00Z", "churn-ep", "churn", 1, "dep-1"),
        deployed("d2", "2026-11-03T16:30:00Z", "churn-ep", "churn", 2, "dep-2"),
        deployed("d3", "2026-11-05T00:00:00+02:00", "churn-ep", "churn", 3, "dep-3"),  # 11-04T22:00Z
        deployed("d4", "2026-11-02T08:00:00Z", "fraud-ep", "fraud", 7, "dep-4"),
        platform(
            "rb1",
            "2026-11-04T23:00:00Z",
            DeploymentRolledBack(
                environment="dev",
                model_name="churn",
                deployment_id="dep-3",
                endpoint_name="churn-ep",
                failed_version=3,
                restored_version=2,
                reason="alarm churn-ep-5xx",
            ),
        ),
        conversion("c1", "2026-11-02T09:00:00Z", "churn-ep", 10.0, True),
        conversion("c2", "2026-11-02T12:00:00Z", "churn-ep", 20.0, False),
        conversion("c3", "2026-11-03T16:00:00Z", "churn-ep", 30.0, True),
        conversion("c4", "2026-11-03T16:30:00Z", "churn-ep", 40.0, True),  # same instant as d2: still v1
        conversion("c5", "2026-11-04T10:00:00Z", "churn-ep", 5.5, True),
        conversion("c6", "2026-11-04T22:30:00Z", "churn-ep", 100.0, True),
        conversion("c7", "2026-11-04T23:30:00Z", "churn-ep", 7.0, False),  # after the rollback: v2
        conversion("c8", "2026-11-02T09:00:00Z", "fraud-ep", 1.25, True),
        conversion("c9", "2026-11-01T12:00:00Z", "fraud-ep", 2.0, False),  # before any fraud deployment
        check("k1", "2026-11-02T06:00:00Z", "churn-ep", "completed", 0.5, True),
        check("k2", "2026-11-02T07:00:00Z", "churn-ep", "skipped", 0.0, False),
        check("k3", "2026-11-02T09:30:00Z", "churn-ep", "completed", 0.25, False),
        check("k4", "2026-11-03T06:00:00Z", "churn-ep", "completed", 0.1, False),
        check("k5", "2026-11-03T06:00:00Z", "fraud-ep", "completed", 0.0, False),
        detected("x1", "2026-11-02T10:00:00Z", "churn-ep", "high"),
        detected("x2", "2026-11-05T01:00:00Z", "churn-ep", "medium"),
        detected("x3", "2026-11-02T07:00:00Z", "fraud-ep", "low"),
        evaluated("e1", "2026-11-03T10:00:00Z", "churn", "auc", True),
        evaluated("e2", "2026-11-03T11:00:00Z", "churn", "auc", False),
        evaluated("e3", "2026-11-03T12:00:00Z", "churn", "auc", True),
        evaluated("e4", "2026-11-04T09:00:00Z", "fraud", "f1", False),
        platform(
            "r1",
            "2026-11-02T11:00:00Z",
            RetrainingStarted(
                environment="dev", model_name="churn", run_id="run-1", trigger="drift", trigger_event_id="x1"
            ),
        ),
        platform(
            "m1",
            "2026-11-03T14:00:00Z",
            ModelRegistered(
                environment="dev",
                model_name="churn",
                run_id="run-1",
                model_version=2,
                model_package_arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/churn/2",
                approval_status="Approved",
            ),
        ),
        platform(
            "f1",
            "2026-11-04T12:00:00Z",
            FeedbackReceived(environment="dev", model_name="churn", feedback_id="fb-1", rating=4),
        ),
    ]


# Two messages the writer must quarantine: a body that is not JSON, a platform event breaking its contract.
BAD_BODIES = [
    "{not json",
    envelope("bad-deploy", "driftloop", "ModelDeployed", "2026-11-02T09:00:00Z", {"environment": "dev"}),
]


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    reset_clients()
    yield
    reset_clients()


@pytest.fixture
def s3_bucket(aws_env: None) -> Iterator[str]:
    """A bucket in moto's in-process mock; the adapter's cached client talks to it."""
    with mock_aws():
        bucket = f"kpi-{uuid.uuid4().hex[:12]}"
        boto3.client("s3").create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield bucket


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """A moto server on a free port (what DuckDB's httpfs talks to); yields its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def world_bodies() -> list[str]:
    return kpi_world()


@pytest.fixture
def bad_bodies() -> list[str]:
    return list(BAD_BODIES)


def deliver(store, bodies: list[str], *, batch_size: int, ingested_at) -> None:
    """SQS-style delivery: consecutive batches, each written by one writer invocation."""
    settings = KpiWriterSettings(KPI_BUCKET=store.bucket)
    for start in range(0, len(bodies), batch_size):
        report = ingest(
            bodies[start : start + batch_size], settings=settings, store=store, ingested_at=ingested_at
        )
        assert report.failed_message_indexes == frozenset()


@pytest.fixture(scope="module")
def world_on_server(moto_server: str) -> Iterator[str]:
    """The KPI world delivered twice to a bucket on the moto server, in different batch compositions.

    First in order, 8 per batch; then reversed, 5 per batch (a redrive): object keys differ, event ids
    repeat, so only the dedup view gives exactly-once counts. Yields the bucket name.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_AWS_ENV.items():
            patch.setenv(name, value)
        reset_clients()
        s3 = boto3.client("s3", endpoint_url=moto_server)
        bucket = f"kpi-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        store = S3CreateOnlyStore(bucket, s3=s3)
        bodies = kpi_world() + BAD_BODIES
        deliver(store, bodies, batch_size=8, ingested_at=datetime(2026, 11, 5, 2, 0, tzinfo=UTC))
        deliver(store, bodies[::-1], batch_size=5, ingested_at=datetime(2026, 11, 5, 3, 0, tzinfo=UTC))
        yield bucket
    reset_clients()


@pytest.fixture(scope="module")
def server_db(moto_server: str, world_on_server: str) -> Iterator[KpiDuckDB]:
    with KpiDuckDB.over_s3(
        bucket=world_on_server, endpoint_url=moto_server, region=REGION, log_http=True
    ) as db:
        yield db


@pytest.fixture(scope="module")
def server_s3(moto_server: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
