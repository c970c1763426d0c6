"""False-positive control: static (repeat) detections, exclusion masks, tiny boxes.

A rock or a branch that MegaDetector calls an animal comes back in the same
place in photo after photo from the same camera. The pure core here groups a
camera's boxes by position and flags a group as *static* when it recurs often
enough (a count and a share of the camera's photos) and over more than an hour
(an animal lingering in front of the camera for a few minutes is not static).
Bigger boxes must overlap more to count as "the same place".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import Field

from traptagger_lab.params import StageParams


class StaticParams(StageParams):
    """Parameters of the static-detection filter (recorded with every run)."""

    min_count: int = Field(
        default=5, ge=2, description="Fewest photos a static box must recur in (photos)."
    )
    min_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Smallest share of the camera's photos a static box recurs in (0-1).",
    )
    linger_s: float = Field(
        default=3600,
        ge=0,
        description="A group whose photos all fall within this span is a lingering animal, "
        "not a static box (seconds).",
    )
    iou_small: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Overlap (IoU, 0-1) two boxes under 1% of the frame need to be one place.",
    )
    iou_medium: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="Overlap (IoU, 0-1) two boxes of 1-10% of the frame need to be one place.",
    )
    iou_large: float = Field(
        default=0.7,
        ge=0,
        le=1,
        description="Overlap (IoU, 0-1) two boxes over 10% of the frame need to be one place.",
    )
    min_score: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Detections scoring below this are ignored (detector score, 0-1).",
    )

    def iou_needed(self, area: float) -> float:
        """The IoU two boxes of this size need to be "the same place" (tighter when bigger)."""
        if area < 0.01:
            return self.iou_small
        if area < 0.1:
            return self.iou_medium
        return self.iou_large


@dataclass(frozen=True)
class PlacedBox:
    """A detection on one camera's photo, with when the photo was taken."""

    detection_id: int
    image_id: int
    time: dt.datetime | None
    score: float
    x: float
    y: float
    w: float
    h: float

    @property
    def area(self) -> float:
        """Share of the frame the box covers."""
        return self.w * self.h


def iou(a: PlacedBox, b: PlacedBox) -> float:
    """Intersection over union of two normalised ``x, y, w, h`` boxes."""
    w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / (a.area + b.area - inter)


def _lingering(group: Sequence[PlacedBox], linger_s: float) -> bool:
    times = [b.time for b in group if b.time is not None]
    if len(times) < len(group):
        return False  # without times we cannot tell; treat as spread out
    return (max(times) - min(times)).total_seconds() <= linger_s


def find_static_groups(
    boxes: Sequence[PlacedBox], photos_on_camera: int, params: StaticParams
) -> list[list[PlacedBox]]:
    """Groups of boxes that recur in the same place on one camera (the pure core).

    Boxes seed groups in score order; each photo joins a group at most once
    (with its best box). Overlaps are computed vectorised, seed against all.
    """
    import numpy as np

    ordered = sorted(
        (b for b in boxes if b.score >= params.min_score), key=lambda b: (-b.score, b.detection_id)
    )
    if not ordered:
        return []
    x1 = np.array([b.x for b in ordered])
    y1 = np.array([b.y for b in ordered])
    x2 = x1 + np.array([b.w for b in ordered])
    y2 = y1 + np.array([b.h for b in ordered])
    area = (x2 - x1) * (y2 - y1)
    free = np.ones(len(ordered), dtype=bool)
    needed = max(params.min_count, params.min_share * photos_on_camera)
    groups: list[list[PlacedBox]] = []
    for index, seed in enumerate(ordered):
        if not free[index]:
            continue
        w = np.clip(np.minimum(x2, x2[index]) - np.maximum(x1, x1[index]), 0, None)
        h = np.clip(np.minimum(y2, y2[index]) - np.maximum(y1, y1[index]), 0, None)
        inter = w * h
        overlap = inter / np.maximum(area + area[index] - inter, 1e-12)
        candidates = np.flatnonzero(free & (overlap >= params.iou_needed(seed.area)))
        members: dict[int, int] = {}
        for candidate in candidates:  # already in score order: the best box of each photo
            members.setdefault(ordered[candidate].image_id, int(candidate))
        group = [ordered[c] for c in members.values()]
        if len(group) >= needed and not _lingering(group, params.linger_s):
            groups.append(group)
            free[list(members.values())] = False
    return groups


def is_small(box: PlacedBox, min_area: float = 0.0025) -> bool:
    """Boxes under ``min_area`` of the frame (TrapTagger hides those below 0.25%)."""
    return box.area < min_area
