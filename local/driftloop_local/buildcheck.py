"""Checks of what `sam build` produced, run right after it (``make build``).

The tests import handlers from the sources and the dev venv; Lambda imports them from the built
artifacts: the function's directory and the layers under /opt/python, with no site-packages and a
read-only file system. Two things can differ and are checked here:

* every function's handler imports from its build directory plus the built layers alone (a dependency
  missing from layers/core/requirements.txt, or a stale build cache, fails here rather than in AWS);
* every module of a layer ships hash-based compiled bytecode (layers/core/Makefile), since Lambda
  cannot write __pycache__ and would otherwise compile each module again at every cold start.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

from driftloop_local.template import load_template

BUILD_DIR = Path(".aws-sam") / "build"
_CACHE_TAG = sys.implementation.cache_tag  # e.g. cpython-313: the interpreter the template declares

_IMPORT_PROBE = """
import importlib, sys
sys.path[:0] = {paths!r}
module = importlib.import_module({module!r})
assert callable(getattr(module, {attribute!r})), "no handler {module}.{attribute}"
allowed = tuple(path.rstrip("/") + "/" for path in sys.path[:{count}] + [sys.base_prefix])
outside = sorted(
    name for name, loaded in sys.modules.items()
    if getattr(loaded, "__file__", None) and not loaded.__file__.startswith(allowed)
)
assert not outside, f"imported from outside the build: {{outside}}"
"""


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == kind
    }


def _hash_based_and_current(source: Path, pyc: Path) -> bool:
    """True for a hash-based .pyc (PEP 552 flags bit 0) compiled from ``source`` as it is now.

    Timestamp-based ones are useless in a layer: the zip `sam package` builds dates every file 1980, so
    Python finds them stale and recompiles. Unchecked-hash ones are never compared with the source by
    Python, so this compares them: a stale one would run old code silently.
    """
    try:
        with pyc.open("rb") as handle:
            header = handle.read(16)
    except OSError:
        return False
    if len(header) < 16 or not int.from_bytes(header[4:8], "little") & 0b1:
        return False
    return header[8:16] == importlib.util.source_hash(source.read_bytes())


def missing_bytecode(layer_python: Path) -> list[Path]:
    """Modules under ``layer_python`` without a hash-based ``__pycache__/<name>.<cache tag>.pyc``."""
    return sorted(
        source
        for source in layer_python.rglob("*.py")
        if not _hash_based_and_current(
            source, source.parent / "__pycache__" / f"{source.stem}.{_CACHE_TAG}.pyc"
        )
    )


def check(root: Path) -> list[str]:
    """Problems with the build under ``root / .aws-sam/build`` (empty when it is what Lambda needs)."""
    template = load_template(root / "template.yaml")
    build = root / BUILD_DIR
    problems: list[str] = []
    layer_paths: list[str] = []
    for logical_id in _resources(template, "AWS::Serverless::LayerVersion"):
        layer_python = build / logical_id / "python"
        if not layer_python.is_dir():
            problems.append(f"{logical_id}: no build at {layer_python} (run sam build)")
            continue
        layer_paths.append(str(layer_python))
        stale = missing_bytecode(layer_python)
        if stale:
            shown = ", ".join(str(path.relative_to(layer_python)) for path in stale[:5])
            problems.append(
                f"{logical_id}: {len(stale)} module(s) without hash-based compiled bytecode, e.g. {shown}"
            )
    function_globals = template.get("Globals", {}).get("Function", {})
    for logical_id, properties in _resources(template, "AWS::Serverless::Function").items():
        function_dir = build / logical_id
        if not function_dir.is_dir():
            problems.append(f"{logical_id}: no build at {function_dir} (run sam build)")
            continue
        handler = str(properties.get("Handler", function_globals.get("Handler", "")))
        module, _, attribute = handler.rpartition(".")
        paths = [str(function_dir), *layer_paths]
        probe = _IMPORT_PROBE.format(paths=paths, module=module, attribute=attribute, count=len(paths))
        # -S: no site-packages; -B: nothing written, as on Lambda's read-only file system.
        result = subprocess.run(
            [sys.executable, "-S", "-B", "-c", probe],
            capture_output=True,
            text=True,
            check=False,
            cwd=function_dir,
            env={"PATH": "/usr/bin:/bin", "AWS_DEFAULT_REGION": "us-east-1", "LANG": "C.UTF-8"},
        )
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
            problems.append(f"{logical_id}: handler {handler} does not import from the build: {last}")
    return problems
