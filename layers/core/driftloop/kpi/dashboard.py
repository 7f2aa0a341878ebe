"""One static HTML page of the KPI named-query results, with plotly charts that work offline.

Dev/local only: plotly is imported lazily. plotly.js is embedded once, inline, so the page needs no
network. Input is what ``KpiDuckDB.run_all`` (or an Athena result reader) returns: rows by query name.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftloop.kpi.queries import load_queries

Rows = Sequence[Mapping[str, Any]]


def _label(*parts: object) -> str:
    return " ".join("-" if part is None else str(part) for part in parts)


def _events_per_type(go: Any, rows: Rows) -> Any:
    figure = go.Figure()
    for detail_type in sorted({_label(r["source"], r["detail_type"]) for r in rows}):
        series = [r for r in rows if _label(r["source"], r["detail_type"]) == detail_type]
        figure.add_bar(x=[r["day"] for r in series], y=[r["events"] for r in series], name=detail_type)
    figure.update_layout(barmode="stack", yaxis_title="events", xaxis_title="day (UTC)")
    return figure


def _business_kpi(go: Any, rows: Rows) -> Any:
    labels = [
        _label(r["endpoint_name"], "v" if r["model_version"] is None else f"v{r['model_version']}")
        for r in rows
    ]
    figure = go.Figure()
    figure.add_bar(x=labels, y=[r["revenue"] for r in rows], name="revenue")
    figure.add_scatter(
        x=labels,
        y=[r["conversion_rate"] for r in rows],
        name="conversion rate",
        yaxis="y2",
        mode="markers+lines",
    )
    figure.update_layout(
        yaxis={"title": "revenue"},
        yaxis2={"title": "conversion rate", "overlaying": "y", "side": "right", "range": [0, 1]},
    )
    return figure


def _drift_checks(go: Any, rows: Rows) -> Any:
    figure = go.Figure()
    for endpoint in sorted({str(r["endpoint_name"]) for r in rows}):
        series = [r for r in rows if str(r["endpoint_name"]) == endpoint]
        days = [r["day"] for r in series]
        figure.add_scatter(x=days, y=[r["mean_drift_share"] for r in series], name=f"{endpoint} drift share")
        figure.add_bar(x=days, y=[r["detections"] for r in series], name=f"{endpoint} detections", yaxis="y2")
    figure.update_layout(
        yaxis={"title": "mean drift share", "range": [0, 1]},
        yaxis2={"title": "detections", "overlaying": "y", "side": "right"},
    )
    return figure


def _lead_time(go: Any, rows: Rows) -> Any:
    figure = go.Figure()
    figure.add_bar(
        x=[_label(r["endpoint_name"], r["detected_at"]) for r in rows],
        y=[r["lead_time_hours"] for r in rows],
        text=["pending" if r["lead_time_hours"] is None else f"v{r['model_version']}" for r in rows],
        name="hours to next deployment",
    )
    figure.update_layout(yaxis_title="hours from DriftDetected to ModelDeployed")
    return figure


def _rate(label_keys: tuple[str, ...], value_key: str, axis_title: str) -> Callable[[Any, Rows], Any]:
    def chart(go: Any, rows: Rows) -> Any:
        figure = go.Figure()
        figure.add_bar(x=[_label(*(r[k] for k in label_keys)) for r in rows], y=[r[value_key] for r in rows])
        figure.update_layout(yaxis={"title": axis_title, "range": [0, 1]})
        return figure

    return chart


CHARTS: dict[str, Callable[[Any, Rows], Any]] = {
    "events_per_type_per_day": _events_per_type,
    "business_kpi_per_model_version": _business_kpi,
    "drift_checks_over_time": _drift_checks,
    "retraining_lead_time": _lead_time,
    "rollback_rate": _rate(("endpoint_name",), "rollback_rate", "rollback rate"),
    "challenger_win_rate": _rate(("model_name", "metric_name"), "win_rate", "challenger win rate"),
}


def _table(rows: Rows) -> str:
    if not rows:
        return "<p class='empty'>No rows.</p>"
    columns = list(rows[0])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(row.get(c)))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
section {{ margin-bottom: 3rem; }} .description {{ color: #555; }} .empty {{ color: #888; }}
table {{ border-collapse: collapse; font-size: 0.85rem; }}
th, td {{ border: 1px solid #ccc; padding: 2px 6px; }}
</style>
<script type="text/javascript">{plotly_js}</script>
</head><body>
<h1>{title}</h1><p class="description">Generated {generated_at} from {query_count} named queries.</p>
{sections}
</body></html>
"""


def render_dashboard(
    results: Mapping[str, Rows],
    out_path: Path,
    *,
    title: str = "driftloop KPIs",
    generated_at: datetime | None = None,
) -> Path:
    """Write one self-contained HTML page: per query, its description, a chart and the rows."""
    import plotly.graph_objects as go  # dev/local only
    from plotly.offline import get_plotlyjs

    descriptions = {name: query.description for name, query in load_queries().items()}
    sections = []
    for name, rows in results.items():
        chart = ""
        if rows and name in CHARTS:
            figure = CHARTS[name](go, rows)
            figure.update_layout(title=name, height=420, margin={"t": 50, "b": 40})
            chart = figure.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})
        description = html.escape(descriptions.get(name, ""))
        sections.append(
            f"<section id='{html.escape(name)}'><h2>{html.escape(name)}</h2>"
            f"<p class='description'>{description}</p>{chart}{_table(rows)}</section>"
        )
    page = _PAGE.format(
        title=html.escape(title),
        plotly_js=get_plotlyjs(),
        generated_at=(generated_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        query_count=len(results),
        sections="\n".join(sections),
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(page, encoding="utf-8")
    return out_path
