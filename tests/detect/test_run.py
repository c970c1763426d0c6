"""The detection stage on real parts: databases, Dask, MD JSON checked by MD's own validator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from traptagger_lab.db.models import Detection, DetectionPass, ProcessingRun
from traptagger_lab.sample import SampleSurvey

pytestmark = pytest.mark.slow


def _validate(document_path: Path) -> dict[str, Any]:
    from megadetector.postprocessing.validate_batch_results import (
        ValidateBatchResultsOptions,
        validate_batch_results,
    )

    options = ValidateBatchResultsOptions()
    options.check_image_existence = False
    options.raise_errors = False
    result = validate_batch_results(str(document_path), options)["validation_results"]
    assert result["errors"] == [], result["errors"]
    return result


def test_detect_resume_export_import(
    random_detector: Path,
    sample_survey: SampleSurvey,
    lab_factory: Any,
    dask_client: Any,
    tmp_path: Path,
) -> None:
    source = tmp_path / "survey"
    shutil.copytree(sample_survey.root, source)
    lab = lab_factory()
    lab.ingest(str(source), survey="S")
    first_photo = source / sample_survey.photos[0]
    first_photo.write_bytes(first_photo.read_bytes()[:2000])  # damaged after ingest

    report = lab.detect("S", model=str(random_detector), device="cpu", client=dask_client)
    images = lab.status_counts("S")["images"] + lab.status_counts("S")["video_frames"]
    assert report.images == images
    assert len(report.failed) == 1
    assert report.detections > 0
    counts = lab.status_counts("S")["detection"][report.model]
    assert counts == {"done": images - 1, "failed": 1, "remaining": 1}

    with lab.sessions() as session:
        stored = session.scalar(select(func.count()).select_from(Detection))
        assert stored == report.detections
        assert session.scalar(select(func.min(Detection.score))) >= 0.05
        failed = session.scalars(
            select(DetectionPass).where(DetectionPass.status == "failed")
        ).one()
        assert "cannot read image" in (failed.failure or "")
        run = session.scalars(select(ProcessingRun).where(ProcessingRun.stage == "detect")).one()
        assert run.params["weights"] == str(random_detector)
        assert run.status == "done"

    again = lab.detect("S", model=str(random_detector), device="cpu", client=dask_client)
    assert again.images == 1
    assert again.skipped == images - 1

    out = tmp_path / "md.json"
    document = lab.export_md_json("S", str(out))
    _validate(out)
    entries = {entry["file"]: entry for entry in document["images"]}
    assert sample_survey.photos[0] in entries
    assert "failure" in entries[sample_survey.photos[0]]
    video = entries[sample_survey.videos[0]]
    assert video["frame_rate"] > 0
    assert len(video["frames_processed"]) == 6
    total = sum(len(e["detections"] or []) for e in document["images"])
    assert total == report.detections

    other = lab_factory(database_url=None, workspace=str(tmp_path / "other"))
    other.ingest(str(source), survey="S")
    document["images"].append({"file": "not/in/survey.jpg", "detections": []})
    out.write_text(json.dumps(document))
    imported = other.import_detections("S", str(out), model="MDV5A")
    # The damaged photo was never imported by the second lab, so it is unknown there too.
    assert imported.unknown_files == [sample_survey.photos[0], "not/in/survey.jpg"]
    assert imported.videos_skipped == 1
    with other.sessions() as session:
        stored = session.scalar(select(func.count()).select_from(Detection))
        assert stored == total - len(video["detections"])  # video entries are not imported
    assert imported.images == len(sample_survey.photos) - 1
    round_trip = tmp_path / "again.json"
    other.export_md_json("S", str(round_trip), model="MDV5A")
    _validate(round_trip)


def test_imported_detections_on_every_backend(
    database_url: str, sample_survey: SampleSurvey, lab_factory: Any, tmp_path: Path
) -> None:
    """Storing boxes (and replacing them on a second import) works the same on all databases."""
    lab = lab_factory(database_url=database_url)
    lab.ingest(str(sample_survey.root), survey="S")
    photos = sample_survey.photos[:3]
    box = {"category": "1", "conf": 0.9, "bbox": [0.1, 0.2, 0.3, 0.4]}
    document = {
        "info": {"format_version": "1.5", "detector": "md_v5a.0.0.pt"},
        "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
        "images": [{"file": p, "detections": [box, {**box, "category": "2"}]} for p in photos],
    }
    path = tmp_path / "md.json"
    path.write_text(json.dumps(document))
    for _ in range(2):  # importing twice replaces, never duplicates
        report = lab.import_detections("S", str(path))
        assert (report.images, report.detections) == (3, 6)
    with lab.sessions() as session:
        rows = session.scalars(select(Detection)).all()
        assert len(rows) == 6
        assert {r.source for r in rows} == {"md_v5a.0.0.pt"}
        assert sorted((r.category, r.x, r.h) for r in rows)[0] == (1, 0.1, 0.4)
    assert lab.status_counts("S")["detection"]["md_v5a.0.0.pt"]["done"] == 3


def test_bad_imported_boxes_are_left_out_and_named(
    database_url: str, sample_survey: SampleSurvey, lab_factory: Any, tmp_path: Path
) -> None:
    """Boxes outside the image, not finite or of no size are reported, never stored (MariaDB
    once failed on them); the good ones of the same file are imported."""
    lab = lab_factory(database_url=database_url)
    lab.ingest(str(sample_survey.root), survey="S")
    good = {"category": "1", "conf": 0.9, "bbox": [0.1, 0.2, 0.3, 0.4]}
    edge = {"category": "1", "conf": 0.8, "bbox": [0.7, 0.5, 0.305, 0.5]}  # rounding: clipped
    bad = [
        [0.5, 0.5, float("inf"), 0.1],
        [float("nan"), 0.1, 0.1, 0.1],
        [1.5, 0.1, 0.1, 0.1],
        [0.1, 0.1, -0.1, 0.2],
        [0.1, 0.1, True, 0.2],
    ]
    photos = sample_survey.photos[:2]
    entries = [{"file": photos[0], "detections": [good, edge]}]
    entries.append({"file": photos[1], "detections": [{**good, "bbox": b} for b in bad]})
    path = tmp_path / "md.json"
    path.write_text(json.dumps({"images": entries}))  # json writes Infinity and NaN
    report = lab.import_detections("S", str(path))
    assert (report.images, report.detections) == (2, 2)
    assert len(report.problems) == len(bad)
    assert all(p.startswith(f"{path}: images[1] ({photos[1]})") for p in report.problems)
    with lab.sessions() as session:
        boxes = sorted((r.x, r.w) for r in session.scalars(select(Detection)))
    assert boxes == [(0.1, 0.3), (0.7, pytest.approx(0.3))]


def test_md_json_errors_name_the_entry(tmp_path: Path) -> None:
    from traptagger_lab.detect.mdjson import from_json
    from traptagger_lab.errors import InputFileError

    bad = {
        "images": [
            {"file": "a.jpg", "detections": [{"category": "7", "conf": 0.5, "bbox": [0, 0, 1, 1]}]}
        ]
    }
    with pytest.raises(InputFileError, match=r"x.json: images\[0\] \(a.jpg\): category '7'"):
        from_json(bad, "x.json")
    with pytest.raises(InputFileError, match="no 'images' list"):
        from_json({"foo": 1}, "x.json")


def test_cli_detect_and_import(random_detector: Path, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "TRAPTAGGER_WORKSPACE": str(tmp_path / "ws"),
        "TRAPTAGGER_DASK_SCHEDULER": "sync",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "traptagger_lab.cli", *args]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        return done

    cli("sample", str(tmp_path / "photos"), "--bursts", "1", "--width", "320", "--height", "240")
    cli("ingest", str(tmp_path / "photos"), "--survey", "S")
    out = tmp_path / "md.json"
    report = json.loads(
        cli("detect", "S", "--model", str(random_detector), "--md-json", str(out)).stdout.split(
            "wrote"
        )[0]
    )
    assert report["images"] > 0
    assert report["failed"] == 0
    _validate(out)
    status = json.loads(cli("status", "S", "--json").stdout)
    assert status["detection"][report["model"]]["remaining"] == 0
    imported = json.loads(cli("import-detections", "S", str(out), "--model", "MDV5B").stdout)
    assert imported["images"] == report["images"] - 6  # the video's stills come as one video entry


def test_detect_params_defaults_and_ranges(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from traptagger_lab.detect.registry import DetectorSpec
    from traptagger_lab.detect.run import DetectParams
    from traptagger_lab.ingest.discover import Source
    from traptagger_lab.ingest.sources import SurveySources
    from traptagger_lab.storage import BlobStore

    made = {
        "spec": DetectorSpec("MDV5A", tmp_path / "md_v5a.0.0.pt"),
        "source": SurveySources.of(Source(str(tmp_path), {})),
        "store": BlobStore(str(tmp_path / "store")),
    }
    params = DetectParams(**made)
    assert (params.device, params.batch_size, params.readers) == ("auto", 8, 4)
    assert all(getattr(params, name) is value for name, value in made.items())  # as given
    for bad in ({"batch_size": 0}, {"readers": 0}, {"store": str(tmp_path)}):
        with pytest.raises(ValidationError) as caught:
            DetectParams(**{**made, **bad})
        assert [e["loc"] for e in caught.value.errors()] == [(next(iter(bad)),)]
