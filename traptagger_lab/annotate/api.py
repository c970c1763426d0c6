"""``lab.tasks`` and ``lab.annotate``: the annotation verbs as notebooks and apps call them."""

from __future__ import annotations

import builtins
import datetime as dt
import math
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from traptagger_lab.annotate import jobs
from traptagger_lab.annotate.labels import LabelDef, LabelSpec, from_csv, to_csv
from traptagger_lab.annotate.sightings import DrawnBox, save_boxes
from traptagger_lab.annotate.tasks import TaskRef, create_task, find_task, stored_labels
from traptagger_lab.annotate.views import (
    Photo,
    TaskChoice,
    ai_suggestion,
    has_worked,
    sequence_photos,
    task_choices,
)
from traptagger_lab.db.engine import transaction
from traptagger_lab.db.models import Task
from traptagger_lab.errors import ConfigurationError, NotFoundError
from traptagger_lab.surveys import SurveyRef, find_survey, get_survey

if TYPE_CHECKING:
    from traptagger_lab.annotate.stats import Pace
    from traptagger_lab.workspace import Workspace


class Tasks:
    """Create and look up annotation tasks (``lab.tasks``)."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace

    def create(
        self,
        survey: SurveyRef,
        name: str,
        labels: LabelSpec | str | Path,
        kind: str = "species",
        tags: Sequence[str] = (),
        annotations_per_cluster: int = 1,
        exclude_auto: bool = False,
        refine: tuple[TaskRef, str] | None = None,
    ) -> Task:
        """Create a task over the survey's clusters.

        Args:
            labels: Names, a nested mapping for a tree, or a label-set CSV file.
            kind: species, ai_check, sighting, empty_review or sublabel.
            annotations_per_cluster: Independent annotations per cluster (consensus).
            exclude_auto: Leave out clusters the AI already auto-labelled.
            refine: ``(task, label)`` for a ``sublabel`` task: the clusters given ``label``
                in ``task`` (e.g. ``(species_task, "Antelope")``).
        """
        row = get_survey(self._workspace, survey)
        tree: LabelSpec
        if isinstance(labels, str | Path) and Path(labels).suffix.lower() == ".csv":
            defs = from_csv(Path(labels).read_text(), str(labels))
            tree = _as_tree(defs)
            tags = [*tags, *(d.name for d in defs if d.is_tag)]
        elif isinstance(labels, Path):
            raise NotFoundError(f"{labels}: a label set file must be a .csv")
        else:
            tree = labels
        source = (self.get(refine[0], row).id, refine[1]) if refine else None
        with transaction(self._workspace.sessions) as session:
            return create_task(
                session,
                row.id,
                name,
                tree,
                kind,
                tags,
                annotations_per_cluster,
                exclude_auto,
                source,
            )

    def list(self, survey: SurveyRef | None = None) -> pd.DataFrame:
        """Tasks (of one survey, or all) with their kind and progress."""
        rows = self.choices(survey=survey)
        return pd.DataFrame(
            [
                {
                    "id": c.id,
                    "name": c.name,
                    "kind": c.kind,
                    "survey": c.survey,
                    "clusters": c.clusters,
                    "complete": c.complete,
                }
                for c in rows
            ],
            columns=["id", "name", "kind", "survey", "clusters", "complete"],
        )

    def choices(
        self, kinds: Collection[str] | None = None, survey: SurveyRef | None = None
    ) -> builtins.list[TaskChoice]:
        """Tasks as pickers list them (of the given kinds, of one survey), with progress."""
        survey_id = get_survey(self._workspace, survey).id if survey is not None else None
        with self._workspace.sessions() as session:
            return task_choices(session, kinds, survey_id)

    def opinions(self, task: TaskRef, cluster_id: int) -> str:
        """What the task's annotators said about one cluster (shown to its reviewer)."""
        from traptagger_lab.annotate.consensus import opinions

        target = self.get(task)
        with self._workspace.sessions() as session:
            return opinions(session, target.id, cluster_id)

    def get(self, task: TaskRef, survey: SurveyRef | None = None) -> Task:
        """A task by object, id, or name (within ``survey`` when several surveys use the name)."""
        with self._workspace.sessions() as session:
            survey_id = find_survey(session, survey).id if survey is not None else None
            return find_task(session, task, survey_id)

    def label_defs(self, task: TaskRef) -> builtins.list[LabelDef]:
        """The task's labels, parents first, as stored."""
        target = self.get(task)
        with self._workspace.sessions() as session:
            return stored_labels(session, target.id)

    def labels(self, task: TaskRef) -> pd.DataFrame:
        """The task's labels: name, parent, hotkey, tag or not, built-in or not."""
        return pd.DataFrame(
            [vars(d) for d in self.label_defs(task)],
            columns=["name", "parent", "hotkey", "is_tag", "builtin"],
        )

    def export_labels(self, task: TaskRef, path: str | Path) -> None:
        """Write the task's label set as CSV (to reuse in another task)."""
        Path(path).write_text(to_csv(self.label_defs(task)))

    def disagreements(self, task: TaskRef) -> pd.DataFrame:
        """Clusters of a consensus task whose annotators disagree, and who said what."""
        from traptagger_lab.annotate.consensus import disagreements

        target = self.get(task)
        with self._workspace.sessions() as session:
            return disagreements(session, target.id)

    def review_disagreements(self, task: TaskRef, name: str | None = None) -> Task:
        """A ``review`` task over the consensus task's disagreements, for one reviewer each."""
        from traptagger_lab.annotate.consensus import create_review

        target = self.get(task)
        with transaction(self._workspace.sessions) as session:
            return create_review(session, target, name)

    def final_labels(self, task: TaskRef, within: Any = None) -> pd.DataFrame:
        """Each labelled cluster's settled labels: single, agreed, reviewed, or still disputed
        (of the clusters the query ``within`` selects, when given)."""
        from traptagger_lab.annotate.consensus import final_labels

        target = self.get(task)
        with self._workspace.sessions() as session:
            return final_labels(session, target.id, within)

    def annotator_stats(self, task: TaskRef) -> pd.DataFrame:
        """Per annotator: clusters and images labelled, hours, rates, agreement with others/AI."""
        from traptagger_lab.annotate.stats import annotator_stats

        target = self.get(task)
        with self._workspace.sessions() as session:
            return annotator_stats(session, target.id)

    def outages(self, survey: SurveyRef) -> pd.DataFrame:
        """Camera outages (from "Knocked down" labels) of a survey."""
        from traptagger_lab.annotate.outages import outages_frame

        row = get_survey(self._workspace, survey)
        with self._workspace.sessions() as session:
            return outages_frame(session, row.id)

    def end_outage(self, outage_id: int, end: dt.datetime) -> None:
        """Say when a knocked-down camera was put right again."""
        from traptagger_lab.annotate.outages import set_outage_end

        with transaction(self._workspace.sessions) as session:
            set_outage_end(session, outage_id, end)

    def pace(self, task: TaskRef, annotator: str) -> Pace:
        """The task's progress and ETA at the last hour's pace, and the annotator's own speed."""
        from traptagger_lab.annotate.stats import pace

        target = self.get(task)
        with self._workspace.sessions() as session:
            return pace(session, target.id, annotator)

    def progress(self, task: TaskRef) -> dict[str, int]:
        """Clusters done, in progress and remaining."""
        target = self.get(task)
        with self._workspace.sessions() as session:
            return jobs.progress(session, target.id)


