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
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from traptagger_lab.annotate.stats import label_sets
from traptagger_lab.annotate.tasks import create_task, stored_labels
from traptagger_lab.db.models import Annotation, Label, Task, TaskItem
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


def _label_strings(session: Session, task_id: int, within: Select[Any] | None) -> pd.DataFrame:
    """Each annotator's current species labels per cluster as one string (as :func:`_describe`
    writes a set): columns cluster_id, annotator, labels. Worked out in bulk, for tasks of
    hundreds of thousands of clusters."""
    names = {
        id_: name.lower()
        for id_, name in session.execute(
            select(Label.id, Label.name).where(Label.task_id == task_id, Label.is_tag.is_(False))
        )
    }
    query = select(Annotation.cluster_id, Annotation.annotator, Annotation.label_id).where(
        Annotation.task_id == task_id,
        Annotation.active.is_(True),
        Annotation.cluster_id.is_not(None),
        Annotation.label_id.in_(names),
    )
    if within is not None:
        query = query.where(Annotation.cluster_id.in_(within))
    rows = session.execute(query).all()
    frame = pd.DataFrame(rows, columns=["cluster_id", "annotator", "labels"])
    frame["labels"] = frame["labels"].map(names).astype(object)
    frame = frame.drop_duplicates().sort_values(["cluster_id", "annotator", "labels"])
    several = frame.duplicated(["cluster_id", "annotator"], keep=False)
    joined = (
        frame[several].groupby(["cluster_id", "annotator"], sort=False)["labels"].agg(" + ".join)
    )
    return pd.concat([frame[~several], joined.reset_index()], ignore_index=True).sort_values(
        ["cluster_id", "annotator"], ignore_index=True
    )


def review_tasks(session: Session, task: Task) -> list[Task]:
    """The review tasks that settle the task's disagreements."""
    reviews = session.scalars(
        select(Task).where(Task.survey_id == task.survey_id, Task.kind == "review")
    )
    return [r for r in reviews if (r.params or {}).get("reviews") == task.id]


def final_labels(session: Session, task_id: int, within: Select[Any] | None = None) -> pd.DataFrame:
    """Every labelled cluster's settled labels (or those of the clusters the query
    ``within`` selects), and what settled them.

    ``settled_by`` is ``single`` (one annotation wanted), ``agreed`` (all
    annotators gave the same labels), ``review`` (a review task's annotation)
    or ``disputed`` (still waiting for a review: ``labels`` is empty).
    """
    task = session.get(Task, task_id)
    if task is None:
        raise ConfigurationError(f"no task with id {task_id}")
    wanted = int(task.params.get("annotations_per_cluster", 1))
    given = _label_strings(session, task_id, within)
    reviewed = [
        _label_strings(session, review.id, within) for review in review_tasks(session, task)
    ]
    by_cluster = given.groupby("cluster_id", sort=True)["labels"]
    table = pd.DataFrame({"labels": by_cluster.first(), "distinct": by_cluster.nunique()})
    if wanted == 1:
        table["settled_by"] = "single"
    else:
        people = given["annotator"].str.casefold().groupby(given["cluster_id"]).nunique()
        enough = people.reindex(table.index, fill_value=0) >= wanted  # distinct people
        table = table[table.index.isin(_complete(session, task_id)) & enough].copy()
        table["settled_by"] = np.where(table["distinct"] == 1, "agreed", "disputed")
        table.loc[table["settled_by"] == "disputed", "labels"] = ""
    if reviewed:
        review = pd.concat(reviewed).groupby("cluster_id")["labels"].last()
        review = review[review.index.isin(given["cluster_id"])]
        table = table.reindex(table.index.union(review.index))
        table.loc[review.index, "labels"] = review
        table.loc[review.index, "settled_by"] = "review"
    return table.rename_axis("cluster_id").reset_index()[FINAL_COLUMNS]
