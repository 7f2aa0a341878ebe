"""Thin file layer: bytes or local paths in, columns/baselines/configs out.

Object stores plug in through :data:`Source`, a callable that yields ``(name, bytes)`` for a location;
:func:`local_source` serves files and directories, an S3 adapter can serve ``s3://`` URIs.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from driftloop.drift.baseline import (
    CONSTRAINTS_FILE,
    SIDECAR_FILE,
    STATISTICS_FILE,
    Baseline,
    baseline_files,
    load_baseline,
)
from driftloop.drift.capture import CaptureSchema, MalformedRecord, parse_capture
from driftloop.drift.config import DriftConfig

Source = Callable[[str], Iterator[tuple[str, bytes]]]
DataFormat = Literal["capture", "csv", "jsonl"]
DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".out")


class UnsupportedLocation(ValueError):
    """No source is configured for this kind of location (e.g. s3:// without an S3 reader)."""


@dataclass
class Shard:
    """One input object turned into columns, ready for ``summarize``."""

    name: str
    columns: dict[str, npt.NDArray[Any]]
    rows: int
    format: DataFormat
    malformed_records: int = 0
    malformed_samples: list[MalformedRecord] = field(default_factory=list)


def local_source(location: str) -> Iterator[tuple[str, bytes]]:
    """A file, or every data file under a directory (recursively, sorted)."""
    path = Path(location)
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in DATA_SUFFIXES):
            yield str(child), child.read_bytes()
    elif path.is_file():
        yield str(path), path.read_bytes()
    else:
        raise FileNotFoundError(location)


def resolve_source(location: str, object_source: Source | None = None) -> Iterator[tuple[str, bytes]]:
    """Local paths are read here; ``s3://`` (or any ``scheme://``) needs ``object_source``."""
    if "://" in location:
        if object_source is None:
            raise UnsupportedLocation(f"no reader configured for {location!r}; pass object_source")
        return object_source(location)
    return local_source(location)


def detect_format(data: bytes) -> DataFormat:
    head = data.lstrip()[:4096]
    if head.startswith(b"{"):
        return "capture" if b'"captureData"' in head else "jsonl"
    return "csv"


def read_csv_columns(data: bytes) -> dict[str, npt.NDArray[Any]]:
    """CSV with a header row -> column name -> string array (typing happens in summarize)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    try:
        header = next(reader)
    except StopIteration:
        return {}
    rows = [row for row in reader if row]
    width = len(header)
    padded = [row if len(row) == width else (row + [""] * width)[:width] for row in rows]
    if not padded:
        return {name: np.empty(0, dtype=str) for name in header}
    matrix = np.asarray(padded, dtype=str)
    return {name: matrix[:, i] for i, name in enumerate(header)}


def read_jsonl_columns(data: bytes) -> tuple[dict[str, npt.NDArray[Any]], int]:
    """JSON lines of objects -> columns (None where a key is absent) and the malformed line count."""
    records: list[dict[str, Any]] = []
    malformed = 0
    for line in data.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            malformed += 1
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            malformed += 1
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    return {name: np.asarray([r.get(name) for r in records], dtype=object) for name in names}, malformed


def read_shard(name: str, data: bytes, schema: CaptureSchema) -> Shard:
    kind = detect_format(data)
    if kind == "capture":
        batch = parse_capture(data, schema)
        return Shard(name, batch.columns, batch.rows, kind, batch.malformed_records, batch.malformed_samples)
    if kind == "jsonl":
        columns, malformed = read_jsonl_columns(data)
    else:
        columns, malformed = read_csv_columns(data), 0
    rows = max((len(v) for v in columns.values()), default=0)
    return Shard(name, columns, rows, kind, malformed)


def load_baseline_dir(path: Path) -> Baseline:
    """Read statistics.json / constraints.json / driftloop_baseline.json from a local directory."""

    def maybe(file_name: str) -> bytes | None:
        candidate = path / file_name
        return candidate.read_bytes() if candidate.is_file() else None

    return load_baseline(maybe(STATISTICS_FILE), maybe(CONSTRAINTS_FILE), maybe(SIDECAR_FILE))


def write_baseline_dir(baseline: Baseline, path: Path) -> list[Path]:
    path.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, content in baseline_files(baseline).items():
        target = path / file_name
        target.write_bytes(content)
        written.append(target)
    return written


def load_config(data: bytes, name: str = "config.json") -> DriftConfig:
    """A DriftConfig from JSON, or YAML when the name ends in .yaml/.yml (PyYAML, imported lazily)."""
    if name.endswith((".yaml", ".yml")):
        import yaml

        return DriftConfig.model_validate(yaml.safe_load(data) or {})
    return DriftConfig.model_validate_json(data)
