"""Cold import of every Lambda handler, and the size of what the core layer ships.

Each handler is imported in a fresh interpreter (what a Lambda cold start pays for our code), against a
baseline measured the same way in the same run: a fresh interpreter importing only boto3, which every
function pays anyway. Prints seconds (median of ``--repeat`` runs) and the ratio to the baseline; then
the unzipped size of the built core layer per top-level package.

After ``sam build`` the imports come from the built layer alone (``python -S`` plus the layer's
directory, as /opt/python on Lambda). Without a build they come from the dev venv, which also holds
packages the layer does not ship (awscrt, pyOpenSSL) that botocore then imports: an overestimate.

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

# What Lambda sets before the handler module is imported. LAMBDA_TASK_ROOT matters: without it the
# X-Ray SDK (Powertools Tracer) believes it runs outside Lambda and builds an X-Ray client for
# centralised sampling at import, ~0.15 s that a real cold start never pays.
LAMBDA_ENVIRONMENT = {
    "PATH": "/usr/bin:/bin",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_LAMBDA_FUNCTION_NAME": "cold-start-bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
    "LAMBDA_TASK_ROOT": str(ROOT),
    "LAMBDA_RUNTIME_DIR": "/var/runtime",
}

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


def _timed(body: str, repeat: int, layer: Path | None, *, bytecode: bool = True) -> float:
    probe = _PROBE.format(body=body)
    command = [sys.executable, "-c", probe]
    if layer is not None:
        # No site-packages: the standard library and the layer, as on Lambda; -B because /opt is read-only
        # there, so bytecode the layer does not ship is compiled again at every cold start. Without
        # ``bytecode``, Python looks for .pyc files in an empty prefix only: a layer built without them.
        hide = [] if bytecode else ["-X", "pycache_prefix=/nonexistent/driftloop-bench"]
        on_layer = f"import sys; sys.path.insert(0, {str(layer)!r})\n{probe}"
        command = [sys.executable, "-S", "-B", *hide, "-c", on_layer]
    samples = []
    for _ in range(repeat):
        output = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env=LAMBDA_ENVIRONMENT,
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

    layer = LAYER if LAYER.is_dir() else None
    print(
        "imports from the built layer only (as on Lambda)"
        if layer
        else "imports from the dev venv (no .aws-sam/build: an overestimate, see the docstring)"
    )
    baseline = _timed("import boto3", args.repeat, layer)
    print(f"baseline: fresh interpreter importing boto3: {baseline * 1000:.0f} ms")
    header = f"{'handler':<16} {'import (ms)':>12} {'x baseline':>11}"
    print(header + (f" {'without .pyc (ms)':>18} {'x slower':>9}" if layer else ""))
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        seconds = _timed(_HANDLER.format(path=str(app)), args.repeat, layer)
        row = f"{app.parent.name:<16} {seconds * 1000:>12.0f} {seconds / baseline:>11.2f}"
        if layer:  # the same layer as SAM's python builder ships it: sources only
            source_only = _timed(_HANDLER.format(path=str(app)), args.repeat, layer, bytecode=False)
            row += f" {source_only * 1000:>18.0f} {source_only / seconds:>9.2f}"
        print(row)

    if layer is None:
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
