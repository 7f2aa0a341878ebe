from __future__ import annotations

import re
from datetime import UTC, datetime

from driftloop.kpi.dashboard import render_dashboard

RESULTS = {
    "events_per_type_per_day": [
        {"day": "2026-11-02", "source": "driftloop", "detail_type": "DriftDetected", "events": 2},
        {"day": "2026-11-02", "source": "acme.checkout", "detail_type": "Conversion", "events": 3},
    ],
    "rollback_rate": [
        {"endpoint_name": "churn-ep", "deployments": 3, "rollbacks": 1, "rollback_rate": 1 / 3},
        {"endpoint_name": "(all endpoints)", "deployments": 3, "rollbacks": 1, "rollback_rate": 1 / 3},
    ],
    "retraining_lead_time": [
        {"endpoint_name": "churn-ep", "model_name": "churn", "check_id": "c", "severity": "high",
         "detected_at": "2026-11-02T10:00:00Z", "deployment_id": None, "model_version": None,
         "deployed_at": None, "lead_time_hours": None},
    ],
    "challenger_win_rate": [],
    "ad_hoc_<query>": [{"value": "<b>not html</b>"}],
}  # fmt: skip


def test_dashboard_is_one_offline_page_with_a_chart_and_table_per_query(tmp_path):
    out = render_dashboard(
        RESULTS, tmp_path / "out" / "kpi.html", generated_at=datetime(2026, 11, 26, tzinfo=UTC)
    )

    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "Generated 2026-11-26T00:00:00+00:00 from 5 named queries" in page
    # plotly.js is inline, nothing is fetched from a CDN
    assert len(page) > 1_000_000
    assert not re.search(r"<script[^>]+src=", page)
    # a chart per non-empty known query, tables for every query, values escaped
    assert page.count("Plotly.newPlot(") == 3
    assert "<td>0.3333</td>" in page
    assert "No rows." in page
    assert "&lt;b&gt;not html&lt;/b&gt;" in page
    assert "<b>not html</b>" not in page
    assert "Rollback rate per endpoint and overall" in page  # the query's description
