"""A survey's settled labels: one label set per sequence, merged over every pass that
labelled it, with where each label came from. Every result, export, dashboard and
training set reads labels from here.

The passes over a survey, and how they combine (per sequence):

1. **The AI** (the survey's ``auto`` task, :func:`accept_suggestions`): labels the
   classifier's auto-label rule settled, provenance ``auto: <rule>``. Lowest of all: any
   person's label on the sequence replaces them. Left out with ``people_only``.
2. **People's tasks**, in the order they were created. A task's label set for a sequence
   is its settled one (:func:`~traptagger_lab.annotate.consensus.final_labels`: the one
   annotation, the agreed set of several annotators, or their review task's; a sequence
   still disputed is not settled by that task). A later pass *overrides* what came before
   (``species``, ``ai_check`` confirming or correcting the AI, ``empty_review`` confirming
   Nothing, ``sighting``), except a ``sublabel`` task, which *refines* its parent label:
   Antelope becomes Impala and the sequence's other labels (a Zebra beside it) stay.
3. Review tasks are part of the consensus task whose disagreements they settle.

What a pass replaced is kept (``replaced``), so a label's history can be read back.

Which passes: a survey (its name, id or row) means all of them, the default entry point;
a task means that task and the passes that build on it (its review tasks and the sublabel
tasks refining it, in turn); a list of tasks means those (with theirs). Tasks of several
surveys give one selection per survey. The AI's pass comes with each unless
``people_only``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from traptagger_lab.annotate.consensus import final_labels, review_tasks
from traptagger_lab.annotate.tasks import TaskRef, find_task, stored_labels
from traptagger_lab.db.models import Annotation, Label, Survey, Task
from traptagger_lab.errors import ConfigurationError, NotFoundError
from traptagger_lab.surveys import SurveyRef, find_survey

if TYPE_CHECKING:
    from traptagger_lab.workspace import Workspace

#: The kind and name of a survey's task that holds the AI's accepted auto-labels.
AUTO_KIND = "auto"
AUTO_TASK = "AI labels"
#: Provenance prefix of the AI's labels (``auto: trails``).
AUTO_PREFIX = "auto: "

SETTLED_COLUMNS = [
    "cluster_id",
    "label",
    "source",
    "task_id",
    "task",
    "kind",
    "annotators",
    "settled_by",
    "at",
    "replaced",
]

#: What names the labels to read: a survey, a task, or several tasks.
LabelsRef = SurveyRef | TaskRef | Sequence[SurveyRef | TaskRef]


@dataclass(frozen=True)
class Pass:
    """One labelling pass over a survey: a task, or the AI's auto-labels."""

    task_id: int
    name: str
    kind: str
    #: For a ``sublabel`` task: the label it refines (e.g. ``Antelope``).
    refines: str | None = None
    #: The review tasks settling this task's disagreements.
    reviews: tuple[int, ...] = ()

    @property
    def is_ai(self) -> bool:
        return self.kind == AUTO_KIND


@dataclass(frozen=True)
class Selection:
    """The passes whose labels are merged for one survey, in the order they apply."""

    survey_id: int
    survey: str
    passes: tuple[Pass, ...]
    people_only: bool = False

    @property
    def task_ids(self) -> list[int]:
        """Every task whose annotations count (the passes and their review tasks)."""
        return [t for p in self.passes for t in (p.task_id, *p.reviews)]

    @property
    def label_tasks(self) -> list[int]:
        """The passes' own tasks (without review tasks): where box labels are read."""
        return [p.task_id for p in self.passes]


@dataclass(frozen=True)
class Settled:
    """What one pass settled for a sequence."""

    labels: tuple[str, ...]
    annotators: str
    settled_by: str
    at: dt.datetime | None


@dataclass
class SettledLabel:
    """One settled label of a sequence and the pass that set it."""

    name: str
    source: Pass
    how: Settled
    replaced: str = ""

    @property
    def by_machine(self) -> bool:
        """Set by the AI's auto-label rule, not a person."""
        return self.source.is_ai

    @property
    def classified_by(self) -> str:
        """The rule (``auto: trails``) or the people who settled it."""
        return self.how.annotators


@dataclass
class Merged:
    """A sequence's labels after the passes so far, each with the pass that set it."""

    labels: list[SettledLabel] = field(default_factory=list)

    def names(self) -> list[str]:
        return [label.name for label in self.labels]


# -- the pure core: merging passes ---------------------------------------------------------


