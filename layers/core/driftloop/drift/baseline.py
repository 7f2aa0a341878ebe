"""Baselines: built from training columns, written as Model Monitor files plus a driftloop sidecar.

``statistics.json`` and ``constraints.json`` follow SageMaker Model Monitor's formats so existing tools
can read them; ``driftloop_baseline.json`` (the sidecar, a serialised :class:`Baseline`) carries what
the drift engine needs: fixed fine bin edges per numeric feature with counts and per-bin value sums,
category counts, missing rates, the target/prediction spec and optional model-quality metrics.
A Model-Monitor-only baseline (no sidecar) is read by deriving bins from its KLL sketch or buckets.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from driftloop.drift.columns import binner_for, coerce_numeric, count_categories

STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"
SIDECAR_FILE = "driftloop_baseline.json"
DEFAULT_BINS = 200
_KLL_BUCKETS = 10


class NumericBaseline(BaseModel):
    """A numeric feature: fine bins (-inf, e0), [e0, e1), ..., [e_last, inf) with counts and sums."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["numeric"] = "numeric"
    name: str
    inferred_type: Literal["Integral", "Fractional"] = "Fractional"
    edges: list[float]
    counts: list[int]
    sums: list[float]
    present: int = Field(ge=0)
    missing: int = Field(ge=0)
    mean: float
    std: float
    min: float
    max: float
    q25: float
    q75: float

    @property
    def missing_rate(self) -> float:
        total = self.present + self.missing
        return self.missing / total if total else 0.0

    @property
    def scale(self) -> float:
        """Normaliser for W1: std, else IQR/1.349, else max(|mean|, 1) for a constant column."""
        if self.std > 0:
            return self.std
        if self.q75 > self.q25:
            return (self.q75 - self.q25) / 1.349
        return max(abs(self.mean), 1.0)


