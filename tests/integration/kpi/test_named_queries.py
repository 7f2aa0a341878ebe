"""Every named query over the KPI world on a moto S3 server, read by DuckDB through httpfs.

The world (conftest.kpi_world) was delivered twice in different batch compositions; every number
below is worked out by hand from that list of events.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from driftloop.kpi.duckdb_athena import KpiDuckDB
from driftloop.kpi.queries import load_queries
from driftloop.kpi.records import KpiWriterSettings
from driftloop.kpi.store import DirectoryCreateOnlyStore
from driftloop.kpi.writer import ingest

NOVEMBER = {"from_dt": "2026-11-01", "to_dt": "2026-11-30"}
CHECKOUT = {"business_source": "acme.checkout", "business_detail_type": "Conversion"}


def object_keys(s3, bucket: str, prefix: str = "events/") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


def stored_lines(s3, bucket: str) -> int:
    return sum(
        len(gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).splitlines())
        for key in object_keys(s3, bucket)
    )


def test_each_event_appears_exactly_once_in_the_dedup_view(
    server_db, server_s3, world_on_server, world_bodies
):
    (raw,) = server_db.execute("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM kpi_events_raw")
    (dedup,) = server_db.execute("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM kpi_events")

    # Partitions whose events arrived in different batch compositions were stored twice, under new keys;
    # partitions that arrived identically were not rewritten (same key, conditional PUT refused).
    assert raw["n"] == stored_lines(server_s3, world_on_server)
    assert raw["n"] > len(world_bodies)
    assert raw["ids"] == len(world_bodies)
    assert dedup == {"n": len(world_bodies), "ids": len(world_bodies)}


def test_events_per_type_per_day(server_db):
    rows = server_db.run("events_per_type_per_day", NOVEMBER)

    assert {(r["day"], r["source"], r["detail_type"]): r["events"] for r in rows} == {
        ("2026-11-01", "acme.checkout", "Conversion"): 1,
        ("2026-11-01", "driftloop", "ModelDeployed"): 1,
        ("2026-11-02", "acme.checkout", "Conversion"): 3,
        ("2026-11-02", "driftloop", "DriftCheckCompleted"): 3,
        ("2026-11-02", "driftloop", "DriftDetected"): 2,
        ("2026-11-02", "driftloop", "ModelDeployed"): 1,
        ("2026-11-02", "driftloop", "RetrainingStarted"): 1,
        ("2026-11-03", "acme.checkout", "Conversion"): 2,
        ("2026-11-03", "driftloop", "ChallengerEvaluated"): 3,
        ("2026-11-03", "driftloop", "DriftCheckCompleted"): 2,
        ("2026-11-03", "driftloop", "ModelDeployed"): 1,
        ("2026-11-03", "driftloop", "ModelRegistered"): 1,
        ("2026-11-04", "acme.checkout", "Conversion"): 3,
        ("2026-11-04", "driftloop", "ChallengerEvaluated"): 1,
        ("2026-11-04", "driftloop", "DeploymentRolledBack"): 1,
        ("2026-11-04", "driftloop", "FeedbackReceived"): 1,
        ("2026-11-04", "driftloop", "ModelDeployed"): 1,  # d3, sent as 2026-11-05T00:00+02:00
        ("2026-11-05", "driftloop", "DriftDetected"): 1,
    }
    assert [r["day"] for r in rows] == sorted(r["day"] for r in rows)


def test_business_kpi_per_model_version(server_db):
    rows = server_db.run("business_kpi_per_model_version", {**CHECKOUT, **NOVEMBER})

    assert rows == [
        # c1..c4: c4 happened at the same instant as d2, which only counts from the next event on
        {"endpoint_name": "churn-ep", "model_version": 1, "events": 4, "conversions": 3,
         "conversion_rate": 0.75, "revenue": 100.0},
        # c5, then c7 after dep-3 was rolled back to version 2
        {"endpoint_name": "churn-ep", "model_version": 2, "events": 2, "conversions": 1,
         "conversion_rate": 0.5, "revenue": 12.5},
        {"endpoint_name": "churn-ep", "model_version": 3, "events": 1, "conversions": 1,
         "conversion_rate": 1.0, "revenue": 100.0},
        {"endpoint_name": "fraud-ep", "model_version": 7, "events": 1, "conversions": 1,
         "conversion_rate": 1.0, "revenue": 1.25},
        # c9 came before fraud-ep's first deployment
        {"endpoint_name": "fraud-ep", "model_version": None, "events": 1, "conversions": 0,
         "conversion_rate": 0.0, "revenue": 2.0},
    ]  # fmt: skip


def test_business_kpi_window_still_sees_earlier_deployments(server_db):
    rows = server_db.run(
        "business_kpi_per_model_version", {**CHECKOUT, "from_dt": "2026-11-04", "to_dt": "2026-11-04"}
    )

    assert [(r["model_version"], r["events"], r["revenue"]) for r in rows] == [(2, 2, 12.5), (3, 1, 100.0)]


def test_drift_checks_over_time(server_db):
    rows = server_db.run("drift_checks_over_time", NOVEMBER)

    columns = (
        "checks",
        "skipped_checks",
        "drifted_checks",
        "mean_drift_share",
        "detections",
        "high_severity_detections",
    )
    assert {(r["day"], r["endpoint_name"]): tuple(r[c] for c in columns) for r in rows} == {
        ("2026-11-02", "churn-ep"): (3, 1, 1, 0.375, 1, 1),  # skipped k2 is not in the mean
        ("2026-11-02", "fraud-ep"): (0, 0, 0, None, 1, 0),
        ("2026-11-03", "churn-ep"): (1, 0, 0, 0.1, 0, 0),
        ("2026-11-03", "fraud-ep"): (1, 0, 0, 0.0, 0, 0),
        ("2026-11-05", "churn-ep"): (0, 0, 0, None, 1, 0),
    }


def test_retraining_lead_time(server_db):
    rows = server_db.run("retraining_lead_time", NOVEMBER)

    assert [
        (r["endpoint_name"], r["detected_at"], r["deployment_id"], r["model_version"], r["lead_time_hours"])
        for r in rows
    ] == [
        ("fraud-ep", "2026-11-02T07:00:00Z", "dep-4", 7, 1.0),
        ("churn-ep", "2026-11-02T10:00:00Z", "dep-2", 2, 30.5),
        ("churn-ep", "2026-11-05T01:00:00Z", None, None, None),  # nothing deployed since
    ]
    assert rows[1]["deployed_at"] == "2026-11-03T16:30:00Z"
    assert rows[1]["severity"] == "high"


def test_rollback_rate(server_db):
    rows = server_db.run("rollback_rate", NOVEMBER)

    assert rows == [
        {
            "endpoint_name": "churn-ep",
            "deployments": 3,
            "rollbacks": 1,
            "rollback_rate": pytest.approx(1 / 3),
        },
        {"endpoint_name": "fraud-ep", "deployments": 1, "rollbacks": 0, "rollback_rate": 0.0},
        {"endpoint_name": "(all endpoints)", "deployments": 4, "rollbacks": 1, "rollback_rate": 0.25},
    ]


def test_challenger_win_rate(server_db):
    rows = server_db.run("challenger_win_rate", NOVEMBER)

    assert rows == [
        {"model_name": "churn", "metric_name": "auc", "evaluations": 3, "challenger_wins": 2,
         "win_rate": pytest.approx(2 / 3)},
        {"model_name": "fraud", "metric_name": "f1", "evaluations": 1, "challenger_wins": 0, "win_rate": 0.0},
    ]  # fmt: skip


def test_a_one_day_filter_reads_only_that_days_objects(server_db, server_s3, world_on_server):
    all_keys = object_keys(server_s3, world_on_server)
    day_keys = {key for key in all_keys if "/dt=2026-11-05/" in key}
    server_db.clear_http_log()

    rows = server_db.run("events_per_type_per_day", {"from_dt": "2026-11-05", "to_dt": "2026-11-05"})

    assert [(r["detail_type"], r["events"]) for r in rows] == [("DriftDetected", 1)]
    # every request for an object (HEAD or GET; DuckDB may serve the body from its file cache)
    object_requests = {
        unquote(urlsplit(url).path).removeprefix(f"/{world_on_server}/")
        for _, url in server_db.http_requests()
        if not urlsplit(url).query  # listings carry a query string
    }
    assert object_requests == day_keys
    assert 0 < len(day_keys) < len(all_keys)
    assert server_db.files_scanned(
        "events_per_type_per_day", {"from_dt": "2026-11-05", "to_dt": "2026-11-05"}
    ) == [(len(day_keys), len(all_keys))]


def test_the_same_queries_run_over_a_local_directory(tmp_path, world_bodies):

    ingest(
        world_bodies,
        settings=KpiWriterSettings(KPI_BUCKET="local"),
        store=DirectoryCreateOnlyStore(tmp_path),
        ingested_at=datetime(2026, 11, 5, 2, 0, tzinfo=UTC),
    )

    with KpiDuckDB.over_directory(tmp_path) as db:
        rows = db.run("rollback_rate", NOVEMBER)

    assert [(r["endpoint_name"], r["deployments"], r["rollbacks"]) for r in rows][-1] == (
        "(all endpoints)",
        4,
        1,
    )


def test_dashboard_renders_every_named_query(server_db, tmp_path):
    from driftloop.kpi.dashboard import render_dashboard

    results = server_db.run_all({**CHECKOUT, **NOVEMBER})
    page = render_dashboard(results, tmp_path / "kpi.html").read_text(encoding="utf-8")

    assert set(results) == set(load_queries())
    assert page.count("Plotly.newPlot(") == len(results)
    assert "churn-ep v2" in page


def test_escaped_partition_values_read_back_as_the_detail_type(tmp_path):
    odd_type = "Order/Placed: v=2 #1"
    body = json.dumps(
        {
            "version": "0", "id": "odd-1", "source": "acme.orders", "detail-type": odd_type,
            "time": "2026-11-03T08:00:00Z", "account": "1", "region": "eu-west-1", "resources": [],
            "detail": {"n": 1},
        }
    )  # fmt: skip
    ingest(
        [body],
        settings=KpiWriterSettings(KPI_BUCKET="local"),
        store=DirectoryCreateOnlyStore(tmp_path),
        ingested_at=datetime(2026, 11, 5, 2, 0, tzinfo=UTC),
    )

    with KpiDuckDB.over_directory(tmp_path) as db:
        rows = db.execute("SELECT detail_type, event_type FROM kpi_events")

    assert rows == [{"detail_type": odd_type, "event_type": odd_type}]


def test_the_local_tables_read_only_what_the_partition_projection_lists(tmp_path: Path) -> None:
    # Athena never reads partitions outside projection.event_type.values and projection.dt.range.
    today = datetime.now(UTC).date()
    stored = [
        ("Purchase", "2019-05-01"),
        ("Purchase", today.isoformat()),
        ("Purchase", (today + timedelta(days=1)).isoformat()),
        ("Purchase", (today + timedelta(days=2)).isoformat()),
        ("Refund", today.isoformat()),
    ]
    for event_type, dt in stored:
        folder = tmp_path / f"events/event_type={event_type}/dt={dt}/hour=10"
        folder.mkdir(parents=True)
        record = {
            "id": f"{event_type}-{dt}",
            "detail_type": event_type,
            "time": f"{dt}T10:00:00Z",
            "detail": "{}",
        }
        (folder / "a.json.gz").write_bytes(gzip.compress((json.dumps(record) + "\n").encode()))
    query = "SELECT event_type, dt FROM kpi_events_raw ORDER BY dt"

    with KpiDuckDB.over_directory(tmp_path) as everything:
        assert len(everything.execute(query)) == len(stored)
    with KpiDuckDB.over_directory(
        tmp_path, event_types=["Purchase", "Conversion"], dt_range="2020-01-01,NOW+1DAYS"
    ) as projected:
        assert [(row["event_type"], row["dt"]) for row in projected.execute(query)] == stored[1:3]


def test_an_empty_log_with_a_projection_reads_as_empty_tables(tmp_path: Path) -> None:
    with KpiDuckDB.over_directory(tmp_path, event_types=["Purchase"], dt_range="2020-01-01,NOW") as db:
        assert db.execute("SELECT count(*) AS n FROM kpi_events") == [{"n": 0}]
