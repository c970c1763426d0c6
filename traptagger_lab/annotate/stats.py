"""Per-annotator statistics of a task: speed, time spent, agreement with people and the AI."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from traptagger_lab.classify.aggregate import NO_SPECIES
from traptagger_lab.db.engine import chunks
from traptagger_lab.db.models import (
    Annotation,
    Cluster,
    ClusterSuggestion,
    Job,
    JobItem,
    Label,
    utcnow,
)

COLUMNS = [
    "annotator",
    "clusters",
    "images",
    "hours",
    "clusters_per_hour",
    "images_per_hour",
    "agreement_with_others",
    "agreement_with_ai",
]


def label_sets(
    session: Session, task_id: int, clusters: Sequence[int] | None = None
) -> dict[tuple[str, int], frozenset[str]]:
    """Each annotator's current species labels per cluster (tags left out), all or ``clusters``."""
    query = (
        select(Annotation.annotator, Annotation.cluster_id, Label.name)
        .join(Label, Label.id == Annotation.label_id)
        .where(Annotation.task_id == task_id, Annotation.active.is_(True), Label.is_tag.is_(False))
    )
    if clusters is not None:
        query = query.where(Annotation.cluster_id.in_(clusters))
    rows = session.execute(query).all()
    sets: dict[tuple[str, int], set[str]] = defaultdict(set)
    for annotator, cluster_id, name in rows:
        if cluster_id is not None:
            sets[(annotator, cluster_id)].add(name.lower())
    return {k: frozenset(v) for k, v in sets.items()}


def _hours(session: Session, task_id: int, annotator: str | None = None) -> dict[str, float]:
    """Time spent per annotator (or just ``annotator``): each job's start to its last submission."""
    query = (
        select(Job.annotator, Job.created_at, func.max(Annotation.created_at))
        .join(Annotation, Annotation.job_id == Job.id)
        .where(Job.task_id == task_id)
        .group_by(Job.id, Job.annotator, Job.created_at)
    )
    if annotator is not None:
        query = query.where(Job.annotator == annotator)
    hours: dict[str, float] = defaultdict(float)
    for who, started, last in session.execute(query):
        hours[who] += (last - started).total_seconds() / 3600
    return hours


def _share(values: list[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def annotator_stats(session: Session, task_id: int) -> pd.DataFrame:
    """One row per annotator: clusters and images labelled, hours, rates, agreement.

    Agreement with others is the share of clusters they share with another
    annotator where both gave the same species; agreement with the AI is the
    share of clusters with an AI suggestion where the suggestion is among
    their labels.
    """
    sets = label_sets(session, task_id)
    clusters = {c for _, c in sets}
    image_count: dict[int, int] = {}
    suggested: dict[int, str] = {}
    for part in chunks(sorted(clusters)):
        image_count.update(
            session.execute(
                select(Cluster.id, Cluster.image_count).where(Cluster.id.in_(part))
            ).all()
        )
        suggested.update(
            session.execute(
                select(ClusterSuggestion.cluster_id, ClusterSuggestion.label).where(
                    ClusterSuggestion.cluster_id.in_(part),
                    ClusterSuggestion.label.not_in(NO_SPECIES),
                )
            ).all()
        )
    by_cluster: dict[int, dict[str, frozenset[str]]] = defaultdict(dict)
    for (annotator, cluster_id), labels in sets.items():
        by_cluster[cluster_id][annotator] = labels
    agree: dict[str, list[bool]] = defaultdict(list)
    for labels_by in by_cluster.values():
        for a, b in combinations(sorted(labels_by), 2):
            same = labels_by[a] == labels_by[b]
            agree[a].append(same)
            agree[b].append(same)
    hours = _hours(session, task_id)
    rows = []
    for annotator in sorted({a for a, _ in sets}):
        mine = [c for a, c in sets if a == annotator]
        images = sum(image_count.get(c, 0) for c in mine)
        ai = [suggested[c].lower() in sets[(annotator, c)] for c in mine if c in suggested]
        spent = hours.get(annotator, 0.0)
        rows.append(
            {
                "annotator": annotator,
                "clusters": len(mine),
                "images": images,
                "hours": spent,
                "clusters_per_hour": len(mine) / spent if spent else None,
                "images_per_hour": images / spent if spent else None,
                "agreement_with_others": _share(agree[annotator]),
                "agreement_with_ai": _share(ai),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


@dataclass(frozen=True)
class Pace:
    """How a task is going, for the annotator's status line."""

    complete: int
    clusters: int
    annotations_left: int
    task_per_hour: float
    mine: int
    my_hours: float

    @property
    def eta_hours(self) -> float | None:
        """Hours until every cluster is done at the last hour's pace (None when idle)."""
        if self.task_per_hour <= 0:
            return None
        return self.annotations_left / self.task_per_hour

    @property
    def my_per_hour(self) -> float | None:
        """The annotator's clusters per hour of their own working time in this task
        (None until they have worked a minute: a rate from seconds means nothing)."""
        return self.mine / self.my_hours if self.my_hours >= 1 / 60 else None

    def describe(self) -> str:
        """One line: task progress with ETA, then the annotator's own count and speed."""
        text = f"task: {self.complete} of {self.clusters} sequences done"
        eta = self.eta_hours
        if eta is not None and self.complete < self.clusters:
            text += f", about {_duration(eta)} to go at the last hour's pace"
        text += f"; you: {self.mine} sequence{'' if self.mine == 1 else 's'}"
        if self.my_per_hour is not None:
            text += f" ({self.my_per_hour:.0f} per hour)"
        return text


def _duration(hours: float) -> str:
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.0f} days"


def pace(
    session: Session, task_id: int, annotator: str, window: dt.timedelta = dt.timedelta(hours=1)
) -> Pace:
    """The task's progress and recent pace, and what ``annotator`` has done in it so far."""
    from traptagger_lab.annotate.jobs import progress

    done = progress(session, task_id)
    since = utcnow() - window
    recent = session.scalar(
        select(func.count())
        .select_from(JobItem)
        .where(JobItem.task_id == task_id, JobItem.status == "done", JobItem.finished_at >= since)
    )
    mine = session.scalar(
        select(func.count(func.distinct(Annotation.cluster_id))).where(
            Annotation.task_id == task_id,
            Annotation.annotator == annotator,
            Annotation.active.is_(True),
        )
    )
    my_hours = _hours(session, task_id, annotator).get(annotator, 0.0)
    per_hour = (recent or 0) / (window.total_seconds() / 3600)
    left = done["annotations_needed"] - done["annotations_done"]
    return Pace(done["complete"], done["clusters"], left, per_hour, int(mine or 0), my_hours)
