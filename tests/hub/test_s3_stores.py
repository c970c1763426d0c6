"""Organisation stores on S3, isolated by IAM: moto's real server with IAM enforcement on.

Provisioning runs before enforcement starts (as the hub's AWS identity would);
from then on every request is checked against the IAM user's policy.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from traptagger_hub.orgs import Registry
from traptagger_hub.provision import Provisioner
from traptagger_hub.s3 import S3Stores, prefix_policy, split_s3_url

from tests.browser import free_port
from tests.conftest import MYSQL_SERVER
from traptagger_lab.errors import ConfigurationError, NotFoundError
from traptagger_lab.sample import SampleSpec, SampleSurvey, make_sample_survey
from traptagger_lab.settings import SharedSurvey


@pytest.fixture
def iam_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto server of its own (IAM enforcement is server-wide); yields its URL.
    The hub's own AWS identity is moto's default account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                requests.get(f"{url}/moto-api/", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _enforce_iam(url: str, on: bool = True) -> None:
    """From now on the server checks every request against IAM policies (or stops checking,
    for the hub's own provisioning calls, which AWS would allow its identity)."""
    count = b"0" if on else b"inf"
    requests.post(f"{url}/moto-api/reset-auth", data=count, timeout=10).raise_for_status()


def _fs(options: dict[str, Any]) -> Any:
    import s3fs

    return s3fs.S3FileSystem(skip_instance_cache=True, **options)


def test_policies_name_only_the_prefix() -> None:
    assert split_s3_url("s3://bucket/orgs/") == ("bucket", "orgs")
    with pytest.raises(ConfigurationError, match="not an s3:// URL"):
        split_s3_url("/tmp/x")
    policy = prefix_policy("b", "orgs/a", ["s3:GetObject"])
    assert policy["Statement"][0]["Resource"] == ["arn:aws:s3:::b/orgs/a/*"]
    assert policy["Statement"][1]["Condition"]["StringLike"]["s3:prefix"] == ["orgs/a/*", "orgs/a"]


def test_each_organisation_reaches_only_its_prefix(iam_s3: str) -> None:
    import boto3

    boto3.client("s3", endpoint_url=iam_s3, region_name="us-east-1").create_bucket(Bucket="lab")
    stores = S3Stores("s3://lab/orgs", iam_s3, region_name="us-east-1")
    a, b = stores.create("kruger"), stores.create("serengeti")
    assert (a.storage_url, b.storage_url) == ("s3://lab/orgs/kruger", "s3://lab/orgs/serengeti")
    _enforce_iam(iam_s3)

    member_a, member_b = _fs(a.member_options), _fs(b.member_options)
    member_a.pipe("lab/orgs/kruger/thumbnails/ab/abcd.jpg", b"leopard")
    member_b.pipe("lab/orgs/serengeti/thumbnails/cd/cdef.jpg", b"lion")
    assert member_a.cat("lab/orgs/kruger/thumbnails/ab/abcd.jpg") == b"leopard"
    assert member_a.ls("lab/orgs/kruger/thumbnails/ab") == [
        "lab/orgs/kruger/thumbnails/ab/abcd.jpg"
    ]
    with pytest.raises(PermissionError):  # B's objects, by name
        member_a.cat("lab/orgs/serengeti/thumbnails/cd/cdef.jpg")
    # (Listing is limited by the policy's s3:prefix condition, which AWS enforces but moto
    # does not evaluate; test_policies_name_only_the_prefix checks the condition is there.)
    with pytest.raises(PermissionError):  # writing into B
        member_a.pipe("lab/orgs/serengeti/loot.txt", b"x")

    annotator_a = _fs(a.annotator_options)
    assert annotator_a.cat("lab/orgs/kruger/thumbnails/ab/abcd.jpg") == b"leopard"
    with pytest.raises(PermissionError):  # annotators only read
        annotator_a.pipe("lab/orgs/kruger/thumbnails/ab/new.jpg", b"x")
    with pytest.raises(PermissionError):
        annotator_a.cat("lab/orgs/serengeti/thumbnails/cd/cdef.jpg")

    # a share gets a copy of the survey's blobs under a prefix of its own, and a login that
    # may read those by key and nothing else (not the owner's originals), listing nothing
    member_a.pipe("lab/orgs/kruger/thumbnails/ef/efgh.jpg", b"another survey's")
    _enforce_iam(iam_s3, on=False)  # the hub's own identity provisions
    url, share = stores.share("kruger", 7, ["thumbnails/ab/abcd.jpg"])
    assert url == "s3://lab/orgs/_shares/7"
    _enforce_iam(iam_s3)
    guest = _fs(share)
    assert guest.cat("lab/orgs/_shares/7/thumbnails/ab/abcd.jpg") == b"leopard"
    with pytest.raises(PermissionError):
        guest.ls("lab/orgs/_shares/7/thumbnails/ab", refresh=True)
    for elsewhere in (
        "lab/orgs/kruger/thumbnails/ab/abcd.jpg",
        "lab/orgs/kruger/thumbnails/ef/efgh.jpg",
        "lab/orgs/serengeti/thumbnails/cd/cdef.jpg",
    ):
        with pytest.raises(PermissionError):
            guest.cat(elsewhere)
    _enforce_iam(iam_s3, on=False)
    stores.unshare(7)  # its login and its copies go
    assert not _fs({"client_kwargs": {"endpoint_url": iam_s3}}).exists(
        "lab/orgs/_shares/7/thumbnails/ab/abcd.jpg"
    )


@pytest.mark.mysql
def test_an_s3_organisation_end_to_end(
    iam_s3: str, tmp_path: Path, sample_survey: SampleSurvey, lab_factory: Any
) -> None:
    """Approve two organisations on MariaDB + S3; A's member ingests; A's annotator reads the
    thumbnails, B's member cannot, and B reads them again once A shares the survey."""
    import boto3

    boto3.client("s3", endpoint_url=iam_s3, region_name="us-east-1").create_bucket(Bucket="lab")
    provisioner = Provisioner(MYSQL_SERVER, "s3://lab/orgs", s3_endpoint_url=iam_s3)
    registry = Registry(f"sqlite:///{tmp_path / 'hub.db'}", provisioner)
    tag = uuid.uuid4().hex[:6]
    slugs = [f"north_{tag}", f"south_{tag}"]
    try:
        for slug, admin in zip(slugs, ("ana", "ben"), strict=True):
            registry.request(slug, "x@example.org", "", requested_by=admin)
            registry.approve(slug)
        registry.add(slugs[0], "ann", "annotator")
        _enforce_iam(iam_s3)

        def lab_for(person: str, slug: str) -> Any:
            env = registry.server_environment(person, slug)
            return lab_factory(
                database_url=env["TRAPTAGGER_DATABASE_URL"],
                storage_url=env["TRAPTAGGER_STORAGE_URL"],
                storage_options=json.loads(env["TRAPTAGGER_STORAGE_OPTIONS"]),
                shared_surveys=[
                    SharedSurvey(**s) for s in json.loads(env["TRAPTAGGER_SHARED_SURVEYS"])
                ],
            )

        owner = lab_for("ana", slugs[0])
        assert owner.store.url == f"s3://lab/orgs/{slugs[0]}"
        owner.ingest(str(sample_survey.root), survey="S")
        image_id, key = _first_thumbnail(owner)
        thumbnail = owner.thumbnail(image_id)
        assert thumbnail[:2] == b"\xff\xd8"  # a JPEG, written to A's prefix by A's login

        assert lab_for("ann", slugs[0]).thumbnail(image_id) == thumbnail
        outsider = lab_for("ben", slugs[1])
        with pytest.raises(PermissionError):
            outsider.store.fs.cat(owner.store.url.removeprefix("s3://") + "/" + key)
        with pytest.raises(NotFoundError):
            outsider.survey("S")

        other = make_sample_survey(tmp_path / "other", SampleSpec(bursts_per_camera=1, seed=99))
        owner.ingest(str(other.root), survey="T")  # other photos, not shared
        _, other_key = _first_thumbnail(owner, "T")
        _enforce_iam(iam_s3, on=False)
        registry.share(slugs[0], "S", slugs[1], "read-only", by="ana")
        _enforce_iam(iam_s3)
        with lab_for("ben", slugs[1]).open_shared("S") as shared:
            assert shared.thumbnail(image_id) == thumbnail
            # the share's login reaches that survey's blobs alone: not survey T's, even by key
            assert shared.store.url != owner.store.url
            with pytest.raises(PermissionError):
                shared.store.fs.cat(owner.store.url.removeprefix("s3://") + "/" + other_key)
            with pytest.raises(PermissionError):
                shared.store.fs.cat(owner.store.url.removeprefix("s3://") + "/" + key)
    finally:
        _enforce_iam(iam_s3, on=False)
        for slug in slugs:
            provisioner.drop(slug)
        registry.close()


def _first_thumbnail(lab: Any, survey: str = "S") -> tuple[int, str]:
    """The id and thumbnail key of an image of the lab's survey."""
    from sqlalchemy import select

    from traptagger_lab.db.models import Image

    survey_id = lab.survey(survey).id
    with lab.sessions() as session:
        row = session.execute(
            select(Image.id, Image.thumbnail_key)
            .where(Image.thumbnail_key.is_not(None), Image.survey_id == survey_id)
            .limit(1)
        ).one()
    return int(row[0]), str(row[1])
