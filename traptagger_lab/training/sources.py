"""Where training examples come from: our annotated surveys, external CSVs, COCO Camera Traps.

Each source becomes a list of :class:`Example` (one animal, or one photo whose
animals the detector still has to find) and a list of :class:`Problem` (a row
that cannot be used, and why). Reading never stops at a bad row.
"""

from __future__ import annotations

import csv
import json
import posixpath
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from traptagger_lab.errors import InputFileError
from traptagger_lab.workspace import Workspace

Box = tuple[float, float, float, float]

#: Labels meaning "no animal": never a training class (a spec may not keep them).
NOT_ANIMAL = frozenset({"empty", "blank", "nothing", "none", "no animal"})

CSV_COLUMNS = {
    "image": ("path", "file", "file_name", "filename", "image", "url", "image_url"),
    "label": ("species", "label", "category", "class", "common_name"),
    "site": ("site", "site_id", "location", "station", "deployment"),
}


@dataclass(frozen=True)
class Example:
    """One labelled animal in a photo (``box`` normalised x, y, w, h), or a photo to detect on.

    ``root`` and ``image`` say where the photo is (``image`` is relative to
    ``root``, or ``root`` is empty and ``image`` a full path or URL);
    ``stored_key`` is set for video stills, read from the lab's store.
    ``pixels`` marks a box given in pixels (COCO), normalised once the photo is read.
    ``origin`` says where it came from (file and row, or survey and photo).
    """

    dataset: str
    site: str
    root: str
    image: str
    label: str
    origin: str
    box: Box | None = None
    pixels: bool = False
    stored_key: str | None = None
    detection_id: int | None = None
    source_label: str = ""  # the label as the source spelled it (``label`` once translated)

    @property
    def photo(self) -> tuple[str, str, str | None]:
        """What identifies the photo itself."""
        return (self.root, self.image, self.stored_key)


@dataclass(frozen=True)
class Problem:
    """An input that gives no crop: where it came from and why."""

    origin: str
    reason: str


def _pick(header: Sequence[str], wanted: str, path: str) -> str:
    lowered = {h.strip().lower(): h for h in header}
    for name in CSV_COLUMNS[wanted]:
        if name in lowered:
            return lowered[name]
    raise InputFileError(
        path, f"no {wanted} column (one of {', '.join(CSV_COLUMNS[wanted])}); found {list(header)}"
    )


def _root_and_image(base: str, image: str) -> tuple[str, str]:
    if "://" in image or posixpath.isabs(image) or Path(image).is_absolute():
        return "", image
    return base, image


def _csv_box(row: dict[str, str], columns: dict[str, str]) -> Box | None:
    if "bbox" in columns and (row.get(columns["bbox"]) or "").strip():
        values = json.loads(row[columns["bbox"]])
    elif all(k in columns for k in "xywh") and all(
        (row.get(columns[k]) or "").strip() for k in "xywh"
    ):
        values = [row[columns[k]] for k in "xywh"]
    else:
        return None
    box = tuple(float(v) for v in values)
    if len(box) != 4:
        raise ValueError(f"a box has 4 numbers (x, y, w, h), not {len(box)}")
    if not all(0 <= v <= 1 for v in box) or box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"box {list(box)} is not normalised x, y, w, h in 0-1")
    return (box[0], box[1], box[2], box[3])


def from_csv(
    path: str | Path, image_root: str | None = None
) -> tuple[list[Example], list[Problem]]:
    """Examples from a CSV of photo path or URL, species and site (LILA-style metadata).

    Optional columns: ``x, y, w, h`` or ``bbox`` (a JSON list; normalised, as
    MegaDetector writes them) for one animal per row, and ``dataset``.
    Relative paths are relative to ``image_root`` (default: the CSV's folder).

    Raises:
        InputFileError: when the file is missing or lacks a needed column.
    """
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InputFileError(where, "no such file") from exc
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    columns = {k: _pick(header, k, where) for k in CSV_COLUMNS}
    lowered = {h.strip().lower(): h for h in header}
    columns.update({k: lowered[k] for k in ("x", "y", "w", "h", "bbox", "dataset") if k in lowered})
    base = image_root if image_root is not None else str(Path(path).resolve().parent)
    name = Path(path).stem
    examples: list[Example] = []
    problems: list[Problem] = []
    for number, row in enumerate(reader, start=2):  # row 1 is the header
        origin = f"{where}, row {number}"
        image = (row.get(columns["image"]) or "").strip()
        label = (row.get(columns["label"]) or "").strip()
        site = (row.get(columns["site"]) or "").strip()
        missing = [k for k, v in (("image", image), ("label", label), ("site", site)) if not v]
        if missing:
            problems.append(Problem(origin, f"empty {', '.join(missing)}"))
            continue
        try:
            box = _csv_box(row, columns)
        except (ValueError, json.JSONDecodeError) as exc:
            problems.append(Problem(origin, f"bad box: {exc}"))
            continue
        root, image = _root_and_image(base, image)
        dataset = (row.get(columns.get("dataset", ""), "") or "").strip() or name
        examples.append(Example(dataset, site, root, image, label, origin, box))
    return examples, problems


