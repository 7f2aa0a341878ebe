"""Docker-free ``sam local invoke``: the handler under the real Lambda runtime protocol.

The AWS Lambda Runtime Interface Emulator binary shipped inside the aws-sam-cli package serves the
Lambda invoke API and drives ``awslambdaric`` (the official Python runtime client), which imports the
handler from the function's CodeUri, exactly as the managed runtime does with ``LAMBDA_TASK_ROOT``.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import samcli

from driftloop_local.runtime import FunctionSpec


def rie_binary() -> Path:
    arch = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    binary = Path(samcli.__file__).parent / "local" / "rapid" / f"aws-lambda-rie-{arch}"
    if not binary.exists():
        raise FileNotFoundError(f"{binary} is missing from the aws-sam-cli package")
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def invoke_with_rie(
    spec: FunctionSpec, event: Any, base_environment: dict[str, str], timeout: float = 120
) -> Any:
    """Start the emulator for ``spec``, send ``event`` once, and return the decoded response."""
    port = free_port()
    environment = {
        **os.environ,
        **base_environment,
        **spec.environment,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout_seconds),
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "_HANDLER": spec.handler,
        "LOG_LEVEL": "error",
    }
    command = [
        str(rie_binary()),
        "--runtime-interface-emulator-address",
        f"127.0.0.1:{port}",
        sys.executable,
        "-m",
        "awslambdaric",
        spec.handler,
    ]
    process = subprocess.Popen(command, cwd=spec.code_dir, env=environment)
    try:
        url = f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
        deadline = time.monotonic() + 20
        while True:
            try:
                request = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST")
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    return json.loads(response.read() or b"null")
            except (ConnectionError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=10)
