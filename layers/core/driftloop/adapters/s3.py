"""S3 objects by ``s3://bucket/key`` URI."""

from __future__ import annotations

from botocore.exceptions import ClientError

from driftloop.adapters.clients import client


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri}")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def read(uri: str) -> bytes | None:
    bucket, key = split_uri(uri)
    try:
        body: bytes = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    return body


def list_objects(prefix_uri: str) -> list[tuple[str, int]]:
    bucket, prefix = split_uri(prefix_uri)
    found: list[tuple[str, int]] = []
    for page in client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [(f"s3://{bucket}/{item['Key']}", int(item["Size"])) for item in page.get("Contents", [])]
    return found


def write(uri: str, body: bytes, content_type: str) -> None:
    bucket, key = split_uri(uri)
    client("s3").put_object(
        Bucket=bucket, Key=key, Body=body, ContentType=content_type, ServerSideEncryption="AES256"
    )
