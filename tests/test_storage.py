"""Shared storage: the folder default and an S3-compatible bucket, on a real S3 server on loopback (moto's server
mode, which speaks the S3 protocol over HTTP); a crawl's raw bytes and an attachment land in the bucket."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import select

from collector.server import SampleServer
from evidence.database import session_scope
from evidence.errors import DataError
from evidence.record import Snapshot
from evidence.settings import Storage
from evidence.storage import BucketStore, FolderStore, MissingBlob, blob_store
from review.attachments import kept_file, store_file

BUCKET = "evidence-test"
KEYS = {"EVIDENCE_STORAGE_ACCESS_KEY_ID": "test-key", "EVIDENCE_STORAGE_SECRET_ACCESS_KEY": "test-secret"}


@pytest.fixture(scope="module")
def s3():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test-key",
                 aws_secret_access_key="test-secret").create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def _client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test-key",
                        aws_secret_access_key="test-secret")


def _objects(endpoint: str, prefix: str) -> list[str]:
    found = _client(endpoint).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in found.get("Contents", []))


@pytest.fixture(params=["folder", "bucket"])
def store(request, tmp_path, s3):
    if request.param == "folder":
        return blob_store(tmp_path, "raw", Storage())
    prefix = f"run-{os.urandom(4).hex()}"
    return blob_store(tmp_path, "raw", Storage(url=f"s3://{BUCKET}/{prefix}", endpoint_url=s3,
                                               access_key_id="test-key", secret_access_key="test-secret"))


def test_a_store_keeps_bytes_by_key_and_names_a_missing_one(store):
    assert not store.exists("ab/abc")
    store.put("ab/abc", b"\x00\xffbytes")
    store.put("ab/abc", b"\x00\xffbytes")  # the same content again: nothing changes
    assert store.exists("ab/abc") and store.get("ab/abc") == b"\x00\xffbytes"
    with pytest.raises(MissingBlob, match="nothing stored"):
        store.get("ab/none")


def test_the_default_is_a_folder_in_the_data_directory_and_s3_a_bucket_prefix(tmp_path, s3):
    assert isinstance(blob_store(tmp_path, "raw", Storage()), FolderStore)
    bucket = blob_store(tmp_path, "raw", Storage(url=f"s3://{BUCKET}/edition/", endpoint_url=s3))
    assert isinstance(bucket, BucketStore) and bucket.prefix == "edition/raw/"
    with pytest.raises(DataError, match=r"storage\.url"):
        blob_store(tmp_path, "raw", Storage(url="ftp://nowhere"))


def test_a_crawl_stores_raw_bytes_in_the_bucket_and_none_on_local_disk(tmp_path, s3):
    database = f"sqlite:///{tmp_path / 'evidence.db'}"
    env = {**os.environ, **KEYS, "EVIDENCE_DATA_DIR": str(tmp_path / "data"), "EVIDENCE_DATABASE_URL": database,
           "EVIDENCE_STORAGE_URL": f"s3://{BUCKET}/crawl", "EVIDENCE_STORAGE_ENDPOINT_URL": s3}
    with SampleServer(slow_seconds=30) as sample:
        sources = sample.write_sources(tmp_path / "sources.yaml")
        done = subprocess.run([sys.executable, "-m", "app.cli", "crawl", "--edition", "g20-2023", "--city", "berlin",
                               "--sources", str(sources), "--timeout", "3", "--delay", "0", "--retries", "1",
                               "--json"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["new_snapshots"] > 0
    with session_scope(database) as s:
        hashes = set(s.scalars(select(Snapshot.raw_sha256)))
    assert _objects(s3, "crawl/raw/") == sorted(f"crawl/raw/{h[:2]}/{h}" for h in hashes)
    body = _client(s3).get_object(Bucket=BUCKET, Key=f"crawl/raw/{min(hashes)[:2]}/{min(hashes)}")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == min(hashes)
    assert not (tmp_path / "data" / "raw").exists()


def test_an_attachment_goes_to_the_bucket_and_is_found_again_by_its_token(tmp_path, s3, monkeypatch):
    for name, value in {**KEYS, "EVIDENCE_STORAGE_URL": f"s3://{BUCKET}/review",
                        "EVIDENCE_STORAGE_ENDPOINT_URL": s3}.items():
        monkeypatch.setenv(name, value)
    attached = store_file(tmp_path, "plan 2024.pdf", io.BytesIO(b"%PDF-1.4 a city's plan"), "application/pdf")
    assert _objects(s3, "review/attachments/") == [f"review/attachments/{attached.sha256}"]
    assert kept_file(tmp_path, attached.token).sha256 == attached.sha256
    assert not (tmp_path / "attachments").exists()
    with pytest.raises(DataError, match="no stored file"):
        kept_file(tmp_path, f"{'0' * 64}:3:x.pdf")
