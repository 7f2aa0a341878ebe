"""The local stack, started once for the e2e session on a free port, built from template.yaml."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from driftloop_local.rie import free_port
from driftloop_local.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    with LocalStack(ROOT, config_env="dev", port=free_port()) as local_stack:
        yield local_stack


@pytest.fixture
def plain_client(stack: LocalStack) -> Callable[[str], Any]:
    """A boto3 client that knows nothing of the local stack but its endpoint, like any user's."""

    def make(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=stack.endpoint_url,
            region_name=stack.region,
            aws_access_key_id="AKIAEXAMPLE",
            aws_secret_access_key="secret",
        )

    return make
