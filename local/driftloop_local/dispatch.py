"""Adapters that make moto behave like AWS where it does not on its own.

moto stores EventBridge rules but delivers only to SQS, logs, archives and other buses; it runs Step
Functions but its Lambda only echoes input without Docker; it has no SQS -> Lambda event source
mapping poller. This module patches two moto methods and adds a delivery worker:

* ``Rule.send_to_targets``: skips disabled rules, applies Input / InputPath / InputTransformer, and
  delivers to Lambda (asynchronous invoke), Step Functions (StartExecution) and SQS targets, with the
  rule's RetryPolicy and DeadLetterConfig (the DLQ message carries RULE_ARN, TARGET_ARN, ERROR_CODE and
  ERROR_MESSAGE attributes, as in AWS). Other target kinds go to moto's own delivery.
* ``LambdaFunction.invoke``: runs the real handler for functions of the stack (synchronous calls from
  any client, including the Step Functions interpreter's Task states).
* Asynchronous invocations run on one worker thread, retried on error per the function's
  EventInvokeConfig, then sent to the function's DeadLetterQueue.
* SQS event source mappings are polled by the same worker, with ReportBatchItemFailures honoured.

Limits (documented in the README): retries happen immediately, without EventBridge's backoff; one
invocation runs at a time; Lambda timeouts are not enforced.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.events.models import Rule
from moto.events.utils import EventTemplateParser
from moto.sqs.models import sqs_backends
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from driftloop_local.runtime import FunctionSpec, HandlerRuntime

LOG = logging.getLogger("driftloop_local")

_ORIGINAL_SEND_TO_TARGETS = Rule.send_to_targets
_ORIGINAL_LAMBDA_INVOKE = LambdaFunction.invoke
_ACTIVE: Dispatcher | None = None


class DeliveryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class SqsMapping:
    queue_arn: str
    function: FunctionSpec
    batch_size: int = 10
    report_batch_item_failures: bool = False
    enabled: bool = True


def _iso_time(value: Any) -> Any:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _json_path(document: Any, path: str) -> Any:
    """The subset of JSONPath EventBridge allows in InputPath: ``$`` and dotted fields."""
    if path in ("$", ""):
        return document
    current = document
    for part in path.removeprefix("$.").split("."):
        if not isinstance(current, dict) or part not in current:
            raise DeliveryError("InvalidInputPath", f"InputPath {path} does not match the event")
        current = current[part]
    return current


def target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What a rule target receives, per its Input, InputPath or InputTransformer."""
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        return _json_path(event, target["InputPath"])
    transformer = target.get("InputTransformer")
    if transformer:
        rendered = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,  # type: ignore[arg-type]
        )
        return rendered
    return event


