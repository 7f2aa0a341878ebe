"""From a window summary to a drift decision (pure; no I/O).

Per feature: a test (KS for numerics on the baseline's fine bins, chi-square for categoricals) gives a
p-value; p-values are adjusted across features (Benjamini-Hochberg or Holm); an effect size
(normalised Wasserstein or PSI; Jensen-Shannon or unseen-category share) must also pass its threshold.
A feature drifts only when both hold, so huge windows do not flag noise and small ones do not flag
chance. The dataset drifts when the drifted share reaches ``dataset_drift_share`` or any critical
feature drifts.

KS approximation: D is the largest CDF gap over the fine bin edges (about 200 baseline quantiles). It
never exceeds the exact D and falls short by at most the larger of the two samples' masses in one bin
(about 0.5% of the baseline for 200 bins), which is what makes it exactly mergeable across shards.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from driftloop.drift import stats
from driftloop.drift.baseline import Baseline, CategoricalBaseline, NumericBaseline
from driftloop.drift.config import DriftConfig
from driftloop.drift.quality import degraded_metrics, quality_metrics
from driftloop.drift.summary import CategoricalSummary, NumericSummary, ShardSummary, SummaryError

SeverityLevel = Literal["none", "low", "medium", "high"]
CheckType = Literal[
    "data_type_check",
    "completeness_check",
    "baseline_drift_check",
    "missing_column_check",
    "extra_column_check",
    "categorical_values_check",
]
_SEVERITY_ORDER: dict[str, int] = {"none": 0, "low": 1, "medium": 2, "high": 3}
_CHART_CATEGORIES = 12


class ChartData(BaseModel):
    """Baseline vs current shares on coarse bins (numerics) or top categories, for the HTML report."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    labels: list[str]
    baseline: list[float]
    current: list[float]


class FeatureResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["numeric", "categorical"]
    critical: bool = False
    status: Literal["checked", "missing_column", "insufficient_data", "ignored"]
    rows: int = 0
    present: int = 0
    missing: int = 0
    type_errors: int = 0
    completeness: float = 1.0
    baseline_completeness: float = 1.0
    type_error_share: float = 0.0
    test: Literal["ks", "chi2"]
    statistic: float = 0.0
    p_value: float = 1.0
    p_value_adjusted: float = 1.0
    effect_metric: Literal["wasserstein", "psi", "jensen_shannon", "unseen_share"]
    effect: float = 0.0
    threshold: float
    ks_statistic: float | None = None
    wasserstein: float | None = Field(default=None, description="W1 / baseline scale.")
    wasserstein_raw: float | None = None
    psi: float | None = None
    chi2_statistic: float | None = None
    chi2_dof: int | None = None
    jensen_shannon: float | None = None
    unseen_share: float | None = None
    unseen_categories: list[str] = Field(default_factory=list)
    baseline_mean: float | None = None
    current_mean: float | None = None
    significant: bool = False
    practically_large: bool = False
    drifted: bool = False
    severity: SeverityLevel = "none"
    chart: ChartData | None = None


