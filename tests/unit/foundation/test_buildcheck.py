"""`check-build` catches what would only fail on Lambda: imports missing from the build, and layers
without compiled bytecode (recompiled at every cold start on Lambda's read-only /opt)."""

from __future__ import annotations

import compileall
from pathlib import Path
from py_compile import PycInvalidationMode

import pytest

from driftloop_local import buildcheck

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  CoreLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layers/core/
  ScoreFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/score/
      Handler: app.lambda_handler
      Layers: [!Ref CoreLayer]
"""


@pytest.fixture
def built(tmp_path: Path) -> Path:
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    layer = tmp_path / ".aws-sam/build/CoreLayer/python/scoring"
    layer.mkdir(parents=True)
    (layer / "__init__.py").write_text("def score(x):\n    return 2 * x\n")
    function = tmp_path / ".aws-sam/build/ScoreFunction"
    function.mkdir(parents=True)
    (function / "app.py").write_text(
        "from scoring import score\n\ndef lambda_handler(event, context):\n    return score(event)\n"
    )
    compileall.compile_dir(layer.parent, quiet=1, invalidation_mode=PycInvalidationMode.UNCHECKED_HASH)
    return tmp_path


def test_a_complete_build_passes(built: Path) -> None:
    assert buildcheck.check(built) == []


def test_a_layer_module_without_bytecode_is_reported(built: Path) -> None:
    (built / ".aws-sam/build/CoreLayer/python/scoring/extra.py").write_text("X = 1\n")
    (problem,) = buildcheck.check(built)
    assert "CoreLayer: 1 module(s) without hash-based compiled bytecode" in problem
    assert "scoring/extra.py" in problem


def test_timestamp_based_bytecode_counts_as_missing(built: Path) -> None:
    # What pip writes: valid until `sam package` zips the layer with 1980 dates on every file.
    layer = built / ".aws-sam/build/CoreLayer/python"
    compileall.compile_dir(layer, quiet=1, force=True, invalidation_mode=PycInvalidationMode.TIMESTAMP)
    (problem,) = buildcheck.check(built)
    assert "1 module(s) without hash-based compiled bytecode, e.g. scoring/__init__.py" in problem


def test_a_dependency_missing_from_the_build_is_reported(built: Path) -> None:
    app = built / ".aws-sam/build/ScoreFunction/app.py"
    app.write_text("import not_in_the_layer\n" + app.read_text())
    (problem,) = buildcheck.check(built)
    assert problem.startswith("ScoreFunction: handler app.lambda_handler does not import from the build")
    assert "No module named 'not_in_the_layer'" in problem


def test_a_missing_build_is_reported(built: Path) -> None:
    app = built / ".aws-sam/build/ScoreFunction/app.py"
    app.unlink()
    app.parent.rmdir()
    assert buildcheck.check(built) == [
        f"ScoreFunction: no build at {built / '.aws-sam/build/ScoreFunction'} (run sam build)"
    ]


def test_bytecode_older_than_its_source_counts_as_missing(built: Path) -> None:
    source = built / ".aws-sam/build/CoreLayer/python/scoring/__init__.py"
    source.write_text("def score(x):\n    return 3 * x\n")  # edited after compiling
    (problem,) = buildcheck.check(built)
    assert "e.g. scoring/__init__.py" in problem