class Dispatcher:
    def __init__(self, runtime: HandlerRuntime, account_id: str, region: str) -> None:
        self.runtime = runtime
        self.account_id = account_id
        self.region = region
        self.sqs_mappings: list[SqsMapping] = []
        self._work: queue.Queue[Callable[[], None]] = queue.Queue()
        self._pending = 0
        self._pending_lock = threading.Condition()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.delivery_log: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ lifecycle
    def install(self) -> None:
        global _ACTIVE
        _ACTIVE = self
        Rule.send_to_targets = _patched_send_to_targets  # type: ignore[method-assign]
        LambdaFunction.invoke = _patched_lambda_invoke  # type: ignore[method-assign]
        self._worker = threading.Thread(target=self._run, name="driftloop-async", daemon=True)
        self._worker.start()

    def uninstall(self) -> None:
        global _ACTIVE
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=5)
        _ACTIVE = None
        Rule.send_to_targets = _ORIGINAL_SEND_TO_TARGETS  # type: ignore[method-assign]
        LambdaFunction.invoke = _ORIGINAL_LAMBDA_INVOKE  # type: ignore[method-assign]

    def submit(self, work: Callable[[], None]) -> None:
        with self._pending_lock:
            self._pending += 1
        self._work.put(work)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                work = self._work.get(timeout=0.1)
            except queue.Empty:
                self._poll_sqs_mappings()
                continue
            try:
                work()
            except Exception:  # the worker must survive any one delivery
                LOG.exception("asynchronous delivery failed")
            finally:
                with self._pending_lock:
                    self._pending -= 1
                    self._pending_lock.notify_all()

    def drain(self, timeout: float = 30.0, settle: float = 0.3) -> None:
        """Wait until no asynchronous work is queued and the SQS pollers find nothing to do."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._pending_lock:
                self._pending_lock.wait_for(
                    lambda: self._pending == 0, timeout=max(0.0, deadline - time.monotonic())
                )
            found = self._poll_sqs_mappings()
            if not found:
                time.sleep(settle)
                with self._pending_lock:
                    if self._pending == 0 and not self._has_visible_messages():
                        return
        raise TimeoutError("local stack did not go quiet in time")

    # ------------------------------------------------------------------ EventBridge
    def send_to_targets(self, rule: Rule, event: dict[str, Any]) -> None:
        if rule.state != "ENABLED" or not rule.event_pattern.matches_event(event):  # type: ignore[arg-type]
            return
        event = dict(event)
        event["time"] = _iso_time(event.get("time"))
        for target in rule.targets:
            self._deliver_with_retries(rule, target, event)

    def _deliver_with_retries(self, rule: Rule, target: dict[str, Any], event: dict[str, Any]) -> None:
        policy = target.get("RetryPolicy", {})
        attempts = 1 + int(policy.get("MaximumRetryAttempts", 185))
        last_error = DeliveryError("Unknown", "no attempt made")
        for _ in range(min(attempts, 3)):  # no backoff locally: further attempts would fail the same way
            try:
                self._deliver(rule, target, event)
                self.delivery_log.append(
                    {"rule": rule.name, "target": target["Arn"], "event_id": event["id"]}
                )
                return
            except DeliveryError as error:
                last_error = error
        dead_letter_arn = target.get("DeadLetterConfig", {}).get("Arn")
        LOG.warning("delivery of %s to %s failed: %s", event.get("id"), target["Arn"], last_error)
        if dead_letter_arn:
            self.send_sqs(
                dead_letter_arn,
                json.dumps(event),
                attributes={
                    "RULE_ARN": rule.arn,
                    "TARGET_ARN": target["Arn"],
                    "ERROR_CODE": last_error.code,
                    "ERROR_MESSAGE": str(last_error),
                },
            )

    def _deliver(self, rule: Rule, target: dict[str, Any], event: dict[str, Any]) -> None:
        arn: str = target["Arn"]
        service = arn.split(":")[2]
        payload = target_input(target, event)
        if service == "lambda":
            spec = self.runtime.find(arn)
            if spec is None or not self._function_exists(arn):
                raise DeliveryError("ResourceNotFoundException", f"Function not found: {arn}")
            self.invoke_async(spec, payload)
        elif service == "states":
            self.start_execution(arn, payload)
        elif service == "sqs":
            group_id = target.get("SqsParameters", {}).get("MessageGroupId")
            self.send_sqs(arn, json.dumps(payload), group_id=group_id)
        else:
            single = copy.copy(rule)
            single.targets = [target]
            _ORIGINAL_SEND_TO_TARGETS(single, event)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ targets
    def _function_exists(self, arn: str) -> bool:
        try:
            lambda_backends[self.account_id][self.region].get_function(arn)
        except Exception:  # moto raises UnknownFunctionException
            return False
        return True

    def start_execution(self, state_machine_arn: str, payload: Any, name: str | None = None) -> str:
        backend = stepfunctions_parser_backends[self.account_id][self.region]
        try:
            execution = backend.start_execution(
                state_machine_arn, name=name or str(uuid.uuid4()), execution_input=json.dumps(payload)
            )
        except Exception as error:  # moto raises its own typed errors
            raise DeliveryError(type(error).__name__, str(error)) from error
        return str(execution.execution_arn)

    def send_sqs(
        self,
        queue_arn: str,
        body: str,
        *,
        attributes: dict[str, str] | None = None,
        group_id: str | None = None,
    ) -> None:
        queue_name = queue_arn.rsplit(":", 1)[-1]
        backend = sqs_backends[self.account_id][self.region]
        message_attributes = {
            key: {"DataType": "String", "StringValue": value} for key, value in (attributes or {}).items()
        }
        try:
            backend.send_message(
                queue_name=queue_name,
                message_body=body,
                message_attributes=message_attributes,
                group_id=group_id,
                deduplication_id=None,
            )
        except Exception as error:
            raise DeliveryError(type(error).__name__, str(error)) from error

    # ------------------------------------------------------------------ Lambda
    def invoke_async(self, spec: FunctionSpec, payload: Any) -> None:
        def run() -> None:
            result = None
            for _ in range(1 + spec.max_async_retries):
                result = self.runtime.invoke(spec, payload)
                if result.function_error is None:
                    return
            if spec.dead_letter_arn and result is not None:
                self.send_sqs(
                    spec.dead_letter_arn,
                    json.dumps(payload),
                    attributes={
                        "RequestID": "local",
                        "ErrorCode": "200",
                        "ErrorMessage": str(result.payload.get("errorMessage", ""))[:1000],
                    },
                )

        self.submit(run)

    def invoke_sync(self, spec: FunctionSpec, body: Any, request_headers: Any, response_headers: Any) -> Any:
        event = json.loads(body) if body else {}
        invocation_type = request_headers.get("x-amz-invocation-type", "RequestResponse")
        if invocation_type == "Event":
            self.invoke_async(spec, event)
            return b""
        if invocation_type == "DryRun":
            return b""
        result = self.runtime.invoke(spec, event)
        if result.function_error:
            response_headers["x-amz-function-error"] = result.function_error
        response_headers["x-amz-log-result"] = base64.b64encode(result.logs[-4096:].encode()).decode()
        return json.dumps(result.payload).encode("utf-8")

    # ------------------------------------------------------------------ SQS event source mappings
    def _has_visible_messages(self) -> bool:
        backend = sqs_backends[self.account_id][self.region]
        for mapping in self.sqs_mappings:
            sqs_queue = backend.get_queue(mapping.queue_arn.rsplit(":", 1)[-1])
            if int(sqs_queue.approximate_number_of_messages) > 0:
                return True
        return False

    def _poll_sqs_mappings(self) -> bool:
        found = False
        backend = sqs_backends[self.account_id][self.region]
        for mapping in self.sqs_mappings:
            if not mapping.enabled:
                continue
            queue_name = mapping.queue_arn.rsplit(":", 1)[-1]
            messages = backend.receive_message(
                queue_name=queue_name,
                count=mapping.batch_size,
                wait_seconds_timeout=0,
                visibility_timeout=int(getattr(backend.get_queue(queue_name), "visibility_timeout", 30)),
                message_attribute_names=["All"],
            )
            if not messages:
                continue
            found = True
            self._invoke_for_batch(mapping, queue_name, messages)
        return found

    def _invoke_for_batch(self, mapping: SqsMapping, queue_name: str, messages: list[Any]) -> None:
        backend = sqs_backends[self.account_id][self.region]
        records = [
            {
                "messageId": message.id,
                "receiptHandle": message.receipt_handle,
                "body": message.body,
                "attributes": {
                    "ApproximateReceiveCount": str(message.approximate_receive_count),
                    "SentTimestamp": str(message.sent_timestamp),
                    "SenderId": "AIDALOCAL",
                    "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
                },
                "messageAttributes": {},
                "md5OfBody": message.body_md5,
                "eventSource": "aws:sqs",
                "eventSourceARN": mapping.queue_arn,
                "awsRegion": self.region,
            }
            for message in messages
        ]
        result = self.runtime.invoke(mapping.function, {"Records": records})
        if result.function_error:
            return  # the whole batch becomes visible again after the visibility timeout
        failed: set[str] = set()
        if mapping.report_batch_item_failures and isinstance(result.payload, dict):
            failed = {item["itemIdentifier"] for item in result.payload.get("batchItemFailures", [])}
        for message in messages:
            if message.id not in failed:
                backend.delete_message(queue_name, message.receipt_handle)


def _patched_send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
    if _ACTIVE is None:
        _ORIGINAL_SEND_TO_TARGETS(self, original_event, transform_input)
        return
    _ACTIVE.send_to_targets(self, original_event)


def _patched_lambda_invoke(
    self: LambdaFunction, body: str, request_headers: Any, response_headers: Any
) -> Any:
    spec = _ACTIVE.runtime.find(self.function_arn) if _ACTIVE is not None else None
    if spec is None or _ACTIVE is None:
        return _ORIGINAL_LAMBDA_INVOKE(self, body, request_headers, response_headers)
    return _ACTIVE.invoke_sync(spec, body, request_headers, response_headers)
