"""Sighting correction: the boxes and per-box species a person settles on for one photo.

Saving replaces the photo's relevant boxes with the person's: boxes that were
kept or moved become new ``user:<annotator>`` detections, the detector's boxes
they replace are marked ``deleted`` (never removed), and every box gets its
label as a detection-level annotation. The count per species is what
abundance estimates use.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from traptagger_lab.db.models import Annotation, Detection, Image, Label, utcnow
from traptagger_lab.errors import NotFoundError


@dataclass(frozen=True)
class DrawnBox:
    """A box as a person left it: normalised x, y, w, h and the species label."""

    x: float
    y: float
    w: float
    h: float
    label: str


def save_boxes(
    session: Session,
    task_id: int,
    image_id: int,
    boxes: Sequence[DrawnBox],
    annotator: str,
    replaces: Sequence[int],
) -> dict[str, int]:
    """Store the person's boxes for a photo in place of the boxes they were shown (``replaces``).

    Returns the count per species.

    Raises:
        NotFoundError: for an unknown image or a label the task does not have.
    """
    image = session.get(Image, image_id)
    if image is None:
        raise NotFoundError(f"no image {image_id}")
    labels = {
        name.lower(): label_id
        for label_id, name in session.execute(
            select(Label.id, Label.name).where(Label.task_id == task_id, Label.is_tag.is_(False))
        )
    }
    unknown = sorted({b.label for b in boxes if b.label.lower() not in labels})
    if unknown:
        raise NotFoundError(f"unknown label(s) {unknown}; the task has {sorted(labels)}")
    session.execute(
        update(Detection)
        .where(Detection.image_id == image_id, Detection.id.in_(list(replaces)))
        .values(status="deleted")
    )
    now = utcnow()
    for box in boxes:
        x, y = max(0.0, box.x), max(0.0, box.y)
        add_labelled_box(
            session,
            task_id,
            image_id,
            image.cluster_id,
            (x, y, min(box.w, 1 - x), min(box.h, 1 - y)),
            labels[box.label.lower()],
            f"user:{annotator}",
            annotator,
            now,
        )
    return dict(Counter(b.label for b in boxes))


def add_labelled_box(
    session: Session,
    task_id: int,
    image_id: int,
    cluster_id: int | None,
    box: tuple[float, float, float, float],
    label_id: int,
    source: str,
    annotator: str,
    when: dt.datetime,
    status: str = "active",
    count: int | None = None,
) -> int:
    """A box made by a person or an import (``source``), with its label as a detection-level
    annotation of the task; returns the detection's id."""
    x, y, w, h = box
    detection = Detection(
        image_id=image_id, category=1, score=1.0, x=x, y=y, w=w, h=h, source=source, status=status
    )
    session.add(detection)
    session.flush()
    session.add(
        Annotation(
            task_id=task_id,
            cluster_id=cluster_id,
            detection_id=detection.id,
            label_id=label_id,
            annotator=annotator,
            count=count,
            active=True,
            created_at=when,
        )
    )
    return int(detection.id)
