"""Readers of annotations made elsewhere: folders, XMP tags, CSV, COCO, MD JSON, Camtrap DP.

Each reader is pure: it takes the file's content (or the survey's paths) and
returns :class:`ImageLabel` rows and the problems it met, each naming the file
and row. Paths in the rows are relative to the survey's source folder;
:mod:`traptagger_lab.exports.labels_in` matches them to images and stores them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from traptagger_lab.errors import InputFileError

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
        folders = path.split("#", 1)[0].split("/")[:-1]
        try:
            name = folders[level]
        except IndexError:
            found.problems.append(InputFileError(path, f"has no folder at level {level}"))
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
        if key.lower() == species_key.lower() and value:
            species.append(_species(value))
        elif key.lower() == individual_key.lower() and value:
            individuals.append(value.strip())
    if not species:
        found.problems.append(InputFileError(path, f"no '{species_key}|...' tag"))
    individual = individuals[0] if len(species) == 1 and len(individuals) == 1 else None
    found.rows.extend(ImageLabel(path, s, individual=individual) for s in species)
    return found


def from_csv(text: str, name: str) -> Labels:
    """Rows of ``path, species[, count][, individual]`` (a header row is required)."""
    found = Labels()
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    unknown = sorted(set(header) - CSV_COLUMNS)
    missing = sorted({"path", "species"} - set(header))
    if unknown or missing:
        raise InputFileError(
            name,
            f"columns must be path, species[, count][, individual]; "
            f"unknown: {unknown}, missing: {missing}",
            row=1,
        )
    for number, raw in enumerate(reader, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        if not row["path"] or not row["species"]:
            found.problems.append(InputFileError(name, "path and species are required", number))
            continue
        count = None
        if row.get("count"):
            try:
                count = int(row["count"])
            except ValueError:
                found.problems.append(
                    InputFileError(name, f"count {row['count']!r} is not a whole number", number)
                )
                continue
        found.rows.append(
            ImageLabel(row["path"], _species(row["species"]), count, row.get("individual") or None)
        )
    return found


def from_coco(document: Any, name: str) -> Labels:
    """COCO Camera Traps: ``images`` (id, file_name, width, height), ``categories`` (id, name)
    and ``annotations`` (image_id, category_id, optional pixel ``bbox``)."""
    found = Labels()
    if not isinstance(document, dict) or not {"images", "annotations", "categories"} <= set(
        document
    ):
        raise InputFileError(name, "not COCO Camera Traps: needs images, annotations, categories")
    categories = {c["id"]: _species(str(c["name"])) for c in document["categories"]}
    images = {i["id"]: i for i in document["images"]}
    for number, note in enumerate(document["annotations"]):
        image = images.get(note.get("image_id"))
        where = f"annotations[{number}]"
        if image is None:
            found.problems.append(InputFileError(name, f"{where}: unknown image_id"))
            continue
        species = categories.get(note.get("category_id"))
        if species is None:
            found.problems.append(
                InputFileError(name, f"{where}: unknown category_id {note.get('category_id')}")
            )
            continue
        box = None
        if note.get("bbox") and image.get("width") and image.get("height"):
            x, y, w, h = (float(v) for v in note["bbox"])
            box = (x / image["width"], y / image["height"], w / image["width"], h / image["height"])
        count = note.get("count")
        found.rows.append(
            ImageLabel(str(image["file_name"]), species, int(count) if count else None, None, box)
        )
    return found


def from_megadetector(document: Any, name: str, threshold: float = 0.5) -> Labels:
    """Species of a classified MegaDetector batch file: each box's best classification
    at or above ``threshold`` (boxes without one are left out)."""
    found = Labels()
    if not isinstance(document, dict) or "images" not in document:
        raise InputFileError(name, "not MegaDetector batch output: no 'images'")
    categories = document.get("classification_categories") or {}
    if not categories:
        raise InputFileError(name, "has no classification_categories: there are no species")
    for entry in document["images"]:
        for det in entry.get("detections") or []:
            ranked = sorted(det.get("classifications") or [], key=lambda c: -float(c[1]))
            if not ranked or float(ranked[0][1]) < threshold:
                continue
            label = categories.get(str(ranked[0][0]))
            if label is None:
                found.problems.append(
                    InputFileError(name, f"{entry['file']}: unknown category {ranked[0][0]}")
                )
                continue
            x, y, w, h = (float(v) for v in det["bbox"])
            found.rows.append(ImageLabel(entry["file"], _species(label), box=(x, y, w, h)))
    return found


def from_camtrap_dp(
    media: Sequence[Mapping[str, str]], observations: Sequence[Mapping[str, str]], name: str
) -> Labels:
    """Camtrap DP: media-based observations label their media; event-based ones label every
    media file of their deployment between eventStart and eventEnd. Blank observations
    become Nothing; others need a ``scientificName``."""
    found = Labels()
    by_id = {m["mediaID"]: m for m in media}
    by_deployment: dict[str, list[Mapping[str, str]]] = {}
    for m in media:
        by_deployment.setdefault(m["deploymentID"], []).append(m)
    media_level = {o.get("eventID") for o in observations if o.get("mediaID")}
    for number, obs in enumerate(observations, start=2):
        kind = obs.get("observationType", "")
        species = "Nothing" if kind == "blank" else (obs.get("scientificName") or "").strip()
        if not species:
            if kind != "animal":
                continue  # unclassified, unknown, human, vehicle: nothing we can label
            found.problems.append(InputFileError(name, "animal without scientificName", number))
            continue
        count = int(obs["count"]) if obs.get("count") else None
        individual = obs.get("individualID") or None
        if obs.get("mediaID"):
            file = by_id.get(obs["mediaID"])
            if file is None:
                found.problems.append(
                    InputFileError(name, f"unknown mediaID {obs['mediaID']!r}", number)
                )
                continue
            box = None
            if obs.get("bboxX"):
                box = tuple(float(obs[k]) for k in ("bboxX", "bboxY", "bboxWidth", "bboxHeight"))
            found.rows.append(ImageLabel(_media_path(file), species, count, individual, box))  # type: ignore[arg-type]
        elif obs.get("eventID") not in media_level:  # event-only annotation
            try:
                start, end = (dt.datetime.fromisoformat(obs[k]) for k in ("eventStart", "eventEnd"))
                for file in by_deployment.get(obs["deploymentID"], []):
                    if start <= dt.datetime.fromisoformat(file["timestamp"]) <= end:
                        found.rows.append(ImageLabel(_media_path(file), species, count, individual))
            except (KeyError, ValueError, TypeError) as exc:
                found.problems.append(InputFileError(name, f"bad event times: {exc}", number))
    return found


def _media_path(media: Mapping[str, str]) -> str:
    """A media file's path in the survey: ``filePath``, or ``fileName`` when the path is a URL."""
    path = media["filePath"]
    return (media.get("fileName") or path) if "://" in path else path


def read_json(data: bytes, name: str) -> Any:
    """A JSON document, or a clear error naming the file."""
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise InputFileError(name, f"not JSON: {exc}") from exc
