"""Shared storage for raw bytes and attachments, by key: a folder on this machine (the default) or an
S3-compatible bucket (`storage.url = s3://bucket/prefix`) that every machine of a distributed run reads and
writes. Contents are named by their SHA-256, so a key is written once and a second write of it is a no-op.
"""

from __future__ import annotations

import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from evidence.errors import DataError
from evidence.settings import Storage, load_settings


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...


class MissingBlob(DataError):
    """A key with nothing stored under it."""


class FolderStore:
    """Files under a folder; written to a temporary name and renamed, so a killed writer leaves no torn file."""

    def __init__(self, root: Path):
        self.root = root

    def put(self, key: str, data: bytes) -> None:
        target = self.root / key
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".put.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def get(self, key: str) -> bytes:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            raise MissingBlob(str(self.root), key, "nothing stored under this key") from None

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()


class BucketStore:
    """Objects in an S3-compatible bucket under a prefix (an object is written whole or not at all)."""

    def __init__(self, client, bucket: str, prefix: str):
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=data)

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            raise MissingBlob(f"s3://{self.bucket}/{self.prefix}", key, "nothing stored under this key") from None

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True


def blob_store(data_dir: Path, area: str, storage: Storage | None = None) -> BlobStore:
    """The store of one area (`raw`, `attachments`): `<data dir>/<area>/`, or `<prefix><area>/` in the bucket."""
    storage = storage or load_settings().storage
    if storage.url is None:
        return FolderStore(data_dir / area)
    secret = storage.secret_access_key.get_secret_value() if storage.secret_access_key else None
    return _bucket(storage.url, storage.endpoint_url, storage.region, storage.access_key_id, secret, area)


@cache  # a boto3 client takes tens of milliseconds to make: one per process and bucket
def _bucket(url: str, endpoint: str | None, region: str, key_id: str | None, secret: str | None,
            area: str) -> BucketStore:
    import boto3

    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise DataError("settings (EVIDENCE_* or evidence.toml)", "storage.url",
                        f"{url!r} is not s3://bucket/prefix")
    prefix = parts.path.strip("/")
    client = boto3.client("s3", endpoint_url=endpoint, region_name=region, aws_access_key_id=key_id,
                          aws_secret_access_key=secret)
    return BucketStore(client, parts.netloc, f"{prefix}/{area}/" if prefix else f"{area}/")
