"""Running the real Lambda handlers in this process.

Each function's ``app.py`` is loaded from its CodeUri once (its cold start) under a module name of its
own, and every invocation runs with exactly the environment the template gives that function. Handlers
share one process, so invocations are serialised by a lock while ``os.environ`` is swapped; this is the
local stack's concurrency model (AWS would run them in parallel sandboxes). Timeouts are not enforced.

EMF lines a handler prints (Powertools Metrics) are forwarded to CloudWatch ``PutMetricData``, the way
CloudWatch Logs extracts embedded metrics in AWS.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

_EXECUTION_LOCK = threading.RLock()


@dataclass
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: str
    environment: dict[str, str]
    timeout_seconds: int = 60
    memory_mb: int = 512
    dead_letter_arn: str | None = None
    max_async_retries: int = 2
    module: ModuleType | None = field(default=None, repr=False)


@dataclass(frozen=True)
class InvocationResult:
    payload: Any
    function_error: str | None = None
    logs: str = ""

    @property
    def error_type(self) -> str | None:
        if self.function_error and isinstance(self.payload, dict):
            return str(self.payload.get("errorType"))
        return None


class LambdaContext:
    """The attributes of the Lambda runtime's context object that handlers use."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self._deadline = time.monotonic() + spec.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


class _Tee(io.TextIOBase):
    """Captures what the handler prints while still showing it."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.captured = io.StringIO()

    def write(self, text: str) -> int:
        self.captured.write(text)
        return int(self.target.write(text))

    def flush(self) -> None:
        self.target.flush()


MetricsSink = Callable[[list[dict[str, Any]]], None]


class HandlerRuntime:
    """Registry of the stack's functions and the in-process invoker."""

    def __init__(self, base_environment: Mapping[str, str], metrics_sink: MetricsSink | None = None) -> None:
        self.base_environment = dict(base_environment)
        self.metrics_sink = metrics_sink
        self.functions: dict[str, FunctionSpec] = {}
        self.echo_output = True
        self.log_level: str | None = None  # overrides POWERTOOLS_LOG_LEVEL, e.g. for a quiet demo

    def register(self, spec: FunctionSpec) -> None:
        self.functions[spec.name] = spec
        self.functions[spec.arn] = spec

    def find(self, name_or_arn: str) -> FunctionSpec | None:
        key = name_or_arn.split(":$LATEST")[0]
        if key in self.functions:
            return self.functions[key]
        for spec in self.functions.values():
            if key.endswith(f":function:{spec.name}"):
                return spec
        return None

    def _load(self, spec: FunctionSpec) -> ModuleType:
        if spec.module is None:
            module_file, _ = spec.handler.rsplit(".", 1)
            path = spec.code_dir / f"{module_file.replace('.', '/')}.py"
            module_name = f"driftloop_fn_{spec.logical_id}_{module_file.replace('.', '_')}"
            loader_spec = importlib.util.spec_from_file_location(module_name, path)
            if loader_spec is None or loader_spec.loader is None:
                raise FileNotFoundError(f"handler module {path} not found")
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[module_name] = module
            loader_spec.loader.exec_module(module)
            spec.module = module
        return spec.module

    def invoke(self, spec: FunctionSpec, event: Any) -> InvocationResult:
        environment = {
            **self.base_environment,
            **spec.environment,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
        }
        if self.log_level:
            environment["POWERTOOLS_LOG_LEVEL"] = self.log_level
        with _EXECUTION_LOCK, _environment(environment):
            tee = _Tee(sys.stdout if self.echo_output else io.StringIO())
            try:
                with contextlib.redirect_stdout(tee):
                    module = self._load(spec)
                    handler = getattr(module, spec.handler.rsplit(".", 1)[1])
                    payload = handler(event, LambdaContext(spec))
                result = InvocationResult(payload=payload, logs=tee.captured.getvalue())
            except Exception as exc:
                result = InvocationResult(
                    payload={
                        "errorMessage": str(exc),
                        "errorType": type(exc).__name__,
                        "stackTrace": traceback.format_exception(exc)[-6:],
                    },
                    function_error="Unhandled",
                    logs=tee.captured.getvalue(),
                )
        self._forward_metrics(result.logs)
        return result

    def _forward_metrics(self, output: str) -> None:
        if self.metrics_sink is None:
            return
        documents = []
        for line in output.splitlines():
            if '"_aws"' not in line:
                continue
            with contextlib.suppress(json.JSONDecodeError):
                document = json.loads(line)
                if isinstance(document, dict) and "CloudWatchMetrics" in document.get("_aws", {}):
                    documents.append(document)
        if documents:
            self.metrics_sink(documents)
