"""``make demo``: the closed loop on a fresh local stack, narrated step by step."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from driftloop_local.rie import free_port
from driftloop_local.stack import LocalStack


def _step(title: str) -> None:
    print(f"\n=== {title}")


def _probe_records(stack: LocalStack, correlation_id: str) -> list[dict[str, Any]]:
    items = stack.client("dynamodb").query(
        TableName=stack.outputs["StateTableName"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"probe#{correlation_id}"}},
    )["Items"]
    return list(items)


def _smoke(stack: LocalStack) -> bool:
    """Foundation smoke scenario: an event through a rule to a Lambda, a workflow with Retry/Catch."""
    events = stack.client("events")
    bus = stack.outputs["EventBusName"]
    correlation_id = uuid.uuid4().hex[:12]
    events.put_events(
        Entries=[
            {
                "EventBusName": bus,
                "Source": "driftloop.probe",
                "DetailType": "ProbeRequested",
                "Detail": json.dumps({"correlation_id": correlation_id}),
            },
            {
                "EventBusName": bus,
                "Source": "driftloop.probe",
                "DetailType": "ProbeWorkflowRequested",
                "Detail": json.dumps({"correlation_id": correlation_id, "fail": True}),
            },
        ]
    )
    stack.drain()
    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + 30
    execution: dict[str, Any] = {}
    while time.monotonic() < deadline and execution.get("status") in (None, "RUNNING"):
        for summary in sfn.list_executions(stateMachineArn=stack.outputs["ProbeStateMachineArn"])[
            "executions"
        ]:
            candidate = sfn.describe_execution(executionArn=summary["executionArn"])
            if correlation_id in candidate["input"]:
                execution = candidate
        time.sleep(0.2)
    records = _probe_records(stack, correlation_id)
    vias = sorted(record["via"]["S"] for record in records)
    caught = json.loads(execution.get("output") or "{}").get("error", {}).get("Error")
    print(f"probe records for {correlation_id}: {vias}")
    print(f"probe workflow: {execution.get('status')}, caught error: {caught}")
    return vias == ["direct", "direct", "eventbridge"] and caught == "ProbeFailure"


def run_demo(root: Path, config_env: str = "dev") -> int:
    _step(f"starting the local stack from template.yaml (samconfig environment '{config_env}')")
    with LocalStack(root, config_env=config_env, port=free_port()) as stack:
        print(f"moto server at {stack.endpoint_url}; {len(stack.resources)} resources created")
        _step("smoke: EventBridge -> Lambda, EventBridge -> Step Functions -> Lambda with Retry and Catch")
        ok = _smoke(stack)
    _step("result")
    print("demo passed" if ok else "demo FAILED")
    return 0 if ok else 1
