"""Readers of annotations made elsewhere: folders, XMP tags, CSV, COCO, MD JSON.

Each reader is pure: it takes the file's content (or the survey's paths) and
returns :class:`ImageLabel` rows and the problems it met. A record with a
missing field, a wrong type or a value out of range (a box outside the image, a
count of 2.5) is refused alone, as a problem naming the file, the record and the
field (:mod:`traptagger_lab.exports.fields`); a file that cannot be read as a
whole raises :class:`~traptagger_lab.errors.InputFileError`. Paths in the rows
are relative to the survey's source folder; :mod:`traptagger_lab.exports.labels_in`
matches them to images and stores them. Camtrap DP is read by
:mod:`traptagger_lab.exports.camtrap_dp_in`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from traptagger_lab.errors import InputFileError
from traptagger_lab.exports.fields import (
    FieldError,
    RecordError,
    count,
    decode_text,
    name_text,
    required,
    unit_box,
)
from traptagger_lab.exports.fields import number as number_field
from traptagger_lab.exports.safe_names import file_of

Box = tuple[float, float, float, float]

#: Names other tools give an empty image; they become our built-in "Nothing".
EMPTY_NAMES = {"empty", "blank", "nothing", "none"}
CSV_COLUMNS = {"path", "species", "count", "individual"}


@dataclass(frozen=True)
class ImageLabel:
    """One label for one file: species, how many, which individual, and where (a box)."""

    path: str
    species: str
    count: int | None = None
    individual: str | None = None
    box: Box | None = None


@dataclass
class Labels:
    """What a reader found: label rows and the problems that stopped single rows."""

    rows: list[ImageLabel] = field(default_factory=list)
    problems: list[InputFileError] = field(default_factory=list)


def _species(name: str) -> str:
    name = name.strip()
    return "Nothing" if name.lower() in EMPTY_NAMES else name


def from_folders(paths: Iterable[str], level: int = -1) -> Labels:
    """Species from the name of a folder in each path: ``level`` counts folders from the
    top (0) or, negative, from the file (-1: the folder holding the file). camtrapR's
    ``Station/Species/file.JPG`` is ``level=1`` (or the default -1)."""
    found = Labels()
    for path in paths:
        folders = file_of(path).split("/")[:-1]
        try:
            name = name_text(folders[level], "folder")
        except IndexError:
            found.problems.append(InputFileError(path, f"has no folder at level {level}"))
            continue
        except FieldError as problem:
            found.problems.append(problem.at(path))
            continue
        found.rows.append(ImageLabel(path, _species(name)))
    return found


_XMP = re.compile(rb"<x:xmpmeta.*?</x:xmpmeta>", re.S)
_RDF_LI = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}li"
_TAGS = (
    "{http://ns.adobe.com/lightroom/1.0/}hierarchicalSubject",
    "{http://purl.org/dc/elements/1.1/}subject",
)


def xmp_keywords(data: bytes) -> tuple[list[str], list[str]]:
    """The (hierarchical, flat) keywords of a file's XMP packet (empty without one)."""
    match = _XMP.search(data)
    if match is None:
        return [], []
    root = ET.fromstring(match.group(0))
    found: list[list[str]] = []
    for tag in _TAGS:
        found.append([(li.text or "").strip() for el in root.iter(tag) for li in el.iter(_RDF_LI)])
    return found[0], found[1]


def from_xmp(
    path: str, data: bytes, species_key: str = "Species", individual_key: str = "individual"
) -> Labels:
    """Species (and individual) of one file from its digiKam/Lightroom tags:
    ``Species|Leopard Cat``, ``individual|3``. Several species give several rows."""
    found = Labels()
    try:
        hierarchical, _ = xmp_keywords(data)
    except ET.ParseError as exc:
        found.problems.append(InputFileError(path, f"unreadable XMP packet: {exc}"))
        return found
    species, individuals = [], []
    for keyword in hierarchical:
        key, _, value = keyword.partition("|")
        try:
            if key.lower() == species_key.lower() and value:
                species.append(_species(name_text(value, f"{species_key}|")))
            elif key.lower() == individual_key.lower() and value:
                individuals.append(name_text(value, f"{individual_key}|"))
        except FieldError as problem:
            found.problems.append(problem.at(path, record="XMP tags"))
    if not species and not found.problems:
        found.problems.append(InputFileError(path, f"no '{species_key}|...' tag"))
    individual = individuals[0] if len(species) == 1 and len(individuals) == 1 else None
    found.rows.extend(ImageLabel(path, s, individual=individual) for s in species)
    return found