def merge(layers: Iterable[tuple[Pass, dict[int, Settled]]]) -> dict[int, Merged]:
    """Merge the passes' settled sets, in order (see the module doc for the rules)."""
    merged: dict[int, Merged] = defaultdict(Merged)
    for step, settled in layers:
        for cluster, how in settled.items():
            if not how.labels:
                continue
            current = merged[cluster]
            before = " + ".join(current.names())
            if step.kind == "sublabel" and step.refines is not None:
                parent = step.refines.casefold()
                kept = [lab for lab in current.labels if lab.name.casefold() != parent]
                replaced = step.refines if len(kept) < len(current.labels) else ""
            else:
                kept, replaced = [], before
            have = {lab.name.casefold() for lab in kept}
            added = [
                SettledLabel(name, step, how, replaced)
                for name in how.labels
                if name.casefold() not in have
            ]
            current.labels = kept + added
    return {c: m for c, m in merged.items() if m.labels}


def frame(merged: dict[int, Merged]) -> pd.DataFrame:
    """One row per sequence and settled label (see :data:`SETTLED_COLUMNS`)."""
    rows = [
        {
            "cluster_id": cluster,
            "label": label.name,
            "source": "ai" if label.source.is_ai else "people",
            "task_id": label.source.task_id,
            "task": label.source.name,
            "kind": label.source.kind,
            "annotators": label.how.annotators,
            "settled_by": label.how.settled_by,
            "at": label.how.at,
            "replaced": label.replaced,
        }
        for cluster in sorted(merged)
        for label in merged[cluster].labels
    ]
    table = pd.DataFrame(rows, columns=SETTLED_COLUMNS)
    table["at"] = pd.to_datetime(table["at"])
    return table


# -- which passes --------------------------------------------------------------------------


def auto_task(session: Session, survey_id: int) -> Task | None:
    """The survey's task of the AI's accepted auto-labels, if it has one."""
    return session.scalars(
        select(Task).where(Task.survey_id == survey_id, Task.kind == AUTO_KIND)
    ).first()


def _pass(session: Session, task: Task) -> Pass:
    params = task.params or {}
    refine = params.get("refine")
    return Pass(
        task_id=task.id,
        name=task.name,
        kind=task.kind,
        refines=str(refine[1]) if task.kind == "sublabel" and refine else None,
        reviews=tuple(r.id for r in review_tasks(session, task)),
    )


def _with_followers(tasks: list[Task], every: list[Task]) -> list[Task]:
    """The tasks with the passes that build on them: sublabel tasks refining them, in turn."""
    chosen = {t.id: t for t in tasks}
    grew = True
    while grew:
        grew = False
        for task in every:
            refine = (task.params or {}).get("refine")
            if task.kind == "sublabel" and refine and refine[0] in chosen and task.id not in chosen:
                chosen[task.id] = task
                grew = True
    return list(chosen.values())


def _selection(
    session: Session, survey: Survey, tasks: list[Task] | None, people_only: bool
) -> Selection:
    every = list(session.scalars(select(Task).where(Task.survey_id == survey.id).order_by(Task.id)))
    reviewing = {r.id for t in every for r in review_tasks(session, t)}
    people = [t for t in every if t.kind != AUTO_KIND and t.id not in reviewing]
    if tasks is not None:
        asked = {t.id for t in tasks}
        wanted = {t.id for t in _with_followers([t for t in people if t.id in asked], every)}
        wanted |= {t.id for t in tasks if t.kind == "review"}  # a review task asked for itself
        people = [t for t in every if t.id in wanted]
    ai = [] if people_only else [t for t in every if t.kind == AUTO_KIND]
    passes = tuple(_pass(session, t) for t in [*ai, *people])
    if not passes:
        raise NotFoundError(
            f"survey {survey.name!r} has no labels yet: annotate it (a species task) "
            "or accept the AI's suggestions (lab.classification.accept)"
        )
    return Selection(survey.id, survey.name, passes, people_only)


def is_task(session: Session, ref: LabelsRef) -> Task | None:
    """The task ``ref`` names, or None when it names a survey, several things or nothing."""
    if isinstance(ref, Task):
        return ref
    if not isinstance(ref, str | int):
        return None
    try:
        return find_task(session, ref)
    except NotFoundError:
        return None


def selections(
    session: Session, ref: LabelsRef | Selection, people_only: bool = False
) -> list[Selection]:
    """The passes ``ref`` names (a survey, a task, or a list of them), one selection per
    survey in the order first named. A name is a task's if a task has it, else a survey's."""
    if isinstance(ref, Selection):
        return [ref]
    refs: list[Any] = list(ref) if isinstance(ref, list | tuple) else [ref]
    if not refs:
        raise NotFoundError("no survey or task given")
    whole: dict[int, Survey] = {}
    named: dict[int, list[Task]] = defaultdict(list)
    order: list[int] = []
    for item in refs:
        task = is_task(session, item)
        survey = (
            find_survey(session, task.survey_id) if task is not None else find_survey(session, item)
        )
        if survey.id not in order:
            order.append(survey.id)
        if task is None:
            whole[survey.id] = survey
        else:
            named[survey.id].append(task)
    return [
        _selection(
            session,
            find_survey(session, survey_id),
            None if survey_id in whole else named[survey_id],
            people_only,
        )
        for survey_id in order
    ]