class CategoricalBaseline(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["categorical"] = "categorical"
    name: str
    counts: dict[str, int]
    present: int = Field(ge=0)
    missing: int = Field(ge=0)

    @property
    def missing_rate(self) -> float:
        total = self.present + self.missing
        return self.missing / total if total else 0.0


FeatureBaseline = Annotated[NumericBaseline | CategoricalBaseline, Field(discriminator="kind")]

ProblemType = Literal["binary_classification", "multiclass_classification", "regression"]


class TargetSpec(BaseModel):
    """Which columns hold the label and the model output, and how to score them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str | None = None
    prediction: str = "prediction"
    problem_type: ProblemType | None = None
    positive_label: str = "1"
    score_threshold: float = 0.5


class Baseline(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: Literal[1] = 1
    source: Literal["driftloop", "model_monitor"] = "driftloop"
    item_count: int = Field(ge=0)
    features: list[FeatureBaseline]
    prediction: FeatureBaseline | None = None
    target_spec: TargetSpec = Field(default_factory=TargetSpec)
    quality_metrics: dict[str, float] = Field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @cached_property
    def fingerprint(self) -> str:
        """Stable id of this baseline, carried by shard summaries so mismatched merges fail loudly."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]

    def feature(self, name: str) -> NumericBaseline | CategoricalBaseline:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(name)


class BaselineError(ValueError):
    """Baseline files are missing, malformed or inconsistent."""


# --------------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------------


def build_baseline(
    columns: Mapping[str, npt.ArrayLike | Sequence[Any]],
    *,
    target: str | None = None,
    prediction: str | None = None,
    problem_type: ProblemType | None = None,
    positive_label: str = "1",
    bins: int = DEFAULT_BINS,
) -> Baseline:
    """Profile training columns. Feature order is the column order minus target and prediction.

    The prediction baseline is the prediction column (the model's outputs on the baseline data). Without
    one, prediction drift is not checked: comparing outputs with labels would flag every classifier that
    returns probabilities.
    """
    if not columns:
        raise BaselineError("no columns to build a baseline from")
    lengths = {
        len(np.asarray(v, dtype=object)) if not isinstance(v, np.ndarray) else v.shape[0]
        for v in columns.values()
    }
    if len(lengths) != 1:
        raise BaselineError(f"columns have different lengths: {sorted(lengths)}")
    item_count = lengths.pop()
    for name in (target, prediction):
        if name is not None and name not in columns:
            raise BaselineError(f"column {name!r} not in the data (columns: {list(columns)})")
    features = [
        profile_column(name, values, bins=bins)
        for name, values in columns.items()
        if name not in (target, prediction)
    ]
    prediction_baseline = None
    if prediction is not None:
        prediction_baseline = profile_column(prediction, columns[prediction], bins=bins)
    target_profile = profile_column(target, columns[target], bins=bins) if target is not None else None
    spec = TargetSpec(
        target=target,
        prediction=prediction or "prediction",
        problem_type=problem_type or _infer_problem_type(target_profile),
        positive_label=positive_label,
    )
    quality: dict[str, float] = {}
    if target is not None and prediction is not None and spec.problem_type is not None:
        from driftloop.drift.quality import quality_metrics, summarize_quality

        quality = quality_metrics(summarize_quality(columns[target], columns[prediction], spec), spec)
    return Baseline(
        item_count=item_count,
        features=features,
        prediction=prediction_baseline,
        target_spec=spec,
        quality_metrics=quality,
    )


def _infer_problem_type(feature: NumericBaseline | CategoricalBaseline | None) -> ProblemType | None:
    if feature is None:
        return None
    if isinstance(feature, CategoricalBaseline):
        return "binary_classification" if len(feature.counts) <= 2 else "multiclass_classification"
    distinct_values = len(feature.edges) // 2  # discrete numerics have two edges per value
    if feature.inferred_type == "Integral" and distinct_values <= 2:
        return "binary_classification"
    if feature.inferred_type == "Integral" and distinct_values <= 20:
        return "multiclass_classification"
    return "regression"


def profile_column(
    name: str, values: npt.ArrayLike | Sequence[Any], *, bins: int = DEFAULT_BINS
) -> NumericBaseline | CategoricalBaseline:
    """Numeric when every present value parses as a number, categorical otherwise."""
    if _clearly_text(values):
        counts, missing = count_categories(values)
        return CategoricalBaseline(
            name=name, counts=dict(sorted(counts.items())), present=sum(counts.values()), missing=missing
        )
    floats, missing, type_errors = coerce_numeric(values)
    finite = floats[np.isfinite(floats)]
    if type_errors == 0 and finite.size > 0:
        return _profile_numeric(name, finite, missing + int(floats.size - finite.size - missing), bins)
    counts, missing = count_categories(values)
    return CategoricalBaseline(
        name=name, counts=dict(sorted(counts.items())), present=sum(counts.values()), missing=missing
    )


def _clearly_text(values: npt.ArrayLike | Sequence[Any]) -> bool:
    """Cheap pre-check on a string array: a non-numeric token among the first values means text."""
    if not isinstance(values, np.ndarray) or values.dtype.kind != "U":
        return False
    _, _, errors = coerce_numeric(values[:64].tolist())
    return bool(errors > 0)


def _profile_numeric(name: str, finite: npt.NDArray[np.float64], missing: int, bins: int) -> NumericBaseline:
    distinct = np.unique(finite)
    if distinct.size * 2 <= bins:
        # discrete: one bin holding exactly each value, [v, next float up), plus the gaps between values
        edges = np.unique(np.concatenate([distinct, np.nextafter(distinct, np.inf)]))
    else:
        edges = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    counts, sums = binner_for(tuple(float(e) for e in edges)).histogram(finite)
    integral = bool(np.all(np.floor(finite) == finite))
    q25, q75 = (float(v) for v in np.quantile(finite, [0.25, 0.75]))
    return NumericBaseline(
        name=name,
        inferred_type="Integral" if integral else "Fractional",
        edges=[float(e) for e in edges],
        counts=counts,
        sums=sums,
        present=int(finite.size),
        missing=missing,
        mean=float(finite.mean()),
        std=float(finite.std()),
        min=float(finite.min()),
        max=float(finite.max()),
        q25=q25,
        q75=q75,
    )


# --------------------------------------------------------------------------------------------------
# Model Monitor formats
# --------------------------------------------------------------------------------------------------


def to_statistics_json(baseline: Baseline) -> dict[str, Any]:
    """Model Monitor ``statistics.json``: KLL buckets for numerics, categorical buckets for strings.

    The ``sketch`` holds the fine bin edges as a single compactor level with per-item weights equal to
    the bin counts; readers that only use ``buckets`` are unaffected.
    """
    features: list[dict[str, Any]] = []
    for feature in baseline.features:
        common = {"num_present": feature.present, "num_missing": feature.missing}
        if isinstance(feature, NumericBaseline):
            features.append(
                {
                    "name": feature.name,
                    "inferred_type": feature.inferred_type,
                    "numerical_statistics": {
                        "common": common,
                        "mean": feature.mean,
                        "sum": float(sum(feature.sums)),
                        "std_dev": feature.std,
                        "min": feature.min,
                        "max": feature.max,
                        "distribution": {
                            "kll": {"buckets": _kll_buckets(feature), "sketch": _sketch(feature)}
                        },
                    },
                }
            )
        else:
            features.append(
                {
                    "name": feature.name,
                    "inferred_type": "String",
                    "string_statistics": {
                        "common": common,
                        "distinct_count": float(len(feature.counts)),
                        "distribution": {
                            "categorical": {
                                "buckets": [{"value": v, "count": c} for v, c in feature.counts.items()]
                            }
                        },
                    },
                }
            )
    return {"version": 0.0, "dataset": {"item_count": baseline.item_count}, "features": features}


def _kll_buckets(feature: NumericBaseline) -> list[dict[str, float]]:
    """Ten equal-width buckets between min and max, counted from the fine bins (mass split uniformly)."""
    low, high = feature.min, feature.max
    if high <= low:
        return [{"lower_bound": low, "upper_bound": high, "count": float(feature.present)}]
    bounds = np.linspace(low, high, _KLL_BUCKETS + 1)
    fine_bounds = np.concatenate(([low], np.clip(feature.edges, low, high), [high]))
    fine_cdf = np.concatenate(([0.0], np.cumsum(feature.counts)))
    cdf_at_bounds = np.interp(bounds, fine_bounds, fine_cdf)
    cdf_at_bounds[-1] = float(feature.present)
    return [
        {
            "lower_bound": float(bounds[i]),
            "upper_bound": float(bounds[i + 1]),
            "count": float(cdf_at_bounds[i + 1] - cdf_at_bounds[i]),
        }
        for i in range(_KLL_BUCKETS)
    ]


def _sketch(feature: NumericBaseline) -> dict[str, Any]:
    items = [feature.min, *feature.edges]
    return {
        "parameters": {"c": 0.64, "k": 2048.0},
        "data": [items],
        "weights": [float(c) for c in feature.counts],
    }


def to_constraints_json(baseline: Baseline, *, comparison_threshold: float = 0.1) -> dict[str, Any]:
    features: list[dict[str, Any]] = []
    for feature in baseline.features:
        total = feature.present + feature.missing
        entry: dict[str, Any] = {
            "name": feature.name,
            "inferred_type": feature.inferred_type if isinstance(feature, NumericBaseline) else "String",
            "completeness": feature.present / total if total else 1.0,
        }
        if isinstance(feature, NumericBaseline):
            entry["num_constraints"] = {"is_non_negative": feature.min >= 0}
        else:
            entry["string_constraints"] = {"domains": list(feature.counts)}
        features.append(entry)
    return {
        "version": 0.0,
        "features": features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": 1.0,
            "domain_content_threshold": 1.0,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": comparison_threshold,
                "comparison_method": "Robust",
            },
        },
    }