def from_csv(text: str, name: str) -> Labels:
    """Rows of ``path, species[, count][, individual]`` (a header row is required). A bad
    row is reported (file, row, field) and left out; the others are read."""
    found = Labels()
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in reader.fieldnames or []]
    except csv.Error as exc:
        raise InputFileError(name, f"unreadable CSV header: {exc}", row=1) from None
    unknown = sorted(set(header) - CSV_COLUMNS)
    missing = sorted({"path", "species"} - set(header))
    if unknown or missing:
        raise InputFileError(
            name,
            f"columns must be path, species[, count][, individual]; "
            f"unknown: {unknown}, missing: {missing}",
            row=1,
        )
    number = 1
    try:
        for number, raw in enumerate(reader, start=2):
            row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
            try:
                found.rows.append(_csv_row(row))
            except FieldError as problem:
                found.problems.append(problem.at(name, number))
    except csv.Error as exc:
        found.problems.append(RecordError(name, f"unreadable CSV: {exc}", number + 1))
    return found


def _csv_row(row: Mapping[str, str]) -> ImageLabel:
    individual = row.get("individual")
    return ImageLabel(
        required(row, "path"),
        _species(name_text(required(row, "species"), "species")),
        count(row.get("count")),
        name_text(individual, "individual") if individual else None,
    )


