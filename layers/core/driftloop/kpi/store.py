"""S3 adapter for the KPI log: create-only PUTs (``IfNoneMatch='*'``), so nothing is ever overwritten."""

from __future__ import annotations

import os
import tempfile
import threading
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from driftloop.adapters.clients import client

# Not Content-Encoding: gzip, which would let HTTP clients inflate the object behind the reader's back.
GZIP_CONTENT_TYPE = "application/gzip"


class PutOutcome(StrEnum):
    WRITTEN = "written"
    ALREADY_EXISTS = "already_exists"


class ObjectStoreError(RuntimeError):
    """The object could not be stored; the messages behind it must be retried."""


class CreateOnlyStore(Protocol):
    def put_if_absent(self, key: str, body: bytes) -> PutOutcome:
        """Store ``body`` at ``key`` unless an object already exists there."""
        ...


class S3CreateOnlyStore:
    """Conditional PUTs into one bucket.

    412 PreconditionFailed means an earlier delivery already wrote this key (keys are derived from the
    content), which is success. 409 ConditionalRequestConflict (a concurrent conditional write still in
    flight) and every other error raise ``ObjectStoreError`` so the messages are redelivered.
    """

    def __init__(self, bucket: str, s3: Any | None = None) -> None:
        self.bucket = bucket
        self._s3 = s3
        self._lock = threading.Lock()

    @property
    def s3(self) -> Any:
        # Resolved once, under a lock: write_batch calls put_if_absent from several threads, and two
        # threads must not build two clients (boto3 client creation is not thread-safe).
        with self._lock:
            if self._s3 is None:
                self._s3 = client("s3")
            return self._s3

    def put_if_absent(self, key: str, body: bytes) -> PutOutcome:
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                IfNoneMatch="*",
                ContentType=GZIP_CONTENT_TYPE,
                ServerSideEncryption="AES256",  # the bucket policy refuses writes without it
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                return PutOutcome.ALREADY_EXISTS
            raise ObjectStoreError(f"PUT s3://{self.bucket}/{key} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise ObjectStoreError(f"PUT s3://{self.bucket}/{key} failed: {exc}") from exc
        return PutOutcome.WRITTEN


class DirectoryCreateOnlyStore:
    """The same create-only contract on a local directory (dev data sets, DuckDB over files)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put_if_absent(self, key: str, body: bytes) -> PutOutcome:
        path = self.root / key
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".partial-", delete=False) as temp:
                temp.write(body)
            try:
                # link() refuses an existing target and publishes a complete file atomically: the local
                # equivalent of IfNoneMatch='*' (a crash never leaves a half-written object behind).
                os.link(temp.name, path)
            finally:
                os.unlink(temp.name)
        except FileExistsError:
            return PutOutcome.ALREADY_EXISTS
        except OSError as exc:
            raise ObjectStoreError(f"write {path} failed: {exc}") from exc
        return PutOutcome.WRITTEN
