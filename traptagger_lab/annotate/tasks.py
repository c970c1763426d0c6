"""Annotation tasks: a label tree and the clusters of a survey that people should label."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from traptagger_lab.annotate.labels import LabelDef, LabelSpec, build_tree
from traptagger_lab.classify.aggregate import NO_SPECIES, NOTHING
from traptagger_lab.db.engine import chunks
from traptagger_lab.db.models import (
    Annotation,
    Cluster,
    ClusterSuggestion,
    Label,
    Task,
    TaskItem,
)
from traptagger_lab.errors import ConfigurationError, NotFoundError
from traptagger_lab.surveys import find_survey
from traptagger_lab.workspace import Workspace

KINDS = ("species", "ai_check", "sighting", "empty_review", "sublabel", "review", "auto")


def store_labels(session: Session, task_id: int, defs: Sequence[LabelDef]) -> dict[str, int]:
    """Insert label definitions (parents first); returns name -> id (first match per name)."""
    ids: dict[str, int] = {}
    for d in defs:
        if d.parent is not None and d.parent not in ids:
            raise ConfigurationError(f"label {d.name!r}: parent {d.parent!r} is not defined")
        row = Label(
            task_id=task_id,
            parent_id=ids[d.parent] if d.parent else None,
            name=d.name,
            hotkey=d.hotkey,
            is_tag=d.is_tag,
            builtin=d.builtin,
        )
        session.add(row)
        session.flush()
        ids.setdefault(d.name, row.id)
    return ids


def stored_labels(session: Session, task_id: int) -> list[LabelDef]:
    """A task's labels as stored, parents first."""
    rows = session.scalars(select(Label).where(Label.task_id == task_id).order_by(Label.id)).all()
    names = {r.id: r.name for r in rows}
    return [
        LabelDef(r.name, names[r.parent_id] if r.parent_id else None, r.hotkey, r.is_tag, r.builtin)
        for r in rows
    ]


def _clusters(session: Session, survey_id: int, kind: str, exclude_auto: bool) -> list[Any]:
    query = select(Cluster.id, Cluster.site_id, Cluster.start).where(
        Cluster.survey_id == survey_id, Cluster.active.is_(True)
    )
    rows = session.execute(query.order_by(Cluster.site_id, Cluster.start, Cluster.id)).all()
    if kind not in ("ai_check", "empty_review") and not exclude_auto:
        return list(rows)
    suggestion: dict[int, tuple[str, bool]] = {}
    for part in chunks([r.id for r in rows]):
        suggestion.update(
            (c, (label, auto))
            for c, label, auto in session.execute(
                select(
                    ClusterSuggestion.cluster_id, ClusterSuggestion.label, ClusterSuggestion.auto
                ).where(ClusterSuggestion.cluster_id.in_(part))
            )
        )
    keep = []
    for r in rows:
        label, auto = suggestion.get(r.id, (NOTHING, False))
        if exclude_auto and auto:
            continue  # settled by the AI's auto-label rules
        if kind == "ai_check" and label in NO_SPECIES:
            continue  # the AI named no species to check
        if kind == "empty_review" and label != NOTHING:
            continue
        keep.append(r)
    return keep


def _labelled_clusters(session: Session, source_task_id: int, label: str) -> set[int]:
    """Clusters that carry ``label`` (an active annotation) in another task."""
    return set(
        session.scalars(
            select(Annotation.cluster_id)
            .join(Label, Label.id == Annotation.label_id)
            .where(
                Annotation.task_id == source_task_id,
                Annotation.active.is_(True),
                func.lower(Label.name) == label.lower(),
            )
        )
    )


