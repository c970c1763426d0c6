"""COCO Camera Traps JSON, as LILA publishes data sets."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

#: COCO Camera Traps reserves category 0 for empty images.
EMPTY = "empty"


def provenance(row: Any) -> dict[str, str]:
    """Who settled an observation's label (extra keys beside the standard ones):
    ``classification_method`` machine (the AI's auto-label rule) or human, and
    ``classified_by`` (the rule or the people)."""
    by = getattr(row, "classified_by", None)
    method = "machine" if getattr(row, "by_machine", None) is True else "human"
    return {"classification_method": method, **({"classified_by": by} if by else {})}


def coco_document(images: pd.DataFrame, seen: pd.DataFrame, survey: str) -> dict[str, Any]:
    """The COCO Camera Traps document of a task: every image (with its sequence), one
    annotation per labelled box or file; ``Nothing`` is category 0, ``empty``."""
    seen = seen[~seen["species"].str.lower().eq("knocked down")]
    species = sorted({s for s in seen["species"] if s.lower() != "nothing"})
    ids = {name: number for number, name in enumerate(species, start=1)}
    sequences = images.dropna(subset=["cluster_id"]).sort_values(["cluster_id", "timestamp"])
    frame_of = sequences.groupby("cluster_id").cumcount().to_dict()
    frames = sequences.groupby("cluster_id")["image_id"].transform("size").to_dict()
    entries = []
    for index, image in images.iterrows():
        entry: dict[str, Any] = {
            "id": image["path"],
            "file_name": image["path"],
            "location": image["site"],
            "camera": image["camera"],
        }
        if not pd.isna(image["width"]):
            entry["width"], entry["height"] = int(image["width"]), int(image["height"])
        if not pd.isna(image["timestamp"]):
            entry["datetime"] = pd.Timestamp(image["timestamp"]).strftime("%Y-%m-%d %H:%M:%S")
        if not pd.isna(image["cluster_id"]):
            entry["seq_id"] = str(int(image["cluster_id"]))
            entry["seq_num_frames"] = int(frames[index])
            entry["frame_num"] = int(frame_of[index])
        entries.append(entry)
    annotations = []
    for number, row in enumerate(seen.itertuples(index=False)):
        note: dict[str, Any] = {
            "id": f"{row.image_id}_{number}",
            "image_id": row.path,
            "category_id": 0 if row.species.lower() == "nothing" else ids[row.species],
        }
        if not pd.isna(row.x) and not pd.isna(row.width):
            note["bbox"] = [
                round(row.x * row.width, 1),
                round(row.y * row.height, 1),
                round(row.w * row.width, 1),
                round(row.h * row.height, 1),
            ]
        if row.count and row.count > 1:
            note["count"] = int(row.count)
        if isinstance(row.individual, str):
            note["individual_id"] = row.individual
        note.update(provenance(row))
        annotations.append(note)
    return {
        "info": {
            "version": "1.0",
            "description": f"{survey}, exported by TrapTagger Lab",
            "date_created": dt.date.today().isoformat(),
        },
        "images": entries,
        "categories": [{"id": 0, "name": EMPTY}]
        + [{"id": number, "name": name} for name, number in ids.items()],
        "annotations": annotations,
    }
