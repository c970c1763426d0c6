"""Exports on every database: names from data stay inside the destination, odd photo
names are copied as they are, and an existing export is never replaced by surprise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.exports.conftest import ODD_NAMES
from traptagger_lab.exports.destinations import DestinationExistsError

HOSTILE_SPECIES = ("../../..", "a/b", "..\\x", "bad\x00name")


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_species_from_a_label_file_never_leave_the_folder_export(
    odd_lab: Any, odd_survey: Path, tmp_path: Path
) -> None:
    photos = [f"StationA/{name}" for name in ODD_NAMES]
    table = tmp_path / "labels.csv"
    rows = "".join(f'"{p}","{s}"\n' for p, s in zip(photos, HOSTILE_SPECIES, strict=True))
    table.write_text("path,species\n" + rows, encoding="utf-8")
    report = odd_lab.import_labels("O", "csv", str(table))
    assert report.labels == 3
    assert [(p.row, p.field) for p in report.problems] == [(5, "species")]  # the NUL
    assert "holds control characters" in str(report.problems[0])

    box = tmp_path / "a" / "b" / "c"
    out = box / "out"
    done = odd_lab.export("O", "folders", str(out))
    assert _files(box) == _files(out)  # nothing written beside or above the destination
    assert len(done.files) == 3
    species_folders = {p.relative_to(out).parts[0] for p in _files(out)}
    assert len(species_folders) == 3
    assert not any(f.startswith(".") for f in species_folders)
    for path in map(Path, done.files):
        assert path.resolve().is_relative_to(out.resolve())
        original = odd_survey / Path(*path.relative_to(out).parts[1:])
        assert path.read_bytes() == original.read_bytes()
    camtrapr = odd_lab.export("O", "folders", str(box / "camtrapR"), layout="camtrapR")
    assert _files(box / "camtrapR") == sorted(map(Path, camtrapr.files))


def test_odd_photo_names_export_to_folders_and_import_from_xmp(
    odd_lab: Any, odd_survey: Path, tmp_path: Path
) -> None:
    report = odd_lab.import_labels("O", "xmp")
    assert not report.problems, report.problems
    assert report.labels == report.images == len(ODD_NAMES)
    out = tmp_path / "sorted"
    done = odd_lab.export("O", "folders", str(out))
    written = {p.relative_to(out).parts[1:]: p for p in _files(out)}
    assert sorted(written) == sorted(("StationA", name) for name in ODD_NAMES)
    for parts, path in written.items():
        assert path.read_bytes() == (odd_survey.joinpath(*parts)).read_bytes()
    assert len(done.files) == len(ODD_NAMES)
    table = pd.read_csv(odd_lab.export("O", "csv", str(tmp_path / "seen.csv")).files[0])
    assert sorted(table["path"]) == sorted(f"StationA/{n}" for n in ODD_NAMES)


def test_an_existing_export_is_refused_unless_overwrite(odd_lab: Any, tmp_path: Path) -> None:
    odd_lab.import_labels("O", "xmp")
    first = odd_lab.export("O", "csv", str(tmp_path / "seen.csv"))
    Path(first.files[0]).write_text("edited by hand")
    with pytest.raises(DestinationExistsError, match=r"seen.csv already exists: .*overwrite"):
        odd_lab.export("O", "csv", str(tmp_path / "seen.csv"), per="image")
    assert Path(first.files[0]).read_text() == "edited by hand"
    again = odd_lab.export("O", "csv", str(tmp_path / "seen.csv"), per="image", overwrite=True)
    assert len(pd.read_csv(again.files[0])) == len(ODD_NAMES)

    for fmt in ("coco", "md-json", "excel", "record-table"):  # into a folder: <folder>/export.*
        folder = tmp_path / fmt
        odd_lab.export("O", fmt, str(folder))
        with pytest.raises(DestinationExistsError, match=r"export\.\w+ already exists"):
            odd_lab.export("O", fmt, str(folder))
        odd_lab.export("O", fmt, str(folder), overwrite=True)
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    with pytest.raises(DestinationExistsError, match="is not empty"):
        odd_lab.export("O", "folders", str(full))
    assert _files(full) == [full / "notes.txt"]
    done = odd_lab.export("O", "folders", str(full), overwrite=True)
    assert len(_files(full)) == len(done.files) + 1
    md = tmp_path / "detections.json"
    md.write_text("{}")
    with pytest.raises(DestinationExistsError, match=r"detections\.json already exists"):
        odd_lab.export_md_json("O", str(md))
    assert md.read_text() == "{}"
    odd_lab.export_md_json("O", str(md), overwrite=True)
    assert "images" in json.loads(md.read_text())


def test_cli_export_refuses_an_existing_file_in_one_line(
    cli: Any, cli_result: Any, odd_survey: Path, tmp_path: Path
) -> None:
    cli("ingest", str(odd_survey), "--survey", "O", "--site-pattern", "folder:1")
    cli("import-labels", "O", "--from", "xmp")
    out = tmp_path / "seen.csv"
    cli("export", "O", str(out))
    refused = cli_result("export", "O", str(out))
    assert refused.exit_code == 1
    assert "Traceback" not in refused.output
    [line] = refused.stderr.strip().splitlines()
    assert "seen.csv already exists" in line
    assert "--overwrite" in line
    assert "csv:" in cli("export", "O", str(out), "--overwrite").output
    assert cli_result("export", "O", str(tmp_path), "--format", "folders").exit_code == 1


def test_exports_to_s3_keep_odd_names_and_refuse_to_overwrite(
    s3_server: str, s3_bucket: str, odd_survey: Path, lab_factory: Any
) -> None:
    import boto3

    lab = lab_factory(s3_endpoint_url=s3_server)
    lab.ingest(str(odd_survey), survey="O", site_pattern="folder:1", camera_pattern="folder:1")
    lab.import_labels("O", "xmp")
    out = f"s3://{s3_bucket}/exports/sorted"
    lab.export("O", "folders", out)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket=s3_bucket, Prefix="exports/")["Contents"]
    assert sorted(o["Key"].rsplit("/", 1)[-1] for o in listed) == sorted(ODD_NAMES)
    assert all(o["Key"].startswith("exports/sorted/") for o in listed)
    with pytest.raises(DestinationExistsError, match="is not empty"):
        lab.export("O", "folders", out)
    lab.export("O", "csv", f"s3://{s3_bucket}/exports/seen.csv")
    with pytest.raises(DestinationExistsError, match=r"seen\.csv already exists"):
        lab.export("O", "csv", f"s3://{s3_bucket}/exports/seen.csv")
    lab.export("O", "csv", f"s3://{s3_bucket}/exports/seen.csv", overwrite=True)


def test_the_record_table_names_files_with_hashes_whole(odd_lab: Any) -> None:
    """camtrapR's FileName is the photo's whole name, ``#`` and all (only a video still's
    ``#t=`` time is not part of its file)."""
    assert not odd_lab.import_labels("O", "xmp").problems
    table = odd_lab.results("O", min_delta_minutes=0).record_table()
    assert "a#b.JPG" in set(table["FileName"])
    assert set(table["Directory"]) == {"StationA"}
