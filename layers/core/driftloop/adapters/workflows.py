"""Starting Step Functions executions, idempotently by name."""

from __future__ import annotations

import json
from typing import Any

from driftloop.adapters.clients import client


def start_once(state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
    """Start ``name`` unless an execution of that name already exists; returns its ARN either way."""
    sfn = client("stepfunctions")
    try:
        return str(
            sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))[
                "executionArn"
            ]
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        execution_arn = state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"
        return execution_arn
