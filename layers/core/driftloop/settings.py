"""Environment variables as validated settings models.

Each function reads its settings once, at its first invocation (never at import time), through
``load_settings``. A missing or malformed variable fails fast with every problem listed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Environment(StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


class SettingsError(RuntimeError):
    """The function's environment does not satisfy its settings model."""


NonEmpty = Annotated[str, Field(min_length=1)]


class PlatformSettings(BaseModel):
    """Variables every driftloop function receives from the template's Globals."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    environment: Environment = Field(alias="DRIFTLOOP_ENVIRONMENT")
    event_bus_name: NonEmpty = Field(alias="EVENT_BUS_NAME")
    event_source: NonEmpty = Field(default="driftloop", alias="EVENT_SOURCE")
    state_table: NonEmpty = Field(alias="STATE_TABLE")
    artifacts_bucket: NonEmpty = Field(alias="ARTIFACTS_BUCKET")


def load_settings[S: BaseModel](model: type[S], environ: Mapping[str, str] | None = None) -> S:
    """Validate ``environ`` (default: the process environment) against ``model``."""
    source = os.environ if environ is None else environ
    try:
        return model.model_validate(dict(source))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid {model.__name__} environment: {problems}") from exc
