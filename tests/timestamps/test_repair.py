"""Timestamp repair over a survey: proposals per camera from strip vs EXIF, clock jumps,
times for photos without EXIF, applying them with re-clustering, times entered by hand.

The survey is generated (``sample.make_strip_survey``): each photo's strip prints its true
time; Site01/CamB's EXIF is an hour behind and it saw the same triggers as Site01/CamA;
Site02/CamA's clock jumped a day and two minutes ahead after its fourth photo;
Site03/CamA lost the EXIF of two photos. On SQLite the photos are read by tesseract;
on MariaDB and PostgreSQL the same readings are taken from one OCR pass of the files
(the database is what differs there).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from traptagger_lab.db.models import ProcessingRun
from traptagger_lab.errors import ConfigurationError, NotFoundError
from traptagger_lab.sample import StripCamera, make_strip_survey
from traptagger_lab.timestamps import repair
from traptagger_lab.timestamps.ocr import PhotoStrip, open_photo, read_images, tesseract_path
from traptagger_lab.timestamps.repair import (
    PhotoJob,
    ReadParams,
    apply_timestamps,
    enter_times,
    review_timestamps,
)

pytest.importorskip("pytesseract", reason="OCR needs the ocr extra (pytesseract)")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        tesseract_path() is None,
        reason="the tesseract program is not installed (apt-get install tesseract-ocr; "
        "tools/install-system-packages.sh does it as root)",
    ),
]

T0 = dt.datetime(2024, 3, 13, 5, 40, 7)
#: Three triggers of two shots each, seen by both cameras of Site01.
SHARED = tuple(
    T0 + dt.timedelta(hours=h, seconds=s) for h in (0, 27, 61) for s in (0, 3)
)  # fmt: skip
HOUR, JUMP = 3600.0, 86400.0 + 120.0
CAMERAS = [
    StripCamera("Site01", "CamA", "reconyx-top", times=SHARED),
    StripCamera("Site01", "CamB", "bushnell", exif_offset_s=-HOUR, times=SHARED),
    StripCamera("Site02", "CamA", "dayfirst-top", jump_after=4, jump_s=JUMP),
    StripCamera("Site03", "CamA", "reconyx", without_exif=(2, 5)),
]


@pytest.fixture(scope="module")
def strip_survey(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("strips") / "survey"
    rows = make_strip_survey(root, CAMERAS, photos_per_camera=6)
    return root, pd.DataFrame(rows).set_index("path")


@pytest.fixture(scope="module")
def read_once(strip_survey: tuple[Path, pd.DataFrame]) -> dict[str, PhotoStrip]:
    """Every photo's strip read once by tesseract, by path."""
    root, truth = strip_survey
    paths = list(truth.index)
    strips = read_images([open_photo((root / p).read_bytes()) for p in paths])
    return dict(zip(paths, strips, strict=True))


