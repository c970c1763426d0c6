"""Whole-survey ingest on real parts: three databases, a Dask LocalCluster, S3 on moto."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

from tests.ingest.paced import images_written, paced_cli
from traptagger_lab.db.models import Image, IngestIssue, ProcessingRun, Video
from traptagger_lab.sample import SampleSurvey


def _check_complete(lab: Any, survey: str, sample: SampleSurvey) -> None:
    """The survey holds exactly what the sample generator says a correct ingest finds."""
    counts = lab.status_counts(survey)
    assert counts["images"] == len(sample.photos)
    assert counts["videos"] == len(sample.videos) == 1
    assert counts["video_frames"] == 6
    assert counts["images_without_timestamp"] == len(sample.without_timestamp)
    assert Counter(counts["failures"]) == sample.expected_failures
    assert counts["sites"] == 3
    assert counts["cameras"] == 4
    table = lab.images(survey)
    photos = table[table.failure_reason.isna() & ~table.is_video_frame.astype(bool)]
    assert sorted(photos.path) == sorted(sample.photos)
    assert photos.path.is_unique
    failed = table[table.failure_reason.notna()].set_index("path").failure_reason.to_dict()
    assert failed == sample.failures
    with lab.sessions() as session:
        keys = session.execute(select(Image.compressed_key, Image.thumbnail_key)).all()
    stored = set(lab.store.keys())
    assert {k for pair in keys for k in pair} <= stored


def test_ingest_sample_survey(
    database_url: str,
    dask_client: Any,
    sample_survey: SampleSurvey,
    lab_factory: Any,
    tmp_path: Path,
) -> None:
    lab = lab_factory(database_url=database_url, storage_url=str(tmp_path / "blobs"))
    report = lab.ingest(str(sample_survey.root), survey="Sample", client=dask_client)
    assert report.images == len(sample_survey.photos)
    _check_complete(lab, "Sample", sample_survey)

    table = lab.images("Sample")
    no_exif = table.set_index("path").loc[sample_survey.without_timestamp[0]]
    assert no_exif.timestamp_source == "missing"
    assert pd.isna(no_exif.failure_reason)  # kept and flagged, not a failure
    with lab.sessions() as session:
        dupe = session.scalars(select(IngestIssue).where(IngestIssue.reason == "duplicate")).one()
        assert dupe.duplicate_of in sample_survey.photos
        assert session.scalar(select(func.count()).select_from(Video)) == 1
        run = session.scalars(select(ProcessingRun).where(ProcessingRun.stage == "ingest")).one()
        assert run.status == "done"
        assert run.counts["images"] == len(sample_survey.photos)
        assert run.params["site_pattern"] == "folder:1"

    again = lab.ingest(str(sample_survey.root), survey="Sample", client=dask_client)
    assert (again.images, again.videos) == (0, 0)
    assert again.skipped == len(sample_survey.photos) + 1 + 1  # photos, the video, the duplicate
    _check_complete(lab, "Sample", sample_survey)


def test_rerun_adds_only_new_files(
    sample_survey: SampleSurvey, lab_factory: Any, tmp_path: Path
) -> None:
    source = tmp_path / "copy"
    shutil.copytree(sample_survey.root, source)
    lab = lab_factory()
    lab.ingest(str(source), survey="S")
    before = lab.status_counts("S")["images"]
    new_site = source / "Site04" / "CamZ"
    new_site.mkdir(parents=True)
    shutil.copy(source / "Site03/CamA/IMG_0001.JPG", new_site / "IMG_0001.JPG")  # a duplicate
    from PIL import Image as PILImage

    PILImage.new("RGB", (320, 240), (1, 2, 3)).save(new_site / "IMG_0002.JPG")
    (source / "Site01/CamA/IMG_9990.JPG").write_bytes(
        (source / "Site01/CamA/IMG_0001.JPG").read_bytes()[:0] + _fresh_jpeg()
    )  # the empty file was replaced by a good photo: it is imported now
    report = lab.ingest(str(source), survey="S")
    assert report.images == 2
    assert report.failures.get("duplicate") == 1
    counts = lab.status_counts("S")
    assert counts["images"] == before + 2
    assert "empty_file" not in counts["failures"]
    assert counts["sites"] == 4


def _fresh_jpeg() -> bytes:
    from io import BytesIO

    from PIL import Image as PILImage

    buffer = BytesIO()
    PILImage.new("RGB", (64, 48), (200, 10, 10)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_unreadable_files_and_excluded_folders(lab_factory: Any, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "S1/C1").mkdir(parents=True)
    (source / "S1/Backup").mkdir(parents=True)
    (source / "S1/C1/IMG_0001.JPG").write_bytes(_fresh_jpeg())
    (source / "S1/C1/IMG_0002.JPG").symlink_to(tmp_path / "gone.jpg")
    (source / "S1/Backup/IMG_0001.JPG").write_bytes(_fresh_jpeg())
    (source / "S1/C1/notes.txt").write_text("not a photo, not reported")
    lab = lab_factory()
    report = lab.ingest(str(source), survey="S", exclude=["Backup"])
    assert report.images == 1
    assert report.failures == {"no_site": 0, "unreadable": 1}
    issue = lab.images("S").set_index("path").loc["S1/C1/IMG_0002.JPG"]
    assert issue.failure_reason == "unreadable"
    assert "No such file" in issue.failure_detail


def test_site_and_camera_patterns_on_camtrapr_layout(lab_factory: Any, shared_data: Path) -> None:
    """camtrapR keeps Station/SPECIES/file.JPG: the station is the camera, not the species."""
    root = shared_data / "camtrapR/pictures/sample_images_species_dir"
    lab = lab_factory()
    report = lab.ingest(
        str(root), survey="camtrapR", site_pattern="folder:1", camera_pattern="folder:1"
    )
    files = list(root.rglob("*.JPG"))
    counts = lab.status_counts("camtrapR")
    assert counts["sites"] == 3
    assert counts["cameras"] == 3
    assert counts["images"] + counts["failures"].get("duplicate", 0) == len(files)
    assert counts["videos"] == 1
    assert report.failures.get("no_site") == 0
    table = lab.images("camtrapR")
    photos = table[table.failure_reason.isna() & ~table.is_video_frame.astype(bool)]
    assert (photos.timestamp_source == "exif_original").all()
    assert photos.timestamp.min().year == 2009
    assert set(photos.site) == {"StationA", "StationB", "StationC"}
    # The species folder is not part of the site: every photo of StationA is at StationA.
    assert all(p.startswith(s + "/") for p, s in zip(photos.path, photos.site, strict=True))


def test_no_site_paths_are_reported_not_guessed(
    lab_factory: Any, sample_survey: SampleSurvey
) -> None:
    lab = lab_factory()
    report = lab.ingest(str(sample_survey.root), survey="S", site_pattern=r"Site0[12]")
    table = lab.images("S")
    unplaced = set(table[table.failure_reason == "no_site"].path)
    assert "stray_photo.jpg" in unplaced
    assert {p for p in unplaced if p.startswith("Site03/")} == {
        p for p in sample_survey.photos + sample_survey.videos if p.startswith("Site03/")
    }
    assert report.failures["no_site"] == len(unplaced)
    assert set(table.site.dropna()) == {"Site01", "Site02"}


@pytest.mark.s3
def test_ingest_from_s3_into_s3(
    s3_server: str, s3_bucket: str, sample_survey: SampleSurvey, lab_factory: Any, dask_client: Any
) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    for path in sample_survey.root.rglob("*"):
        if path.is_file():
            key = f"uploads/survey-1/{path.relative_to(sample_survey.root).as_posix()}"
            s3.put_object(Bucket=s3_bucket, Key=key, Body=path.read_bytes())
    # Workers get credentials from the settings (they may have started before AWS_* were set).
    lab = lab_factory(
        storage_url=f"s3://{s3_bucket}/derived",
        s3_endpoint_url=s3_server,
        storage_options={"key": "testing", "secret": "testing"},
    )
    report = lab.ingest(f"s3://{s3_bucket}/uploads/survey-1", survey="S3", client=dask_client)
    assert report.images == len(sample_survey.photos)
    _check_complete(lab, "S3", sample_survey)
    listed = s3.list_objects_v2(Bucket=s3_bucket, Prefix="derived/thumbnails/")
    assert listed["KeyCount"] > 0


@pytest.mark.slow
def test_killed_run_restarts_with_exactly_the_right_rows(
    database_url: str, sample_survey: SampleSurvey, lab_factory: Any, tmp_path: Path
) -> None:
    """SIGKILL an ingest half-way, run it again: every file once, every derived blob present."""
    env = {
        **os.environ,
        "TRAPTAGGER_DATABASE_URL": database_url,
        "TRAPTAGGER_STORAGE_URL": str(tmp_path / "blobs"),
        "TRAPTAGGER_DASK_SCHEDULER": "sync",
        "TRAPTAGGER_BATCH_SIZE": "3",
    }
    command = [sys.executable, "-m", "traptagger_lab.cli", "ingest", str(sample_survey.root)]
    command += ["--survey", "Killed", "--no-sequences"]
    # the first run's writes paced at 0.2 s a batch (the real code, slower), so that the kill
    # lands half-way however fast the machine is (unpaced, it sometimes finished first)
    paced = [*paced_cli(0.2), *command[3:]]
    child = subprocess.Popen(paced, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while images_written(database_url) < 9 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    written = images_written(database_url)
    assert 0 < written < len(sample_survey.photos), "the kill should land half-way"
    finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stderr
    lab = lab_factory(database_url=database_url, storage_url=str(tmp_path / "blobs"))
    _check_complete(lab, "Killed", sample_survey)
    with lab.sessions() as session:
        statuses = list(session.scalars(select(ProcessingRun.status).order_by(ProcessingRun.id)))
    assert statuses == ["interrupted", "done"]


def test_changing_the_site_pattern_later(lab_factory: Any, sample_survey: SampleSurvey) -> None:
    lab = lab_factory()
    lab.ingest(str(sample_survey.root), survey="S", site_pattern=r"Site0[12]")
    widened = lab.ingest(str(sample_survey.root), survey="S", site_pattern="folder:1")
    assert widened.failures["no_site"] == 1  # only the stray photo now
    assert lab.status_counts("S")["images"] == len(sample_survey.photos)
    narrowed = lab.ingest(str(sample_survey.root), survey="S", site_pattern=r"Site0[12]")
    assert narrowed.failures["no_site"] == 1  # imported photos are not reported again
    table = lab.images("S")
    assert set(table[table.failure_reason == "no_site"].path) == {"stray_photo.jpg"}
