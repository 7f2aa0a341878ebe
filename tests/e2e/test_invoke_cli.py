"""`make invoke`: a handler under the real Lambda runtime protocol (RIE + awslambdaric), no Docker."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e


def run_invoke(repo_root, event: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "driftloop_local", "invoke", "ProbeFunction", "--event", event],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_invoke_prints_the_handler_response(repo_root) -> None:
    result = run_invoke(repo_root, "events/probe/eventbridge-probe-requested.json")
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout[result.stdout.index("{\n") :])
    assert response["correlation_id"] == "sample-probe-1"
    assert response["via"] == "eventbridge"


def test_invoke_reports_a_handler_error_with_its_type(repo_root) -> None:
    result = run_invoke(repo_root, "events/probe/direct-probe-fail.json")
    assert result.returncode == 1
    response = json.loads(result.stdout[result.stdout.index("{\n") :])
    assert response["errorType"] == "ProbeFailure"