def create_task(
    session: Session,
    survey_id: int,
    name: str,
    labels: LabelSpec,
    kind: str = "species",
    tags: Sequence[str] = (),
    annotations_per_cluster: int = 1,
    exclude_auto: bool = False,
    refine: tuple[int, str] | None = None,
    only: Collection[int] | None = None,
    reviews: int | None = None,
    label_defs: Sequence[LabelDef] | None = None,
) -> Task:
    """Create a task with its label tree and one work item per cluster it covers.

    Args:
        kind: ``species`` (label every cluster), ``ai_check`` (confirm the AI's species),
            ``empty_review`` (confirm clusters the AI called empty), ``sighting``
            (counts and boxes), ``sublabel`` (refine a parent label).
        annotations_per_cluster: Independent annotations wanted per cluster (consensus).
        exclude_auto: Leave out clusters the AI's auto-label rules already settled.
        refine: For ``sublabel`` tasks, ``(task id, label)``: only the clusters given that
            label in that task (e.g. "Antelope", to be told apart as Impala, Kudu...).
        only: Cover just these clusters.
        reviews: For ``review`` tasks, the id of the consensus task whose disagreements
            this task settles.
        label_defs: Stored labels to copy as they are, instead of building ``labels``.
    """
    if kind not in KINDS:
        raise ConfigurationError(f"task kind {kind!r}: use one of {KINDS}")
    if annotations_per_cluster < 1:
        raise ConfigurationError("annotations_per_cluster must be at least 1")
    if kind == "sublabel" and refine is None:
        raise ConfigurationError("a sublabel task needs refine=(task, label) to know its clusters")
    if session.scalar(select(Task).where(Task.survey_id == survey_id, Task.name == name)):
        raise ConfigurationError(f"the survey already has a task named {name!r}")
    task = Task(
        survey_id=survey_id,
        name=name,
        kind=kind,
        status="ready",
        params={
            "annotations_per_cluster": annotations_per_cluster,
            "exclude_auto": exclude_auto,
            "refine": list(refine) if refine else None,
            "reviews": reviews,
        },
    )
    session.add(task)
    session.flush()
    try:
        store_labels(session, task.id, label_defs or build_tree(labels, tags))
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
    chosen = _clusters(session, survey_id, kind, exclude_auto)
    if refine is not None:
        wanted = _labelled_clusters(session, *refine)
        chosen = [c for c in chosen if c.id in wanted]
    if only is not None:
        keep = set(only)
        chosen = [c for c in chosen if c.id in keep]
    items = [
        {
            "task_id": task.id,
            "cluster_id": c.id,
            "site_id": c.site_id,
            "start": c.start,
            "required": annotations_per_cluster,
            "done": 0,
            "leased": 0,
        }
        for c in chosen
    ]
    for part in chunks(items, 1000):
        session.execute(insert(TaskItem), list(part))
    return task


#: How callers name a task: its name, its id, or the row itself.
TaskRef = Task | int | str


def find_task(session: Session, ref: TaskRef, survey_id: int | None = None) -> Task:
    """A task by object, id, or name (within the survey ``survey_id`` when given: several
    surveys may use one name).

    Raises:
        NotFoundError: when no task, or more than one, has that name.
    """
    if isinstance(ref, Task):
        return ref
    query = select(Task).where(Task.id == ref if isinstance(ref, int) else Task.name == ref)
    if survey_id is not None and not isinstance(ref, int):
        query = query.where(Task.survey_id == survey_id)
    found = session.scalars(query).all()
    if len(found) != 1:
        problem = "is ambiguous: name the survey" if found else "does not exist"
        raise NotFoundError(f"task {ref!r} {problem}")
    return found[0]


def task_for(workspace: Workspace, task: TaskRef) -> Task:
    """A task object, id or name; or a survey name, meaning that survey's default task
    (its first species task)."""
    with workspace.sessions() as session:
        try:
            return find_task(session, task)
        except NotFoundError:
            if not isinstance(task, str):
                raise
        survey = find_survey(session, task)
        found = session.scalars(
            select(Task)
            .where(Task.survey_id == survey.id, Task.kind == "species")
            .order_by(Task.id)
        ).first()
    if found is None:
        raise NotFoundError(f"survey {task!r} has no species task yet")
    return found