def _as_tree(defs: Sequence[LabelDef]) -> dict[str, Any]:
    """Label definitions (parents first) back into the nested mapping ``build_tree`` takes."""
    nodes: dict[str, dict[str, Any]] = {}
    tree: dict[str, Any] = {}
    for d in defs:
        if d.is_tag or d.builtin:
            continue
        nodes[d.name] = {}
        (nodes[d.parent] if d.parent else tree)[d.name] = nodes[d.name]
    return tree


class Annotate:
    """Hand out work and record annotations (``lab.annotate``).

    A job belongs to the annotator it was leased to: pass the :class:`JobLease`
    (it names them), or a job id with ``annotator=``. Work on another person's
    job is refused (:class:`~traptagger_lab.errors.AccessError`).
    """

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace

    def _task(self, task: TaskRef) -> Task:
        with self._workspace.sessions() as session:
            return find_task(session, task)

    def next_job(
        self, task: TaskRef, annotator: str, size: int = 10, lease_minutes: float = 30
    ) -> jobs.JobLease | None:
        """Lease the next ``size`` clusters to ``annotator`` for ``lease_minutes`` (1 minute
        to 24 hours); None when no work is left for them."""
        if not math.isfinite(lease_minutes):
            raise ConfigurationError(f"a lease of {lease_minutes} minutes is not a duration")
        target = self._task(task)
        minutes = min(max(lease_minutes, -1.0), 10.0**6)  # out of range stays out, and fits
        return jobs.next_job(
            self._workspace.sessions, target.id, annotator, size, dt.timedelta(minutes=minutes)
        )

    def submit(
        self,
        job: jobs.JobLease | int,
        cluster_id: int,
        labels: Sequence[str],
        tags: Sequence[str] = (),
        note: str | None = None,
        counts: dict[str, int] | None = None,
        annotator: str | None = None,
    ) -> list[int]:
        """Record labels (and tags, a note, counts per label) for one cluster of a job."""
        job_id, who = _job_and_annotator(job, annotator)
        return jobs.submit(
            self._workspace.sessions, job_id, cluster_id, labels, tags, note, counts, annotator=who
        )

    def undo(
        self, job: jobs.JobLease | int, cluster_id: int, annotator: str | None = None
    ) -> list[int]:
        """Take back the last submission for a cluster; the one before (if any) is active again."""
        job_id, who = _job_and_annotator(job, annotator)
        return jobs.undo(self._workspace.sessions, job_id, cluster_id, annotator=who)

    def release(self, job: jobs.JobLease | int, annotator: str | None = None) -> int:
        """Give back the job's clusters that were not annotated."""
        job_id, who = _job_and_annotator(job, annotator)
        return jobs.release(self._workspace.sessions, job_id, annotator=who)

    def heartbeat(
        self, job: jobs.JobLease | int, minutes: float = 3, annotator: str | None = None
    ) -> dt.datetime | None:
        """Extend the job's lease to ``minutes`` from now (the page is open and in use);
        None when the job holds nothing any more."""
        job_id, who = _job_and_annotator(job, annotator)
        if not math.isfinite(minutes):
            raise ConfigurationError(f"a lease of {minutes} minutes is not a duration")
        lease = dt.timedelta(minutes=min(max(minutes, -1.0), 10.0**6))
        return jobs.heartbeat(self._workspace.sessions, job_id, lease, annotator=who)

    def idle_limit(self, task: TaskRef) -> dt.timedelta:
        """How long an annotator may idle before their job goes back (3 minutes when
        others are waiting for work, else 30)."""
        target = self._task(task)
        with self._workspace.sessions() as session:
            return jobs.idle_limit(session, target.id)

    def history(self, task: TaskRef, annotator: str, limit: int = 50) -> list[jobs.PastAnswer]:
        """The annotator's last ``limit`` labelled sequences of the task, newest first,
        with their current answers and jobs (to go back and correct them)."""
        target = self._task(task)
        with self._workspace.sessions() as session:
            return jobs.recent_answers(session, target.id, annotator, limit)

    def photos(self, task: TaskRef, cluster_id: int) -> list[Photo]:
        """A sequence's photos in time order, with the boxes the annotator should see."""
        target = self._task(task)
        with self._workspace.sessions() as session:
            return sequence_photos(session, target.survey_id, cluster_id)

    def has_worked(self, annotator: str) -> bool:
        """Whether the annotator ever had a job (else the app shows its tutorial first)."""
        with self._workspace.sessions() as session:
            return has_worked(session, annotator)

    def suggestion(self, cluster_id: int) -> tuple[str, str] | None:
        """The AI's latest label for a sequence and why (AI-check tasks show it)."""
        with self._workspace.sessions() as session:
            return ai_suggestion(session, cluster_id)

    def save_boxes(
        self,
        task: TaskRef,
        image_id: int,
        boxes: Sequence[DrawnBox],
        annotator: str,
        replaces: Sequence[int],
    ) -> dict[str, int]:
        """A sighting task's boxes for one photo, in place of the boxes shown
        (``replaces``); returns the animals counted per species."""
        target = self._task(task)
        with transaction(self._workspace.sessions) as session:
            return save_boxes(session, target.id, image_id, boxes, annotator, replaces)


def _job_and_annotator(job: jobs.JobLease | int, annotator: str | None) -> tuple[int, str]:
    """The job id and who acts on it: the lease names its annotator; a bare id needs one."""
    if isinstance(job, jobs.JobLease):
        return job.id, annotator if annotator is not None else job.annotator
    if annotator is None:
        raise ConfigurationError(f"job {job}: say which annotator acts on it (annotator=...)")
    return job, annotator
