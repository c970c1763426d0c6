"""The lab's verbs, one namespace per stage: ``lab.surveys``, ``lab.detection``,
``lab.classification``, ``lab.results`` and ``lab.exports`` (``lab.tasks``, ``lab.annotate``
and ``lab.training`` are the annotate and training stages' own classes).

Each verb is a stage function applied to the lab's :class:`Workspace`; its docs and
signature (less the workspace) are the function's. ``lab.<namespace>`` alone lists its
verbs. The older flat verbs on :class:`~traptagger_lab.lab.Lab` (``lab.ingest``,
``lab.detect``, ``lab.export``...) call the very same functions.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

import pandas as pd

import traptagger_lab.annotate.compare as comparing
import traptagger_lab.annotate.settled as settling
import traptagger_lab.classify.accept as accepting
import traptagger_lab.classify.api as classification
import traptagger_lab.clock as clock
import traptagger_lab.deployments as deploying
import traptagger_lab.detect.api as detection
import traptagger_lab.ingest.api as ingesting
import traptagger_lab.ingest.copies as copies
import traptagger_lab.sequences as sequencing
import traptagger_lab.surveys as catalogue
import traptagger_lab.tables as tables
import traptagger_lab.timestamps.repair as timestamps
from traptagger_lab.annotate.settled import LabelsRef
from traptagger_lab.annotate.tasks import TaskRef
from traptagger_lab.surveys import SurveyRef
from traptagger_lab.workspace import Workspace

if TYPE_CHECKING:
    from traptagger_lab.exports.exporting import ExportResult
    from traptagger_lab.exports.labels_in import LabelImport
    from traptagger_lab.results.api import DateLike, Results

P = ParamSpec("P")
R = TypeVar("R")


class OnWorkspace(Protocol):
    """Anything whose verbs apply to a workspace: the lab and its namespaces."""

    @property
    def workspace(self) -> Workspace: ...


def verb(
    function: Callable[Concatenate[Workspace, P], R],
) -> Callable[Concatenate[OnWorkspace, P], R]:
    """A method that applies a stage function to its owner's workspace."""

    @functools.wraps(function)
    def method(owner: OnWorkspace, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return function(owner.workspace, *args, **kwargs)

    signature = inspect.signature(function)
    itself = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    shown = signature.replace(parameters=[itself, *list(signature.parameters.values())[1:]])
    method.__signature__ = shown  # type: ignore[attr-defined]  # help() shows the owner's own
    return method


class Namespace:
    """The verbs of one stage over a workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def verbs(self) -> pd.DataFrame:
        """Each verb of this namespace with the first line of its docs."""
        rows = [
            {"verb": name, "does": (inspect.getdoc(member) or "").splitlines()[0]}
            for name, member in inspect.getmembers(type(self), callable)
            if not name.startswith("_") and name != "verbs"
        ]
        return pd.DataFrame(rows, columns=["verb", "does"])

    def __repr__(self) -> str:
        names = ", ".join(self.verbs()["verb"])
        return f"<lab.{type(self).__name__.lower()}: {names}>"


class Surveys(Namespace):
    """Surveys, their photos and time: create, ingest, cluster into sequences, correct
    clocks, and the tables. ``lab.surveys`` shows the survey table and indexes it like one
    (``lab.surveys["name"]``)."""

    table = verb(tables.survey_table)
    get = verb(catalogue.get_survey)
    shared = verb(catalogue.shared_surveys)
    create = verb(catalogue.create_survey)
    set_setting = verb(catalogue.set_survey_setting)
    set_description = verb(catalogue.set_description)
    camera = verb(catalogue.camera_of)
    sites = verb(catalogue.sites)
    images = verb(tables.images)
    status = verb(tables.survey_status)
    status_counts = verb(tables.survey_status_counts)
    thumbnail = verb(copies.read_copy)
    ingest = verb(ingesting.ingest)
    preview = verb(ingesting.preview)
    sources = verb(ingesting.sources)
    import_site_coordinates = verb(ingesting.import_site_coordinates)
    import_deployments = verb(deploying.import_deployments)
    deployments = verb(deploying.deployments)
    deployment_problems = verb(deploying.deployment_problems)
    set_deployment = verb(deploying.set_deployment)
    delete_deployment = verb(deploying.delete_deployment)
    deployment_checks = verb(deploying.deployment_checks)
    sequences = verb(sequencing.sequences)
    set_clock_offset = verb(clock.set_clock_offset)
    correct_clock = verb(clock.correct_clock)
    set_clock_offset_ranges = verb(clock.set_clock_offset_ranges)
    review_timestamps = verb(timestamps.review_timestamps)
    apply_timestamps = verb(timestamps.apply_timestamps)
    enter_times = verb(timestamps.enter_times)

    def __getitem__(self, key: Hashable) -> Any:
        """A column (or columns) of :meth:`table`, as when ``lab.surveys`` was the table."""
        return self.table()[key]

    def __len__(self) -> int:
        return len(self.table())

    def _repr_html_(self) -> str | None:
        shown: str | None = self.table()._repr_html_()
        return shown


class Detection(Namespace):
    """The detector and what refines its boxes: thresholds, filters, static groups, masks,
    and MegaDetector JSON made elsewhere."""

    run = verb(detection.detect)
    import_md_json = verb(detection.import_detections)
    set_threshold = verb(detection.set_detection_threshold)
    filter = verb(detection.filter_detections)
    static_groups = verb(detection.static_groups)
    review_static_group = verb(detection.review_static_group)
    static_group_crops = verb(detection.static_group_crops)
    add_mask = verb(detection.add_mask)


class Classification(Namespace):
    """The species classifier over the detections, its suggestions per cluster, and the
    auto-labels accepted from them (they count in results as labels of the AI)."""

    run = verb(classification.classify)
    suggestions = verb(classification.cluster_suggestions)
    accept = verb(accepting.accept_suggestions)
    undo = verb(accepting.undo_suggestions)


class Analyses(Namespace):
    """``lab.results(survey)``: the analyses of a survey's settled labels (see
    :class:`~traptagger_lab.results.api.Results`); ``lab.results.labels(survey)``: the
    settled labels themselves, with their provenance; ``lab.results.compare``: their
    accuracy against a truth."""

    labels = verb(settling.settled)
    compare = verb(comparing.compare)

    def __call__(
        self,
        task: LabelsRef,
        min_delta_minutes: float = 60,
        exclude: Sequence[str] = (),
        *,
        species: Sequence[str] = (),
        sites: Sequence[str] = (),
        start: DateLike = None,
        end: DateLike = None,
        people_only: bool = False,
        outside_deployments: str = "exclude",
    ) -> Results:
        """Analyses of a survey's settled labels (every pass merged: see
        :mod:`~traptagger_lab.annotate.settled`), of a task (with the passes that build on
        it), or of tasks of several surveys: record table, effort, detection histories,
        RAI, diversity, activity, overlap, occupancy, capture histories. Filters:
        ``exclude`` or ``species`` (only these), ``sites`` (station names),
        ``start``/``end`` (dates, inclusive); ``people_only`` leaves the AI's labels out;
        ``outside_deployments="keep"`` keeps photos outside their deployment (left out by
        default: see :func:`~traptagger_lab.deployments.checks.deployment_checks`)."""
        from traptagger_lab.results.api import Results

        return Results(
            self.workspace,
            task,
            min_delta_minutes,
            exclude,
            species,
            sites,
            start,
            end,
            people_only,
            outside_deployments,
        )


class Exports(Namespace):
    """Labels and detections out to standard formats, and labels in from other tools.

    (Its verbs act on any owner of a workspace, so the lab's flat ``export``,
    ``export_md_json`` and ``import_labels`` are these very methods.)"""

    def write(
        self: OnWorkspace,
        task: LabelsRef,
        format: str,  # noqa: A002 (the interface names it)
        path: str,
        overwrite: bool = False,
        people_only: bool = False,
        **options: Any,
    ) -> ExportResult:
        """Write a survey's settled labels (or a task's) as csv, excel, record-table,
        camtrap-dp, coco, md-json or species folders (see
        :func:`traptagger_lab.exports.exporting.export`); an existing export is refused
        unless ``overwrite=True``; ``people_only`` leaves the AI's labels out."""
        from traptagger_lab.exports.exporting import export

        return export(self.workspace, task, format, path, overwrite, people_only, **options)

    def md_json(
        self: OnWorkspace,
        survey: SurveyRef,
        path: str,
        model: str | None = None,
        overwrite: bool = False,
    ) -> dict[str, Any]:
        """Write the survey's detections as MegaDetector batch-output JSON (for Timelapse),
        paths relative to its source folder (see
        :func:`traptagger_lab.exports.exporting.export_detections`)."""
        from traptagger_lab.exports.exporting import export_detections

        return export_detections(self.workspace, survey, path, model, overwrite)

    def import_labels(
        self: OnWorkspace,
        survey: SurveyRef,
        source: str,
        path: str | None = None,
        task: TaskRef | None = None,
        add_labels: bool | None = None,
        **options: Any,
    ) -> LabelImport:
        """Label the survey's images from annotations made elsewhere: ``source`` is folders,
        xmp, csv, coco, md-json or camtrap-dp (see
        :func:`traptagger_lab.exports.importing.import_labels`)."""
        from traptagger_lab.exports.importing import import_labels

        return import_labels(self.workspace, survey, source, path, task, add_labels, **options)
