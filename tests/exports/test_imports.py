"""Labels made elsewhere, imported onto a survey: folders, XMP tags, CSV, COCO, MD JSON, Camtrap DP.

camtrapR reference (jniedballa/camtrapR tests/testthat/test-filterRecordTable.R):
its sample images, species from the folder (sample_images_species_dir) or from
the XMP tag ``Species|...`` (sample_images_species_tag, the same photos), give
55 records with minDeltaTime 0 and 39 with minDeltaTime 60, unidentified
excluded. camtrapR reads only the JPEGs; the species_dir folder also holds one
video (StationA/PBE, 2025), which we count as one more record.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from traptagger_lab.errors import InputFileError
from traptagger_lab.exports import readers
from traptagger_lab.lab import open_lab

CAMTRAPR = "camtrapR/pictures"


def _camtrapr_lab(lab_factory: Any, shared_data: Path, folder: str, **patterns: str) -> Any:
    lab = lab_factory()
    patterns = patterns or {"site_pattern": "folder:1", "camera_pattern": "folder:1"}
    lab.ingest(str(shared_data / CAMTRAPR / folder), survey="C", **patterns)
    return lab


def test_species_from_folders_give_camtraprs_record_table(
    lab_factory: Any, shared_data: Path
) -> None:
    lab = _camtrapr_lab(lab_factory, shared_data, "sample_images_species_dir")
    report = lab.import_labels("C", "folders")
    assert report.task == "Species"  # the survey had no task: one was made
    assert set(report.added_labels) == {"EGY", "MNE", "PBE", "TRA", "UNID", "VTA"}
    assert not report.problems
    assert not report.unknown_files
    video = 1  # StationA/PBE/20251112_100312.mp4, which camtrapR's reference does not read
    for minutes, camtrapr in ((0, 55), (60, 39)):
        table = lab.results("C", min_delta_minutes=minutes, exclude=["UNID"]).record_table()
        assert len(table) == camtrapr  # the video, 16 years after its camera's photos: left out
        assert not table["FileName"].str.endswith(".mp4").any()
        kept = lab.results("C", minutes, exclude=["UNID"], outside_deployments="keep")
        table = kept.record_table()
        assert len(table) == camtrapr + video
        assert (table["FileName"].str.endswith(".mp4")).sum() == video
    # every photo is labelled with its own folder's species, never a neighbour's
    table = lab.results("C", min_delta_minutes=0).record_table()
    assert (table["Directory"].str.split("/").str[1] == table["Species"]).all()
    # importing again replaces the first import instead of doubling it
    again = lab.import_labels("C", "folders")
    assert again.labels == report.labels
    assert len(lab.results("C", 0, exclude=["UNID"]).record_table()) == 55


def test_xmp_species_and_individual_tags(lab_factory: Any, shared_data: Path) -> None:
    lab = _camtrapr_lab(lab_factory, shared_data, "sample_images_species_tag")
    report = lab.import_labels("C", "xmp")
    assert "Leopard Cat" in report.added_labels
    assert len(lab.results("C", 0, exclude=["unidentified"]).record_table()) == 55
    assert len(lab.results("C", 60, exclude=["unidentified"]).record_table()) == 39

    tagged = lab_factory(workspace=str(Path(lab.settings.workspace).parent / "indiv"))
    tagged.ingest(
        str(shared_data / CAMTRAPR / "sample_images_indiv_tag"),
        survey="I",
        site_pattern=r"(Station[ABC])",
        camera_pattern=r"(Station[ABC])",
    )
    done = tagged.import_labels("I", "xmp")
    seen = tagged.export("I", "csv", str(Path(tagged.settings.workspace) / "out.csv"))
    table = pd.read_csv(seen.files[0])
    assert done.labels == len(table) == 26
    assert set(table["species"]) == {"Leopard Cat"}
    assert table["individual"].notna().all()
    assert done.individuals == table["individual"].nunique() > 1


def test_xmp_reader_on_a_file_without_tags() -> None:
    found = readers.from_xmp("a.jpg", b"\xff\xd8 no packet here")
    assert not found.rows
    assert "no 'Species|...' tag" in str(found.problems[0])


def test_csv_import_refuses_unknown_columns_and_labels_and_reports_bad_rows(
    lab: Any, tmp_path: Path
) -> None:
    lab.tasks.create("S", "species", labels=["Impala", "Zebra"])
    photos = lab.images("S")
    photos = photos[photos.failure_reason.isna() & ~photos.is_video_frame.astype(bool)]
    paths = sorted(photos.path)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("file,animal\nx.jpg,Impala\n")
    with pytest.raises(InputFileError, match=r"unknown: \['animal', 'file'\]"):
        lab.import_labels("S", "csv", str(wrong))
    table = tmp_path / "labels.csv"
    table.write_text(
        "path,species,count\n"
        f"{paths[0]},Impala,2\n"
        f"{paths[1]},Warthog,1\n"
        f"{paths[2]},Zebra,many\n"
        "nowhere/IMG.JPG,Zebra,1\n"
    )
    with pytest.raises(InputFileError, match=r"does not have: \['Warthog'\]"):
        lab.import_labels("S", "csv", str(table))
    report = lab.import_labels("S", "csv", str(table), add_labels=True)
    assert report.added_labels == ["Warthog"]
    assert report.unknown_files == ["nowhere/IMG.JPG"]
    assert [p.row for p in report.problems] == [4]
    assert "'many' is not a whole number" in str(report.problems[0])
    seen = lab.export("S", "csv", str(tmp_path / "seen.csv"), per="image")
    by_path = pd.read_csv(seen.files[0]).set_index("path")
    assert by_path.loc[paths[0], "species"] == "Impala"
    assert by_path.loc[paths[0], "count"] == 2
    assert by_path.loc[paths[1], "species"] == "Warthog"


def test_the_official_camtrap_dp_example_imports_with_its_boxes(
    lab_factory: Any, shared_data: Path
) -> None:
    example = shared_data / "camtrap-dp/example"
    lab = lab_factory()
    lab.ingest(
        str(example / "media"), survey="DP", site_pattern=r"(RCNX)", camera_pattern=r"(RCNX)"
    )
    report = lab.import_labels("DP", "camtrap-dp", str(example))
    media = pd.read_csv(example / "media.csv")
    observations = pd.read_csv(example / "observations.csv")
    ours = media[media.fileName.isin([p.name for p in (example / "media").iterdir()])]
    expected = observations[
        observations.mediaID.isin(ours.mediaID) & observations.scientificName.notna()
    ]
    assert len(expected) > 0
    assert report.labels == len(expected)
    seen = lab.export("DP", "csv", str(Path(lab.settings.workspace) / "seen.csv"))
    table = pd.read_csv(seen.files[0])
    assert sorted(table.species) == sorted(expected.scientificName)
    boxed = expected.dropna(subset=["bboxX"])
    assert table["x"].notna().sum() == len(boxed)
    assert sorted(table["x"].dropna().round(3)) == sorted(boxed["bboxX"].round(3))


def test_coco_and_md_json_readers() -> None:
    coco = {
        "images": [{"id": 1, "file_name": "A/1.jpg", "width": 200, "height": 100}],
        "categories": [{"id": 0, "name": "empty"}, {"id": 3, "name": "Lion"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 3, "bbox": [20, 10, 100, 50]},
            {"id": 2, "image_id": 1, "category_id": 9},
            {"id": 3, "image_id": 7, "category_id": 3},
        ],
    }
    found = readers.from_coco(coco, "c.json")
    assert found.rows == [readers.ImageLabel("A/1.jpg", "Lion", None, None, (0.1, 0.1, 0.5, 0.5))]
    assert [
        "unknown category_id 9" in str(p) or "unknown image_id" in str(p) for p in found.problems
    ] == [True, True]
    with pytest.raises(InputFileError, match="not COCO"):
        readers.from_coco({"images": []}, "c.json")
    md = {
        "images": [
            {
                "file": "A/1.jpg",
                "detections": [
                    {
                        "category": "1",
                        "conf": 0.9,
                        "bbox": [0.1, 0.1, 0.2, 0.2],
                        "classifications": [["2", 0.3], ["1", 0.8]],
                    },
                    {
                        "category": "1",
                        "conf": 0.9,
                        "bbox": [0.5, 0.5, 0.2, 0.2],
                        "classifications": [["1", 0.2]],
                    },
                ],
            }
        ],
        "classification_categories": {"1": "Lion", "2": "Zebra"},
    }
    rows = readers.from_megadetector(md, "md.json").rows
    assert rows == [readers.ImageLabel("A/1.jpg", "Lion", box=(0.1, 0.1, 0.2, 0.2))]
    with pytest.raises(InputFileError, match="no classification_categories"):
        readers.from_megadetector({"images": []}, "md.json")


def test_cli_import_labels(cli: Any, shared_data: Path) -> None:
    root = shared_data / CAMTRAPR / "sample_images_species_dir"
    cli(
        "ingest",
        str(root),
        "--survey",
        "C",
        "--site-pattern",
        "folder:1",
        "--camera-pattern",
        "folder:1",
    )
    done = cli("import-labels", "C", "--from", "folders")
    assert "label(s) on" in done.output
    assert "new labels" in done.output
    table = cli("results", "C", "--table", "record-table", "--min-delta", "60", "--csv")
    with open_lab(os.environ["TRAPTAGGER_WORKSPACE"], dask_scheduler="sync") as lab:
        unidentified = (lab.results("C", 60).record_table()["Species"] == "UNID").sum()
    assert len(table.stdout.splitlines()) - 1 == 39 + unidentified  # the 2025 video left out
