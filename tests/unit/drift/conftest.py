"""Shared data for the drift engine tests (seeded, so every number is reproducible)."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from driftloop.drift import Baseline, build_baseline

CATEGORIES = np.array(["red", "green", "blue"])


def training_columns(rows: int = 20_000, seed: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "age": rng.normal(40.0, 10.0, rows),
        "income": rng.lognormal(10.0, 0.5, rows),
        "score": rng.uniform(0.0, 1.0, rows),
        "colour": CATEGORIES[rng.choice(3, rows, p=[0.5, 0.3, 0.2])],
        "label": rng.integers(0, 2, rows).astype(str),
    }


def current_columns(
    rows: int = 5_000,
    seed: int = 11,
    *,
    age_shift: float = 0.0,
    colour_p: tuple[float, float, float] = (0.5, 0.3, 0.2),
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "age": rng.normal(40.0 + age_shift, 10.0, rows),
        "income": rng.lognormal(10.0, 0.5, rows),
        "score": rng.uniform(0.0, 1.0, rows),
        "colour": CATEGORIES[rng.choice(3, rows, p=list(colour_p))],
    }


def capture_line(
    data: str,
    *,
    encoding: str = "CSV",
    content_type: str = "text/csv",
    output: str = "0.7",
    output_encoding: str = "CSV",
    output_type: str = "text/csv; charset=utf-8",
    event_id: str = "e-1",
    inference_id: str | None = None,
    time: str = "2026-11-26T10:15:00Z",
    compact: bool = True,
) -> str:
    """One SageMaker data-capture line, keys in SageMaker's order (compact lines take the fast paths)."""
    meta = {"eventId": event_id}
    if inference_id is not None:
        meta["inferenceId"] = inference_id
    meta["inferenceTime"] = time
    document = {
        "captureData": {
            "endpointInput": {
                "observedContentType": content_type,
                "mode": "INPUT",
                "data": data,
                "encoding": encoding,
            },
            "endpointOutput": {
                "observedContentType": output_type,
                "mode": "OUTPUT",
                "data": output,
                "encoding": output_encoding,
            },
        },
        "eventMetadata": meta,
        "eventVersion": "0",
    }
    return json.dumps(document, separators=(",", ":") if compact else None)


@pytest.fixture(scope="session")
def training() -> dict[str, np.ndarray]:
    return training_columns()


@pytest.fixture(scope="session")
def baseline(training: dict[str, np.ndarray]) -> Baseline:
    return build_baseline(training, target="label")


@pytest.fixture(scope="session")
def make_training():  # type: ignore[no-untyped-def]
    """Factory for training columns (tests cannot import conftest under --import-mode=importlib)."""
    return training_columns


@pytest.fixture(scope="session")
def make_current():  # type: ignore[no-untyped-def]
    return current_columns


@pytest.fixture(scope="session")
def make_capture_line() -> Callable[..., str]:
    return capture_line
