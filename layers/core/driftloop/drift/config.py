"""Drift decision configuration (per-feature thresholds, criticality, hysteresis)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FeatureConfig(BaseModel):
    """Overrides for one feature; unset fields fall back to the global values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    critical: bool = False
    ignore: bool = False
    wasserstein_threshold: float | None = Field(default=None, gt=0)
    psi_threshold: float | None = Field(default=None, gt=0)
    jensen_shannon_threshold: float | None = Field(default=None, gt=0, le=1)
    unseen_share_threshold: float | None = Field(default=None, ge=0, le=1)


class HysteresisConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    consecutive_windows: int = Field(default=2, ge=1, description="Drifted windows in a row before emitting.")
    cooldown: timedelta = Field(
        default=timedelta(hours=24), description="Quiet period after an emission or a retraining."
    )


class DriftConfig(BaseModel):
    """How a window's statistics become a decision.

    A feature drifts only if its test is significant after the multiple-testing ``correction`` across
    all checked features AND its effect size reaches the practical threshold: large windows make every
    tiny shift significant, the effect threshold keeps those from flagging.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float = Field(default=0.01, gt=0, lt=1)
    correction: Literal["benjamini_hochberg", "holm"] = "benjamini_hochberg"
    wasserstein_threshold: float = Field(
        default=0.1, gt=0, description="W1 divided by the baseline std (IQR/1.349 when std is 0)."
    )
    psi_threshold: float = Field(default=0.2, gt=0, description="PSI on coarse quantile bins.")
    psi_bins: int = Field(default=10, ge=2, le=50, description="Coarse bins for PSI (fine bins merged).")
    jensen_shannon_threshold: float = Field(default=0.1, gt=0, le=1)
    unseen_share_threshold: float = Field(default=0.01, ge=0, le=1)
    completeness_tolerance: float = Field(default=0.05, ge=0, le=1)
    type_violation_threshold: float = Field(default=0.01, ge=0, le=1)
    min_rows: int = Field(default=100, ge=1, description="Fewer rows than this: the window is skipped.")
    min_feature_rows: int = Field(default=30, ge=1, description="Fewer present values: feature not tested.")
    dataset_drift_share: float = Field(default=0.3, gt=0, le=1)
    prediction_drift_is_critical: bool = False
    quality_tolerance: float = Field(
        default=0.05, ge=0, description="Allowed absolute drop (accuracy/F1/AUC) or relative rise (RMSE/MAE)."
    )
    features: dict[str, FeatureConfig] = Field(default_factory=dict)
    hysteresis: HysteresisConfig = Field(default_factory=HysteresisConfig)

    def for_feature(self, name: str) -> FeatureConfig:
        return self.features.get(name, FeatureConfig())

    def wasserstein_for(self, name: str) -> float:
        return self.for_feature(name).wasserstein_threshold or self.wasserstein_threshold

    def psi_for(self, name: str) -> float:
        return self.for_feature(name).psi_threshold or self.psi_threshold

    def jensen_shannon_for(self, name: str) -> float:
        return self.for_feature(name).jensen_shannon_threshold or self.jensen_shannon_threshold

    def unseen_share_for(self, name: str) -> float:
        override = self.for_feature(name).unseen_share_threshold
        return self.unseen_share_threshold if override is None else override
