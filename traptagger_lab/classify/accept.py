"""Accepting the AI's auto-labels: the clusters a rule lets the classifier settle become
labels of the survey's ``AI labels`` task (provenance ``auto: <rule>``), so they count in
results, can be checked in an ``ai_check`` task, and can be undone.

Every accept and undo is recorded: a changed label is a new annotation pointing at the one
it replaces, and an undone one stays in the history, inactive.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from traptagger_lab.annotate.labels import LabelDef
from traptagger_lab.annotate.settled import AUTO_KIND, AUTO_PREFIX, AUTO_TASK, auto_task
from traptagger_lab.annotate.tasks import create_task, store_labels
from traptagger_lab.classify.aggregate import NO_SPECIES, RULES, AutoLabelRule, decide
from traptagger_lab.db.engine import chunks, transaction
from traptagger_lab.db.models import Annotation, Cluster, ClusterSuggestion, Label, Task
from traptagger_lab.errors import ConfigurationError
from traptagger_lab.surveys import SurveyRef, get_survey
from traptagger_lab.workspace import Workspace


@dataclass(frozen=True)
class AcceptReport:
    """What accepting (or undoing) the AI's auto-labels did to a survey."""

    survey: str
    rule: str
    accepted: int
    kept: int
    changed: int
    withdrawn: int

    @property
    def labelled(self) -> int:
        """Sequences the AI's labels settle now."""
        return self.accepted + self.kept + self.changed

    def __str__(self) -> str:
        return (
            f"{self.survey}: {self.labelled} sequence(s) labelled by the AI ({AUTO_PREFIX}"
            f"{self.rule}): {self.accepted} new, {self.changed} changed, {self.kept} kept, "
            f"{self.withdrawn} withdrawn"
        )


def _rule(kind: str, rule: str | AutoLabelRule | None) -> tuple[str, AutoLabelRule]:
    if isinstance(rule, AutoLabelRule):
        return "custom", rule
    name = rule or (kind if kind in RULES else "trails")
    if name not in RULES:
        raise ConfigurationError(f"auto-label rule {name!r}: use one of {sorted(RULES)}")
    return name, RULES[name]


def _suggestions(session: Session, survey_id: int) -> pd.DataFrame:
    """The newest suggestion per active cluster: cluster_id, id, label, detections, share."""
    rows = session.execute(
        select(
            ClusterSuggestion.cluster_id,
            ClusterSuggestion.id,
            ClusterSuggestion.label,
            ClusterSuggestion.detections,
            ClusterSuggestion.share,
            ClusterSuggestion.created_at,
        )
        .join(Cluster, Cluster.id == ClusterSuggestion.cluster_id)
        .where(Cluster.survey_id == survey_id, Cluster.active.is_(True))
    ).all()
    table = pd.DataFrame(
        rows, columns=["cluster_id", "id", "label", "detections", "share", "created_at"]
    )
    return table.sort_values(["created_at", "id"]).drop_duplicates("cluster_id", keep="last")


def accept_suggestions(
    workspace: Workspace, survey: SurveyRef, rule: str | AutoLabelRule | None = None
) -> AcceptReport:
    """Record the AI's auto-labels of a survey as labels (provenance ``auto: <rule>``).

    Args:
        survey: Survey name, id or object (classified already: see ``classify``).
        rule: An auto-label rule by survey kind (``trails``, ``baited``, ``plains``,
            ``waterhole``) or an :class:`~traptagger_lab.classify.aggregate.AutoLabelRule`;
            default the survey kind's. It decides from each cluster's stored suggestion
            (count and share of supporting detections; the smallest box counted is the one
            the classification used).

    Accepting again with another rule replaces the AI's labels that changed and withdraws
    those the rule no longer allows; people's labels are never touched (they settle a
    sequence over the AI's in any case). The suggestions' ``auto`` flags follow the rule.
    """
    row = get_survey(workspace, survey)
    name, chosen = _rule(row.kind, rule)
    annotator = f"{AUTO_PREFIX}{name}"
    with transaction(workspace.sessions) as session:
        table = _suggestions(session, row.id)
        if table.empty:
            raise ConfigurationError(
                f"survey {row.name!r} has no AI suggestions yet: classify it first"
            )
        decisions = {
            int(c): decide(str(label), int(n), float(share), chosen)
            for c, label, n, share in table[
                ["cluster_id", "label", "detections", "share"]
            ].itertuples(index=False)
        }
        for suggestion_id, cluster, label in zip(
            table["id"], table["cluster_id"], table["label"], strict=True
        ):
            if str(label) in NO_SPECIES:
                continue  # nothing to decide: its reason says why already
            auto, reason = decisions[int(cluster)]
            session.execute(
                update(ClusterSuggestion)
                .where(ClusterSuggestion.id == int(suggestion_id))
                .values(auto=auto, reason=reason)
            )
        wanted = {
            int(c): str(label)
            for c, label in zip(table["cluster_id"], table["label"], strict=True)
            if decisions[int(c)][0] and str(label) not in NO_SPECIES
        }
        task = auto_task(session, row.id) or create_task(
            session, row.id, AUTO_TASK, [], kind=AUTO_KIND, only=[], label_defs=[]
        )
        label_ids = _label_ids(session, task, set(wanted.values()))
        current = {
            int(a.cluster_id): a
            for a in session.scalars(
                select(Annotation).where(Annotation.task_id == task.id, Annotation.active.is_(True))
            )
            if a.cluster_id is not None
        }
        accepted = kept = changed = withdrawn = 0
        for cluster, gone in current.items():
            if cluster not in wanted:
                gone.active = False
                withdrawn += 1
        for cluster, label in wanted.items():
            old = current.get(cluster)
            if old is not None and old.label_id == label_ids[label]:
                kept += 1
                continue
            if old is not None:
                old.active = False
                changed += 1
            else:
                accepted += 1
            session.add(
                Annotation(
                    task_id=task.id,
                    cluster_id=cluster,
                    label_id=label_ids[label],
                    annotator=annotator,
                    previous_id=old.id if old is not None else None,
                )
            )
    return AcceptReport(row.name, name, accepted, kept, changed, withdrawn)


def undo_suggestions(workspace: Workspace, survey: SurveyRef) -> AcceptReport:
    """Withdraw every AI label of the survey (they stay in the history, inactive): its
    sequences are settled by people alone until the suggestions are accepted again."""
    row = get_survey(workspace, survey)
    with transaction(workspace.sessions) as session:
        task = auto_task(session, row.id)
        withdrawn = 0
        if task is not None:
            active = list(
                session.scalars(
                    select(Annotation.id).where(
                        Annotation.task_id == task.id, Annotation.active.is_(True)
                    )
                )
            )
            for part in chunks(active):
                session.execute(
                    update(Annotation).where(Annotation.id.in_(part)).values(active=False)
                )
            withdrawn = len(active)
    return AcceptReport(row.name, "undone", 0, 0, 0, withdrawn)


def _label_ids(session: Session, task: Task, names: set[str]) -> dict[str, int]:
    """The AI task's label ids by name, adding the labels it does not have yet."""
    have = {
        n: i
        for i, n in session.execute(select(Label.id, Label.name).where(Label.task_id == task.id))
    }
    missing = sorted(names - set(have))
    if missing:
        have.update(store_labels(session, task.id, [LabelDef(n, None, None) for n in missing]))
    return have