def _key(value: Any, field: str) -> int | str:
    """An id that other records refer to: a number or a text."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise FieldError(field, f"is {value!r}, not a number or text")
    return value


def _listed(document: Mapping[str, Any], key: str, name: str) -> list[Any]:
    value = document[key]
    if not isinstance(value, list):
        raise InputFileError(name, f"'{key}' is a {type(value).__name__}, not a list")
    return value


def _coco_images(
    document: Mapping[str, Any], name: str, found: Labels
) -> tuple[dict[Any, dict[str, Any]], set[Any]]:
    """COCO images by id (the refused ones reported, their ids kept apart)."""
    images: dict[Any, dict[str, Any]] = {}
    refused: set[Any] = set()
    for number, image in enumerate(_listed(document, "images", name)):
        try:
            image_id = _key(required(image, "id"), "id")
        except FieldError as problem:
            found.problems.append(problem.at(name, record=f"images[{number}]"))
            continue
        try:
            file = required(image, "file_name")
            if not isinstance(file, str):
                raise FieldError("file_name", f"is {file!r}, not text")
            size = [image.get(k) for k in ("width", "height")]
            if None in size:
                size = [None, None]  # without a size, pixel boxes cannot be placed
            else:
                size = [number_field(v, k) for v, k in zip(size, ("width", "height"), strict=True)]
                if min(size) <= 0:
                    raise FieldError("width", f"size {size} is not positive")
        except FieldError as problem:
            found.problems.append(problem.at(name, record=f"images[{number}] (id {image_id!r})"))
            refused.add(image_id)
            continue
        images[image_id] = {"file_name": file, "width": size[0], "height": size[1]}
    return images, refused


def _coco_categories(document: Mapping[str, Any], name: str, found: Labels) -> dict[Any, str]:
    categories = {}
    for number, category in enumerate(_listed(document, "categories", name)):
        try:
            key = _key(required(category, "id"), "id")
            categories[key] = _species(name_text(required(category, "name"), "name"))
        except FieldError as problem:
            found.problems.append(problem.at(name, record=f"categories[{number}]"))
    return categories


def from_coco(document: Any, name: str) -> Labels:
    """COCO Camera Traps: ``images`` (id, file_name, width, height), ``categories`` (id, name)
    and ``annotations`` (image_id, category_id, optional pixel ``bbox``, ``count``). A bad
    record is reported (file, record, field) and left out; the others are read."""
    found = Labels()
    if not isinstance(document, dict) or not {"images", "annotations", "categories"} <= set(
        document
    ):
        raise InputFileError(name, "not COCO Camera Traps: needs images, annotations, categories")
    categories = _coco_categories(document, name, found)
    images, refused = _coco_images(document, name, found)
    for number, note in enumerate(_listed(document, "annotations", name)):
        where = f"annotations[{number}]"
        if isinstance(note, dict) and isinstance(note.get("id"), int | str):
            where += f" (id {note['id']!r})"
        try:
            found.rows.append(_coco_annotation(note, images, refused, categories))
        except FieldError as problem:
            found.problems.append(problem.at(name, record=where))
    return found


def _coco_annotation(
    note: Any,
    images: Mapping[Any, dict[str, Any]],
    refused: set[Any],
    categories: Mapping[Any, str],
) -> ImageLabel:
    image_id = _key(required(note, "image_id"), "image_id")
    image = images.get(image_id)
    if image is None:
        if image_id in refused:
            raise FieldError("image_id", f"{image_id!r} names an image that was refused")
        raise FieldError("image_id", f"unknown image_id {image_id!r}")
    category = _key(required(note, "category_id"), "category_id")
    species = categories.get(category)
    if species is None:
        raise FieldError("category_id", f"unknown category_id {category!r}")
    box = None
    if note.get("bbox") is not None and image["width"]:
        pixels = note["bbox"]
        if not isinstance(pixels, list | tuple) or len(pixels) != 4:
            raise FieldError("bbox", f"{pixels!r} is not [x, y, width, height]")
        x, y, w, h = (number_field(v, "bbox") for v in pixels)
        scale = (image["width"], image["height"]) * 2
        box = unit_box([v / s for v, s in zip((x, y, w, h), scale, strict=True)], "bbox")
    return ImageLabel(image["file_name"], species, count(note.get("count")), None, box)


def from_megadetector(document: Any, name: str, threshold: float = 0.5) -> Labels:
    """Species of a classified MegaDetector batch file: each box's best classification
    at or above ``threshold`` (boxes without one are left out). A bad image entry or box
    (no ``file``, no or bad ``bbox``, bad classifications) is reported and left out."""
    found = Labels()
    if not isinstance(document, dict) or "images" not in document:
        raise InputFileError(name, "not MegaDetector batch output: no 'images'")
    categories = document.get("classification_categories") or {}
    if not isinstance(categories, dict) or not categories:
        raise InputFileError(name, "has no classification_categories: there are no species")
    for number, entry in enumerate(_listed(document, "images", name)):
        where = f"images[{number}]"
        try:
            file = required(entry, "file")
            if not isinstance(file, str):
                raise FieldError("file", f"is {file!r}, not text")
            detections = entry.get("detections") or []
            if not isinstance(detections, list):
                raise FieldError("detections", "is not a list")
        except FieldError as problem:
            found.problems.append(problem.at(name, record=where))
            continue
        for index, det in enumerate(detections):
            try:
                row = _md_detection(det, file, categories, threshold)
            except FieldError as problem:
                found.problems.append(
                    problem.at(name, record=f"{where} ({file}), detections[{index}]")
                )
                continue
            if row is not None:
                found.rows.append(row)
    return found


def _md_detection(
    det: Any, file: str, categories: Mapping[str, Any], threshold: float
) -> ImageLabel | None:
    if not isinstance(det, dict):
        raise FieldError(None, f"is a {type(det).__name__}, not an object")
    ranked = det.get("classifications") or []
    if not isinstance(ranked, list) or not all(
        isinstance(c, list | tuple) and len(c) == 2 for c in ranked
    ):
        raise FieldError("classifications", f"{ranked!r} is not a list of [category, score]")
    scored = sorted(
        ((number_field(score, "classifications"), str(key)) for key, score in ranked),
        reverse=True,
    )
    if not scored or scored[0][0] < threshold:
        return None
    label = categories.get(scored[0][1])
    if label is None:
        raise FieldError("classifications", f"unknown category {scored[0][1]!r}")
    box = unit_box(required(det, "bbox"), "bbox")
    return ImageLabel(file, _species(name_text(label, "classification_categories")), box=box)


def read_json(data: bytes, name: str) -> Any:
    """A JSON document (UTF-8, or UTF-16 with a BOM), or a clear error naming the file."""
    try:
        return json.loads(decode_text(data, name))
    except json.JSONDecodeError as exc:
        raise InputFileError(name, f"not JSON: {exc}") from exc
