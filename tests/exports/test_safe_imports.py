"""Imports on every database: bad records are refused by file, record and field, the rest
is stored; files in other encodings are refused by name."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.exports.conftest import ODD_NAMES
from traptagger_lab.errors import InputFileError

PHOTOS = [f"StationA/{name}" for name in ODD_NAMES]
GOOD_BOX = [0.1, 0.2, 0.3, 0.4]


def _seen(lab: Any, task: Any, tmp_path: Path) -> pd.DataFrame:
    done = lab.export(task, "csv", str(tmp_path / f"seen-{len(list(tmp_path.iterdir()))}.csv"))
    return pd.read_csv(done.files[0])


def test_md_json_boxes_outside_the_image_are_refused_not_stored(
    odd_lab: Any, tmp_path: Path
) -> None:
    boxes = [GOOD_BOX, [0.5, 0.5, 0.7, 0.2], [0.1, 0.1, math.inf, 0.2], [math.nan] * 4, None]
    detections = [
        {"category": "1", "conf": 0.9, "classifications": [["1", 0.95]]}
        | ({"bbox": box} if box else {})
        for box in boxes
    ]
    document = {
        "images": [{"file": PHOTOS[0], "detections": detections}, {"detections": []}],
        "classification_categories": {"1": "Leopard Cat"},
    }
    path = tmp_path / "md.json"
    path.write_text(json.dumps(document))  # writes NaN and Infinity, as some tools do
    task = odd_lab.tasks.create("O", "from md", labels=["Leopard Cat"])
    report = odd_lab.import_labels("O", "md-json", str(path), task=task)
    assert report.labels == 1
    assert [(p.record, p.field) for p in report.problems] == [
        (f"images[0] ({PHOTOS[0]}), detections[1]", "bbox"),
        (f"images[0] ({PHOTOS[0]}), detections[2]", "bbox"),
        (f"images[0] ({PHOTOS[0]}), detections[3]", "bbox"),
        (f"images[0] ({PHOTOS[0]}), detections[4]", "bbox"),
        ("images[1]", "file"),
    ]
    assert all(str(p).startswith(f"{path}, images[") for p in report.problems)
    seen = _seen(odd_lab, task, tmp_path)
    assert seen[["x", "y", "w", "h"]].values.tolist() == [GOOD_BOX]


def test_coco_without_image_ids_imports_the_rest(odd_lab: Any, tmp_path: Path) -> None:
    document = {
        "images": [
            {"file_name": PHOTOS[0]},
            {"id": "b", "file_name": PHOTOS[1], "width": 100, "height": 100},
        ],
        "categories": [{"id": 1, "name": "Leopard Cat"}],
        "annotations": [
            {"id": 1, "image_id": "b", "category_id": 1, "count": 2.0, "bbox": [10, 20, 30, 40]},
            {"id": 2, "image_id": "b", "category_id": 1, "count": 2.5},
        ],
    }
    path = tmp_path / "coco.json"
    path.write_text(json.dumps(document))
    report = odd_lab.import_labels("O", "coco", str(path))
    assert report.labels == 1
    assert [str(p) for p in report.problems] == [
        f"{path}, images[0]: field 'id' is missing",
        f"{path}, annotations[1] (id 2): field 'count': 2.5 is not a whole number",
    ]
    seen = _seen(odd_lab, report.task, tmp_path)
    assert seen[["path", "count"]].values.tolist() == [[PHOTOS[1], 2]]
    assert seen[["x", "y", "w", "h"]].values.tolist() == [[0.1, 0.2, 0.3, 0.4]]


def test_camtrap_dp_counts_of_2_0_are_2_and_rows_without_media_id_are_refused(
    odd_lab: Any, tmp_path: Path
) -> None:
    package = tmp_path / "dp"
    package.mkdir()
    (package / "media.csv").write_text(
        "mediaID,deploymentID,timestamp,filePath,fileName\n"
        + "".join(
            f'm{n},d1,2009-04-1{n}T10:00:00+07:00,"{p}","{p.split("/")[1]}"\n'
            for n, p in enumerate(PHOTOS)
        ),
        encoding="utf-8",
    )
    (package / "observations.csv").write_text(
        "observationID,deploymentID,mediaID,eventID,observationLevel,observationType,"
        "scientificName,count\n"
        "o1,d1,m0,e1,media,animal,Prionailurus bengalensis,2.0\n"
        "o2,d1,m1,e1,media,animal,Prionailurus bengalensis,2.5\n"
        "o3,d1,,e1,media,animal,Prionailurus bengalensis,1\n"
        "o4,d1,m3,e1,media,animal,Prionailurus bengalensis,1e12\n",
        encoding="utf-8",
    )
    report = odd_lab.import_labels("O", "camtrap-dp", str(package))
    assert report.labels == 1
    obs = f"{package}/observations.csv"
    assert [(p.path, p.row, p.field) for p in report.problems] == [
        (obs, 3, "count"),
        (obs, 4, "mediaID"),
        (obs, 5, "count"),
    ]
    seen = _seen(odd_lab, report.task, tmp_path)
    assert seen[["path", "count"]].values.tolist() == [[PHOTOS[0], 2]]


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16-le"])
def test_a_label_file_not_in_utf8_is_refused_by_name(
    odd_lab: Any, tmp_path: Path, encoding: str
) -> None:
    table = tmp_path / "labels.csv"
    table.write_bytes(f"path,species\n{PHOTOS[2]},Zèbre\n".encode(encoding))
    with pytest.raises(InputFileError, match=r"labels\.csv: is not UTF-8 \(looks like"):
        odd_lab.import_labels("O", "csv", str(table))
    table.write_bytes(f"path,species\n{PHOTOS[2]},Zèbre\n".encode("utf-16"))  # with a BOM
    report = odd_lab.import_labels("O", "csv", str(table))
    assert report.labels == 1
    assert report.added_labels == ["Zèbre"]


def test_cli_import_prints_each_refused_record_on_one_line(
    cli: Any, odd_survey: Path, tmp_path: Path, cli_result: Any
) -> None:
    cli("ingest", str(odd_survey), "--survey", "O", "--site-pattern", "folder:1")
    table = tmp_path / "labels.csv"
    table.write_text(
        "path,species,count\n"
        f"{PHOTOS[0]},Leopard Cat,2.0\n"
        f"{PHOTOS[1]},Leopard Cat,2.5\n"
        f"{PHOTOS[2]},,1\n"
        f"{PHOTOS[3]},{'x' * 300},1\n",
        encoding="utf-8",
    )
    done = cli_result("import-labels", "O", "--from", "csv", str(table))
    assert done.exit_code == 0, done.output
    assert "1 label(s) on 1 image(s)" in done.stdout
    assert done.stderr.splitlines() == [
        f"  {table}, row 3: field 'count': '2.5' is not a whole number",
        f"  {table}, row 4: field 'species' is missing",
        f"  {table}, row 5: field 'species' is 300 characters long; at most 200",
    ]
    table.write_bytes("path,species\nx.jpg,Zèbre\n".encode("latin-1"))
    refused = cli_result("import-labels", "O", "--from", "csv", str(table))
    assert refused.exit_code == 1
    assert "Traceback" not in refused.output
    [line] = refused.stderr.strip().splitlines()
    assert f"{table}: is not UTF-8 (looks like latin-1" in line
