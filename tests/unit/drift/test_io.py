"""The thin file layer: formats, directories, configs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from driftloop.drift import (
    Baseline,
    CaptureSchema,
    DriftConfig,
    decide,
    merge,
    parse_capture,
    summarize_capture,
)
from driftloop.drift.io import (
    UnsupportedLocation,
    detect_format,
    load_baseline_dir,
    load_config,
    read_csv_columns,
    read_jsonl_columns,
    read_shard,
    resolve_source,
    write_baseline_dir,
)


def test_detect_format() -> None:
    assert detect_format(b'{"captureData": {}}\n') == "capture"
    assert detect_format(b'  {"a": 1}\n') == "jsonl"
    assert detect_format(b"a,b\n1,2\n") == "csv"


def test_csv_and_jsonl_columns() -> None:
    columns = read_csv_columns(b"a,b\n1,x\n2\n")
    assert list(columns["a"]) == ["1", "2"]
    assert list(columns["b"]) == ["x", ""]  # short rows are padded as missing
    jsonl, malformed = read_jsonl_columns(b'{"a": 1, "b": "x"}\nnot json\n[1, 2]\n{"a": 3}\n')
    assert malformed == 2
    assert list(jsonl["a"]) == [1, 3]
    assert list(jsonl["b"]) == ["x", None]


def test_baseline_directory_round_trip(tmp_path: Path, baseline: Baseline) -> None:
    written = write_baseline_dir(baseline, tmp_path / "bl")
    assert {p.name for p in written} == {"statistics.json", "constraints.json", "driftloop_baseline.json"}
    assert load_baseline_dir(tmp_path / "bl") == baseline
    (tmp_path / "bl" / "driftloop_baseline.json").unlink()
    assert load_baseline_dir(tmp_path / "bl").source == "model_monitor"


def test_configs_from_json_and_yaml() -> None:
    assert load_config(b'{"alpha": 0.001}').alpha == 0.001
    config = load_config(b"features:\n  age:\n    critical: true\n", "c.yaml")
    assert config.for_feature("age").critical
    with pytest.raises(ValueError, match="alpha"):
        load_config(b'{"alpha": 2}')


def test_resolve_source_needs_reader_for_uris(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedLocation, match="s3://b/k"):
        resolve_source("s3://b/k")
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "ignored.txt").write_text("nope")
    assert [Path(name).name for name, _ in resolve_source(str(tmp_path))] == ["a.csv"]


def test_capture_shards_summarise_and_merge(baseline: Baseline, make_current) -> None:
    current = make_current(rows=400)
    lines = []
    for i in range(400):
        data = ",".join(
            [
                f"{current['age'][i]:.6f}",
                f"{current['income'][i]:.6f}",
                f"{current['score'][i]:.6f}",
                str(current["colour"][i]),
            ]
        )
        lines.append(
            json.dumps(
                {
                    "captureData": {
                        "endpointInput": {
                            "observedContentType": "text/csv",
                            "mode": "INPUT",
                            "data": data,
                            "encoding": "CSV",
                        },
                        "endpointOutput": {
                            "observedContentType": "text/csv",
                            "mode": "OUTPUT",
                            "data": "1",
                            "encoding": "CSV",
                        },
                    },
                    "eventMetadata": {"eventId": f"e{i}", "inferenceTime": "2026-11-26T10:00:00Z"},
                    "eventVersion": "0",
                },
                separators=(",", ":"),
            )
        )
    schema = CaptureSchema.from_baseline(baseline)
    halves = [read_shard(f"part{k}", "\n".join(lines[k::2]).encode(), schema) for k in range(2)]
    assert [h.format for h in halves] == ["capture", "capture"]
    summaries = [
        summarize_capture(parse_capture("\n".join(lines[k::2]).encode(), schema), baseline) for k in range(2)
    ]
    result = decide(merge(summaries), baseline, DriftConfig())
    assert result.rows == 400
    assert result.status == "completed"
    assert result.drifted_features == []
    age = next(f for f in result.features if f.name == "age")
    assert age.current_mean == pytest.approx(float(np.mean(np.round(current["age"], 6))), rel=1e-9)
