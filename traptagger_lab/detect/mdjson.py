"""MegaDetector batch-output JSON (format 1.5): write ours, read anyone's.

The format (agentmorris/MegaDetector ``megadetector-output-format.md``) is what
Timelapse and the MegaDetector postprocessing tools read: ``info``,
``detection_categories`` and one entry per image with ``detections`` of
``category``, ``conf`` and ``bbox`` (normalised x, y, width, height, top-left
origin). Values are truncated as megadetector truncates them (4 decimals for
coordinates, 3 for confidences), so files from either tool compare equal.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from traptagger_lab.errors import InputFileError

FORMAT_VERSION = "1.5"
CATEGORIES = {"1": "animal", "2": "person", "3": "vehicle"}
COORD_DIGITS = 4
CONF_DIGITS = 3


def truncate(value: float, digits: int) -> float:
    """Drop decimals beyond ``digits`` (megadetector truncates rather than rounds)."""
    scale = 10.0**digits
    return math.floor(value * scale) / scale


@dataclass(frozen=True)
class MdDetection:
    """One box of an MD file: category "1"/"2"/"3", confidence, [x, y, w, h] normalised."""

    category: str
    conf: float
    bbox: tuple[float, float, float, float]

    def as_json(self) -> dict[str, Any]:
        """The dict written to the file (values truncated like megadetector's)."""
        return {
            "category": self.category,
            "conf": truncate(self.conf, CONF_DIGITS),
            "bbox": [truncate(v, COORD_DIGITS) for v in self.bbox],
        }


@dataclass(frozen=True)
class MdImage:
    """One image entry: its path (relative to the survey source), boxes or a failure."""

    file: str
    detections: tuple[MdDetection, ...] = ()
    failure: str | None = None


def to_json(
    images: Iterable[MdImage],
    detector: str,
    thresholds: Mapping[str, float] | None = None,
    completed: dt.datetime | None = None,
) -> dict[str, Any]:
    """A complete MD batch-output document for ``images``."""
    entries = []
    for image in images:
        entry: dict[str, Any] = {"file": image.file}
        if image.failure is not None:
            entry["failure"] = image.failure
            entry["detections"] = None
        else:
            entry["detections"] = [d.as_json() for d in image.detections]
        entries.append(entry)
    thresholds = thresholds or {}
    return {
        "info": {
            "format_version": FORMAT_VERSION,
            "detector": detector,
            "detection_completion_time": (completed or dt.datetime.now()).strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
            "detector_metadata": {
                "megadetector_version": detector,
                "typical_detection_threshold": thresholds.get("typical", 0.2),
                "conservative_detection_threshold": thresholds.get("conservative", 0.05),
            },
        },
        "detection_categories": dict(CATEGORIES),
        "images": entries,
    }


def _detection(raw: Any, where: str, categories: Mapping[str, str]) -> MdDetection:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: a detection must be an object")
    category = str(raw.get("category"))
    if category not in categories:
        raise ValueError(f"{where}: category {category!r} is not in detection_categories")
    conf = raw.get("conf")
    bbox = raw.get("bbox")
    if not isinstance(conf, int | float) or not 0 <= conf <= 1:
        raise ValueError(f"{where}: conf {conf!r} is not a number in [0, 1]")
    if (
        not isinstance(bbox, list)
        or len(bbox) != 4
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox)
    ):
        raise ValueError(f"{where}: bbox {bbox!r} is not [x, y, width, height]")
    return MdDetection(category, float(conf), _inside_image(bbox, where))


#: How far a box may reach past the image's edge (rounding) before it is refused.
EDGE_TOLERANCE = 0.01


def _inside_image(bbox: list[float], where: str) -> tuple[float, float, float, float]:
    """A box in the image's [0, 1] frame (clipped by at most the tolerance), or ValueError."""
    x, y, w, h = (float(v) for v in bbox)
    low, high = -EDGE_TOLERANCE, 1 + EDGE_TOLERANCE
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise ValueError(f"{where}: bbox {bbox!r} is not finite")
    if w < 0 or h < 0 or not (low <= x and low <= y and x + w <= high and y + h <= high):
        raise ValueError(
            f"{where}: bbox {bbox!r} is not a box inside the image ([0, 1], no negative size)"
        )
    (left, width), (top, height) = _clip(x, w), _clip(y, h)
    return left, top, width, height


def _clip(start: float, size: float) -> tuple[float, float]:
    """One side of a box kept within [0, 1]; unchanged (bit for bit) when it already is."""
    if start >= 0 and start + size <= 1:
        return start, size
    low = max(0.0, start)
    return low, min(1.0, start + size) - low


def from_json(
    document: Any, name: str, problems: list[str] | None = None
) -> tuple[dict[str, Any], list[MdImage]]:
    """Parse an MD batch-output document; returns its ``info`` and its images.

    With a ``problems`` list, a bad detection (unknown category, a score or box out of
    range) is left out and described there, naming the file and the entry, and the rest
    is read; without one it raises.

    Raises:
        InputFileError: naming the file and the entry, when the structure is wrong.
    """
    if not isinstance(document, dict) or not isinstance(document.get("images"), list):
        raise InputFileError(name, "not a MegaDetector batch-output file (no 'images' list)")
    info = document.get("info") or {}
    categories = {
        str(k): v for k, v in (document.get("detection_categories") or CATEGORIES).items()
    }
    images = []
    for index, entry in enumerate(document["images"]):
        where = f"images[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise InputFileError(name, f"{where}: every image needs a 'file'")
        if entry.get("failure"):
            images.append(MdImage(entry["file"], (), str(entry["failure"])))
            continue
        detections = []
        for number, raw in enumerate(entry.get("detections") or []):
            try:
                detections.append(_detection(raw, f"{where} ({entry['file']})", categories))
            except ValueError as exc:
                if problems is None:
                    raise InputFileError(name, str(exc)) from exc
                problems.append(f"{name}: {exc} (detections[{number}] left out)")
        images.append(MdImage(entry["file"], tuple(detections)))
    return info, images


def dumps(document: Mapping[str, Any]) -> str:
    """JSON text as megadetector writes it (indented, stable)."""
    return json.dumps(document, indent=1)
