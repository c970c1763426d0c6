"""The lab: one workspace and every verb notebooks, apps and the CLI call, composed from
the stages. Lab holds no logic of its own: each verb is a stage function applied to the
lab's :class:`~traptagger_lab.workspace.Workspace` (its docs are the function's).

import traptagger_lab as ttl
lab = ttl.open()                      # ./workspace, or TRAPTAGGER_* settings
lab.ingest("photos/", survey="Karoo 2024")
lab.sequences("Karoo 2024")
lab.images("Karoo 2024")              # a DataFrame, one row per image

Namespaces: ``lab.tasks`` and ``lab.annotate`` (annotation), ``lab.training``
(classifier training, :mod:`traptagger_lab.training.api`).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import traptagger_lab.classify.api as classification
import traptagger_lab.clock as clock
import traptagger_lab.detect.api as detection
import traptagger_lab.ingest.api as ingesting
import traptagger_lab.sequences as sequencing
import traptagger_lab.surveys as catalogue
import traptagger_lab.tables as tables
from traptagger_lab.db.models import Survey
from traptagger_lab.errors import NotFoundError
from traptagger_lab.recovery import Recovery
from traptagger_lab.settings import Settings
from traptagger_lab.storage import BlobStore
from traptagger_lab.surveys import SurveyRef
from traptagger_lab.workspace import Workspace

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def verb(function: Callable[Concatenate[Workspace, P], R]) -> Callable[Concatenate[Lab, P], R]:
    """A Lab method that applies a stage function to the lab's workspace."""

    @functools.wraps(function)
    def method(lab: Lab, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return function(lab.workspace, *args, **kwargs)

    signature = inspect.signature(function)
    itself = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    shown = signature.replace(parameters=[itself, *list(signature.parameters.values())[1:]])
    method.__signature__ = shown  # type: ignore[attr-defined]  # help() shows the lab's own
    return method


class Lab:
    """A workspace: its database, blob store and (lazily) a Dask client, and the verbs.

    Build one with :func:`traptagger_lab.open`. Close it (or use it as a
    context manager) to stop a LocalCluster it started.
    """

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self.workspace = Workspace(settings, client)
        from traptagger_lab.annotate.api import Annotate, Tasks
        from traptagger_lab.training.api import Training

        self.tasks = Tasks(self.workspace)
        self.annotate = Annotate(self.workspace)
        self.training = Training(self.workspace)

    # -- lifecycle -------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The workspace's settings."""
        return self.workspace.settings

    @property
    def engine(self) -> Engine:
        """The database engine."""
        return self.workspace.engine

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The database session factory."""
        return self.workspace.sessions

    @property
    def store(self) -> BlobStore:
        """The blob store (compressed copies, thumbnails, crops, models)."""
        return self.workspace.store

    @property
    def client(self) -> Any | None:
        """The Dask client (started on first use; None with ``dask_scheduler='sync'``)."""
        return self.workspace.client

    def close(self) -> None:
        """Stop a cluster this lab started and release database connections."""
        self.workspace.close()

    def recover(self) -> Recovery:
        """Close the runs whose process ended without closing them (marked ``interrupted``)
        and remove the compressed copies and thumbnails such an ingest wrote without rows."""
        from traptagger_lab.recovery import recover

        done: Recovery = recover(self.sessions, self.store)
        return done

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Lab(database={self.engine.url!r}, store={self.store.url!r})"

    # -- surveys ---------------------------------------------------------------

    @property
    def surveys(self) -> pd.DataFrame:
        """Every survey with its counts of images, videos, sites, clusters, failed files."""
        return tables.survey_table(self.workspace)

    def shared_surveys(self) -> pd.DataFrame:
        """Surveys other organisations share with this one (open one with :meth:`open_shared`)."""
        rows = [
            {"organisation": s.organisation, "survey": s.survey, "mode": s.mode}
            for s in self.settings.shared_surveys
        ]
        return pd.DataFrame(rows, columns=["organisation", "survey", "mode"])

    def open_shared(self, survey: str, organisation: str | None = None) -> Lab:
        """A lab on a survey another organisation shares with this one.

        It sees that survey alone (the database login of the share can reach
        nothing else); with a read-write share its tasks can be annotated.
        Close it when done.
        """
        found = [
            s
            for s in self.settings.shared_surveys
            if s.survey == survey and organisation in (None, s.organisation)
        ]
        offered = [f"{s.organisation}/{s.survey}" for s in self.settings.shared_surveys]
        if not found:
            raise NotFoundError(
                f"no survey {survey!r} is shared with this organisation; "
                f"shared: {offered or 'none'}"
            )
        if len(found) > 1:
            raise NotFoundError(
                f"several organisations share a survey {survey!r} ({offered}): "
                "name the organisation"
            )
        share = found[0]
        settings = self.settings.model_copy(
            update={
                "database_url": share.database_url,
                "storage_url": share.storage_url,
                "storage_options": share.storage_options,
                "shared_surveys": [],
            }
        )
        return Lab(settings, client=self.workspace.started_client)

    def survey(self, ref: SurveyRef) -> Survey:
        """A survey by name, id or object (:class:`NotFoundError` if there is none)."""
        return catalogue.get_survey(self.workspace, ref)

    create_survey = verb(catalogue.create_survey)
    set_survey_setting = verb(catalogue.set_survey_setting)
    set_description = verb(catalogue.set_description)
    camera = verb(catalogue.camera_of)
    sites = verb(catalogue.sites)
    images = verb(tables.images)
    status_counts = verb(tables.survey_status_counts)
    status = verb(tables.survey_status)

    # -- ingest, sequences and time ----------------------------------------------

    ingest = verb(ingesting.ingest)
    sources = verb(ingesting.sources)
    import_site_coordinates = verb(ingesting.import_site_coordinates)
    sequences = verb(sequencing.sequences)
    set_clock_offset = verb(clock.set_clock_offset)
    correct_clock = verb(clock.correct_clock)

    # -- detection and classification --------------------------------------------

    detect = verb(detection.detect)
    import_detections = verb(detection.import_detections)
    set_detection_threshold = verb(detection.set_detection_threshold)
    filter_detections = verb(detection.filter_detections)
    static_groups = verb(detection.static_groups)
    review_static_group = verb(detection.review_static_group)
    static_group_crops = verb(detection.static_group_crops)
    add_mask = verb(detection.add_mask)
    classify = verb(classification.classify)
    cluster_suggestions = verb(classification.cluster_suggestions)

    # -- results and exchange ------------------------------------------------------

    def results(
        self, task: Any, min_delta_minutes: float = 60, exclude: Any = (), **filters: Any
    ) -> Any:
        """Analyses of a task's settled labels, or of a list of tasks of several surveys
        (:class:`~traptagger_lab.results.api.Results`): record table, effort, detection
        histories, RAI, diversity, activity, overlap, occupancy, capture histories. Filters:
        ``species``, ``sites``, ``start``, ``end``."""
        from traptagger_lab.results.api import Results

        return Results(self.workspace, task, min_delta_minutes, exclude, **filters)

    def export(self, task: Any, format: str, path: str, **options: Any) -> Any:  # noqa: A002 (the interface names it)
        """Write a task's settled labels as csv, excel, record-table, camtrap-dp, coco,
        md-json or species folders (see :func:`traptagger_lab.exports.exporting.export`);
        an existing export is refused unless ``overwrite=True``."""
        from traptagger_lab.exports.exporting import export

        return export(self.workspace, task, format, path, **options)

    def import_labels(
        self,
        survey: SurveyRef,
        source: str,
        path: str | None = None,
        task: Any = None,
        add_labels: bool | None = None,
        **options: Any,
    ) -> Any:
        """Label the survey's images from annotations made elsewhere: ``source`` is folders,
        xmp, csv, coco, md-json or camtrap-dp (see
        :func:`traptagger_lab.exports.importing.import_labels`)."""
        from traptagger_lab.exports.importing import import_labels

        return import_labels(self.workspace, survey, source, path, task, add_labels, **options)

    def export_md_json(
        self, survey: SurveyRef, path: str, model: str | None = None, overwrite: bool = False
    ) -> dict[str, Any]:
        """Write the survey's detections as MegaDetector batch-output JSON (for Timelapse).

        Paths in the file are relative to the survey's source folder. An existing file is
        refused unless ``overwrite`` (see
        :func:`traptagger_lab.exports.exporting.export_detections`).
        """
        from traptagger_lab.exports.exporting import export_detections

        return export_detections(self.workspace, survey, path, model, overwrite)

    def thumbnail(self, image_id: int, size: str = "thumbnail") -> bytes:
        """The JPEG bytes of an image's ``thumbnail`` or ``compressed`` copy."""
        from traptagger_lab.ingest.copies import read_copy

        return read_copy(self.workspace, image_id, size)


def open_lab(
    workspace: str | None = None,
    client: Any | None = None,
    *,
    recover: bool = True,
    **overrides: Any,
) -> Lab:
    """Open (creating or upgrading) a workspace.

    Args:
        workspace: Folder for the embedded defaults; ``TRAPTAGGER_WORKSPACE`` or
            ``./workspace`` when omitted.
        client: A Dask client to use for every stage (otherwise one is made on demand).
        recover: First close the runs a crashed process left ``running`` and remove the
            blobs it wrote without rows (:meth:`Lab.recover`); a recovery that cannot
            finish is logged, never fatal.
        **overrides: Any :class:`~traptagger_lab.settings.Settings` field.
    """
    if workspace is not None:
        overrides["workspace"] = workspace
    settings = Settings(**overrides)
    lab = Lab(settings, client=client)
    if recover:
        try:
            lab.recover()
        except Exception as exc:  # e.g. an annotator's login may not close others' runs
            from traptagger_lab.messages import explain, mask_secrets

            why = explain(exc) or mask_secrets(f"{type(exc).__name__}: {exc}")
            log.warning("crash recovery not finished: %s", why)
    return lab
