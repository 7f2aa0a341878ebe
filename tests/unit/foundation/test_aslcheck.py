from __future__ import annotations

import json
import shutil
from pathlib import Path

from driftloop_local import aslcheck

ROOT = Path(__file__).resolve().parents[3]


def copy_repo_definitions(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "template.yaml", tmp_path / "template.yaml")
    shutil.copytree(ROOT / "statemachines", tmp_path / "statemachines")
    return tmp_path


def test_the_repository_state_machines_pass() -> None:
    assert aslcheck.check(ROOT) == []


def test_a_task_without_retry_or_catch_is_reported(tmp_path: Path) -> None:
    root = copy_repo_definitions(tmp_path)
    path = root / "statemachines" / "probe.asl.json"
    definition = json.loads(path.read_text())
    del definition["States"]["InvokeProbe"]["Retry"]
    definition["States"]["Orphan"] = {"Type": "Succeed"}
    path.write_text(json.dumps(definition))
    problems = aslcheck.check(root)
    assert any("InvokeProbe: Task without Retry" in p for p in problems)
    assert any("Orphan: unreachable" in p for p in problems)


def test_an_unsubstituted_placeholder_is_reported(tmp_path: Path) -> None:
    root = copy_repo_definitions(tmp_path)
    path = root / "statemachines" / "probe.asl.json"
    path.write_text(path.read_text().replace("${ProbeFunctionArn}", "${ProbeFunctionArm}"))
    problems = aslcheck.check(root)
    assert any("${ProbeFunctionArm} has no DefinitionSubstitution" in p for p in problems)
    assert any("ProbeFunctionArn is never used" in p for p in problems)
