"""The layer ships exactly what the tests ran with: every layer pin matches the development lock."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            found[re.sub(r"\[.*\]", "", name).lower().replace("_", "-")] = version.strip()
    return found


def test_every_layer_dependency_is_pinned_to_the_dev_lock_version() -> None:
    layer, dev = pins(ROOT / "layers/core/requirements.txt"), pins(ROOT / "requirements/dev.txt")
    assert layer
    mismatched = {
        name: (version, dev.get(name)) for name, version in layer.items() if dev.get(name) != version
    }
    assert mismatched == {}


def test_the_layer_carries_no_heavy_analytics_dependencies() -> None:
    layer = pins(ROOT / "layers/core/requirements.txt")
    assert not {"pandas", "scipy", "pyarrow", "duckdb", "sqlglot", "plotly", "sagemaker"} & set(layer)