def baseline_files(baseline: Baseline) -> dict[str, bytes]:
    """File name -> content for the three baseline files."""
    return {
        STATISTICS_FILE: _json_bytes(to_statistics_json(baseline)),
        CONSTRAINTS_FILE: _json_bytes(to_constraints_json(baseline)),
        SIDECAR_FILE: baseline.model_dump_json(indent=2).encode(),
    }


def _json_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2) + "\n").encode()


# --------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------


def load_baseline(
    statistics: bytes | None = None, constraints: bytes | None = None, sidecar: bytes | None = None
) -> Baseline:
    """Read baseline files' bytes. The sidecar wins when present; else bins come from statistics.json."""
    if sidecar is not None:
        try:
            return Baseline.model_validate_json(sidecar)
        except ValueError as exc:
            raise BaselineError(f"{SIDECAR_FILE} is not a valid driftloop baseline: {exc}") from exc
    if statistics is None:
        raise BaselineError(f"need {STATISTICS_FILE} or {SIDECAR_FILE}")
    try:
        stats_doc = json.loads(statistics)
        constraints_doc = json.loads(constraints) if constraints is not None else {}
    except ValueError as exc:
        raise BaselineError(f"baseline JSON does not parse: {exc}") from exc
    return from_model_monitor(stats_doc, constraints_doc)