@pytest.fixture
def surveyed(
    database_url: str,
    strip_survey: tuple[Path, pd.DataFrame],
    lab_factory: Any,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """A lab with the strip survey ingested and clustered; off SQLite, OCR from the cache."""
    if not database_url.startswith("sqlite"):
        cache: dict[str, PhotoStrip] = request.getfixturevalue("read_once")

        def cached(_: ReadParams, jobs: list[PhotoJob]) -> list[tuple[int, PhotoStrip]]:
            return [(job.image_id, cache[job.path]) for job in jobs]

        monkeypatch.setattr(repair, "read_batch", cached)
    lab = lab_factory(database_url=database_url)
    lab.ingest(str(strip_survey[0]), survey="S")
    lab.sequences("S")
    return lab


def _same_cluster(images: pd.DataFrame, first: str, second: str) -> bool:
    return bool(images.loc[first].cluster_id == images.loc[second].cluster_id)


def test_proposals_apply_and_recluster(
    surveyed: Any, strip_survey: tuple[Path, pd.DataFrame]
) -> None:
    lab, truth = surveyed, strip_survey[1]
    before = lab.images("S", include_failures=False).set_index("path")
    assert not _same_cluster(before, "Site01/CamA/IMG_0001.JPG", "Site01/CamB/IMG_0001.JPG")

    review = review_timestamps(lab.workspace, "S")
    cameras = review.cameras.set_index("camera")
    assert list(cameras.read) == list(cameras.photos) == [6, 6, 6, 6]
    assert cameras.loc["Site01/CamA"].offset_s == 0
    assert not cameras.loc["Site01/CamA"].needs_change
    assert cameras.loc["Site01/CamB"].offset_s == HOUR
    assert cameras.loc["Site01/CamB"].needs_change
    jumped = review.plans["Site02/CamA"]
    assert [s.offset_s for s in jumped.segments] == [0.0, -JUMP]
    fifth = "Site02/CamA/IMG_0005.JPG"
    assert jumped.segments[1].start == truth.loc[fifth].exif_time
    (change,) = jumped.segmentation.change_points
    assert change.after == truth.loc["Site02/CamA/IMG_0004.JPG"].exif_time
    assert cameras.loc["Site02/CamA"].change_points == [
        f"{change.after.isoformat(sep=' ')} .. {change.before.isoformat(sep=' ')}: "
        f"+0 s -> {-JUMP:+.0f} s"
    ]
    assert (cameras.loc["Site03/CamA"].without_exif, cameras.loc["Site03/CamA"].compared) == (2, 4)
    assert list(cameras.confidence) == ["high", "high", "high", "medium"]  # 4 < 5 compared
    assert list(cameras.agreement) == [1.0] * 4
    assert list(cameras.date_order) == ["ymd", "mdy", "dmy", "mdy"]
    actions = review.summary().set_index("camera").action
    assert list(actions) == ["keep", "apply", "apply", "keep"]
    missing = review.missing().set_index("path")
    assert list(missing.index) == ["Site03/CamA/IMG_0003.JPG", "Site03/CamA/IMG_0006.JPG"]
    assert list(missing.ocr_time) == list(truth.loc[missing.index].true_time)

    report = apply_timestamps(lab.workspace, "S", review)
    assert sorted(report.offsets) == ["Site01/CamB", "Site02/CamA"]
    assert report.filled == 2
    assert sorted(report.changes.how.value_counts().items()) == [("ocr", 2), ("offset", 8)]

    after = lab.images("S", include_failures=False).set_index("path")
    assert list(after.loc[truth.index].corrected_timestamp) == list(truth.true_time)
    kept = truth.exif_time.notna()
    assert list(after.loc[truth.index[kept]].timestamp) == list(truth.exif_time[kept])
    assert set(after.loc[missing.index].timestamp_source) == {"ocr"}
    # re-clustered on the new times: CamB's shots join CamA's shots of the same triggers
    for number in range(1, 7):
        photo = f"IMG_{number:04d}.JPG"
        assert _same_cluster(after, f"Site01/CamA/{photo}", f"Site01/CamB/{photo}")
    assert lab.status_counts("S")["unclustered_images"] == 0
    with lab.workspace.sessions() as session:
        run = session.scalars(
            select(ProcessingRun).where(ProcessingRun.stage == "timestamps")
        ).one()
        assert (run.status, run.counts) == ("done", {"cameras": 2, "filled": 2, "changed": 10})
        assert run.params["offsets"]["Site01/CamB"][0]["offset_s"] == HOUR


def test_times_entered_by_hand(surveyed: Any, strip_survey: tuple[Path, pd.DataFrame]) -> None:
    lab = surveyed
    images = lab.images("S", include_failures=False).set_index("path")
    lost = "Site03/CamA/IMG_0003.JPG"
    assert pd.isna(images.loc[lost].corrected_timestamp)
    when = dt.datetime(2024, 3, 20, 10, 0, 0)
    report = enter_times(lab.workspace, "S", {lost: when.isoformat()})
    assert report.filled == 1
    assert list(report.changes.how) == ["entered"]
    other = int(images.loc["Site03/CamA/IMG_0006.JPG"].image_id)
    enter_times(lab.workspace, "S", {other: when + dt.timedelta(seconds=30)})
    after = lab.images("S", include_failures=False).set_index("path")
    assert after.loc[lost].corrected_timestamp == when
    assert after.loc[lost].timestamp_source == "entered"
    assert _same_cluster(after, lost, "Site03/CamA/IMG_0006.JPG")  # 30 s apart: one sequence
    # a new review proposes nothing for a photo a person timed, and does not overwrite it
    review = review_timestamps(lab.workspace, "S", cameras=["Site03/CamA"])
    assert review.cameras.iloc[0].without_exif == 2  # entered times are no EXIF
    assert review.missing().empty
    apply_timestamps(lab.workspace, "S", review)
    kept = lab.images("S", include_failures=False).set_index("path")
    assert kept.loc[lost].corrected_timestamp == when
    # the entered photo moves with its camera's clock from now on
    lab.set_clock_offset("S", "Site03/CamA", 60)
    moved = lab.images("S", include_failures=False).set_index("path")
    assert moved.loc[lost].corrected_timestamp == when + dt.timedelta(seconds=60)

    with pytest.raises(ConfigurationError, match="has an EXIF time"):
        enter_times(lab.workspace, "S", {"Site03/CamA/IMG_0001.JPG": when})
    with pytest.raises(NotFoundError, match="no image"):
        enter_times(lab.workspace, "S", {"Site03/CamA/nope.JPG": when})
    with pytest.raises(NotFoundError, match="no image"):
        enter_times(lab.workspace, "S", {10**9: when})


def test_choosing_cameras_and_confidence(surveyed: Any) -> None:
    lab = surveyed
    review = review_timestamps(lab.workspace, "S", cameras=["Site01/CamB", "Site02/CamA"])
    assert sorted(review.plans) == ["Site01/CamB", "Site02/CamA"]
    with pytest.raises(NotFoundError, match="no camera"):
        apply_timestamps(lab.workspace, "S", review, cameras=["Site09/CamZ"])
    with pytest.raises(ConfigurationError, match="min_confidence"):
        apply_timestamps(lab.workspace, "S", review, min_confidence="certain")
    report = apply_timestamps(lab.workspace, "S", review, cameras=["Site01/CamB"])
    assert list(report.offsets) == ["Site01/CamB"]
    assert lab.camera("S", "Site01/CamB").clock_offset_s == HOUR
    assert lab.camera("S", "Site02/CamA").clock_offset_s == 0  # not chosen
    again = review_timestamps(lab.workspace, "S", cameras=["Site01/CamB"])
    assert not again.plans["Site01/CamB"].needs_change  # nothing left to do
    assert apply_timestamps(lab.workspace, "S", again).offsets == {}
    with pytest.raises(NotFoundError, match="no photos"):
        review_timestamps(lab.workspace, "S", cameras=["Site09/CamZ"])


@pytest.mark.dask
def test_review_on_a_dask_cluster(
    strip_survey: tuple[Path, pd.DataFrame], lab_factory: Any, dask_client: Any
) -> None:
    """The OCR tasks travel to LocalCluster workers and come back as the same review."""
    lab = lab_factory()
    lab.ingest(str(strip_survey[0]), survey="S")
    review = review_timestamps(lab.workspace, "S", cameras=["Site01/CamB"], client=dask_client)
    row = review.cameras.iloc[0]
    assert (row.camera, row.read, row.offset_s, row.confidence) == ("Site01/CamB", 6, HOUR, "high")


def test_the_command_line_reviews_and_applies(surveyed: Any, database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the command reads the strips itself: once, on SQLite, is enough")
    from typer.testing import CliRunner

    from traptagger_lab.cli import app

    env = {
        "TRAPTAGGER_DATABASE_URL": surveyed.settings.resolved_database_url(),
        "TRAPTAGGER_STORAGE_URL": surveyed.settings.resolved_storage_url(),
        "TRAPTAGGER_DASK_SCHEDULER": "sync",
    }
    runner = CliRunner()
    shown = runner.invoke(app, ["timestamps", "S"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "Site01/CamB" in shown.stdout or "CamB" in shown.stdout
    assert "2 photos without EXIF time" in shown.stdout
    applied = runner.invoke(app, ["timestamps", "S", "--apply"], env=env)
    assert applied.exit_code == 0, applied.output
    assert "applied offsets to" in applied.stdout
    wrong = runner.invoke(app, ["timestamps", "S", "--camera", "Nowhere/Cam"], env=env)
    assert wrong.exit_code == 1
    assert wrong.output.startswith("error:")