def one_selection(
    session: Session, ref: LabelsRef | Selection, people_only: bool = False
) -> Selection:
    """The passes ``ref`` names, which must all be of one survey."""
    found = selections(session, ref, people_only)
    if len(found) > 1:
        names = ", ".join(repr(s.survey) for s in found)
        raise ConfigurationError(f"one survey at a time here; given tasks of {names}")
    return found[0]


# -- reading each pass ---------------------------------------------------------------------


def _who_and_when(
    session: Session, task_ids: Sequence[int], within: Select[Any] | None
) -> dict[tuple[int, int], tuple[str, dt.datetime | None]]:
    """Per (task, sequence): the people with an active label there, and the latest time."""
    query = (
        select(
            Annotation.task_id,
            Annotation.cluster_id,
            Annotation.annotator,
            func.max(Annotation.created_at),
        )
        .where(
            Annotation.task_id.in_(task_ids),
            Annotation.active.is_(True),
            Annotation.cluster_id.is_not(None),
            Annotation.label_id.is_not(None),
        )
        .group_by(Annotation.task_id, Annotation.cluster_id, Annotation.annotator)
    )
    if within is not None:
        query = query.where(Annotation.cluster_id.in_(within))
    people: dict[tuple[int, int], list[str]] = defaultdict(list)
    latest: dict[tuple[int, int], dt.datetime | None] = {}
    for task_id, cluster_id, annotator, at in session.execute(query):
        key = (int(task_id), int(cluster_id or 0))
        people[key].append(annotator)
        known = latest.get(key)
        if at is not None and (known is None or at > known):
            latest[key] = at
    return {k: (", ".join(sorted(set(v))), latest.get(k)) for k, v in people.items()}


def read_pass(
    session: Session, step: Pass, within: Select[Any] | None = None
) -> dict[int, Settled]:
    """What one pass settled, per sequence, in the spelling of its label tree."""
    spelled = {d.name.lower(): d.name for d in stored_labels(session, step.task_id)}
    table = final_labels(session, step.task_id, within)
    who = _who_and_when(session, [step.task_id, *step.reviews], within)
    reviewer: dict[int, tuple[str, dt.datetime | None]] = {}
    for review in step.reviews:
        reviewer.update({c: v for (t, c), v in who.items() if t == review})
    found: dict[int, Settled] = {}
    for row in table.itertuples(index=False):
        if not row.labels:
            continue  # still disputed: this pass has not settled it
        cluster = int(row.cluster_id)
        names = tuple(spelled.get(n, n) for n in str(row.labels).split(" + ") if n)
        by_review = row.settled_by == "review" and cluster in reviewer
        people, at = (
            reviewer[cluster] if by_review else who.get((step.task_id, cluster), ("", None))
        )
        settled_by = people if step.is_ai else str(row.settled_by)
        found[cluster] = Settled(names, people, settled_by, at)
    return found


def settled_labels(
    session: Session, selection: Selection, within: Select[Any] | None = None
) -> pd.DataFrame:
    """The selection's settled labels, one row per sequence and label (of the sequences
    the query ``within`` selects, when given); see :data:`SETTLED_COLUMNS`."""
    return frame(merge((p, read_pass(session, p, within)) for p in selection.passes))


def merged_labels(
    session: Session, selection: Selection, within: Select[Any] | None = None
) -> dict[int, Merged]:
    """Settled labels per sequence with the pass that set each (the AI's, people's)."""
    return merge((p, read_pass(session, p, within)) for p in selection.passes)


def labels_by_sequence(
    session: Session, selection: Selection, within: Select[Any] | None = None
) -> dict[int, list[str]]:
    """Settled label names per sequence (the AI's, people's, merged)."""
    return {c: m.names() for c, m in merged_labels(session, selection, within).items()}


def settled(workspace: Workspace, ref: LabelsRef, people_only: bool = False) -> pd.DataFrame:
    """The settled labels of a survey (or of tasks; see the module doc): one row per
    sequence and label with its provenance (``source`` ai/people, the task, its kind,
    the annotators or the AI's rule, how it was settled, when, and what it replaced);
    a ``survey`` column when several surveys are named."""
    with workspace.sessions() as session:
        chosen = selections(session, ref, people_only)
        tables = [settled_labels(session, s).assign(survey=s.survey) for s in chosen]
    table = pd.concat(tables, ignore_index=True)
    return table if len(chosen) > 1 else table.drop(columns="survey")


def labelled_in(task_ids: Sequence[int]) -> Select[Any]:
    """A query of the sequences with an active label in ``task_ids`` (for ``within``)."""
    return (
        select(Annotation.cluster_id)
        .join(Label, Label.id == Annotation.label_id)
        .where(
            Annotation.task_id.in_(list(task_ids)),
            Annotation.active.is_(True),
            Annotation.cluster_id.is_not(None),
        )
        .distinct()
    )
