from __future__ import annotations

import json
import subprocess
import sys

LAMBDA_MODULES = [
    "driftloop.kpi.records",
    "driftloop.kpi.store",
    "driftloop.kpi.writer",
    "driftloop.kpi.queries",
]
DEV_ONLY = {"duckdb", "sqlglot", "pyarrow", "plotly"}


def test_lambda_path_never_imports_dev_only_packages():
    script = (
        "import importlib, json, sys\n"
        f"for name in {LAMBDA_MODULES!r}: importlib.import_module(name)\n"
        "from driftloop.kpi.queries import load_queries\n"
        "assert load_queries()\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    loaded = json.loads(
        subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout
    )

    assert DEV_ONLY.isdisjoint(loaded)
    assert "boto3" in loaded  # through the store adapter only