def from_coco(
    path: str | Path, image_root: str | None = None
) -> tuple[list[Example], list[Problem]]:
    """Examples from a COCO Camera Traps JSON (images with ``location``, boxes in pixels).

    Annotations without a ``bbox`` are image-level labels: the detector finds the boxes.

    Raises:
        InputFileError: when the file is missing, not JSON, or not COCO Camera Traps.
    """
    where = str(path)
    try:
        document = json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise InputFileError(where, "no such file") from exc
    except json.JSONDecodeError as exc:
        raise InputFileError(where, f"not JSON: {exc}") from exc
    if not isinstance(document, dict) or not all(
        isinstance(document.get(k), list) for k in ("images", "annotations", "categories")
    ):
        raise InputFileError(where, "COCO Camera Traps needs images, annotations and categories")
    categories = {c["id"]: str(c["name"]) for c in document["categories"]}
    images = {i["id"]: i for i in document["images"]}
    base = image_root if image_root is not None else str(Path(path).resolve().parent)
    name = str(document.get("info", {}).get("description") or Path(path).stem)
    examples: list[Example] = []
    problems: list[Problem] = []
    for number, note in enumerate(document["annotations"]):
        origin = f"{where}, annotation {note.get('id', number)}"
        image = images.get(note.get("image_id"))
        label = categories.get(note.get("category_id"))
        if image is None or label is None:
            what = "image_id" if image is None else "category_id"
            problems.append(Problem(origin, f"unknown {what} {note.get(what)!r}"))
            continue
        site = str(image.get("location", image.get("site", "")) or "")
        if not site:
            problems.append(Problem(origin, f"image {image['id']!r} has no location (site)"))
            continue
        box = note.get("bbox")
        if box is not None and (len(box) != 4 or box[2] <= 0 or box[3] <= 0):
            problems.append(Problem(origin, f"bad bbox {box!r}"))
            continue
        root, file_name = _root_and_image(base, str(image["file_name"]))
        examples.append(
            Example(
                name,
                site,
                root,
                file_name,
                label,
                origin,
                tuple(float(v) for v in box) if box is not None else None,  # type: ignore[arg-type]
                pixels=box is not None,
            )
        )
    return examples, problems


def from_task(
    workspace: Workspace, task: Any
) -> tuple[list[Example], list[Problem], list[Example]]:
    """Examples from a task's settled labels (cluster- and box-level), with the boxes
    the survey's detections give.

    Returns ``(examples, problems, to_detect)``: photos whose label has no box and
    that the survey's detector has not seen come back in ``to_detect``.
    """
    from sqlalchemy import select

    from traptagger_lab.annotate.settled import one_selection
    from traptagger_lab.db.engine import chunks
    from traptagger_lab.db.models import DetectionPass, Image
    from traptagger_lab.detect.relevance import relevant_detections
    from traptagger_lab.ingest.sources import survey_sources
    from traptagger_lab.results.observations import observations
    from traptagger_lab.surveys import get_survey

    with workspace.sessions() as session:
        chosen = one_selection(session, task)
    survey = get_survey(workspace, chosen.survey_id)
    seen = observations(workspace, chosen)
    seen = seen[~seen["builtin"].astype(bool)] if len(seen) else seen
    with workspace.sessions() as session:
        roots = survey_sources(session, survey.id, workspace.settings.fsspec_options)
    located: dict[int, int | None] = {}  # image id -> its source
    stills: dict[int, str | None] = {}
    wanted = [int(i) for i in seen["image_id"].unique()] if len(seen) else []
    with workspace.sessions() as session:
        for part in chunks(wanted):
            stills.update(
                session.execute(
                    select(Image.id, Image.compressed_key).where(
                        Image.id.in_(part), Image.is_video_frame.is_(True)
                    )
                ).all()
            )
            located.update(
                session.execute(select(Image.id, Image.source_id).where(Image.id.in_(part))).all()
            )
    examples: list[Example] = []
    problems: list[Problem] = []
    boxless: dict[int, list[Example]] = defaultdict(list)
    for row in seen.itertuples(index=False):
        origin = f"survey {survey.name!r}, {row.path}"
        example = Example(
            survey.name,
            str(row.site),
            roots.root(located.get(row.image_id)),
            str(row.path),  # a video still's path ends in #t=seconds; it is read from the store
            str(row.species),
            origin,
            stored_key=stills.get(row.image_id),
        )
        if pd.notna(row.x):  # a box
            examples.append(
                replace(
                    example,
                    box=(float(row.x), float(row.y), float(row.w), float(row.h)),
                    detection_id=int(row.detection_id),
                )
            )
        else:
            boxless[int(row.image_id)].append(example)
    to_detect: list[Example] = []
    with workspace.sessions() as session:
        detected: set[int] = set()
        for part in chunks(list(boxless)):
            detected.update(
                session.scalars(
                    select(DetectionPass.image_id).where(
                        DetectionPass.image_id.in_(part), DetectionPass.status == "done"
                    )
                )
            )
        animals: dict[int, list[Any]] = defaultdict(list)
        for d in relevant_detections(session, survey, list(boxless)):
            if d.category == 1:
                animals[d.image_id].append(d)
    for image_id, found in boxless.items():
        species = {e.label for e in found}
        if len(species) > 1:
            problems.append(
                Problem(found[0].origin, f"several species ({sorted(species)}) and no boxes")
            )
        elif image_id in animals:
            examples.extend(
                replace(found[0], box=(d.x, d.y, d.w, d.h), detection_id=int(d.id))
                for d in animals[image_id]
            )
        elif image_id in detected:
            problems.append(Problem(found[0].origin, "the detector found no animal"))
        else:
            to_detect.append(found[0])
    return examples, problems, to_detect
