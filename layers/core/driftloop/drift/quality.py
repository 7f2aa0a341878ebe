"""Model quality from joined labels and predictions, as a mergeable summary.

Classification keeps a confusion table and, for numeric scores, per-class score histograms on 100
fixed bins of [0, 1] so AUC is mergeable across shards (trapezoid AUC on the binned ROC curve).
Regression keeps error sums. Metrics are computed from the summary only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from driftloop.drift.columns import category_key, coerce_numeric

if TYPE_CHECKING:
    from driftloop.drift.baseline import TargetSpec

SCORE_BINS = 100
LOWER_IS_BETTER = frozenset({"rmse", "mae"})


class QualitySummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    problem_type: str
    rows: int = 0
    confusion: dict[str, int] = Field(default_factory=dict, description='"label\\u001fpredicted" -> count')
    positive_scores: list[int] = Field(default_factory=list)
    negative_scores: list[int] = Field(default_factory=list)
    abs_error_sum: float = 0.0
    sq_error_sum: float = 0.0

    def merged(self, other: QualitySummary) -> QualitySummary:
        confusion = dict(self.confusion)
        for key, value in other.confusion.items():
            confusion[key] = confusion.get(key, 0) + value
        return QualitySummary(
            problem_type=self.problem_type,
            rows=self.rows + other.rows,
            confusion=confusion,
            positive_scores=_add_lists(self.positive_scores, other.positive_scores),
            negative_scores=_add_lists(self.negative_scores, other.negative_scores),
            abs_error_sum=self.abs_error_sum + other.abs_error_sum,
            sq_error_sum=self.sq_error_sum + other.sq_error_sum,
        )


def _add_lists(a: list[int], b: list[int]) -> list[int]:
    if not a:
        return list(b)
    if not b:
        return list(a)
    return [x + y for x, y in zip(a, b, strict=True)]


_SEP = "\u001f"


def summarize_quality(
    labels: npt.ArrayLike | Sequence[Any], predictions: npt.ArrayLike | Sequence[Any], spec: TargetSpec
) -> QualitySummary:
    """Summarise rows where both the label and the prediction are present."""
    problem = spec.problem_type or "regression"
    if problem == "regression":
        y, _, _ = coerce_numeric(labels)
        p, _, _ = coerce_numeric(predictions)
        ok = np.isfinite(y) & np.isfinite(p)
        err = p[ok] - y[ok]
        return QualitySummary(
            problem_type=problem,
            rows=int(ok.sum()),
            abs_error_sum=float(np.abs(err).sum()),
            sq_error_sum=float((err * err).sum()),
        )
    label_keys = [category_key(v) for v in np.asarray(labels, dtype=object).ravel().tolist()]
    raw_predictions = np.asarray(predictions, dtype=object).ravel().tolist()
    scores, _, _ = coerce_numeric(raw_predictions)
    binary_scores = problem == "binary_classification" and bool(
        np.isfinite(scores).any() and np.nanmin(scores) >= 0.0 and np.nanmax(scores) <= 1.0
    )
    positives = np.zeros(SCORE_BINS, dtype=np.int64)
    negatives = np.zeros(SCORE_BINS, dtype=np.int64)
    confusion: dict[str, int] = {}
    rows = 0
    binary = problem == "binary_classification"
    negative = f"not {spec.positive_label}"
    for label, raw, score in zip(label_keys, raw_predictions, scores.tolist(), strict=True):
        if label is None:
            continue
        if binary_scores and math.isfinite(score):
            predicted = spec.positive_label if score >= spec.score_threshold else negative
            bin_index = min(int(score * SCORE_BINS), SCORE_BINS - 1)
            (positives if label == spec.positive_label else negatives)[bin_index] += 1
        else:
            key = category_key(raw)
            if key is None:
                continue
            predicted = key
        if binary:  # binary problems compare "positive or not", whatever the negative class is called
            label = spec.positive_label if label == spec.positive_label else negative
            predicted = spec.positive_label if predicted == spec.positive_label else negative
        rows += 1
        confusion_key = f"{label}{_SEP}{predicted}"
        confusion[confusion_key] = confusion.get(confusion_key, 0) + 1
    return QualitySummary(
        problem_type=problem,
        rows=rows,
        confusion=confusion,
        positive_scores=[int(v) for v in positives] if binary_scores else [],
        negative_scores=[int(v) for v in negatives] if binary_scores else [],
    )


def quality_metrics(summary: QualitySummary, spec: TargetSpec) -> dict[str, float]:
    """accuracy/f1(/auc) for classification, rmse/mae for regression; empty when no rows."""
    if summary.rows == 0:
        return {}
    if summary.problem_type == "regression":
        return {
            "rmse": math.sqrt(summary.sq_error_sum / summary.rows),
            "mae": summary.abs_error_sum / summary.rows,
        }
    pairs = {tuple(k.split(_SEP, 1)): v for k, v in summary.confusion.items()}
    correct = sum(v for (label, predicted), v in pairs.items() if label == predicted)
    metrics = {"accuracy": correct / summary.rows}
    if summary.problem_type == "binary_classification":
        metrics["f1"] = _f1(pairs, spec.positive_label)
        if summary.positive_scores and sum(summary.positive_scores) and sum(summary.negative_scores):
            metrics["auc"] = _binned_auc(summary.positive_scores, summary.negative_scores)
    else:
        labels = {label for label, _ in pairs}
        metrics["f1"] = float(np.mean([_f1(pairs, label) for label in sorted(labels)])) if labels else 0.0
    return metrics


def _f1(pairs: Mapping[tuple[str, ...], int], positive: str) -> float:
    tp = sum(v for (label, predicted), v in pairs.items() if label == positive and predicted == positive)
    fp = sum(v for (label, predicted), v in pairs.items() if label != positive and predicted == positive)
    fn = sum(v for (label, predicted), v in pairs.items() if label == positive and predicted != positive)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def _binned_auc(positive_scores: list[int], negative_scores: list[int]) -> float:
    """AUC = P(score+ > score-) + 0.5 P(tie), with scores tied within a bin."""
    pos = np.asarray(positive_scores, dtype=np.float64)
    neg = np.asarray(negative_scores, dtype=np.float64)
    neg_below = np.concatenate(([0.0], np.cumsum(neg)[:-1]))
    wins = float(np.sum(pos * neg_below) + 0.5 * np.sum(pos * neg))
    return wins / (pos.sum() * neg.sum())


def degraded_metrics(
    current: Mapping[str, float], baseline: Mapping[str, float], tolerance: float
) -> list[str]:
    """Metrics worse than baseline by more than ``tolerance`` (absolute, or relative for errors)."""
    worse = []
    for name, value in current.items():
        reference = baseline.get(name)
        if reference is None:
            continue
        if name in LOWER_IS_BETTER:
            if value > reference * (1.0 + tolerance) + 1e-12:
                worse.append(name)
        elif value < reference - tolerance - 1e-12:
            worse.append(name)
    return worse
