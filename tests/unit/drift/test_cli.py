"""The operator CLI end to end on temporary files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from driftloop import cli


def write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(zip(*columns.values(), strict=True))


def capture_line(values: list[float], colour: str, event_id: str) -> str:
    data = ",".join([*(f"{v:.6f}" for v in values), colour])
    return json.dumps(
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
            "eventMetadata": {"eventId": event_id, "inferenceTime": "2026-11-26T10:00:00Z"},
            "eventVersion": "0",
        }
    )


def test_baseline_build_then_drift_check(tmp_path: Path, make_training, make_current, capsys) -> None:
    training = make_training(rows=5_000)
    write_csv(tmp_path / "train.csv", training)
    assert (
        cli.main(
            [
                "baseline",
                "build",
                "--data",
                str(tmp_path / "train.csv"),
                "--out",
                str(tmp_path / "bl"),
                "--target",
                "label",
            ]
        )
        == 0
    )
    built = json.loads(capsys.readouterr().out)
    assert built["features"] == {
        "age": "numeric",
        "income": "numeric",
        "score": "numeric",
        "colour": "categorical",
    }
    assert sorted(p.name for p in (tmp_path / "bl").iterdir()) == [
        "constraints.json",
        "driftloop_baseline.json",
        "statistics.json",
    ]

    current = make_current(rows=2_000, age_shift=8.0)
    capture_dir = tmp_path / "capture" / "2026" / "11" / "26" / "10"
    capture_dir.mkdir(parents=True)
    rows = list(zip(current["age"], current["income"], current["score"], current["colour"], strict=True))
    for shard in range(2):
        lines = [capture_line([a, i, s], c, f"e{shard}-{n}") for n, (a, i, s, c) in enumerate(rows[shard::2])]
        lines.append("{broken")
        (capture_dir / f"part-{shard}.jsonl").write_text("\n".join(lines))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"features": {"age": {"critical": True}}}))
    code = cli.main(
        [
            "drift",
            "check",
            "--baseline",
            str(tmp_path / "bl"),
            "--current",
            str(tmp_path / "capture"),
            "--report-dir",
            str(tmp_path / "report"),
            "--config",
            str(config),
            "--fail-on-drift",
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    assert code == cli.EXIT_DRIFT
    assert summary["rows"] == 2_000
    assert summary["malformed_records"] == 2
    assert summary["dataset_drift"] is True
    assert summary["drifted_features"] == ["age"]
    age = summary["features"]["age"]
    assert age["drifted"]
    assert age["p_value"] < 1e-10
    assert age["effect"] > 0.5
    assert not summary["features"]["income"]["drifted"]
    assert len(summary["files"]) == 2
    report = tmp_path / "report"
    assert (
        json.loads((report / "constraint_violations.json").read_text())["violations"][0]["feature_name"]
        == "age"
    )
    assert "<svg" in (report / "drift_report.html").read_text()


def test_drift_check_on_plain_csv_and_yaml_config(
    tmp_path: Path, make_training, make_current, capsys
) -> None:
    write_csv(tmp_path / "train.csv", make_training(rows=2_000))
    cli.main(["baseline", "build", "--data", str(tmp_path / "train.csv"), "--out", str(tmp_path / "bl")])
    write_csv(tmp_path / "current.csv", make_current(rows=500))
    (tmp_path / "config.yaml").write_text("alpha: 0.001\nmin_rows: 10\n")
    capsys.readouterr()
    code = cli.main(
        [
            "drift",
            "check",
            "--baseline",
            str(tmp_path / "bl"),
            "--current",
            str(tmp_path / "current.csv"),
            "--report-dir",
            str(tmp_path / "r"),
            "--config",
            str(tmp_path / "config.yaml"),
        ]
    )
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert summary["status"] == "completed"
    assert summary["dataset_drift"] is False
    # without --target the label is a feature, and the current file lacks it
    assert summary["features"]["label"]["status"] == "missing_column"
    assert summary["violations"] == 1


def test_s3_location_needs_a_reader_and_errors_are_reported(tmp_path: Path, capsys) -> None:
    (tmp_path / "bl").mkdir()
    (tmp_path / "bl" / "statistics.json").write_text(json.dumps({"features": []}))
    code = cli.main(
        [
            "drift",
            "check",
            "--baseline",
            str(tmp_path / "bl"),
            "--current",
            "s3://bucket/key",
            "--report-dir",
            str(tmp_path / "r"),
        ]
    )
    assert code == cli.EXIT_USAGE
    assert "no reader configured for 's3://bucket/key'" in capsys.readouterr().err


def test_s3_hook_is_used_when_set(tmp_path: Path, make_training, monkeypatch, capsys) -> None:
    write_csv(tmp_path / "train.csv", make_training(rows=1_000))
    cli.main(["baseline", "build", "--data", str(tmp_path / "train.csv"), "--out", str(tmp_path / "bl")])
    payload = (tmp_path / "train.csv").read_bytes()
    seen: list[str] = []

    def fake_source(location: str):
        seen.append(location)
        yield location + "/part.csv", payload

    monkeypatch.setattr(cli, "object_source", fake_source)
    capsys.readouterr()
    assert (
        cli.main(
            [
                "drift",
                "check",
                "--baseline",
                str(tmp_path / "bl"),
                "--current",
                "s3://b/p",
                "--report-dir",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    assert seen == ["s3://b/p"]
    assert json.loads(capsys.readouterr().out)["drifted_features"] == []


def test_contracts_export(tmp_path: Path, capsys) -> None:
    assert cli.main(["contracts", "export", "--out", str(tmp_path / "schemas")]) == 0
    written = json.loads(capsys.readouterr().out)["schemas"]
    assert any(p.endswith("DriftDetected.v1.schema.json") for p in written)


def test_missing_subcommand_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["drift"])
    assert exit_info.value.code == 2
