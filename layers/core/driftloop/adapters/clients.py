"""Lazy, cached boto3 clients with one retry policy.

Endpoints follow boto3's own ``AWS_ENDPOINT_URL`` variable, which is how the local stack points every
client (ours, the AWS CLI's) at its moto server. The cache is keyed on region and endpoint as well as
the service, so a changed environment never hands out a client aimed at the old place.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

# Worst case for one call: 3 attempts x (3 s connect + 10 s without a byte) plus standard-mode backoff
# (under 3 s) is about 42 s, inside the KPI writer's 60 s timeout, so a stuck PUT fails its messages
# (redelivered) instead of timing the batch out.
# read_timeout is per socket read, not per transfer: large capture objects stream well within it.
RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=3,
    read_timeout=10,
    user_agent_extra="driftloop",
)


def client(service: str) -> Any:
    """A process-wide client for ``service`` (created on first use)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return _cached_client(service, region, os.environ.get("AWS_ENDPOINT_URL"))


@cache
def _cached_client(service: str, region: str | None, endpoint_url: str | None) -> Any:
    session = boto3.session.Session(region_name=region)
    return session.client(service, config=RETRY_CONFIG, endpoint_url=endpoint_url)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Forget every cached client (tests call this when they swap moto backends)."""
    _cached_client.cache_clear()
