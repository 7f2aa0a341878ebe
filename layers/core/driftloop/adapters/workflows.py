"""Starting Step Functions executions, idempotently by name."""

from __future__ import annotations

import json
from typing import Any

from driftloop.adapters.clients import client

_LIVE = ("RUNNING", "SUCCEEDED", "PENDING_REDRIVE")
MAX_ATTEMPTS = 10


def start_once(state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
    """Start ``name`` unless an execution of that name is running or succeeded; returns its ARN.

    Step Functions keeps closed execution names for 90 days, so a failed, timed-out or aborted attempt
    is retried under ``name-2``, ``name-3``... rather than silently reported as started.
    """
    sfn = client("stepfunctions")
    prefix = state_machine_arn.replace(":stateMachine:", ":execution:")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        attempt_name = name if attempt == 1 else f"{name}-{attempt}"
        try:
            response = sfn.start_execution(
                stateMachineArn=state_machine_arn, name=attempt_name, input=json.dumps(payload)
            )
            return str(response["executionArn"])
        except sfn.exceptions.ExecutionAlreadyExists:
            execution_arn = f"{prefix}:{attempt_name}"
            if sfn.describe_execution(executionArn=execution_arn)["status"] in _LIVE:
                return execution_arn
    raise RuntimeError(f"{name}: {MAX_ATTEMPTS} attempts already failed; investigate before re-running")
