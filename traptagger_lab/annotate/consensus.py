"""Consensus tasks: where independent annotators disagree, a reviewer settles it.

A task with ``annotations_per_cluster=k`` collects k independent label sets
per cluster. Clusters whose k sets are all in and differ are disagreements;
``create_review`` makes a ``review`` task over them (same labels, one
annotation each), and ``final_labels`` gives every cluster's settled labels:
the agreed set, the reviewer's, or none while it is still disputed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from traptagger_lab.annotate.stats import label_sets
from traptagger_lab.annotate.tasks import create_task, stored_labels
from traptagger_lab.db.models import Task, TaskItem
from traptagger_lab.errors import ConfigurationError

DISAGREEMENT_COLUMNS = ["cluster_id", "annotators", "labels"]
FINAL_COLUMNS = ["cluster_id", "labels", "settled_by"]


def _by_cluster(
    session: Session, task_id: int, clusters: Sequence[int] | None = None
) -> dict[int, dict[str, frozenset[str]]]:
    by_cluster: dict[int, dict[str, frozenset[str]]] = defaultdict(dict)
    for (annotator, cluster_id), labels in label_sets(session, task_id, clusters).items():
        by_cluster[cluster_id][annotator] = labels
    return by_cluster


def _complete(session: Session, task_id: int) -> set[int]:
    return set(
        session.scalars(
            select(TaskItem.cluster_id).where(
                TaskItem.task_id == task_id, TaskItem.done >= TaskItem.required
            )
        )
    )


def _describe(labels: frozenset[str]) -> str:
    return " + ".join(sorted(labels))


def said(labels_by: dict[str, frozenset[str]]) -> str:
    """Who said what about one cluster: ``"ann: impala; bob: impala + zebra"``."""
    return "; ".join(f"{who}: {_describe(labels)}" for who, labels in sorted(labels_by.items()))


def opinions(session: Session, task_id: int, cluster: int) -> str:
    """What the task's annotators said about one cluster (shown to its reviewer)."""
    return said(_by_cluster(session, task_id, [cluster]).get(cluster, {}))


def _disputed(by_cluster: dict[int, dict[str, frozenset[str]]], complete: set[int]) -> list[int]:
    return sorted(
        cluster
        for cluster, sets in by_cluster.items()
        if cluster in complete and len(set(sets.values())) > 1
    )


def disagreement_ids(session: Session, task_id: int) -> list[int]:
    """Clusters whose annotations are all in and whose annotators gave different labels."""
    return _disputed(_by_cluster(session, task_id), _complete(session, task_id))


def disagreements(session: Session, task_id: int) -> pd.DataFrame:
    """One row per disputed cluster: who labelled it, and what each said."""
    by_cluster = _by_cluster(session, task_id)
    rows = [
        {
            "cluster_id": cluster,
            "annotators": len(by_cluster[cluster]),
            "labels": said(by_cluster[cluster]),
        }
        for cluster in _disputed(by_cluster, _complete(session, task_id))
    ]
    return pd.DataFrame(rows, columns=DISAGREEMENT_COLUMNS)


def create_review(session: Session, task: Task, name: str | None = None) -> Task:
    """A ``review`` task over the task's current disagreements, with the same labels."""
    if int(task.params.get("annotations_per_cluster", 1)) < 2:
        raise ConfigurationError(
            f"task {task.name!r} has one annotation per cluster: there is nothing to reconcile"
        )
    disputed = disagreement_ids(session, task.id)
    if not disputed:
        raise ConfigurationError(f"task {task.name!r} has no disagreements to review yet")
    return create_task(
        session,
        task.survey_id,
        name or f"{task.name} review",
        [],
        kind="review",
        only=disputed,
        reviews=task.id,
        label_defs=stored_labels(session, task.id),
    )


def final_labels(session: Session, task_id: int) -> pd.DataFrame:
    """Every labelled cluster's settled labels, and what settled them.

    ``settled_by`` is ``single`` (one annotation wanted), ``agreed`` (all
    annotators gave the same labels), ``review`` (a review task's annotation)
    or ``disputed`` (still waiting for a review: ``labels`` is empty).
    """
    task = session.get(Task, task_id)
    if task is None:
        raise ConfigurationError(f"no task with id {task_id}")
    wanted = int(task.params.get("annotations_per_cluster", 1))
    reviewed: dict[int, frozenset[str]] = {}
    for review in session.scalars(select(Task).where(Task.kind == "review")):
        if review.params.get("reviews") == task_id:
            for (_, cluster), labels in sorted(label_sets(session, review.id).items()):
                reviewed[cluster] = labels
    complete = _complete(session, task_id)
    rows = []
    for cluster, sets in sorted(_by_cluster(session, task_id).items()):
        distinct = set(sets.values())
        if cluster in reviewed:
            labels, how = reviewed[cluster], "review"
        elif wanted == 1:
            labels, how = next(iter(distinct)), "single"
        elif cluster not in complete:
            continue  # still being annotated
        elif len(distinct) == 1:
            labels, how = next(iter(distinct)), "agreed"
        else:
            labels, how = frozenset(), "disputed"
        rows.append({"cluster_id": cluster, "labels": _describe(labels), "settled_by": how})
    return pd.DataFrame(rows, columns=FINAL_COLUMNS)