def from_model_monitor(
    statistics: Mapping[str, Any], constraints: Mapping[str, Any] | None = None
) -> Baseline:
    """Derive a baseline from Model Monitor documents (no sidecar)."""
    if not isinstance(statistics.get("features"), list):
        raise BaselineError("statistics.json has no features[]")
    completeness = {
        c.get("name"): c.get("completeness")
        for c in (constraints or {}).get("features", [])
        if isinstance(c, dict)
    }
    features: list[NumericBaseline | CategoricalBaseline] = []
    for raw in statistics["features"]:
        name = raw.get("name")
        if not isinstance(name, str):
            raise BaselineError(f"feature without a name: {raw!r}")
        if "numerical_statistics" in raw:
            features.append(_numeric_from_model_monitor(name, raw))
        elif "string_statistics" in raw:
            features.append(_categorical_from_model_monitor(name, raw["string_statistics"]))
        else:
            raise BaselineError(f"feature {name!r} has neither numerical_statistics nor string_statistics")
        ratio = completeness.get(name)
        if isinstance(ratio, (int, float)) and 0 < ratio <= 1 and features[-1].present > 0:
            present = features[-1].present
            features[-1] = features[-1].model_copy(update={"missing": round(present / ratio) - present})
    item_count = int(statistics.get("dataset", {}).get("item_count", 0))
    return Baseline(source="model_monitor", item_count=item_count, features=features)


def _numeric_from_model_monitor(name: str, raw: Mapping[str, Any]) -> NumericBaseline:
    stats = raw["numerical_statistics"]
    common = stats.get("common", {})
    present = int(common.get("num_present", 0))
    missing = int(common.get("num_missing", 0))
    kll = stats.get("distribution", {}).get("kll", {})
    low, high = float(stats.get("min", 0.0)), float(stats.get("max", 0.0))
    edges, counts = _bins_from_sketch(kll.get("sketch"), present)
    if edges is None:
        edges, counts = _bins_from_buckets(kll.get("buckets", []), present)
    bounds = np.concatenate(([low], edges, [high]))
    midpoints = (np.minimum(bounds[:-1], bounds[1:]) + np.maximum(bounds[:-1], bounds[1:])) / 2.0
    sums = [float(m * c) for m, c in zip(midpoints, counts, strict=True)]
    cdf = np.cumsum(counts) / max(sum(counts), 1)
    q25, q75 = (float(np.interp(q, cdf, bounds[1:])) for q in (0.25, 0.75))
    inferred = raw.get("inferred_type")
    return NumericBaseline(
        name=name,
        inferred_type="Integral" if inferred == "Integral" else "Fractional",
        edges=[float(e) for e in edges],
        counts=counts,
        sums=sums,
        present=present,
        missing=missing,
        mean=float(stats.get("mean", 0.0)),
        std=float(stats.get("std_dev", 0.0)),
        min=low,
        max=high,
        q25=q25,
        q75=q75,
    )


