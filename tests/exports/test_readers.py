"""Readers refuse bad records one by one, naming the file, the record and the field."""

from __future__ import annotations

import math
from typing import Any

import pytest

from traptagger_lab.errors import InputFileError
from traptagger_lab.exports import readers
from traptagger_lab.exports.camtrap_dp_in import from_camtrap_dp, read_table
from traptagger_lab.exports.fields import RecordError, decode_text

BOX = [0.1, 0.1, 0.2, 0.2]


def _where(problems: list[InputFileError]) -> list[tuple[Any, ...]]:
    return [(p.row, getattr(p, "record", None), getattr(p, "field", None)) for p in problems]


def test_coco_records_without_ids_or_with_bad_fields_are_refused_one_by_one() -> None:
    document = {
        "images": [
            {"file_name": "A/no-id.jpg"},
            {"id": 2, "file_name": "A/2.jpg", "width": 200, "height": 100},
            {"id": 3, "file_name": "A/3.jpg", "width": "wide", "height": 100},
            "not an object",
        ],
        "categories": [{"id": 1, "name": "Lion"}, {"name": "Nameless"}],
        "annotations": [
            {"id": "a", "image_id": 2, "category_id": 1, "count": 2.0},
            {"id": "b", "image_id": 2, "category_id": 1, "count": 2.5},
            {"id": "c", "image_id": 2, "category_id": 1, "bbox": [150, 10, 100, 50]},
            {"id": "d", "image_id": 2, "category_id": 1, "bbox": [20, 10, float("nan"), 5]},
            {"id": "e", "image_id": 3, "category_id": 1},
            {"id": "f", "category_id": 1},
            {"id": "g", "image_id": [2], "category_id": 1},
        ],
    }
    found = readers.from_coco(document, "c.json")
    assert found.rows == [readers.ImageLabel("A/2.jpg", "Lion", 2)]
    assert _where(found.problems) == [
        (None, "categories[1]", "id"),
        (None, "images[0]", "id"),
        (None, "images[2] (id 3)", "width"),
        (None, "images[3]", None),
        (None, "annotations[1] (id 'b')", "count"),
        (None, "annotations[2] (id 'c')", "bbox"),
        (None, "annotations[3] (id 'd')", "bbox"),
        (None, "annotations[4] (id 'e')", "image_id"),
        (None, "annotations[5] (id 'f')", "image_id"),
        (None, "annotations[6] (id 'g')", "image_id"),
    ]
    messages = [str(p) for p in found.problems]
    assert messages[1] == "c.json, images[0]: field 'id' is missing"
    assert "2.5 is not a whole number" in messages[4]
    assert "outside the image" in messages[5]
    assert "names an image that was refused" in messages[7]
    assert all("\n" not in m for m in messages)


def _md(*detections: Any, **entry: Any) -> dict[str, Any]:
    return {
        "images": [{"file": "A/1.jpg", "detections": list(detections)}, entry],
        "classification_categories": {"1": "Lion"},
    }


@pytest.mark.parametrize(
    ("bbox", "reason"),
    [
        (None, "field 'bbox' is missing"),
        ([0.5, 0.5, 0.7, 0.2], "outside the image"),
        ([-0.1, 0.5, 0.2, 0.2], "outside the image"),
        ([0.1, 0.1, math.inf, 0.2], "not a finite number"),
        ([math.nan, 0.1, 0.2, 0.2], "not a finite number"),
        ([0.1, 0.1, 0.0, 0.2], "no width or height"),
        ([0.1, 0.1, "x", 0.2], "'x' is not a number"),
        ([0.1, 0.1, 0.2], "is not [x, y, width, height]"),
    ],
)
def test_md_json_boxes_without_bbox_or_outside_the_image_are_refused(
    bbox: Any, reason: str
) -> None:
    bad = {"category": "1", "conf": 0.9, "classifications": [["1", 0.9]]}
    if bbox is not None:
        bad["bbox"] = bbox
    good = {"category": "1", "conf": 0.9, "bbox": BOX, "classifications": [["1", 0.9]]}
    found = readers.from_megadetector(_md(bad, good, file="B/2.jpg"), "md.json")
    assert found.rows == [readers.ImageLabel("A/1.jpg", "Lion", box=tuple(BOX))]  # type: ignore[arg-type]
    [problem] = found.problems
    assert str(problem).startswith("md.json, images[0] (A/1.jpg), detections[0]: ")
    assert reason in str(problem)


def test_md_json_entries_without_file_or_with_bad_classifications_are_refused() -> None:
    document = _md(
        {"bbox": BOX, "classifications": [["9", 0.9]]},
        {"bbox": BOX, "classifications": "Lion"},
        {"bbox": BOX, "classifications": [["1", "sure"]]},
        {"bbox": BOX},  # no classification: not a species label, left out quietly
        detections=[{"bbox": BOX, "classifications": [["1", 0.9]]}],
    )
    found = readers.from_megadetector(document, "md.json")
    assert not found.rows
    assert _where(found.problems) == [
        (None, "images[0] (A/1.jpg), detections[0]", "classifications"),
        (None, "images[0] (A/1.jpg), detections[1]", "classifications"),
        (None, "images[0] (A/1.jpg), detections[2]", "classifications"),
        (None, "images[1]", "file"),
    ]
    with pytest.raises(InputFileError, match=r"md\.json: 'images' is a dict, not a list"):
        readers.from_megadetector(
            {"images": {}, "classification_categories": {"1": "a"}}, "md.json"
        )


