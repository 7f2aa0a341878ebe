"""Drift detection engine: pure statistics and decisions over mergeable window summaries.

Typical flow (a Lambda handler or the CLI)::

    baseline = load_baseline(statistics_bytes, constraints_bytes, sidecar_bytes)
    schema = CaptureSchema.from_baseline(baseline)
    shards = [summarize_capture(filter_window(parse_capture(obj, schema), start, end), baseline) ...]
    result = decide(merge(shards), baseline, config)
    transition = advance(previous_state, result, now)
    constraint_violations_json(result), drift_report_json(result), drift_report_html(result)
    metric_datapoints(result); build_events(result, ..., transition=transition)
"""

from driftloop.drift.baseline import (
    Baseline,
    BaselineError,
    CategoricalBaseline,
    NumericBaseline,
    TargetSpec,
    baseline_files,
    build_baseline,
    from_model_monitor,
    load_baseline,
)
from driftloop.drift.capture import (
    CaptureBatch,
    CaptureSchema,
    GroundTruth,
    concat_batches,
    filter_window,
    hour_prefixes,
    join_ground_truth,
    parse_capture,
    parse_ground_truth,
)
from driftloop.drift.config import DriftConfig, FeatureConfig, HysteresisConfig
from driftloop.drift.decision import DriftResult, FeatureResult, QualityResult, Violation, decide
from driftloop.drift.hysteresis import DriftState, StateTransition, advance, record_retraining
from driftloop.drift.report import (
    MetricDatum,
    build_events,
    constraint_violations_json,
    drift_report_html,
    drift_report_json,
    metric_datapoints,
)
from driftloop.drift.summary import ShardSummary, SummaryError, merge, summarize, summarize_capture

__all__ = [
    "Baseline",
    "BaselineError",
    "CaptureBatch",
    "CaptureSchema",
    "CategoricalBaseline",
    "DriftConfig",
    "DriftResult",
    "DriftState",
    "FeatureConfig",
    "FeatureResult",
    "GroundTruth",
    "HysteresisConfig",
    "MetricDatum",
    "NumericBaseline",
    "QualityResult",
    "ShardSummary",
    "StateTransition",
    "SummaryError",
    "TargetSpec",
    "Violation",
    "advance",
    "baseline_files",
    "build_baseline",
    "build_events",
    "concat_batches",
    "constraint_violations_json",
    "decide",
    "drift_report_html",
    "drift_report_json",
    "filter_window",
    "from_model_monitor",
    "hour_prefixes",
    "join_ground_truth",
    "load_baseline",
    "merge",
    "metric_datapoints",
    "parse_capture",
    "parse_ground_truth",
    "record_retraining",
    "summarize",
    "summarize_capture",
]
