"""The local stack behaves like the deployed one: resources, routing, retries, dead letters."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from driftloop_local.stack import LocalStack
from driftloop_local.template import load_template

pytestmark = pytest.mark.e2e


def probe_records(stack: LocalStack, correlation_id: str) -> list[dict[str, Any]]:
    response = stack.client("dynamodb").query(
        TableName=stack.outputs["StateTableName"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"probe#{correlation_id}"}},
    )
    return list(response["Items"])


def wait_for_execution(stack: LocalStack, correlation_id: str, timeout: float = 30) -> dict[str, Any]:
    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for summary in sfn.list_executions(stateMachineArn=stack.outputs["ProbeStateMachineArn"])[
            "executions"
        ]:
            execution = sfn.describe_execution(executionArn=summary["executionArn"])
            if correlation_id in execution["input"] and execution["status"] != "RUNNING":
                return dict(execution)
        time.sleep(0.2)
    raise AssertionError(f"no finished execution for {correlation_id}")


def put(
    client: Any, bus: str, detail_type: str, detail: dict[str, Any], source: str = "driftloop.probe"
) -> None:
    response = client.put_events(
        Entries=[
            {"EventBusName": bus, "Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}
        ]
    )
    assert response["FailedEntryCount"] == 0


def test_every_template_resource_exists_in_the_stack(stack: LocalStack, plain_client, repo_root) -> None:
    template = load_template(repo_root / "template.yaml")
    kinds = {spec["Type"] for spec in template["Resources"].values()}
    assert stack.not_emulated == []
    s3, outputs = plain_client("s3"), stack.outputs
    kpi = outputs["KpiEventsBucketName"]
    retention = s3.get_object_lock_configuration(Bucket=kpi)["ObjectLockConfiguration"]["Rule"][
        "DefaultRetention"
    ]
    assert (retention["Mode"], retention["Days"]) == ("GOVERNANCE", 1)  # samconfig dev: KpiRetentionDays=1
    for bucket in (outputs["ArtifactsBucketName"], kpi, outputs["AthenaResultsBucketName"]):
        assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]["BlockPublicAcls"]
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    # moto evaluates policies without condition keys: conditional statements go to driftloop_local.s3policy
    enforced = "conditional, enforced on PutObject (not copy or multipart) by driftloop_local.s3policy"
    assert sorted(stack.adaptations) == [
        f"ArtifactsBucketPolicy.DenyInsecureTransport: {enforced}",
        f"AthenaResultsBucketPolicy.DenyInsecureTransport: {enforced}",
        f"KpiEventsBucketPolicy.DenyInsecureTransport: {enforced}",
        f"KpiEventsBucketPolicy.DenyUnencryptedWrites: {enforced}",
        f"KpiEventsBucketPolicy.DenyWritesThatCouldOverwrite: {enforced}",
    ]
    dynamodb = plain_client("dynamodb")
    for table in (outputs["StateTableName"], outputs["IdempotencyTableName"]):
        assert dynamodb.describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE"
    events = plain_client("events")
    assert events.describe_event_bus(Name=outputs["EventBusName"])["Arn"] == outputs["EventBusArn"]
    assert events.list_archives(EventSourceArn=outputs["EventBusArn"])["Archives"]
    rules = events.list_rules(EventBusName=outputs["EventBusName"])["Rules"]
    assert {"ProbeRequested", "ProbeWorkflowRequested"} <= {
        json.loads(rule["EventPattern"])["detail-type"][0]
        for rule in rules
        if "EventPattern" in rule and "detail-type" in rule["EventPattern"]
    }
    functions = {f["FunctionName"] for f in plain_client("lambda").list_functions()["Functions"]}
    declared = [s for s in template["Resources"].values() if s["Type"] == "AWS::Serverless::Function"]
    assert len(functions) >= len(declared)
    assert outputs["ProbeFunctionName"] in functions
    machines = plain_client("stepfunctions").list_state_machines()["stateMachines"]
    assert outputs["ProbeStateMachineArn"] in {m["stateMachineArn"] for m in machines}
    assert "AWS::Serverless::StateMachine" in kinds


def test_outputs_are_written_for_other_tools(stack: LocalStack, repo_root) -> None:
    written = json.loads((repo_root / ".driftloop" / "outputs.json").read_text())
    assert written["EndpointUrl"] == stack.endpoint_url
    assert written["EventBusName"] == "driftloop-dev"
    sam_env = json.loads((repo_root / ".driftloop" / "sam-env.json").read_text())
    assert sam_env["KpiWriterFunction"]["KPI_BUCKET"] == written["KpiEventsBucketName"]
    assert sam_env["KpiWriterFunction"]["AWS_ENDPOINT_URL"].endswith(f":{stack.port}")


def test_put_events_from_a_plain_client_reaches_the_lambda_target(stack: LocalStack, plain_client) -> None:
    correlation_id = uuid.uuid4().hex
    put(
        plain_client("events"),
        stack.outputs["EventBusName"],
        "ProbeRequested",
        {"correlation_id": correlation_id},
    )
    stack.drain()
    records = probe_records(stack, correlation_id)
    assert [r["via"]["S"] for r in records] == ["eventbridge"]


def test_put_events_reaches_the_step_functions_target_through_input_path(
    stack: LocalStack, plain_client
) -> None:
    correlation_id = uuid.uuid4().hex
    put(
        plain_client("events"),
        stack.outputs["EventBusName"],
        "ProbeWorkflowRequested",
        {"correlation_id": correlation_id},
    )
    execution = wait_for_execution(stack, correlation_id)
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["input"]) == {"correlation_id": correlation_id}  # InputPath $.detail
    output = json.loads(execution["output"])
    assert output["probe"]["result"]["via"] == "direct"
    assert [r["via"]["S"] for r in probe_records(stack, correlation_id)] == ["direct"]


def test_a_task_exception_reaches_retry_then_catch(stack: LocalStack, plain_client) -> None:
    correlation_id = uuid.uuid4().hex
    detail = {"correlation_id": correlation_id, "fail": True}
    put(plain_client("events"), stack.outputs["EventBusName"], "ProbeWorkflowRequested", detail)
    execution = wait_for_execution(stack, correlation_id)
    assert execution["status"] == "SUCCEEDED"  # the Catch handled it
    error = json.loads(execution["output"])["error"]
    assert error["Error"] == "ProbeFailure"
    assert "was asked to fail" in json.loads(error["Cause"])["errorMessage"]
    assert len(probe_records(stack, correlation_id)) == 2  # first attempt + one Retry


def test_an_unmatched_event_reaches_nothing(stack: LocalStack, plain_client) -> None:
    correlation_id = uuid.uuid4().hex
    sfn = stack.client("stepfunctions")
    before = len(sfn.list_executions(stateMachineArn=stack.outputs["ProbeStateMachineArn"])["executions"])
    bus = stack.outputs["EventBusName"]
    put(
        plain_client("events"),
        bus,
        "ProbeRequested",
        {"correlation_id": correlation_id},
        source="someone.else",
    )
    put(plain_client("events"), bus, "SomethingElse", {"correlation_id": correlation_id})
    stack.drain()
    assert probe_records(stack, correlation_id) == []
    assert (
        len(sfn.list_executions(stateMachineArn=stack.outputs["ProbeStateMachineArn"])["executions"])
        == before
    )


def test_direct_invoke_runs_the_real_handler_and_reports_errors(
    stack: LocalStack, plain_client, load_event
) -> None:
    lambda_client = plain_client("lambda")
    ok = lambda_client.invoke(
        FunctionName=stack.outputs["ProbeFunctionName"],
        Payload=json.dumps(load_event("probe/eventbridge-probe-requested.json")),
    )
    assert "FunctionError" not in ok
    assert json.loads(ok["Payload"].read())["correlation_id"] == "sample-probe-1"
    failed = lambda_client.invoke(
        FunctionName=stack.outputs["ProbeFunctionName"],
        Payload=json.dumps(load_event("probe/direct-probe-fail.json")),
    )
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "ProbeFailure"


def receive_all(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        if not batch.get("Messages"):
            return messages
        messages.extend(batch["Messages"])
        for message in batch["Messages"]:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_handler_errors_are_retried_then_sent_to_the_function_dlq(stack: LocalStack, plain_client) -> None:
    correlation_id = uuid.uuid4().hex
    put(
        plain_client("events"),
        stack.outputs["EventBusName"],
        "ProbeRequested",
        {"correlation_id": correlation_id, "fail": True},
    )
    stack.drain()
    assert len(probe_records(stack, correlation_id)) == 3  # one invoke + the two asynchronous retries
    messages = [
        m
        for m in receive_all(plain_client("sqs"), stack.outputs["ProbeDeadLetterQueueUrl"])
        if correlation_id in m["Body"]
    ]
    assert len(messages) == 1
    assert "was asked to fail" in messages[0]["MessageAttributes"]["ErrorMessage"]["StringValue"]


def test_a_failing_target_sends_the_event_to_the_rule_dlq(stack: LocalStack, plain_client) -> None:
    lambda_client = plain_client("lambda")
    name = stack.outputs["ProbeFunctionName"]
    saved = lambda_client.get_function(FunctionName=name)["Configuration"]
    lambda_client.delete_function(FunctionName=name)  # the rule's target is gone: delivery fails
    try:
        correlation_id = uuid.uuid4().hex
        put(
            plain_client("events"),
            stack.outputs["EventBusName"],
            "ProbeRequested",
            {"correlation_id": correlation_id},
        )
        stack.drain()
        messages = [
            m
            for m in receive_all(plain_client("sqs"), stack.outputs["ProbeDeadLetterQueueUrl"])
            if correlation_id in m["Body"]
        ]
    finally:
        lambda_client.create_function(
            FunctionName=name,
            Runtime=saved["Runtime"],
            Role=saved["Role"],
            Handler=saved["Handler"],
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
            Environment=saved["Environment"],
        )
    assert probe_records(stack, correlation_id) == []
    assert len(messages) == 1
    attributes = messages[0]["MessageAttributes"]
    assert attributes["ERROR_CODE"]["StringValue"] == "ResourceNotFoundException"
    assert attributes["TARGET_ARN"]["StringValue"].endswith(":function:driftloop-dev-probe")
    assert "ProbeRequested" in attributes["RULE_ARN"]["StringValue"]
    assert json.loads(messages[0]["Body"])["detail"]["correlation_id"] == correlation_id