def _camtrap(observations: str, media: str | None = None) -> Any:
    media = media or (
        "mediaID,deploymentID,timestamp,filePath\n"
        "m1,d1,2024-01-01T10:00:00+02:00,A/1.jpg\n"
        "m2,d1,2024-01-01T10:01:00+02:00,A/2.jpg\n"
        ",d1,2024-01-01T10:02:00+02:00,A/3.jpg\n"
        "m4,d1,yesterday,A/4.jpg\n"
    )
    head = "observationID,deploymentID,mediaID,eventID,eventStart,eventEnd,observationLevel,"
    head += "observationType,scientificName,count\n"
    return from_camtrap_dp(
        read_table(media.encode(), "dp/media.csv", "media"),
        read_table((head + observations).encode(), "dp/observations.csv", "observations"),
        "dp",
    )


def test_camtrap_dp_counts_media_ids_and_names_are_checked_per_row() -> None:
    found = _camtrap(
        "o1,d1,m1,e1,,,media,animal,Lion,2.0\n"
        "o2,d1,m2,e1,,,media,animal,Lion,2.5\n"
        "o3,d1,,e1,,,media,animal,Lion,1\n"
        "o4,d1,m2,e1,,,media,animal,,1\n"
        "o5,d1,m9,e1,,,media,animal,Lion,1\n"
        "o6,d1,,e2,2024-01-01T09:00:00+02:00,soon,event,animal,Lion,1\n"
        "o7,d1,,e3,2024-01-01T09:00:00+02:00,2024-01-01T11:00:00+02:00,event,blank,,\n"
    )
    assert found.rows == [
        readers.ImageLabel("A/1.jpg", "Lion", 2),
        readers.ImageLabel("A/1.jpg", "Nothing"),
        readers.ImageLabel("A/2.jpg", "Nothing"),
    ]
    assert [str(p) for p in found.problems] == [
        "dp/media.csv, row 4: field 'mediaID' is missing",
        "dp/media.csv, row 5: field 'timestamp': 'yesterday' is not an ISO 8601 date-time",
        "dp/observations.csv, row 3: field 'count': '2.5' is not a whole number",
        "dp/observations.csv, row 4: field 'mediaID' is missing",
        "dp/observations.csv, row 5: field 'scientificName' is missing",
        "dp/observations.csv, row 6: field 'mediaID': 'm9' is in no (readable) media row",
        "dp/observations.csv, row 7: field 'eventEnd': 'soon' is not an ISO 8601 date-time",
    ]


def test_camtrap_dp_tables_without_a_needed_column_are_refused() -> None:
    with pytest.raises(InputFileError, match=r"dp/media.csv, row 1: .*no column mediaID"):
        read_table(
            b"deploymentID,timestamp,filePath\nd1,2024-01-01,a.jpg\n", "dp/media.csv", "media"
        )


def test_csv_rows_with_bad_fields_are_refused_one_by_one() -> None:
    found = readers.from_csv(
        "path,species,count,individual\n"
        "a.jpg,Lion,2.0,\n"
        ",Lion,1,\n"
        "b.jpg,Lion,-1,\n"
        "c.jpg,bad\x00name,1,\n"
        f"d.jpg,{'x' * 201},1,\n"
        "e.jpg,Lion,1,\x07\n",
        "l.csv",
    )
    assert found.rows == [readers.ImageLabel("a.jpg", "Lion", 2)]
    assert [(p.row, p.field) for p in found.problems if isinstance(p, RecordError)] == [
        (3, "path"),
        (4, "count"),
        (5, "species"),
        (6, "species"),
        (7, "individual"),
    ]


def test_utf8_and_utf16_with_a_bom_are_read() -> None:
    with pytest.raises(InputFileError, match=r"l\.csv: .*UTF-16 without a BOM"):
        decode_text("path,species\n".encode("utf-16-be"), "l.csv")
    text = "path,species\nä.jpg,Zèbre\n"
    assert decode_text(text.encode("utf-16"), "l.csv") == text
    assert decode_text(text.encode("utf-8-sig"), "l.csv") == text
    assert decode_text(text.encode(), "l.csv") == text


@pytest.mark.parametrize(
    ("encoding", "looks"),
    [("latin-1", r"not UTF-8 \(looks like latin-1"), ("utf-16-le", "looks like UTF-16")],
)
def test_other_encodings_are_refused_naming_the_file(encoding: str, looks: str) -> None:
    with pytest.raises(InputFileError, match=rf"^l\.csv: .*{looks}.*: save it as UTF-8$"):
        decode_text("path,species\nä.jpg,Zèbre\n".encode(encoding), "l.csv")


def test_json_in_latin1_is_refused_by_name() -> None:
    with pytest.raises(InputFileError, match=r"^md.json: is not UTF-8"):
        readers.read_json('{"images": [{"file": "é"}]}'.encode("latin-1"), "md.json")
    assert readers.read_json('{"a": "é"}'.encode("utf-16"), "x.json") == {"a": "é"}


def test_xmp_tags_with_control_characters_are_refused() -> None:
    packet = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        b'xmlns:lr="http://ns.adobe.com/lightroom/1.0/"><rdf:Description>'
        b"<lr:hierarchicalSubject><rdf:Bag><rdf:li>Species|Lion&#10;Cat</rdf:li>"
        b"<rdf:li>Species|Zebra</rdf:li></rdf:Bag></lr:hierarchicalSubject>"
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    found = readers.from_xmp("a#b.jpg", packet)
    assert found.rows == [readers.ImageLabel("a#b.jpg", "Zebra")]
    assert str(found.problems[0]).startswith("a#b.jpg, XMP tags: field 'Species|'")
