"""The local stand-in for conditional bucket-policy Denies (moto cannot evaluate their conditions)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from driftloop_local import s3policy

BUCKET = "kpi-events"
WRITE_ONCE = {
    "Sid": "DenyWritesThatCouldOverwrite",
    "Effect": "Deny",
    "Action": "s3:PutObject",
    "Resource": f"arn:aws:s3:::{BUCKET}/*",
    "Condition": {"Null": {"s3:if-none-match": "true"}},
}
ENCRYPTED = {
    "Sid": "DenyUnencryptedWrites",
    "Effect": "Deny",
    "Action": "s3:PutObject",
    "Resource": f"arn:aws:s3:::{BUCKET}/*",
    "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}},
}
TLS_ONLY = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Action": "s3:*",
    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


@pytest.fixture
def policy() -> Iterator[None]:
    s3policy.register(BUCKET, [WRITE_ONCE, ENCRYPTED, TLS_ONLY])
    yield
    s3policy.clear()


@pytest.mark.parametrize(
    ("headers", "denied_by"),
    [
        ({"If-None-Match": "*", "x-amz-server-side-encryption": "AES256"}, None),
        ({"x-amz-server-side-encryption": "AES256"}, "DenyWritesThatCouldOverwrite"),
        ({"If-None-Match": "*"}, "DenyUnencryptedWrites"),  # a missing key matches a negated operator
        ({"If-None-Match": "*", "x-amz-server-side-encryption": "aws:kms"}, "DenyUnencryptedWrites"),
        ({"if-none-match": "*", "X-Amz-Server-Side-Encryption": "AES256"}, None),  # header case
    ],
)
def test_put_object_headers_against_the_kpi_bucket_policy(policy, headers, denied_by) -> None:
    assert s3policy.denied_by(BUCKET, "events/a.json.gz", headers) == denied_by


def test_other_buckets_and_other_prefixes_are_not_affected() -> None:
    events_only = {**WRITE_ONCE, "Resource": f"arn:aws:s3:::{BUCKET}/events/[ab]*"}
    s3policy.register(BUCKET, [events_only])
    try:
        assert s3policy.denied_by("another-bucket", "events/a", {}) is None
        assert s3policy.denied_by(BUCKET, "quarantine/a", {}) is None
        assert s3policy.denied_by(BUCKET, "events/a", {}) is None  # [ab] is literal in IAM, not a class
        assert s3policy.denied_by(BUCKET, "events/[ab]x", {}) == "DenyWritesThatCouldOverwrite"
    finally:
        s3policy.clear()


def test_only_statements_it_can_evaluate_are_enforceable() -> None:
    assert all(s3policy.enforceable(s) for s in (WRITE_ONCE, ENCRYPTED, TLS_ONLY))
    assert not s3policy.enforceable({**ENCRYPTED, "Effect": "Allow"})
    assert not s3policy.enforceable({**ENCRYPTED, "Action": "s3:GetObject"})
    assert not s3policy.enforceable({**ENCRYPTED, "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}})
    assert not s3policy.enforceable({**ENCRYPTED, "Condition": {"StringEquals": {"s3:prefix": "x"}}})
    not_resource = {k: v for k, v in ENCRYPTED.items() if k != "Resource"} | {
        "NotResource": "arn:aws:s3:::x/*"
    }
    assert not s3policy.enforceable(not_resource)