def _bins_from_buckets(buckets: Sequence[Mapping[str, Any]], present: int) -> tuple[list[float], list[int]]:
    """Bins (-inf, lb_1) for bucket 0, [lb_i, lb_i+1) for bucket i, the last one open-ended."""
    ordered = sorted(buckets, key=lambda b: float(b["lower_bound"]))
    if not ordered:
        return [], [present]
    edges = [float(b["lower_bound"]) for b in ordered[1:]]
    counts = [round(float(b["count"])) for b in ordered]
    return _dedupe_edges(edges, counts)


def _bins_from_sketch(sketch: Any, present: int) -> tuple[list[float] | None, list[int]]:
    """Weighted quantile bins from a KLL sketch (level i items weigh 2**i, or explicit ``weights``)."""
    if not isinstance(sketch, Mapping) or not isinstance(sketch.get("data"), list):
        return None, []
    values: list[float] = []
    weights: list[float] = []
    explicit = sketch.get("weights")
    for level, items in enumerate(sketch["data"]):
        if not isinstance(items, list):
            return None, []
        values.extend(float(v) for v in items)
        weights.extend([float(2**level)] * len(items))
    if isinstance(explicit, list) and len(explicit) == len(values):
        # driftloop's own sketch: items are bin lower bounds, weights are bin counts
        return [float(v) for v in values[1:]], [round(float(w)) for w in explicit]
    if len(values) < 20 or present <= 0:
        return None, []
    order = np.argsort(values)
    sorted_values = np.asarray(values)[order]
    cdf = np.cumsum(np.asarray(weights)[order])
    cdf /= cdf[-1]
    n_bins = min(100, len(values) // 2)
    edges = np.unique(np.interp(np.linspace(0, 1, n_bins + 1)[1:-1], cdf, sorted_values))
    positions = np.searchsorted(sorted_values, edges, side="left")
    cum_weight = np.concatenate(([0.0], cdf))[positions]
    mass = np.diff(np.concatenate(([0.0], cum_weight, [1.0])))
    counts = _largest_remainder(mass * present, present)
    return [float(e) for e in edges], counts


def _largest_remainder(shares: npt.NDArray[np.float64], total: int) -> list[int]:
    floors = np.floor(shares).astype(np.int64)
    shortfall = total - int(floors.sum())
    if shortfall > 0:
        order = np.argsort(-(shares - floors))[:shortfall]
        floors[order] += 1
    return [int(v) for v in floors]


def _dedupe_edges(edges: list[float], counts: list[int]) -> tuple[list[float], list[int]]:
    out_edges: list[float] = []
    out_counts = [counts[0]]
    for edge, count in zip(edges, counts[1:], strict=True):
        if out_edges and math.isclose(edge, out_edges[-1]):
            out_counts[-1] += count
        else:
            out_edges.append(edge)
            out_counts.append(count)
    return out_edges, out_counts


def _categorical_from_model_monitor(name: str, stats: Mapping[str, Any]) -> CategoricalBaseline:
    common = stats.get("common", {})
    buckets = stats.get("distribution", {}).get("categorical", {}).get("buckets", [])
    counts: dict[str, int] = {}
    for bucket in buckets:
        key = str(bucket["value"])
        counts[key] = counts.get(key, 0) + round(float(bucket["count"]))
    return CategoricalBaseline(
        name=name,
        counts=counts,
        present=int(common.get("num_present", sum(counts.values()))),
        missing=int(common.get("num_missing", 0)),
    )
