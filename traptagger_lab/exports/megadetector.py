"""MegaDetector batch output with species: the detector's boxes, classified by people.

Timelapse and the MegaDetector postprocessing tools read species as
``classification_categories`` and, per box, ``classifications`` of
``[category, confidence]``. A person's label has confidence 1. Boxes people
drew or imported, which the detector never made, are added with their label.
Labels given to a whole cluster with several species name no box, so they
cannot be written in this format.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pandas as pd

from traptagger_lab.detect.mdjson import COORD_DIGITS, truncate
from traptagger_lab.exports.coco import provenance


def _key(box: Any) -> tuple[float, ...]:
    return tuple(truncate(float(v), COORD_DIGITS) for v in box)


def classify_document(document: dict[str, Any], seen: pd.DataFrame) -> dict[str, Any]:
    """``document`` (the survey's MD batch output, or one with just image entries) with
    the task's species added to its boxes."""
    animals = seen[seen["x"].notna() & ~seen["builtin"]]
    names = sorted(set(animals["species"]))
    category = {name: str(number) for number, name in enumerate(names, start=1)}
    by_file: dict[str, list[Any]] = defaultdict(list)
    for row in animals.itertuples(index=False):
        by_file[row.path].append(row)
    entries = {entry["file"]: entry for entry in document["images"]}
    for path, rows in by_file.items():
        entry = entries.get(path)
        if entry is None:
            entry = {"file": path, "detections": []}
            document["images"].append(entry)
            entries[path] = entry
        boxes = {_key(d["bbox"]): d for d in entry.get("detections") or []}
        for row in rows:
            found = boxes.get(_key((row.x, row.y, row.w, row.h)))
            if found is None:
                found = {
                    "category": "1",
                    "conf": truncate(float(row.score if row.score == row.score else 1.0), 3),
                    "bbox": list(_key((row.x, row.y, row.w, row.h))),
                }
                entry.setdefault("detections", []).append(found)
                boxes[_key(found["bbox"])] = found
            found["classifications"] = [[category[row.species], 1.0]]
            found.update(provenance(row))
    document["classification_categories"] = {v: k for k, v in category.items()}
    machine = "by_machine" in animals and bool(animals["by_machine"].eq(True).any())
    document.setdefault("info", {})["classifier"] = (
        "people and the AI's accepted auto-labels (TrapTagger Lab)"
        if machine
        else "people (TrapTagger Lab annotations)"
    )
    return document
