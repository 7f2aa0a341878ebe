"""Conditional Deny statements of bucket policies, enforced on the local stack's PutObject.

Local adaptation, because moto evaluates bucket policies without request context: a conditional Deny
would refuse every request. The stack hands this module the template's conditional statements, and
``S3Response.put_object`` is wrapped to evaluate the ones it can against the request:

* operators ``Null``, ``StringEquals``, ``StringNotEquals`` and ``Bool``, with IAM's rule that a
  negated operator matches when the key is missing;
* keys ``s3:if-none-match`` and ``s3:x-amz-server-side-encryption`` (from the request headers) and
  ``aws:SecureTransport`` (always "true": the local endpoint has no TLS, it stands in for HTTPS).

Statements with any other action, operator or key (or with NotResource) are not enforced locally; the
stack lists them as adaptations. Only PutObject is checked: CopyObject and multipart uploads, which AWS
would refuse under the same statements, are not (the platform uses neither on these buckets).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

from moto.s3.exceptions import S3ClientError
from moto.s3.responses import S3Response

SUPPORTED_OPERATORS = frozenset({"Null", "StringEquals", "StringNotEquals", "Bool"})
SUPPORTED_KEYS = frozenset({"s3:if-none-match", "s3:x-amz-server-side-encryption", "aws:SecureTransport"})

_lock = threading.Lock()
_denies: dict[str, list[dict[str, Any]]] = {}
_original_put_object = S3Response.put_object


class PolicyAccessDenied(S3ClientError):
    """403 AccessDenied, as S3 answers a request a bucket policy denies."""

    def __init__(self, sid: str) -> None:
        super().__init__("AccessDenied", f"Access Denied (bucket policy statement {sid})")


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def enforceable(statement: Mapping[str, Any]) -> bool:
    """True if ``statement`` is a Deny on PutObject whose conditions this module can evaluate."""
    actions = {str(a) for a in _as_list(statement.get("Action", []))}
    conditions = statement.get("Condition", {})
    return (
        statement.get("Effect") == "Deny"
        and "NotResource" not in statement
        and bool(actions & {"s3:PutObject", "s3:*"})
        and set(conditions) <= SUPPORTED_OPERATORS
        and all(set(keys) <= SUPPORTED_KEYS for keys in conditions.values())
    )


def register(bucket: str, statements: list[dict[str, Any]]) -> None:
    """Enforce ``statements`` (all ``enforceable``) on PutObject requests to ``bucket``."""
    with _lock:
        _denies[bucket] = list(statements)
        if S3Response.put_object is _original_put_object:
            S3Response.put_object = _checked_put_object  # type: ignore[method-assign]


def clear() -> None:
    with _lock:
        _denies.clear()
        S3Response.put_object = _original_put_object  # type: ignore[method-assign]


def _context(headers: Mapping[str, str]) -> dict[str, str]:
    lowered = {k.lower(): v for k, v in headers.items()}
    context = {"aws:SecureTransport": "true"}
    for key, header in (
        ("s3:if-none-match", "if-none-match"),
        ("s3:x-amz-server-side-encryption", "x-amz-server-side-encryption"),
    ):
        if header in lowered:
            context[key] = lowered[header]
    return context


def _arn_pattern(pattern: str) -> re.Pattern[str]:
    """IAM's resource wildcards: ``*`` and ``?`` only (fnmatch would also read ``[...]`` as a class)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def _key_matches(operator: str, actual: str | None, expected: list[Any]) -> bool:
    wanted = [str(v).lower() if isinstance(v, bool) else str(v) for v in expected]
    if operator == "Null":
        return (actual is None) == (wanted[0].lower() == "true")
    if actual is None:
        return operator == "StringNotEquals"  # negated operators match a missing key
    if operator == "StringEquals":
        return actual in wanted
    if operator == "StringNotEquals":
        return actual not in wanted
    return actual.lower() in [w.lower() for w in wanted]  # Bool


def denied_by(bucket: str, key: str, headers: Mapping[str, str]) -> str | None:
    """The Sid of the first registered Deny that applies to this PutObject, or None."""
    resource = f"arn:aws:s3:::{bucket}/{key}"
    context = _context(headers)
    for statement in _denies.get(bucket, []):
        resources = [str(r) for r in _as_list(statement.get("Resource", []))]
        if not any(_arn_pattern(pattern).fullmatch(resource) for pattern in resources):
            continue
        if all(
            _key_matches(operator, context.get(name), _as_list(expected))
            for operator, keys in statement.get("Condition", {}).items()
            for name, expected in keys.items()
        ):
            return str(statement.get("Sid", "?"))
    return None


def _checked_put_object(self: S3Response) -> Any:
    sid = denied_by(self.bucket_name, self.parse_key_name(), dict(self.headers))
    if sid is not None:
        raise PolicyAccessDenied(sid)
    return _original_put_object(self)
