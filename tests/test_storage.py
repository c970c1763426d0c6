"""The blob store on a local folder and on S3 (moto's real server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from traptagger_lab.errors import ConfigurationError
from traptagger_lab.settings import Settings
from traptagger_lab.storage import BlobStore


def _exercise(store: BlobStore) -> None:
    store.put("compressed/ab/abc.jpg", b"one")
    store.put("thumbnails/ab/abc.jpg", b"two")
    store.put("compressed/ab/abc.jpg", b"three")  # overwrite is idempotent
    assert store.get("compressed/ab/abc.jpg") == b"three"
    assert store.exists("thumbnails/ab/abc.jpg")
    assert not store.exists("thumbnails/ab/missing.jpg")
    assert store.keys() == ["compressed/ab/abc.jpg", "thumbnails/ab/abc.jpg"]
    assert store.keys("thumbnails") == ["thumbnails/ab/abc.jpg"]
    store.delete("thumbnails/ab/abc.jpg")
    assert store.keys("thumbnails") == []
    with pytest.raises(ValueError, match="escapes"):
        store.put("../outside", b"x")


def test_local_store(tmp_path: Path) -> None:
    store = BlobStore(str(tmp_path / "blobs"))
    _exercise(store)
    assert (tmp_path / "blobs/compressed/ab/abc.jpg").read_bytes() == b"three"
    assert store.url_of("compressed/ab/abc.jpg") == str(tmp_path / "blobs/compressed/ab/abc.jpg")


@pytest.mark.s3
def test_s3_store(s3_server: str, s3_bucket: str) -> None:
    import boto3

    url = f"s3://{s3_bucket}/org-a/blobs"
    settings = Settings(storage_url=url, s3_endpoint_url=s3_server)
    store = BlobStore(url, settings.fsspec_options(url))
    _exercise(store)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    body = s3.get_object(Bucket=s3_bucket, Key="org-a/blobs/compressed/ab/abc.jpg")["Body"].read()
    assert body == b"three"
    assert (
        store.url_of("compressed/ab/abc.jpg")
        == f"s3://{s3_bucket}/org-a/blobs/compressed/ab/abc.jpg"
    )


def test_unknown_protocol_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="cannot open storage"):
        BlobStore("nosuchproto://bucket/x").put("a", b"b")
