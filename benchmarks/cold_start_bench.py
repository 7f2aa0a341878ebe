"""Cold import of every Lambda handler, and the size of what the core layer ships.

Each handler is imported in a fresh interpreter (what a Lambda cold start pays for our code), against a
baseline measured the same way in the same run: a fresh interpreter importing only boto3, which every
function pays anyway. Prints seconds (median of ``--repeat`` runs) and the ratio to the baseline; then
the unzipped size of the built core layer per top-level package (run ``sam build`` first for that part).

    python benchmarks/cold_start_bench.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER = ROOT / ".aws-sam" / "build" / "CoreLayer" / "python"
LAMBDA_LIMIT_MB = 250

_PROBE = """
import importlib.util, sys, time
start = time.perf_counter()
{body}
print(time.perf_counter() - start)
"""

_HANDLER = """
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
"""


def _timed(body: str, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        output = subprocess.run(
            [sys.executable, "-c", _PROBE.format(body=body)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={
                "PATH": "/usr/bin:/bin",
                "AWS_DEFAULT_REGION": "us-east-1",
                "POWERTOOLS_TRACE_DISABLED": "true",
            },
        )
        samples.append(float(output.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def _size(path: Path) -> int:
    return (
        sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        if path.is_dir()
        else path.stat().st_size
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    baseline = _timed("import boto3", args.repeat)
    print(f"baseline: fresh interpreter importing boto3: {baseline * 1000:.0f} ms")
    print(f"{'handler':<16} {'import (ms)':>12} {'x baseline':>11}")
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        seconds = _timed(_HANDLER.format(path=str(app)), args.repeat)
        print(f"{app.parent.name:<16} {seconds * 1000:>12.0f} {seconds / baseline:>11.2f}")

    if not LAYER.is_dir():
        print("\n(no .aws-sam/build/CoreLayer: run `sam build` to measure the layer)")
        return 0
    sizes = sorted(
        ((_size(p), p.name) for p in LAYER.iterdir() if not p.name.endswith(".dist-info")), reverse=True
    )
    total = sum(size for size, _ in sizes)
    print(
        f"\ncore layer, unzipped: {total / 2**20:.1f} MiB"
        f" (Lambda allows {LAMBDA_LIMIT_MB} MB for function + layers)"
    )
    for size, name in sizes[:8]:
        print(f"  {name:<28} {size / 2**20:>7.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
