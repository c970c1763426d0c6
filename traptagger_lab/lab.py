"""The lab: one workspace (database + blob store + compute) and the verbs that act on it.

import traptagger_lab as ttl
lab = ttl.open()                      # ./workspace, or TRAPTAGGER_* settings
lab.ingest("photos/", survey="Karoo 2024")
lab.sequences("Karoo 2024")
lab.images("Karoo 2024")              # a DataFrame, one row per image

Namespaces: ``lab.tasks`` and ``lab.annotate`` (annotation), ``lab.training``
(classifier training, :mod:`traptagger_lab.training.api`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from traptagger_lab import clock, tables
from traptagger_lab.db.engine import transaction
from traptagger_lab.db.models import Camera, Image, Site, Survey, path_digest
from traptagger_lab.errors import ConfigurationError, NotFoundError
from traptagger_lab.ingest.coordinates import CoordinateTable, read_coordinates
from traptagger_lab.ingest.discover import Source
from traptagger_lab.ingest.layout import Layout
from traptagger_lab.ingest.sources import SurveySources, survey_sources
from traptagger_lab.recovery import Recovery
from traptagger_lab.sequences import SequenceParams, SequenceReport, cluster_survey, sequence_survey
from traptagger_lab.settings import Settings
from traptagger_lab.storage import BlobStore
from traptagger_lab.surveys import (
    SurveyRef,
    find_camera,
    find_survey,
    set_setting,
    sites_frame,
)
from traptagger_lab.workspace import Workspace

log = logging.getLogger(__name__)


class Lab:
    """A workspace: its database, blob store and (lazily) a Dask client.

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
        """Every survey with its image count."""
        rows = []
        with self.sessions() as session:
            for survey in session.scalars(select(Survey).order_by(Survey.name)):
                counts = tables.status_counts(session, survey.id)
                rows.append(
                    {
                        "name": survey.name,
                        "description": survey.description,
                        "source": survey.source,
                        "images": counts["images"],
                        "videos": counts["videos"],
                        "sites": counts["sites"],
                        "clusters": counts["clusters"],
                        "failed_files": counts["failed_files"],
                        "created_at": survey.created_at,
                    }
                )
        columns = [
            "name",
            "description",
            "source",
            "images",
            "videos",
            "sites",
            "clusters",
            "failed_files",
            "created_at",
        ]
        return pd.DataFrame(rows, columns=columns)

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

    def survey(self, ref: SurveyRef) -> Survey:
        """A survey by name, id or object.

        Raises:
            NotFoundError: if there is no such survey.
        """
        with self.sessions() as session:
            return find_survey(session, ref)

    def create_survey(self, name: str, description: str = "", **fields: Any) -> Survey:
        """Create a survey (or return the existing one of that name, also when another
        process made it a moment ago)."""
        try:
            with transaction(self.sessions) as session:
                found = session.scalar(select(Survey).where(Survey.name == name))
                if found is not None:
                    return found
                survey = Survey(name=name, description=description, settings={}, **fields)
                session.add(survey)
        except IntegrityError:  # made by another process between our read and our write
            return self.survey(name)
        return survey

    def sources(self, survey: SurveyRef) -> SurveySources:
        """Where the survey's files are: each source's root, to read a file through
        ``sources.read(image.path, image.source_id)``."""
        row = self.survey(survey)
        with self.sessions() as session:
            return survey_sources(session, row.id, self.settings.fsspec_options)

    # -- ingest ----------------------------------------------------------------

    def ingest(
        self,
        source: str,
        survey: str,
        site_pattern: str | int | None = None,
        camera_pattern: str | int | None = None,
        exclude: Iterable[str] = (),
        client: Any | None = None,
        wait_s: float = 0.0,
    ) -> Any:
        """Import the photos and videos under ``source`` (a folder or ``s3://bucket/prefix``).

        A survey may take files from several sources (each file remembers its own). One
        ingest runs per survey at a time.

        Args:
            source: Where the survey's files are.
            survey: Survey name; created if new.
            site_pattern: Regex over the relative path naming the site (first group or
                whole match), or ``folder:N`` / N for the N-th folder. Default: the top folder.
                Stored with the survey, so later runs reuse it.
            camera_pattern: Regex or ``folder:N`` naming the camera; default the bottom folder.
            exclude: Folder names to skip (folders starting with a dot are always skipped).
            client: A Dask client to use instead of the lab's own.
            wait_s: How long to wait for another process's ingest of the survey to end.

        Returns:
            An :class:`~traptagger_lab.ingest.run.IngestReport`.

        Raises:
            AlreadyRunningError: if the survey is still being ingested by another process.
        """
        from traptagger_lab.ingest.batch import BatchParams
        from traptagger_lab.ingest.photos import DerivedSizes
        from traptagger_lab.ingest.run import ingest_survey
        from traptagger_lab.ingest.sources import normalise_url

        row = self.create_survey(survey)
        site_pattern = site_pattern if site_pattern is not None else row.site_pattern
        camera_pattern = camera_pattern if camera_pattern is not None else row.camera_pattern
        layout = Layout.parse(site_pattern, camera_pattern)
        source_url = normalise_url(str(source))
        with transaction(self.sessions) as session:
            stored = session.get(Survey, row.id)
            assert stored is not None
            stored.source = stored.source or source_url  # the first; each file keeps its own
            stored.site_pattern = layout.site.text
            stored.camera_pattern = layout.camera.text if layout.camera else None
            row = stored
        params = BatchParams(
            source=Source(source_url, self.settings.fsspec_options(source_url)),
            store=self.store,
            sizes=DerivedSizes(
                compressed_width=self.settings.compressed_width,
                thumbnail_width=self.settings.thumbnail_width,
                quality=self.settings.jpeg_quality,
            ),
        )
        return ingest_survey(
            self.sessions,
            row,
            params,
            layout,
            client if client is not None else self.client,
            exclude=exclude,
            batch_size=self.settings.batch_size,
            wait_s=wait_s,
        )

    # -- detection ---------------------------------------------------------------

    def detect(
        self,
        survey: SurveyRef,
        model: str | None = None,
        device: str = "auto",
        batch_size: int = 8,
        client: Any | None = None,
    ) -> Any:
        """Run a MegaDetector model over every image of the survey it has not seen yet.

        Args:
            survey: Survey name, id or object.
            model: A known name (``MDV5A``, ``MDV5B``, ``MDV1000-REDWOOD``) or a ``.pt`` path;
                default ``TRAPTAGGER_DETECTOR``.
            device: ``auto`` (GPU when present), ``cpu`` or ``cuda``.
            batch_size: Images per forward pass.
            client: A Dask client to use instead of the lab's own.

        Returns:
            A :class:`~traptagger_lab.detect.run.DetectReport`.
        """
        from traptagger_lab.detect.registry import resolve
        from traptagger_lab.detect.run import DetectParams, detect_survey

        row = self.survey(survey)
        spec = resolve(model or self.settings.detector, self.settings.model_dir)
        params = DetectParams(
            spec=spec,
            source=self.sources(row.id),
            store=self.store,
            device=device,
            batch_size=batch_size,
        )
        return detect_survey(
            self.sessions, row.id, row.name, params, client if client is not None else self.client
        )

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

    def import_detections(self, survey: SurveyRef, path: str, model: str | None = None) -> Any:
        """Store detections from a MegaDetector batch-output JSON instead of running detection.

        Returns:
            An :class:`~traptagger_lab.detect.exchange.ImportReport` (unknown files are listed).
        """
        import json

        from fsspec.core import url_to_fs

        from traptagger_lab.detect.exchange import md_to_survey
        from traptagger_lab.errors import InputFileError

        row = self.survey(survey)
        fs, fs_path = url_to_fs(path, **self.settings.fsspec_options(path))
        try:
            document = json.loads(fs.cat_file(fs_path))
        except json.JSONDecodeError as exc:
            raise InputFileError(path, f"not JSON: {exc}") from exc
        with transaction(self.sessions) as session:
            report = md_to_survey(session, row.id, document, path, model)
        for unknown in report.unknown_files[:20]:
            log.warning("%s: %s is not an image of survey %r", path, unknown, row.name)
        for problem in report.problems[:20]:
            log.warning("%s", problem)
        return report

    def classify(
        self,
        survey: SurveyRef,
        classifier: str | None = None,
        translations: dict[str, str | None] | None = None,
        device: str = "auto",
        client: Any | None = None,
    ) -> Any:
        """Classify the survey's relevant animal boxes and suggest a label for every cluster.

        Args:
            survey: Survey name, id or object.
            classifier: A classifier folder (``classifier.pt``/``model.pt`` + ``label_index.json``),
                or the name of a classifier registered with ``lab.training.register``;
                default: the survey's registered classifier.
            translations: Classifier label -> task label (None drops it),
                e.g. ``{"gazelle_thomsons": "Gazelle"}``.
            device: ``auto`` (GPU when present), ``cpu`` or ``cuda``.
            client: A Dask client to use instead of the lab's own.

        Returns:
            A :class:`~traptagger_lab.classify.run.ClassifyReport`; suggestions are in
            :meth:`cluster_suggestions`.
        """
        from traptagger_lab.classify.model import load_spec
        from traptagger_lab.classify.run import ClassifyParams, classify_survey
        from traptagger_lab.detect.run import pick_device

        row = self.survey(survey)
        chosen = classifier or (row.settings or {}).get("classifier")
        if not chosen:
            raise ConfigurationError(
                f"survey {row.name!r} has no registered classifier: give a classifier folder "
                "or register one (lab.training.register)"
            )
        folder = Path(chosen).expanduser()
        if not folder.is_dir():
            folder = self.training.local_folder(chosen)
        params = ClassifyParams(
            spec=load_spec(folder),
            source=self.sources(row.id),
            store=self.store,
            device=pick_device(device),
        )
        return classify_survey(
            self.sessions,
            row.id,
            params,
            client if client is not None else self.client,
            translations,
        )

    def set_detection_threshold(self, survey: SurveyRef, threshold: float | None) -> None:
        """Score above which this survey's detections count as relevant (None: the model's own).

        MDv5a's typical threshold is 0.2 and MDv5b's 0.1 (``detect/models.json``);
        small or distant species often need less.
        """
        if threshold is not None and not 0 < threshold < 1:
            raise ConfigurationError(f"a detection threshold is between 0 and 1, not {threshold}")
        self.set_survey_setting(survey, "detection_threshold", threshold)

    def set_survey_setting(self, survey: SurveyRef, key: str, value: Any) -> None:
        """Store one of the survey's settings (None removes it)."""
        row = self.survey(survey)
        with transaction(self.sessions) as session:
            set_setting(session, row.id, key, value)

    def set_description(self, survey: SurveyRef, description: str) -> None:
        """Replace the survey's description (shown with the survey: where its data came from)."""
        row = self.survey(survey)
        with transaction(self.sessions) as session:
            stored = session.get(Survey, row.id)
            assert stored is not None
            stored.description = description

    def cluster_suggestions(self, survey: SurveyRef) -> pd.DataFrame:
        """Each cluster's AI suggestion: label, supporting detections, share, auto-label and why."""
        from traptagger_lab.db.models import Cluster, ClusterSuggestion

        row = self.survey(survey)
        with self.sessions() as session:
            query = (
                select(
                    ClusterSuggestion.cluster_id,
                    Site.name.label("site"),
                    Cluster.start,
                    ClusterSuggestion.model,
                    ClusterSuggestion.label,
                    ClusterSuggestion.detections,
                    ClusterSuggestion.share,
                    ClusterSuggestion.auto,
                    ClusterSuggestion.reason,
                )
                .join(Cluster, Cluster.id == ClusterSuggestion.cluster_id)
                .join(Site, Site.id == Cluster.site_id)
                .where(Cluster.survey_id == row.id, Cluster.active.is_(True))
                .order_by(Cluster.start, ClusterSuggestion.cluster_id)
            )
            return pd.DataFrame(session.execute(query).mappings().all())

    def filter_detections(
        self, survey: SurveyRef, hide_small: float | None = None, **static: Any
    ) -> Any:
        """Masks, the static-detection filter and (optionally) tiny-box hiding, per camera.

        Args:
            survey: Survey name, id or object.
            hide_small: Hide boxes under this share of the frame (e.g. 0.0025); None keeps them.
            **static: :class:`~traptagger_lab.detect.static.StaticParams` fields
                (``min_count``, ``min_share``, ``linger_s``, IoU thresholds...).
        """
        from traptagger_lab.detect.filters import filter_survey
        from traptagger_lab.detect.static import StaticParams

        row = self.survey(survey)
        return filter_survey(self.sessions, row.id, StaticParams(**static), hide_small)

    def static_groups(self, survey: SurveyRef) -> pd.DataFrame:
        """Static groups found on the survey's cameras, with their review status."""
        from traptagger_lab.detect.filters import static_groups_frame

        row = self.survey(survey)
        with self.sessions() as session:
            frame: pd.DataFrame = static_groups_frame(session, row.id)
        return frame

    def review_static_group(self, group_id: int, accept: bool, reviewer: str = "") -> None:
        """Accept a static group (boxes stay hidden) or reject it (they are real animals)."""
        from traptagger_lab.detect.filters import review_group

        with transaction(self.sessions) as session:
            review_group(session, group_id, accept, reviewer)

    def static_group_crops(self, group_id: int, limit: int = 12) -> list[bytes]:
        """JPEG crops of a static group's boxes, best first (on the compressed copies)."""
        from traptagger_lab.detect.crops import crop_jpeg
        from traptagger_lab.detect.filters import static_group_boxes

        with self.sessions() as session:
            boxes = static_group_boxes(session, group_id, limit)
        return [crop_jpeg(self.store.get(key), x, y, w, h) for key, x, y, w, h in boxes]

    def add_mask(
        self, survey: SurveyRef, camera: str, polygon: list[list[float]], created_by: str = ""
    ) -> int:
        """Add an exclusion polygon (normalised ``[[x, y], ...]``) to a camera; returns its id.

        Boxes wholly inside it become ``masked`` at the next :meth:`filter_detections`.
        """
        from traptagger_lab.db.models import Mask

        if len(polygon) < 3 or any(len(p) != 2 or not all(0 <= v <= 1 for v in p) for p in polygon):
            raise ConfigurationError("a mask needs at least 3 [x, y] points with values in 0-1")
        target = self.camera(survey, camera)
        with transaction(self.sessions) as session:
            mask = Mask(
                camera_id=target.id, polygon=[list(p) for p in polygon], created_by=created_by
            )
            session.add(mask)
        return mask.id

    # -- sequences and time ------------------------------------------------------

    def sequences(
        self,
        survey: SurveyRef,
        gap_s: float = 60.0,
        max_minutes: float = 15.0,
        per_camera: bool = False,
    ) -> SequenceReport:
        """Group a survey's images into clusters (see :mod:`traptagger_lab.sequences`)."""
        row = self.survey(survey)
        params = SequenceParams(gap_s=gap_s, max_minutes=max_minutes, per_camera=per_camera)
        return sequence_survey(self.sessions, row.id, params)

    def camera(self, survey: SurveyRef, camera: str) -> Camera:
        """A camera by ``"SITE/CAMERA"``, or by camera name when that is unique in the survey.

        Raises:
            NotFoundError: if no camera (or more than one) matches.
        """
        row = self.survey(survey)
        with self.sessions() as session:
            return find_camera(session, row, camera)

    def set_clock_offset(self, survey: SurveyRef, camera: str, seconds: float) -> int:
        """Set a camera's clock offset; re-clusters the survey if it was clustered.

        Returns:
            How many images got a new corrected timestamp.
        """
        row = self.survey(survey)
        target = self.camera(row, camera)
        with transaction(self.sessions) as session:
            cam = session.get(Camera, target.id)
            assert cam is not None
            changed = clock.apply_offset(session, cam, seconds)
        self._recluster_if_clustered(row)
        return changed

    def correct_clock(
        self, survey: SurveyRef, image_path: str, true_time: dt.datetime | str
    ) -> float:
        """Set a camera's offset from one photo whose true capture time you know.

        Returns:
            The offset in seconds now applied to that photo's camera.
        """
        row = self.survey(survey)
        when = dt.datetime.fromisoformat(true_time) if isinstance(true_time, str) else true_time
        with self.sessions() as session:
            image = session.scalar(
                select(Image).where(
                    Image.survey_id == row.id, Image.path_hash == path_digest(image_path)
                )
            )
            if image is None:
                raise NotFoundError(f"no image {image_path!r} in survey {row.name!r}")
            if image.timestamp is None:
                raise ConfigurationError(f"{image_path} has no recorded timestamp to correct from")
            camera = session.get(Camera, image.camera_id)
            site = session.get(Site, camera.site_id) if camera else None
            assert camera is not None
            assert site is not None
            offset = clock.offset_from_reference(image.timestamp, when)
        self.set_clock_offset(row, f"{site.name}/{camera.name}", offset)
        return offset

    def _recluster_if_clustered(self, survey: Survey) -> None:
        with self.sessions() as session:
            stored = session.get(Survey, survey.id)
            params = (stored.settings or {}).get("sequences") if stored else None
        if params:
            cluster_survey(self.sessions, survey.id, SequenceParams(**params))

    # -- sites -----------------------------------------------------------------

    def import_site_coordinates(self, survey: SurveyRef, path: str) -> CoordinateTable:
        """Set site coordinates from a CSV (site, latitude, longitude[, altitude]) or KML file.

        Rows that cannot be read, and sites the survey does not have, are
        logged and returned in ``problems``; the other rows are applied and
        returned in ``coordinates``.
        """
        from fsspec.core import url_to_fs

        from traptagger_lab.errors import InputFileError

        row = self.survey(survey)
        fs, fs_path = url_to_fs(path, **self.settings.fsspec_options(path))
        table = read_coordinates(fs.cat_file(fs_path), path)
        problems = list(table.problems)
        applied = []
        with transaction(self.sessions) as session:
            sites = {
                s.name: s for s in session.scalars(select(Site).where(Site.survey_id == row.id))
            }
            for coordinate in table.coordinates:
                site = sites.get(coordinate.site)
                if site is None:
                    problems.append(
                        InputFileError(path, f"no site {coordinate.site!r} in {row.name!r}")
                    )
                    continue
                site.latitude = coordinate.latitude
                site.longitude = coordinate.longitude
                site.altitude = coordinate.altitude
                applied.append(coordinate)
        for problem in problems:
            log.warning("%s", problem)
        return CoordinateTable(applied, problems)

    def sites(self, survey: SurveyRef) -> pd.DataFrame:
        """Sites with coordinates and camera/image counts."""
        row = self.survey(survey)
        with self.sessions() as session:
            return sites_frame(session, row.id)

    # -- tables ----------------------------------------------------------------

    def images(self, survey: SurveyRef, include_failures: bool = True) -> pd.DataFrame:
        """One row per image (path, site, camera, times, hash, cluster, failure reason...)."""
        row = self.survey(survey)
        with self.sessions() as session:
            return tables.images_frame(session, row.id, include_failures)

    def status_counts(self, survey: SurveyRef) -> dict[str, Any]:
        """Where a survey stands, as nested plain numbers (what ``status --json`` prints)."""
        row = self.survey(survey)
        with self.sessions() as session:
            return tables.status_counts(session, row.id)

    def status(self, survey: SurveyRef) -> pd.DataFrame:
        """Where a survey stands, as a ``metric`` -> ``value`` table."""
        return tables.status_frame(self.status_counts(survey))

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
