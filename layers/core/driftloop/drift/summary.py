"""Mergeable per-shard summaries.

Every numeric feature is histogrammed on the baseline's fixed bins (counts and per-bin value sums),
so summaries of disjoint shards add up exactly: ``decide(merge([summarize(a), summarize(b)]))`` equals
``decide(summarize(a + b))`` (counts exactly; float sums up to rounding).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from driftloop.drift.baseline import Baseline, CategoricalBaseline, NumericBaseline
from driftloop.drift.capture import CaptureBatch
from driftloop.drift.columns import binner_for, coerce_numeric, count_categories
from driftloop.drift.quality import QualitySummary, summarize_quality

ColumnValues = npt.ArrayLike | Sequence[Any]
Columns = Mapping[str, ColumnValues]


class SummaryError(ValueError):
    """Summaries cannot be merged or do not belong to the baseline."""


class NumericSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["numeric"] = "numeric"
    counts: list[int]
    sums: list[float]
    present: int = 0
    missing: int = 0
    type_errors: int = 0
    absent: int = Field(default=0, description="Rows of shards where the column did not exist.")
    total: float = 0.0
    min: float | None = None
    max: float | None = None


class CategoricalSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["categorical"] = "categorical"
    counts: dict[str, int] = Field(default_factory=dict)
    present: int = 0
    missing: int = 0
    absent: int = 0


FeatureSummary = Annotated[NumericSummary | CategoricalSummary, Field(discriminator="kind")]


class ShardSummary(BaseModel):
    """Everything ``decide`` needs from a window, JSON-serialisable and additive."""

    model_config = ConfigDict(extra="forbid")

    baseline_fingerprint: str
    rows: int = 0
    malformed_records: int = 0
    features: dict[str, FeatureSummary]
    prediction: FeatureSummary | None = None
    extra_columns: list[str] = Field(default_factory=list)
    quality: QualitySummary | None = None


def _length(values: ColumnValues) -> int:
    if isinstance(values, np.ndarray):
        return int(values.shape[0]) if values.ndim else 1
    return len(values)  # type: ignore[arg-type]


def summarize(
    shard_columns: Columns, baseline: Baseline, *, malformed_records: int = 0, rows: int | None = None
) -> ShardSummary:
    """Summarise one shard's columns against the baseline's bins.

    ``shard_columns`` maps column name to values (numpy arrays or sequences of str/number/None); the
    prediction and target columns are recognised by the baseline's target spec. ``rows`` defaults to
    the longest column's length (columns absent from the shard count as absent rows).
    """
    lengths = [_length(v) for v in shard_columns.values()]
    row_count = rows if rows is not None else (max(lengths) if lengths else 0)
    spec = baseline.target_spec
    features: dict[str, NumericSummary | CategoricalSummary] = {}
    for feature in baseline.features:
        values = shard_columns.get(feature.name)
        features[feature.name] = _summarize_feature(feature, values, row_count)
    prediction = None
    if baseline.prediction is not None:
        prediction = _summarize_feature(baseline.prediction, shard_columns.get(spec.prediction), row_count)
    known = set(baseline.feature_names) | {spec.prediction} | ({spec.target} if spec.target else set())
    extra = sorted(name for name in shard_columns if name not in known)
    quality = None
    if (
        spec.target
        and spec.problem_type
        and spec.target in shard_columns
        and spec.prediction in shard_columns
    ):
        quality = summarize_quality(shard_columns[spec.target], shard_columns[spec.prediction], spec)
    return ShardSummary(
        baseline_fingerprint=baseline.fingerprint,
        rows=row_count,
        malformed_records=malformed_records,
        features=features,
        prediction=prediction,
        extra_columns=extra,
        quality=quality,
    )


def summarize_capture(batch: CaptureBatch, baseline: Baseline) -> ShardSummary:
    """``summarize`` for a parsed (and optionally window-filtered, label-joined) capture batch."""
    return summarize(batch.columns, baseline, malformed_records=batch.malformed_records, rows=batch.rows)


def _summarize_feature(
    feature: NumericBaseline | CategoricalBaseline, values: ColumnValues | None, rows: int
) -> NumericSummary | CategoricalSummary:
    if isinstance(feature, NumericBaseline):
        n_bins = len(feature.edges) + 1
        if values is None:
            return NumericSummary(counts=[0] * n_bins, sums=[0.0] * n_bins, absent=rows)
        floats, missing, type_errors = coerce_numeric(values)
        # a finite sum means no NaN or inf: one pass instead of an isfinite mask on clean data
        finite = floats if math.isfinite(float(floats.sum())) else floats[np.isfinite(floats)]
        infinite = int(np.count_nonzero(np.isinf(floats))) if finite.size != floats.size else 0
        counts, sums = binner_for(tuple(feature.edges)).histogram(finite, assume_finite=True)
        return NumericSummary(
            counts=counts,
            sums=sums,
            present=int(finite.size),
            missing=missing,
            type_errors=type_errors + infinite,
            total=math.fsum(sums),
            min=float(finite.min()) if finite.size else None,
            max=float(finite.max()) if finite.size else None,
        )
    if values is None:
        return CategoricalSummary(absent=rows)
    counts_by_category, missing = count_categories(values, known=list(feature.counts))
    return CategoricalSummary(
        counts=counts_by_category, present=sum(counts_by_category.values()), missing=missing
    )


def merge(summaries: Sequence[ShardSummary]) -> ShardSummary:
    """Add shard summaries of the same baseline."""
    if not summaries:
        raise SummaryError("nothing to merge")
    fingerprints = {s.baseline_fingerprint for s in summaries}
    if len(fingerprints) != 1:
        raise SummaryError(f"summaries come from different baselines: {sorted(fingerprints)}")
    first = summaries[0]
    features = {name: _merge_features([s.features[name] for s in summaries]) for name in first.features}
    predictions = [s.prediction for s in summaries if s.prediction is not None]
    qualities = [s.quality for s in summaries if s.quality is not None]
    quality = None
    for item in qualities:
        quality = item if quality is None else quality.merged(item)
    return ShardSummary(
        baseline_fingerprint=first.baseline_fingerprint,
        rows=sum(s.rows for s in summaries),
        malformed_records=sum(s.malformed_records for s in summaries),
        features=features,
        prediction=_merge_features(predictions) if predictions else None,
        extra_columns=sorted({c for s in summaries for c in s.extra_columns}),
        quality=quality,
    )


def _merge_features(
    parts: Sequence[NumericSummary | CategoricalSummary],
) -> NumericSummary | CategoricalSummary:
    if all(isinstance(p, NumericSummary) for p in parts):
        numeric = [p for p in parts if isinstance(p, NumericSummary)]
        mins = [p.min for p in numeric if p.min is not None]
        maxs = [p.max for p in numeric if p.max is not None]
        return NumericSummary(
            counts=[sum(c) for c in zip(*(p.counts for p in numeric), strict=True)],
            sums=[math.fsum(s) for s in zip(*(p.sums for p in numeric), strict=True)],
            present=sum(p.present for p in numeric),
            missing=sum(p.missing for p in numeric),
            type_errors=sum(p.type_errors for p in numeric),
            absent=sum(p.absent for p in numeric),
            total=math.fsum(p.total for p in numeric),
            min=min(mins) if mins else None,
            max=max(maxs) if maxs else None,
        )
    if all(isinstance(p, CategoricalSummary) for p in parts):
        counts: dict[str, int] = {}
        categorical = [p for p in parts if isinstance(p, CategoricalSummary)]
        for part in categorical:
            for key, value in part.counts.items():
                counts[key] = counts.get(key, 0) + value
        return CategoricalSummary(
            counts=counts,
            present=sum(p.present for p in categorical),
            missing=sum(p.missing for p in categorical),
            absent=sum(p.absent for p in categorical),
        )
    raise SummaryError("cannot merge numeric and categorical summaries of one feature")
