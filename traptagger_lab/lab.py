"""The lab: one workspace and every verb notebooks, apps and the CLI call, composed from
the stages. Lab holds no logic of its own: each verb is a stage function applied to the
lab's :class:`~traptagger_lab.workspace.Workspace` (its docs are the function's).

import traptagger_lab as ttl
lab = ttl.open()                      # ./workspace, or TRAPTAGGER_* settings
lab.surveys.ingest("photos/", survey="Karoo 2024")
lab.surveys.sequences("Karoo 2024")
lab.surveys.images("Karoo 2024")      # a DataFrame, one row per image
lab.detection.run("Karoo 2024")

Namespaces, one per stage (:mod:`traptagger_lab.namespaces`): ``lab.surveys``,
``lab.detection``, ``lab.classification``, ``lab.tasks``, ``lab.annotate``, ``lab.results``,
``lab.exports``, ``lab.training``. The flat verbs (``lab.ingest``, ``lab.detect``,
``lab.export``...) are aliases of the same functions, kept for notebooks written with them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

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
from traptagger_lab.errors import NotFoundError
from traptagger_lab.namespaces import (
    Analyses,
    Classification,
    Detection,
    Exports,
    Surveys,
    verb,
)
from traptagger_lab.recovery import Recovery
from traptagger_lab.settings import Settings
from traptagger_lab.storage import BlobStore
from traptagger_lab.workspace import Workspace

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)


class Lab:
    """A workspace: its database, blob store and (lazily) a Dask client, and the verbs.

    Build one with :func:`traptagger_lab.open`. Close it (or use it as a
    context manager) to stop a LocalCluster it started.
    """

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.workspace = Workspace(settings, client)
        from traptagger_lab.annotate.api import Annotate, Tasks
        from traptagger_lab.training.api import Training

        self.surveys = Surveys(self.workspace)
        self.detection = Detection(self.workspace)
        self.classification = Classification(self.workspace)
        self.tasks = Tasks(self.workspace)
        self.annotate = Annotate(self.workspace)
        self.results = Analyses(self.workspace)
        self.exports = Exports(self.workspace)
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
    def client(self) -> Client | None:
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

    # -- shares ------------------------------------------------------------------

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

    # -- flat aliases of the namespaces' verbs (kept for notebooks written with them) ---

    survey = verb(catalogue.get_survey)
    shared_surveys = verb(catalogue.shared_surveys)
    create_survey = verb(catalogue.create_survey)
    set_survey_setting = verb(catalogue.set_survey_setting)
    set_description = verb(catalogue.set_description)
    camera = verb(catalogue.camera_of)
    sites = verb(catalogue.sites)
    images = verb(tables.images)
    status_counts = verb(tables.survey_status_counts)
    status = verb(tables.survey_status)
    thumbnail = verb(copies.read_copy)
    ingest = verb(ingesting.ingest)
    preview_ingest = verb(ingesting.preview)
    sources = verb(ingesting.sources)
    import_site_coordinates = verb(ingesting.import_site_coordinates)
    import_deployments = verb(deploying.import_deployments)
    deployments = verb(deploying.deployments)
    set_deployment = verb(deploying.set_deployment)
    deployment_checks = verb(deploying.deployment_checks)
    sequences = verb(sequencing.sequences)
    set_clock_offset = verb(clock.set_clock_offset)
    correct_clock = verb(clock.correct_clock)
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
    accept_suggestions = verb(accepting.accept_suggestions)
    undo_suggestions = verb(accepting.undo_suggestions)
    settled_labels = verb(settling.settled)
    compare = verb(comparing.compare)
    export = Exports.write
    import_labels = Exports.import_labels
    export_md_json = Exports.md_json


def open_lab(
    workspace: str | None = None,
    client: Client | None = None,
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
