"""Synthetic churn data for the demo and the e2e tests: training rows and SageMaker data capture.

Capture objects are written exactly as SageMaker's DataCaptureConfig writes them: one JSON line per
request under ``{prefix}/{endpoint}/{variant}/yyyy/mm/dd/hh/``, CSV input and output with their
observed content types and encodings.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

PLANS = np.array(["basic", "standard", "premium"])
FEATURES = ["tenure_months", "monthly_charges", "support_calls", "plan"]


def churn_columns(
    rows: int, seed: int, *, charges_shift: float = 0.0, plan_p: tuple[float, float, float] = (0.5, 0.3, 0.2)
) -> dict[str, npt.NDArray[Any]]:
    rng = np.random.default_rng(seed)
    tenure = rng.gamma(2.0, 12.0, rows).round(0)
    charges = rng.normal(70.0 + charges_shift, 15.0, rows).round(2)
    calls = rng.poisson(1.5, rows).astype(float)
    plan = PLANS[rng.choice(3, rows, p=list(plan_p))]
    logit = -1.0 - 0.04 * tenure + 0.02 * (charges - 70.0) + 0.5 * calls
    probability = 1.0 / (1.0 + np.exp(-logit))
    label = (rng.uniform(size=rows) < probability).astype(int)
    return {
        "tenure_months": tenure,
        "monthly_charges": charges,
        "support_calls": calls,
        "plan": plan,
        "churned": label,
        "prediction": probability.round(4),
    }


def training_csv(rows: int = 20_000, seed: int = 1) -> bytes:
    """Training rows with the label and the model's prediction on them (the baseline dataset Model
    Monitor would profile: prediction drift compares outputs with outputs, not with labels)."""
    columns = churn_columns(rows, seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    names = [*FEATURES, "churned", "prediction"]
    writer.writerow(names)
    writer.writerows(zip(*(columns[name] for name in names), strict=True))
    return buffer.getvalue().encode()


def capture_lines(columns: dict[str, npt.NDArray[Any]], start: datetime, spacing: timedelta) -> list[str]:
    """One capture record per row; every 7th input is BASE64-encoded, as SageMaker does for
    content types missing from the capture config."""
    lines = []
    for index in range(len(columns["plan"])):
        features = ",".join(str(columns[name][index]) for name in FEATURES)
        base64_input = index % 7 == 0
        lines.append(
            json.dumps(
                {
                    "captureData": {
                        "endpointInput": {
                            "observedContentType": "text/csv",
                            "mode": "INPUT",
                            "data": base64.b64encode(features.encode()).decode()
                            if base64_input
                            else features,
                            "encoding": "BASE64" if base64_input else "CSV",
                        },
                        "endpointOutput": {
                            "observedContentType": "text/csv; charset=utf-8",
                            "mode": "OUTPUT",
                            "data": str(columns["prediction"][index]),
                            "encoding": "CSV",
                        },
                    },
                    "eventMetadata": {
                        "eventId": str(uuid.UUID(int=index + int(start.timestamp()) * 1_000_000)),
                        "inferenceId": f"inf-{int(start.timestamp())}-{index}",
                        "inferenceTime": (start + spacing * index).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4]
                        + "Z",
                    },
                    "eventVersion": "0",
                }
            )
        )
    return lines


def capture_objects(
    prefix: str,
    endpoint: str,
    variant: str,
    hour: datetime,
    columns: dict[str, npt.NDArray[Any]],
    *,
    files: int = 2,
) -> dict[str, bytes]:
    """``{key: jsonl bytes}`` for one hour of traffic, split over ``files`` objects like SageMaker's."""
    rows = len(columns["plan"])
    spacing = timedelta(seconds=3599 / max(rows, 1))
    lines = capture_lines(columns, hour, spacing)
    folder = f"{prefix.strip('/')}/{endpoint}/{variant}/{hour:%Y/%m/%d/%H}"
    per_file = -(-rows // files)
    objects = {}
    for part in range(files):
        chunk = lines[part * per_file : (part + 1) * per_file]
        if chunk:
            name = f"{folder}/{hour:%M-%S}-{part:03d}-{uuid.uuid4().hex[:8]}.jsonl"
            objects[name] = ("\n".join(chunk) + "\n").encode()
    return objects