class Violation(BaseModel):
    """A Model Monitor constraint violation with the numbers behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feature_name: str
    constraint_check_type: CheckType
    description: str
    statistic: float | None = None
    threshold: float | None = None
    p_value: float | None = None
    effect: float | None = None


class QualityResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    problem_type: str
    rows: int
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    degraded: list[str]


class DriftResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Literal["completed", "skipped"]
    skip_reason: str | None = None
    baseline_fingerprint: str
    rows: int
    malformed_records: int = 0
    features: list[FeatureResult] = Field(default_factory=list)
    prediction: FeatureResult | None = None
    quality: QualityResult | None = None
    drifted_features: list[str] = Field(default_factory=list)
    critical_drifted: list[str] = Field(default_factory=list)
    features_checked: int = 0
    drift_share: float = 0.0
    dataset_drift: bool = False
    severity: SeverityLevel = "none"
    violations: list[Violation] = Field(default_factory=list)
    explanation: list[str] = Field(default_factory=list)
    config: DriftConfig


def decide(summary: ShardSummary, baseline: Baseline, config: DriftConfig | None = None) -> DriftResult:
    """Turn a (merged) window summary into a decision. Empty or small windows are skipped, not errors."""
    config = config or DriftConfig()
    if summary.baseline_fingerprint != baseline.fingerprint:
        raise SummaryError("summary was built against a different baseline")
    common = {
        "baseline_fingerprint": baseline.fingerprint,
        "rows": summary.rows,
        "malformed_records": summary.malformed_records,
        "config": config,
    }
    if summary.rows == 0:
        reason = "empty window: no rows" + (
            f" ({summary.malformed_records} malformed records)" if summary.malformed_records else ""
        )
        return DriftResult(
            status="skipped", skip_reason=reason, explanation=[_skip_sentence(reason)], **common
        )
    if summary.rows < config.min_rows:
        reason = f"too few rows: {summary.rows} < min_rows {config.min_rows}"
        return DriftResult(
            status="skipped", skip_reason=reason, explanation=[_skip_sentence(reason)], **common
        )

    raw = [_feature_stats(f, summary.features[f.name], summary.rows, config) for f in baseline.features]
    tested = [i for i, r in enumerate(raw) if r.status == "checked"]
    adjust = stats.benjamini_hochberg if config.correction == "benjamini_hochberg" else stats.holm
    adjusted = adjust([raw[i].p_value for i in tested])
    features = list(raw)
    for i, p_adj in zip(tested, adjusted, strict=True):
        features[i] = _finalise(raw[i], p_adj, config.alpha)

    prediction = None
    if baseline.prediction is not None and summary.prediction is not None:
        pred = _feature_stats(baseline.prediction, summary.prediction, summary.rows, config)
        prediction = _finalise(pred, pred.p_value, config.alpha) if pred.status == "checked" else pred

    quality = _quality(summary, baseline, config)
    drifted = [f.name for f in features if f.drifted]
    critical = [f.name for f in features if f.drifted and f.critical]
    if prediction is not None and prediction.drifted and config.prediction_drift_is_critical:
        critical.append(prediction.name)
    share = len(drifted) / len(tested) if tested else 0.0
    dataset_drift = bool(tested) and (share >= config.dataset_drift_share or bool(critical))
    severity = _overall_severity(features, prediction, quality, dataset_drift)
    violations = _violations(features, summary, config)
    result = DriftResult(
        status="completed",
        features=features,
        prediction=prediction,
        quality=quality,
        drifted_features=drifted,
        critical_drifted=critical,
        features_checked=len(tested),
        drift_share=share,
        dataset_drift=dataset_drift,
        severity=severity,
        violations=violations,
        **common,
    )
    return result.model_copy(update={"explanation": explain(result)})


def _skip_sentence(reason: str) -> str:
    return f"The check was skipped ({reason}); no drift decision was made for this window."


# --------------------------------------------------------------------------------------------------
# Per-feature statistics
# --------------------------------------------------------------------------------------------------


def _feature_stats(
    feature: NumericBaseline | CategoricalBaseline,
    current: NumericSummary | CategoricalSummary,
    rows: int,
    config: DriftConfig,
) -> FeatureResult:
    feature_config = config.for_feature(feature.name)
    numeric = isinstance(feature, NumericBaseline)
    column_rows = rows - current.absent
    present = current.present
    type_errors = current.type_errors if isinstance(current, NumericSummary) else 0
    non_null = present + type_errors
    base: dict[str, object] = {
        "name": feature.name,
        "kind": "numeric" if numeric else "categorical",
        "critical": feature_config.critical,
        "rows": column_rows,
        "present": present,
        "missing": current.missing,
        "type_errors": type_errors,
        "completeness": non_null / column_rows if column_rows else 0.0,
        "baseline_completeness": 1.0 - feature.missing_rate,
        "type_error_share": type_errors / non_null if non_null else 0.0,
        "test": "ks" if numeric else "chi2",
        "effect_metric": "wasserstein" if numeric else "jensen_shannon",
        "threshold": config.wasserstein_for(feature.name)
        if numeric
        else config.jensen_shannon_for(feature.name),
    }
    if feature_config.ignore:
        return FeatureResult(status="ignored", **base)
    if column_rows <= 0:
        return FeatureResult(status="missing_column", **base)
    if present < config.min_feature_rows or feature.present == 0:
        return FeatureResult(status="insufficient_data", **base)
    if isinstance(feature, NumericBaseline) and isinstance(current, NumericSummary):
        return _numeric_stats(feature, current, config, base)
    if isinstance(feature, CategoricalBaseline) and isinstance(current, CategoricalSummary):
        return _categorical_stats(feature, current, config, base)
    raise SummaryError(f"feature {feature.name!r}: summary kind does not match the baseline")


def _numeric_stats(
    feature: NumericBaseline, current: NumericSummary, config: DriftConfig, base: dict[str, object]
) -> FeatureResult:
    base_counts = np.asarray(feature.counts, dtype=np.float64)
    cur_counts = np.asarray(current.counts, dtype=np.float64)
    cdf_gap = np.abs(
        np.cumsum(base_counts)[:-1] / base_counts.sum() - np.cumsum(cur_counts)[:-1] / cur_counts.sum()
    )
    ks = float(cdf_gap.max()) if cdf_gap.size else 0.0
    p_value = stats.ks_two_sample_pvalue(ks, feature.present, current.present)
    low = min(feature.min, current.min if current.min is not None else feature.min)
    high = max(feature.max, current.max if current.max is not None else feature.max)
    w_raw = stats.binned_wasserstein(
        np.asarray(feature.edges, dtype=np.float64),
        base_counts,
        feature.sums,
        cur_counts,
        current.sums,
        low,
        high,
    )
    w_norm = w_raw / feature.scale
    groups = _coarse_groups(base_counts, config.psi_bins)
    base_coarse = np.bincount(groups, weights=base_counts)
    cur_coarse = np.bincount(groups, weights=cur_counts, minlength=base_coarse.size)
    psi = stats.population_stability_index(base_coarse, cur_coarse)
    w_threshold, psi_threshold = config.wasserstein_for(feature.name), config.psi_for(feature.name)
    use_psi = psi / psi_threshold > w_norm / w_threshold
    chart = ChartData(
        labels=_coarse_labels(feature.edges, groups, feature.min, feature.max),
        baseline=[float(v) for v in base_coarse / base_coarse.sum()],
        current=[float(v) for v in cur_coarse / max(cur_coarse.sum(), 1.0)],
    )
    return FeatureResult(
        status="checked",
        statistic=ks,
        p_value=p_value,
        p_value_adjusted=p_value,
        effect_metric="psi" if use_psi else "wasserstein",
        effect=psi if use_psi else w_norm,
        threshold=psi_threshold if use_psi else w_threshold,
        ks_statistic=ks,
        wasserstein=w_norm,
        wasserstein_raw=w_raw,
        psi=psi,
        baseline_mean=feature.mean,
        current_mean=current.total / current.present,
        chart=chart,
        **{k: v for k, v in base.items() if k not in ("threshold", "effect_metric")},
    )


def _coarse_groups(base_counts: npt.NDArray[np.float64], n_groups: int) -> npt.NDArray[np.intp]:
    """Fine bin -> coarse group of roughly equal baseline mass.

    Bins the baseline never saw (gaps between discrete values, the outer bins) join the group of the
    nearest populated bin below, so a coarse group never has zero baseline mass and PSI stays finite
    when values land between the baseline's discrete values.
    """
    share = base_counts / base_counts.sum()
    middle = np.cumsum(share) - share / 2.0
    groups = np.minimum((middle * n_groups).astype(np.intp), n_groups - 1)
    populated = np.flatnonzero(base_counts > 0)
    if populated.size == 0:
        return np.zeros(base_counts.size, dtype=np.intp)
    nearest_below = np.maximum(np.searchsorted(populated, np.arange(base_counts.size), side="right") - 1, 0)
    groups = groups[populated[nearest_below]]
    _, dense = np.unique(groups, return_inverse=True)
    return dense.astype(np.intp)


def _coarse_labels(edges: list[float], groups: npt.NDArray[np.intp], low: float, high: float) -> list[str]:
    bounds = [low, *edges, high]
    labels = []
    for group in range(int(groups.max()) + 1):
        members = np.flatnonzero(groups == group)
        if members.size == 0:
            labels.append("")
            continue
        labels.append(f"{_short(bounds[members[0]])}..{_short(bounds[members[-1] + 1])}")
    return labels


def _short(value: float) -> str:
    return f"{value:.3g}"


def _categorical_stats(
    feature: CategoricalBaseline, current: CategoricalSummary, config: DriftConfig, base: dict[str, object]
) -> FeatureResult:
    categories = list(feature.counts)
    unseen = sorted((k for k in current.counts if k not in feature.counts), key=lambda k: -current.counts[k])
    all_categories = categories + unseen
    base_vec = np.asarray([feature.counts.get(k, 0) for k in all_categories], dtype=np.float64)
    cur_vec = np.asarray([current.counts.get(k, 0) for k in all_categories], dtype=np.float64)
    chi2, p_value, dof = stats.chi2_homogeneity(base_vec, cur_vec)
    js = stats.jensen_shannon_distance(base_vec, cur_vec)
    unseen_count = float(sum(current.counts[k] for k in unseen))
    unseen_share = unseen_count / current.present if current.present else 0.0
    js_threshold = config.jensen_shannon_for(feature.name)
    unseen_threshold = config.unseen_share_for(feature.name)
    unseen_ratio = (
        unseen_share / unseen_threshold if unseen_threshold > 0 else (np.inf if unseen_share else 0.0)
    )
    use_unseen = unseen_ratio > js / js_threshold
    order = np.argsort(-(base_vec / base_vec.sum() + cur_vec / cur_vec.sum()), kind="stable")
    top = order[:_CHART_CATEGORIES]
    rest = order[_CHART_CATEGORIES:]
    labels = [all_categories[i] for i in top] + (["(other)"] if rest.size else [])
    base_share = [float(base_vec[i] / base_vec.sum()) for i in top] + (
        [float(base_vec[rest].sum() / base_vec.sum())] if rest.size else []
    )
    cur_share = [float(cur_vec[i] / cur_vec.sum()) for i in top] + (
        [float(cur_vec[rest].sum() / cur_vec.sum())] if rest.size else []
    )
    return FeatureResult(
        status="checked",
        statistic=chi2,
        p_value=p_value,
        p_value_adjusted=p_value,
        effect_metric="unseen_share" if use_unseen else "jensen_shannon",
        effect=unseen_share if use_unseen else js,
        threshold=unseen_threshold if use_unseen else js_threshold,
        chi2_statistic=chi2,
        chi2_dof=dof,
        jensen_shannon=js,
        unseen_share=unseen_share,
        unseen_categories=unseen[:20],
        chart=ChartData(labels=labels, baseline=base_share, current=cur_share),
        **{k: v for k, v in base.items() if k not in ("threshold", "effect_metric")},
    )


def _finalise(result: FeatureResult, p_adjusted: float, alpha: float) -> FeatureResult:
    significant = p_adjusted < alpha
    large = result.effect >= result.threshold
    drifted = significant and large
    return result.model_copy(
        update={
            "p_value_adjusted": p_adjusted,
            "significant": significant,
            "practically_large": large,
            "drifted": drifted,
            "severity": _severity(result.effect / result.threshold) if drifted else "none",
        }
    )


def _severity(ratio: float) -> SeverityLevel:
    """How far past its threshold the effect is: < 2x low, < 4x medium, else high."""
    if ratio < 2.0:
        return "low"
    if ratio < 4.0:
        return "medium"
    return "high"


def _quality(summary: ShardSummary, baseline: Baseline, config: DriftConfig) -> QualityResult | None:
    if summary.quality is None or summary.quality.rows == 0:
        return None
    metrics = quality_metrics(summary.quality, baseline.target_spec)
    return QualityResult(
        problem_type=summary.quality.problem_type,
        rows=summary.quality.rows,
        metrics=metrics,
        baseline_metrics=dict(baseline.quality_metrics),
        degraded=degraded_metrics(metrics, baseline.quality_metrics, config.quality_tolerance),
    )


def _overall_severity(
    features: list[FeatureResult],
    prediction: FeatureResult | None,
    quality: QualityResult | None,
    dataset_drift: bool,
) -> SeverityLevel:
    levels = [f.severity for f in features if f.drifted]
    if prediction is not None and prediction.drifted:
        levels.append(prediction.severity)
    if quality is not None and quality.degraded:
        levels.append("medium")
    if not levels:
        return "none"
    worst = max(levels, key=lambda level: _SEVERITY_ORDER[level])
    if not dataset_drift and worst != "none":
        return "low"
    return worst


# --------------------------------------------------------------------------------------------------
# Violations and explanation
# --------------------------------------------------------------------------------------------------


def _violations(features: list[FeatureResult], summary: ShardSummary, config: DriftConfig) -> list[Violation]:
    out: list[Violation] = []
    for f in features:
        if f.status == "missing_column":
            out.append(
                Violation(
                    feature_name=f.name,
                    constraint_check_type="missing_column_check",
                    description=f"Column {f.name} from the baseline is missing in the current data.",
                )
            )
            continue
        if f.status == "ignored" or f.rows == 0:
            continue
        if f.type_error_share > config.type_violation_threshold:
            out.append(
                Violation(
                    feature_name=f.name,
                    constraint_check_type="data_type_check",
                    description=(
                        f"{f.type_errors} of {f.present + f.type_errors} values of numeric feature {f.name} "
                        f"are not numbers ({f.type_error_share:.2%} > {config.type_violation_threshold:.2%})."
                    ),
                    statistic=f.type_error_share,
                    threshold=config.type_violation_threshold,
                )
            )
        floor = f.baseline_completeness - config.completeness_tolerance
        if f.completeness < floor:
            out.append(
                Violation(
                    feature_name=f.name,
                    constraint_check_type="completeness_check",
                    description=(
                        f"Completeness of {f.name} is {f.completeness:.2%}, below the baseline's "
                        f"{f.baseline_completeness:.2%} minus tolerance {config.completeness_tolerance:.2%}."
                    ),
                    statistic=f.completeness,
                    threshold=floor,
                    effect=f.baseline_completeness - f.completeness,
                )
            )
        unseen_threshold = config.unseen_share_for(f.name)
        if f.unseen_share is not None and f.unseen_share > unseen_threshold:
            out.append(
                Violation(
                    feature_name=f.name,
                    constraint_check_type="categorical_values_check",
                    description=(
                        f"{f.unseen_share:.2%} of {f.name} values are categories not seen in the baseline "
                        f"(threshold {unseen_threshold:.2%}), e.g. {', '.join(f.unseen_categories[:5])}."
                    ),
                    statistic=f.unseen_share,
                    threshold=unseen_threshold,
                    effect=f.unseen_share,
                )
            )
        if f.drifted:
            out.append(
                Violation(
                    feature_name=f.name,
                    constraint_check_type="baseline_drift_check",
                    description=(
                        f"{f.name} drifted: {f.test} statistic {f.statistic:.4g} "
                        f"(adjusted p={f.p_value_adjusted:.3g}), "
                        f"{f.effect_metric} {f.effect:.4g} >= threshold {f.threshold:.4g}."
                    ),
                    statistic=f.statistic,
                    threshold=f.threshold,
                    p_value=f.p_value_adjusted,
                    effect=f.effect,
                )
            )
    for column in summary.extra_columns:
        out.append(
            Violation(
                feature_name=column,
                constraint_check_type="extra_column_check",
                description=f"Column {column} is in the current data but not in the baseline.",
            )
        )
    return out


def explain(result: DriftResult) -> list[str]:
    """Plain-language account of the decision, one sentence per point."""
    if result.status == "skipped":
        return [_skip_sentence(result.skip_reason or "unknown reason")]
    config = result.config
    correction = "Benjamini-Hochberg" if config.correction == "benjamini_hochberg" else "Holm"
    lines = [
        f"{result.rows} rows were compared with the baseline on {result.features_checked} features.",
        (
            f"A feature counts as drifted only if its test stays significant after the {correction} "
            f"correction (adjusted p < {config.alpha}) and its effect size reaches its threshold."
        ),
    ]
    if result.drifted_features:
        lines.append(
            f"{len(result.drifted_features)} of {result.features_checked} features drifted "
            f"({result.drift_share:.0%}): {', '.join(result.drifted_features)}."
        )
    else:
        lines.append("No feature drifted.")
    noisy = [f.name for f in result.features if f.significant and not f.practically_large]
    if noisy:
        lines.append(
            "Statistically significant but too small to matter (below the effect threshold): "
            + ", ".join(noisy)
            + "."
        )
    if result.dataset_drift:
        why = (
            f"critical feature(s) {', '.join(result.critical_drifted)} drifted"
            if result.critical_drifted
            else f"the drifted share {result.drift_share:.0%} reaches {config.dataset_drift_share:.0%}"
        )
        lines.append(f"Dataset drift: yes, because {why}. Severity: {result.severity}.")
    else:
        lines.append(
            f"Dataset drift: no (drifted share {result.drift_share:.0%} < {config.dataset_drift_share:.0%} "
            "and no critical feature drifted)."
        )
    if result.prediction is not None and result.prediction.status == "checked":
        p = result.prediction
        lines.append(
            f"Prediction drift on {p.name}: {'yes' if p.drifted else 'no'} "
            f"({p.effect_metric} {p.effect:.3g}, threshold {p.threshold:.3g}, p={p.p_value:.3g})."
        )
    if result.quality is not None:
        q = result.quality
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in q.metrics.items())
        degraded = f" Degraded vs baseline: {', '.join(q.degraded)}." if q.degraded else ""
        lines.append(f"Model quality on {q.rows} labelled rows: {metrics}.{degraded}")
    if result.malformed_records:
        lines.append(f"{result.malformed_records} malformed capture records were skipped.")
    return lines
