"""The content bucket, as publishing uses it: its S3 calls, and nothing
else. Sources live under SOURCE_PREFIX; the bucket is versioned, so each
object's version id is what a release records."""

from __future__ import annotations

import hashlib
import mimetypes

from ... import aws
from ...names import SOURCE_PREFIX
from ...settings import get_settings
from ...tables import content_table


def etag(raw: bytes) -> str:
    # S3's ETag for a single-part upload encrypted with S3's own keys.
    return hashlib.md5(raw, usedforsecurity=False).hexdigest()


def listing() -> dict[str, str]:
    """The bucket's current sources and their ETags."""
    s3, bucket = aws.s3(), get_settings().content_bucket
    listed = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=SOURCE_PREFIX):
        for entry in page.get("Contents", []):
            listed[entry["Key"][len(SOURCE_PREFIX) :]] = entry["ETag"].strip('"')
    return listed


def fetch(names: list[str], versions: dict[str, str] | None = None) -> dict[str, tuple[bytes, list[str]]]:
    """Each file's bytes and [version id, ETag]: the current version, or the
    one named in `versions`."""
    s3, bucket = aws.s3(), get_settings().content_bucket

    def get(name: str) -> tuple[bytes, list[str]]:
        extra = {"VersionId": versions[name]} if versions else {}
        response = s3.get_object(Bucket=bucket, Key=SOURCE_PREFIX + name, **extra)
        return response["Body"].read(), [response.get("VersionId", "null"), response["ETag"].strip('"')]

    return dict(zip(names, content_table.in_parallel(get, names), strict=True))


def upload(sources: dict[str, bytes], names: list[str]) -> dict[str, list[str]]:
    """Put each named source; its [version id, ETag]."""
    s3, bucket = aws.s3(), get_settings().content_bucket

    def put(name: str) -> list[str]:
        content_type = mimetypes.guess_type(name)[0] or "text/plain"
        response = s3.put_object(
            Bucket=bucket, Key=SOURCE_PREFIX + name, Body=sources[name], ContentType=content_type
        )
        return [response.get("VersionId", "null"), response["ETag"].strip('"')]

    return dict(zip(names, content_table.in_parallel(put, names), strict=True))


def remove(names: list[str]) -> None:
    s3, bucket = aws.s3(), get_settings().content_bucket

    def delete(name: str) -> None:
        # The bucket is versioned: a delete keeps the file's history.
        s3.delete_object(Bucket=bucket, Key=SOURCE_PREFIX + name)

    content_table.in_parallel(delete, names)


def versions(names: list[str]) -> dict[str, list[str]]:
    """Each named source's current [version id, ETag], asked of S3."""
    s3, bucket = aws.s3(), get_settings().content_bucket

    def head(name: str) -> list[str]:
        response = s3.head_object(Bucket=bucket, Key=SOURCE_PREFIX + name)
        return [response.get("VersionId", "null"), response["ETag"].strip('"')]

    return dict(zip(names, content_table.in_parallel(head, names), strict=True))


def is_source(bucket: str | None, key: str) -> bool:
    """Whether an object names one of this stage's sources."""
    return bucket == get_settings().content_bucket and key.startswith(SOURCE_PREFIX)
