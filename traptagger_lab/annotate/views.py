"""What the annotation and results apps show, read in one place: tasks to choose from, a
sequence's photos with their boxes, the AI's word on a sequence.

Typed, read-only records, so the apps hold view state and never touch the
database themselves (they call these through ``lab.tasks`` and ``lab.annotate``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from traptagger_lab.db.models import ClusterSuggestion, Image, Job, Survey, Task
from traptagger_lab.detect.relevance import relevant_detections
from traptagger_lab.errors import NotFoundError


@dataclass(frozen=True)
class TaskChoice:
    """A task as a picker lists it, with its progress."""

    id: int
    name: str
    survey: str
    kind: str
    clusters: int
    complete: int

    @property
    def work_left(self) -> bool:
        """Whether some cluster still waits for annotations."""
        return self.complete < self.clusters

    @property
    def label(self) -> str:
        """How a picker shows it: survey, task and progress."""
        return f"{self.survey} — {self.name} ({self.complete}/{self.clusters} done)"


@dataclass(frozen=True)
class Box:
    """A relevant detection on a photo: normalised x, y, w, h (top-left origin)."""

    id: int
    x: float
    y: float
    w: float
    h: float
    category: str
    score: float


@dataclass(frozen=True)
class Photo:
    """One photo of a sequence: its compressed copy's key (None when there is none) and
    the boxes an annotator should see."""

    image_id: int
    key: str | None
    boxes: tuple[Box, ...]


def task_choices(
    session: Session, kinds: Collection[str] | None = None, survey_id: int | None = None
) -> list[TaskChoice]:
    """Every task (of the given kinds, of one survey), survey then name, with its progress."""
    from traptagger_lab.annotate.jobs import progress

    query = select(Task.id, Task.name, Survey.name, Task.kind).join(
        Survey, Survey.id == Task.survey_id
    )
    if kinds is not None:
        query = query.where(Task.kind.in_(list(kinds)))
    if survey_id is not None:
        query = query.where(Task.survey_id == survey_id)
    choices = []
    for task_id, name, survey, kind in session.execute(query.order_by(Survey.name, Task.name)):
        done = progress(session, task_id)
        choices.append(TaskChoice(task_id, name, survey, kind, done["clusters"], done["complete"]))
    return choices


def sequence_photos(session: Session, survey_id: int, cluster_id: int) -> list[Photo]:
    """A sequence's photos in time order, each with its relevant boxes."""
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise NotFoundError(f"no survey with id {survey_id}")
    rows = session.execute(
        select(Image.id, Image.compressed_key)
        .where(Image.cluster_id == cluster_id)
        .order_by(Image.corrected_timestamp, Image.path)
    ).all()
    boxes: dict[int, list[Box]] = {row.id: [] for row in rows}
    for d in relevant_detections(session, survey, list(boxes)):
        boxes[d.image_id].append(Box(d.id, d.x, d.y, d.w, d.h, d.category, d.score))
    return [Photo(row.id, row.compressed_key, tuple(boxes[row.id])) for row in rows]


def has_worked(session: Session, annotator: str) -> bool:
    """Whether the annotator ever had a job (the first one comes with a short tutorial)."""
    count = session.scalar(
        select(func.count()).select_from(Job).where(func.lower(Job.annotator) == annotator.lower())
    )
    return bool(count)


def ai_suggestion(session: Session, cluster_id: int) -> tuple[str, str] | None:
    """The AI's latest label for a sequence and why, as the classifier named it."""
    row = session.execute(
        select(ClusterSuggestion.label, ClusterSuggestion.reason)
        .where(ClusterSuggestion.cluster_id == cluster_id)
        .order_by(ClusterSuggestion.id.desc())
    ).first()
    return (row.label, row.reason) if row is not None else None
