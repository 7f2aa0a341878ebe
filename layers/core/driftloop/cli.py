"""Operator CLI: ``python -m driftloop <group> <command> ...``.

Each command group registers itself in :data:`COMMAND_GROUPS` with a function that adds its
subcommands; every subcommand sets ``handler`` (``Namespace -> int``). Heavy modules are imported
inside handlers so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from driftloop.drift.io import Source

Handler = Callable[[argparse.Namespace], int]
GroupRegistrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_DRIFT = 3

#: Reader for non-local ``--current`` locations (e.g. ``s3://``); the S3 adapter assigns it.
object_source: Source | None = None


def _add_baseline(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = groups.add_parser("baseline", help="build and inspect drift baselines")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    build = commands.add_parser("build", help="profile training data into Model Monitor baseline files")
    build.add_argument("--data", required=True, type=Path, help="training CSV with a header row")
    build.add_argument("--out", required=True, type=Path, help="directory for the baseline files")
    build.add_argument("--target", help="label column (excluded from features)")
    build.add_argument("--prediction", help="model output column (excluded from features)")
    build.add_argument(
        "--problem-type", choices=["binary_classification", "multiclass_classification", "regression"]
    )
    build.add_argument("--positive-label", default="1")
    build.add_argument("--bins", type=int, default=200, help="fine quantile bins per numeric feature")
    build.set_defaults(handler=_baseline_build)


def _add_drift(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = groups.add_parser("drift", help="run drift checks")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser("check", help="compare current data with a baseline and write reports")
    check.add_argument("--baseline", required=True, type=Path, help="baseline directory")
    check.add_argument(
        "--current", required=True, help="capture/CSV/JSON-lines file or directory (or s3:// URI)"
    )
    check.add_argument("--report-dir", required=True, type=Path)
    check.add_argument("--config", type=Path, help="DriftConfig as JSON or YAML")
    check.add_argument("--fail-on-drift", action="store_true", help=f"exit {EXIT_DRIFT} on dataset drift")
    check.set_defaults(handler=_drift_check)


def _add_contracts(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = groups.add_parser("contracts", help="event contracts")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    export = commands.add_parser("export", help="write one JSON Schema per event contract")
    export.add_argument("--out", required=True, type=Path)
    export.set_defaults(handler=_contracts_export)


COMMAND_GROUPS: list[GroupRegistrar] = [
    _add_baseline,
    _add_drift,
    _add_contracts,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="driftloop", description="driftloop operator commands")
    groups = parser.add_subparsers(dest="group", required=True, metavar="GROUP")
    for register in COMMAND_GROUPS:
        register(groups)
    return parser


def _emit(document: object, stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(json.dumps(document, indent=2, default=str) + "\n")


def _baseline_build(args: argparse.Namespace) -> int:
    from driftloop.drift.baseline import build_baseline
    from driftloop.drift.io import read_csv_columns, write_baseline_dir

    columns = read_csv_columns(args.data.read_bytes())
    baseline = build_baseline(
        columns,
        target=args.target,
        prediction=args.prediction,
        problem_type=args.problem_type,
        positive_label=args.positive_label,
        bins=args.bins,
    )
    written = write_baseline_dir(baseline, args.out)
    _emit(
        {
            "baseline": str(args.out),
            "files": [str(p) for p in written],
            "rows": baseline.item_count,
            "features": {f.name: f.kind for f in baseline.features},
            "target_spec": baseline.target_spec.model_dump(),
            "quality_metrics": baseline.quality_metrics,
        }
    )
    return EXIT_OK


def _drift_check(args: argparse.Namespace) -> int:
    from driftloop.drift.capture import CaptureSchema
    from driftloop.drift.config import DriftConfig
    from driftloop.drift.decision import decide
    from driftloop.drift.io import load_baseline_dir, load_config, read_shard, resolve_source
    from driftloop.drift.report import constraint_violations_json, drift_report_html, drift_report_json
    from driftloop.drift.summary import merge, summarize

    baseline = load_baseline_dir(args.baseline)
    config = load_config(args.config.read_bytes(), args.config.name) if args.config else DriftConfig()
    schema = CaptureSchema.from_baseline(baseline)
    summaries = []
    files = []
    for name, data in resolve_source(args.current, object_source):
        shard = read_shard(name, data, schema)
        files.append(
            {"file": name, "format": shard.format, "rows": shard.rows, "malformed": shard.malformed_records}
        )
        summaries.append(
            summarize(shard.columns, baseline, malformed_records=shard.malformed_records, rows=shard.rows)
        )
    if not summaries:
        summaries.append(summarize({}, baseline))
    result = decide(merge(summaries), baseline, config)
    context = {"baseline": str(args.baseline), "current": args.current}
    args.report_dir.mkdir(parents=True, exist_ok=True)
    (args.report_dir / "constraint_violations.json").write_text(constraint_violations_json(result))
    (args.report_dir / "drift_report.json").write_text(drift_report_json(result, **context))
    (args.report_dir / "drift_report.html").write_text(drift_report_html(result, **context))
    _emit(
        {
            "status": result.status,
            "skip_reason": result.skip_reason,
            "rows": result.rows,
            "malformed_records": result.malformed_records,
            "files": files,
            "dataset_drift": result.dataset_drift,
            "drift_share": result.drift_share,
            "severity": result.severity,
            "drifted_features": result.drifted_features,
            "features": {
                f.name: {
                    "status": f.status,
                    "test": f.test,
                    "statistic": f.statistic,
                    "p_value": f.p_value,
                    "p_value_adjusted": f.p_value_adjusted,
                    "effect_metric": f.effect_metric,
                    "effect": f.effect,
                    "threshold": f.threshold,
                    "drifted": f.drifted,
                }
                for f in result.features
            },
            "prediction_drifted": result.prediction.drifted if result.prediction else None,
            "violations": len(result.violations),
            "report_dir": str(args.report_dir),
        }
    )
    return EXIT_DRIFT if args.fail_on_drift and result.dataset_drift else EXIT_OK


def _contracts_export(args: argparse.Namespace) -> int:
    from driftloop.contracts import export_json_schemas

    written = export_json_schemas(args.out)
    _emit({"schemas": [str(p) for p in written]})
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except (OSError, ValueError) as exc:
        print(f"driftloop {args.group} {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


__all__ = ["COMMAND_GROUPS", "build_parser", "main", "object_source"]
