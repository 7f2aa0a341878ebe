"""Outputs of a drift check as bytes/str/models: Model Monitor violations, JSON and HTML reports,
CloudWatch metric datapoints and the platform events. Nothing here writes anywhere."""

from __future__ import annotations

import html
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from driftloop.contracts.events import DriftCheckCompleted, DriftDetected, FeatureDrift, Severity
from driftloop.drift.decision import DriftResult, FeatureResult
from driftloop.drift.hysteresis import StateTransition

MODEL_MONITOR_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"


def constraint_violations_json(result: DriftResult) -> str:
    """``constraint_violations.json``: Model Monitor's fields plus the numbers (never only prose)."""
    violations = [v.model_dump(mode="json") for v in result.violations]
    return json.dumps({"violations": violations}, indent=2) + "\n"


def drift_report_json(result: DriftResult, **context: Any) -> str:
    """Every statistic of the check; ``context`` (window, endpoint, check id...) is added verbatim."""
    document = {"context": context, **result.model_dump(mode="json")}
    return json.dumps(document, indent=2, default=str) + "\n"


class MetricDatum(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    value: float
    unit: Literal["None", "Count", "Percent"] = "None"


def metric_datapoints(result: DriftResult) -> list[MetricDatum]:
    """Model-Monitor-style per-feature metrics plus dataset-level ones.

    ``feature_baseline_drift_<f>``: the deciding effect size; ``feature_non_null_<f>``: completeness;
    ``feature_data_<f>``: share of non-null values of the baseline's type.
    """
    if result.status == "skipped":
        return [MetricDatum(name="drift_check_skipped", value=1.0, unit="Count")]
    points: list[MetricDatum] = []
    for feature in result.features:
        if feature.status in ("missing_column", "ignored"):
            continue
        if feature.status == "checked":
            points.append(MetricDatum(name=f"feature_baseline_drift_{feature.name}", value=feature.effect))
        points.append(MetricDatum(name=f"feature_non_null_{feature.name}", value=feature.completeness))
        points.append(MetricDatum(name=f"feature_data_{feature.name}", value=1.0 - feature.type_error_share))
    points.extend(
        [
            MetricDatum(name="dataset_drift_share", value=result.drift_share),
            MetricDatum(name="drifted_features", value=float(len(result.drifted_features)), unit="Count"),
            MetricDatum(name="dataset_drift", value=1.0 if result.dataset_drift else 0.0),
            MetricDatum(name="rows_checked", value=float(result.rows), unit="Count"),
            MetricDatum(name="malformed_records", value=float(result.malformed_records), unit="Count"),
        ]
    )
    if result.prediction is not None and result.prediction.status == "checked":
        points.append(MetricDatum(name="prediction_drift", value=result.prediction.effect))
    if result.quality is not None:
        points.extend(
            MetricDatum(name=f"model_quality_{k}", value=v) for k, v in result.quality.metrics.items()
        )
    return points


def feature_drift(feature: FeatureResult) -> FeatureDrift:
    return FeatureDrift(
        name=feature.name,
        test=feature.test,
        statistic=feature.statistic,
        p_value=min(max(feature.p_value_adjusted, 0.0), 1.0),
        effect_metric=feature.effect_metric,
        effect=feature.effect,
        threshold=feature.threshold,
        critical=feature.critical,
    )


def build_events(
    result: DriftResult,
    *,
    environment: Literal["dev", "staging", "prod"],
    model_name: str,
    check_id: str,
    endpoint_name: str,
    window_start: datetime,
    window_end: datetime,
    report_uri: str | None,
    transition: StateTransition | None,
) -> tuple[DriftCheckCompleted, DriftDetected | None]:
    """DriftCheckCompleted always; DriftDetected only when the hysteresis transition says emit."""
    completed = DriftCheckCompleted(
        environment=environment,
        model_name=model_name,
        check_id=check_id,
        endpoint_name=endpoint_name,
        window_start=window_start,
        window_end=window_end,
        status=result.status,
        skip_reason=result.skip_reason,
        rows=result.rows,
        malformed_records=result.malformed_records,
        features_checked=result.features_checked,
        drifted_features=result.drifted_features,
        drift_share=result.drift_share,
        dataset_drift=result.dataset_drift,
        severity=Severity(result.severity),
        report_uri=report_uri,
    )
    if transition is None or not transition.emit_drift_detected:
        return completed, None
    drifted = [feature_drift(f) for f in result.features if f.drifted]
    if result.prediction is not None and result.prediction.drifted and not drifted:
        drifted.append(feature_drift(result.prediction))
    if not drifted:
        return completed, None
    if report_uri is None:
        raise ValueError("DriftDetected needs the report_uri: write the report before building events")
    detected = DriftDetected(
        environment=environment,
        model_name=model_name,
        check_id=check_id,
        endpoint_name=endpoint_name,
        window_start=window_start,
        window_end=window_end,
        severity=Severity(result.severity),
        drift_share=result.drift_share,
        consecutive_windows=max(transition.state.consecutive_drift_windows, 1),
        drifted_features=drifted,
        report_uri=report_uri,
    )
    return completed, detected


# --------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
.badge{display:inline-block;padding:.15rem .5rem;border-radius:.3rem;color:#fff;font-size:.85rem}
.none{background:#4a7}.low{background:#cb4}.medium{background:#e83}.high{background:#c33}.skip{background:#888}
table{border-collapse:collapse;font-size:.85rem}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.feature{border:1px solid #ddd;border-radius:.4rem;padding:.5rem 1rem;margin:1rem 0}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
"""


def drift_report_html(result: DriftResult, *, title: str = "driftloop drift report", **context: Any) -> str:
    """Self-contained HTML (inline CSS and SVG, no scripts)."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    if context:
        parts.append(
            "<p>"
            + " &middot; ".join(f"<b>{esc(str(k))}</b>: {esc(str(v))}" for k, v in context.items())
            + "</p>"
        )
    badge = "skip" if result.status == "skipped" else result.severity
    verdict = (
        "skipped"
        if result.status == "skipped"
        else ("dataset drift" if result.dataset_drift else "no dataset drift")
    )
    parts.append(
        f"<p><span class='badge {badge}'>{esc(verdict)} &middot; severity {esc(result.severity)}</span></p>"
    )
    parts.append(
        "<h2>Decision</h2><ul>" + "".join(f"<li>{esc(line)}</li>" for line in result.explanation) + "</ul>"
    )
    if result.violations:
        parts.append(
            "<h2>Constraint violations</h2><table><tr><th>feature</th><th>check</th><th>description</th></tr>"
        )
        parts.extend(
            f"<tr><td>{esc(v.feature_name)}</td><td>{esc(v.constraint_check_type)}</td>"
            f"<td style='text-align:left'>{esc(v.description)}</td></tr>"
            for v in result.violations
        )
        parts.append("</table>")
    if result.features:
        parts.append(_summary_table(result))
        parts.append(
            "<p class='legend'>Charts:<span style='background:#8aa'></span>baseline"
            "<span style='background:#e83'></span>current (share of rows per bin)</p>"
        )
        for feature in [*result.features, *([result.prediction] if result.prediction else [])]:
            parts.append(_feature_section(feature))
    parts.append("</body></html>")
    return "\n".join(parts)


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _summary_table(result: DriftResult) -> str:
    esc = html.escape
    rows = [
        "<h2>Features</h2><table><tr><th>feature</th><th>status</th><th>test</th><th>statistic</th>"
        "<th>p (adj.)</th><th>effect</th><th>value</th><th>threshold</th><th>completeness</th>"
        "<th>drifted</th><th>severity</th></tr>"
    ]
    for f in result.features:
        rows.append(
            f"<tr><td>{esc(f.name)}{' (critical)' if f.critical else ''}</td><td>{esc(f.status)}</td>"
            f"<td>{esc(f.test)}</td><td>{_fmt(f.statistic)}</td><td>{_fmt(f.p_value_adjusted)}</td>"
            f"<td>{esc(f.effect_metric)}</td><td>{_fmt(f.effect)}</td><td>{_fmt(f.threshold)}</td>"
            f"<td>{f.completeness:.2%}</td><td>{'yes' if f.drifted else 'no'}</td>"
            f"<td>{esc(f.severity)}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _feature_section(feature: FeatureResult) -> str:
    esc = html.escape
    head = f"<div class='feature'><h2>{esc(feature.name)} <span class='badge {feature.severity}'>"
    head += f"{'drifted' if feature.drifted else 'stable'}</span></h2>"
    if feature.status != "checked":
        return head + f"<p>Not tested: {esc(feature.status.replace('_', ' '))}.</p></div>"
    sentence = (
        f"{feature.test.upper()} statistic {_fmt(feature.statistic)}, adjusted p-value "
        f"{_fmt(feature.p_value_adjusted)} ({'significant' if feature.significant else 'not significant'}); "
        f"{feature.effect_metric} {_fmt(feature.effect)} against threshold {_fmt(feature.threshold)} "
        f"({'large enough to matter' if feature.practically_large else 'too small to matter'})."
    )
    extra = []
    if feature.kind == "numeric":
        extra.append(f"PSI {_fmt(feature.psi)}, W1/scale {_fmt(feature.wasserstein)}")
        extra.append(f"mean {_fmt(feature.baseline_mean)} &rarr; {_fmt(feature.current_mean)}")
    else:
        extra.append(
            f"Jensen-Shannon {_fmt(feature.jensen_shannon)}, unseen share {_fmt(feature.unseen_share)}"
        )
    chart = _svg_chart(feature) if feature.chart else ""
    return head + f"<p>{esc(sentence)}</p><p>{'; '.join(extra)}</p>{chart}</div>"


def _svg_chart(feature: FeatureResult) -> str:
    assert feature.chart is not None
    chart = feature.chart
    n = len(chart.labels)
    width, height, pad = 760, 180, 30
    top = max([*chart.baseline, *chart.current, 1e-9])
    slot = (width - 2 * pad) / max(n, 1)
    bar = slot * 0.4
    shapes = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height + 40}' role='img'>"]
    shapes.append(f"<line x1='{pad}' y1='{height}' x2='{width - pad}' y2='{height}' stroke='#999'/>")
    for i, (label, b, c) in enumerate(zip(chart.labels, chart.baseline, chart.current, strict=True)):
        x = pad + i * slot
        for offset, value, colour in ((0.1, b, "#8aa"), (0.5, c, "#e83")):
            h = (height - 10) * value / top
            shapes.append(
                f"<rect x='{x + slot * offset:.1f}' y='{height - h:.1f}' width='{bar:.1f}' height='{h:.1f}' "
                f"fill='{colour}'><title>{html.escape(label)}: {value:.2%}</title></rect>"
            )
        shapes.append(
            f"<text x='{x + slot / 2:.1f}' y='{height + 14}' font-size='9' text-anchor='middle'>"
            f"{html.escape(label[:14])}</text>"
        )
    shapes.append("</svg>")
    return "".join(shapes)
