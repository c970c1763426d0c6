"""Where photos come from (issue 17): symlinked folders followed once, several sources per
survey with each photo read from its own, metadata kept whole; on all three databases."""

from __future__ import annotations

import math
import os
from io import BytesIO
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import select

from traptagger_lab.db.models import Image as ImageRow
from traptagger_lab.db.models import IngestIssue, Survey, SurveySource
from traptagger_lab.detect.run import pending_jobs
from traptagger_lab.ingest.metadata import json_safe


def _photo(shade: int, make: str = "trail cam") -> bytes:
    """A small JPEG whose content (and so content hash) is its own for each ``shade``."""
    exif = Image.Exif()
    exif[0x010F] = make
    buffer = BytesIO()
    Image.new("RGB", (32, 24), (shade, 255 - shade, 60)).save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def _camera(folder: Path, shades: list[int]) -> None:
    folder.mkdir(parents=True)
    for shade in shades:
        (folder / f"IMG_{shade:04d}.JPG").write_bytes(_photo(shade))


def _failures(lab: Any, survey: str) -> dict[str, str]:
    table = lab.images(survey)
    failed = table[table.failure_reason.notna()].set_index("path")
    return failed.failure_reason.to_dict()  # type: ignore[no-any-return]


def test_symlinked_folders_are_followed_once(
    database_url: str, tmp_path: Path, lab_factory: Any
) -> None:
    """A site on another disk is imported through its link; links that would read a folder
    twice, loop, or lead nowhere are reported with the reason, and the walk ends."""
    root = tmp_path / "survey"
    _camera(root / "Site01" / "CamA", [10, 20])
    _camera(tmp_path / "other-disk" / "SiteB" / "CamB", [30, 40, 50])
    (root / "Site02").symlink_to(tmp_path / "other-disk" / "SiteB")  # followed
    (root / "Site03").symlink_to(root / "Site01")  # the same folder again: read once
    (root / "Site01" / "CamA" / "up").symlink_to(root)  # a loop
    (root / "Site04").symlink_to(tmp_path / "unplugged")  # dangling
    lab = lab_factory(database_url=database_url, storage_url=str(tmp_path / "store"))

    report = lab.ingest(str(root), survey="S")

    assert report.images == 5
    assert sorted(lab.images("S").dropna(subset=["image_id"]).path) == [
        "Site01/CamA/IMG_0010.JPG",
        "Site01/CamA/IMG_0020.JPG",
        "Site02/CamB/IMG_0030.JPG",
        "Site02/CamB/IMG_0040.JPG",
        "Site02/CamB/IMG_0050.JPG",
    ]
    assert _failures(lab, "S") == {
        "Site01/CamA/up": "bad_link",
        "Site03": "bad_link",
        "Site04": "bad_link",
    }
    details = lab.images("S").set_index("path").failure_detail
    assert "loop" in details["Site01/CamA/up"]
    assert "'Site01'" in details["Site03"]
    assert "cannot be followed" in details["Site04"]
    assert report.found == report.images + sum(report.failures.values())


def test_a_second_source_keeps_its_own_root(
    database_url: str, tmp_path: Path, lab_factory: Any
) -> None:
    """Two card folders into one survey: each photo is read from the folder it came from;
    a path the survey already has from the first folder is reported, not overwritten."""
    first, second = tmp_path / "card-1", tmp_path / "card-2"
    _camera(first / "Site01" / "CamA", [10, 20])
    _camera(second / "Site02" / "CamA", [30, 40])
    (second / "Site01" / "CamA").mkdir(parents=True)
    (second / "Site01" / "CamA" / "IMG_0010.JPG").write_bytes(_photo(99))  # same path, other photo
    lab = lab_factory(database_url=database_url, storage_url=str(tmp_path / "store"))

    lab.ingest(str(first), survey="S")
    report = lab.ingest(str(second) + "/", survey="S")
    again = lab.ingest(str(first), survey="S")  # the first folder's files are still its own

    assert report.images == 2
    assert report.failures == {"no_site": 0, "path_taken": 1}
    assert (again.images, again.skipped, again.failures) == (0, 2, {"no_site": 0})
    sources = lab.sources("S")
    with lab.sessions() as session:
        roots = dict(session.execute(select(SurveySource.id, SurveySource.url)).all())
        rows = session.execute(select(ImageRow.path, ImageRow.source_id, ImageRow.id)).all()
        survey = session.scalars(select(Survey)).one()
        jobs = {job.image_id: job for job in pending_jobs(session, survey.id, "MDV5A")[0]}
    assert sorted(roots.values()) == [str(first), str(second)]  # one spelling per folder
    assert survey.source == str(first)
    for path, source_id, image_id in rows:
        expected = (Path(roots[source_id]) / path).read_bytes()
        assert sources.read(path, source_id) == expected
        job = jobs[image_id]  # what detection reads
        assert sources.read(job.path, job.source_id) == expected
    assert {Path(roots[s]).name for _, s, _ in rows} == {"card-1", "card-2"}
    with lab.sessions() as session:
        issue = session.scalars(select(IngestIssue)).one()
    assert (issue.path, issue.reason) == ("Site01/CamA/IMG_0010.JPG", "path_taken")
    assert roots[issue.source_id] == str(second)
    assert str(first) in issue.detail


def test_long_metadata_is_kept_whole(database_url: str, tmp_path: Path, lab_factory: Any) -> None:
    root = tmp_path / "survey"
    (root / "Site01" / "CamA").mkdir(parents=True)
    make = "Reconyx HyperFire 2 " + "x" * 280
    (root / "Site01" / "CamA" / "IMG_0001.JPG").write_bytes(_photo(10, make=make))
    lab = lab_factory(database_url=database_url, storage_url=str(tmp_path / "store"))

    lab.ingest(str(root), survey="S")

    with lab.sessions() as session:
        fitted, extra = session.execute(select(ImageRow.make, ImageRow.metadata_extra)).one()
    assert fitted == make[:100]
    assert extra == {"make": make}


def test_json_metadata_has_no_non_finite_numbers() -> None:
    kept = json_safe({"altitude": math.nan, "gps": [1.5, math.inf, -math.inf], "n": 3})
    assert kept == {"altitude": None, "gps": [1.5, None, None], "n": 3}


def test_a_dangling_link_with_a_photo_name_is_unreadable(tmp_path: Path) -> None:
    from traptagger_lab.ingest.folders import walk_local

    (tmp_path / "S1").mkdir()
    os.symlink(tmp_path / "gone.jpg", tmp_path / "S1" / "IMG_0001.JPG")
    os.symlink(tmp_path / "gone.txt", tmp_path / "S1" / "notes.txt")
    assert list(walk_local(str(tmp_path))) == [("S1/IMG_0001.JPG", 0), ("S1/notes.txt", 0)]
