"""SQLAlchemy 2.0 typed models of an organisation's database.

The same models run on SQLite, MariaDB/MySQL and PostgreSQL. Schema changes
go through Alembic migrations in ``traptagger_lab/db/migrations``; never
``create_all`` on a real deployment.

Conventions: every path is relative to its source (a ``survey_source`` row) and
unique per survey through ``path_hash`` (MySQL cannot index long VARCHARs); boxes are
normalised ``x, y, w, h`` (top-left origin, 0-1); times are naive local
camera times, as camera traps record them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from traptagger_lab.db.types import BigId, Timestamp

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def path_digest(path: str) -> str:
    """The 40-character key that makes a relative path unique within a survey."""
    return hashlib.sha1(path.encode("utf-8")).hexdigest()


def utcnow() -> dt.datetime:
    """Now, in UTC, without tzinfo (how bookkeeping times are stored)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Declarative base with constraint names that Alembic can manage."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, dt.datetime: Timestamp}


class Survey(Base):
    """One camera-trap survey: photos from one or more sources, split into sites and cameras."""

    __tablename__ = "survey"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str | None] = mapped_column(Text)
    site_pattern: Mapped[str | None] = mapped_column(String(500))
    camera_pattern: Mapped[str | None] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20), default="trails")
    trigger: Mapped[str] = mapped_column(String(20), default="motion")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    sites: Mapped[list[Site]] = relationship(back_populates="survey", cascade="all, delete-orphan")


def source_digest(url: str) -> str:
    """The 40-character key that makes a source URL unique within a survey."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()


class SurveySource(Base):
    """A folder or prefix a survey's files were ingested from; a survey may have several.

    Every image and video remembers its source: its ``path`` is relative to that root.
    """

    __tablename__ = "survey_source"
    __table_args__ = (UniqueConstraint("survey_id", "url_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    url_hash: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Site(Base):
    """A camera location (TrapTagger's "trapgroup"), found from the path by the site pattern."""

    __tablename__ = "site"
    __table_args__ = (UniqueConstraint("survey_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    altitude: Mapped[float | None] = mapped_column(Float)

    survey: Mapped[Survey] = relationship(back_populates="sites")
    cameras: Mapped[list[Camera]] = relationship(
        back_populates="site", cascade="all, delete-orphan"
    )


class Camera(Base):
    """A physical camera (or its folder) at a site, with its clock correction."""

    __tablename__ = "camera"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    clock_offset_s: Mapped[float] = mapped_column(Float, default=0.0)

    site: Mapped[Site] = relationship(back_populates="cameras")


class CameraOutage(Base):
    """A period a camera was not recording properly (knocked down, blocked, broken).

    Made when an annotator labels a cluster "Knocked down": from that cluster's
    time until ``end`` (open-ended until someone says when it was fixed). Effort
    calculations leave these periods out.
    """

    __tablename__ = "camera_outage"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id", ondelete="CASCADE"), index=True)
    start: Mapped[dt.datetime]
    end: Mapped[dt.datetime | None]
    reason: Mapped[str] = mapped_column(String(64), default="knocked down")
    annotation_id: Mapped[int | None] = mapped_column(
        ForeignKey("annotation.id", ondelete="SET NULL")
    )
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Deployment(Base):
    """A camera (or a whole station, ``camera_id`` NULL) at a site between setup and retrieval.

    Setup and retrieval are local camera times; a ``*_time_known`` flag False means the
    source gave a date alone (stored at 00:00), which effort counts as camtrapR does (set
    up and retrieved at noon: half days). Coordinates are WGS84, in double precision (MySQL's
    FLOAT keeps 7 digits: 100 m at a longitude of 117); ``x``/``y`` keep the projected ones
    the source gave, in ``crs``. ``source_file`` and ``source_row`` say
    where the row came from (re-importing that file replaces its rows).
    """

    __tablename__ = "deployment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    camera_id: Mapped[int | None] = mapped_column(
        ForeignKey("camera.id", ondelete="CASCADE"), index=True
    )
    #: The source's own name for it (Camtrap DP deploymentID), if any.
    name: Mapped[str | None] = mapped_column(String(200))
    setup: Mapped[dt.datetime]
    setup_time_known: Mapped[bool] = mapped_column(Boolean, default=True)
    retrieval: Mapped[dt.datetime]
    retrieval_time_known: Mapped[bool] = mapped_column(Boolean, default=True)
    latitude: Mapped[float | None] = mapped_column(Double)
    longitude: Mapped[float | None] = mapped_column(Double)
    x: Mapped[float | None] = mapped_column(Double)
    y: Mapped[float | None] = mapped_column(Double)
    crs: Mapped[str | None] = mapped_column(String(64))
    #: Height of the camera above the ground (m).
    camera_height: Mapped[float | None] = mapped_column(Double)
    bait: Mapped[str | None] = mapped_column(String(200))
    habitat: Mapped[str | None] = mapped_column(Text)
    feature_type: Mapped[str | None] = mapped_column(String(100))
    covariates: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source_file: Mapped[str | None] = mapped_column(Text)
    source_row: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DeploymentProblem(Base):
    """A period a deployment's camera did not work (camtrapR's ProblemN_from/ProblemN_to).

    ``end`` is inclusive, as camtrapR's ``Problem_to``: with ``end_time_known`` False the
    whole day of ``end`` is lost.
    """

    __tablename__ = "deployment_problem"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(
        ForeignKey("deployment.id", ondelete="CASCADE"), index=True
    )
    start: Mapped[dt.datetime]
    start_time_known: Mapped[bool] = mapped_column(Boolean, default=True)
    end: Mapped[dt.datetime]
    end_time_known: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str] = mapped_column(String(200), default="")


class Video(Base):
    """A video file; its extracted stills are :class:`Image` rows with ``video_id`` set."""

    __tablename__ = "video"
    __table_args__ = (UniqueConstraint("survey_id", "path_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(Text)
    path_hash: Mapped[str] = mapped_column(String(40))
    hash: Mapped[str] = mapped_column(String(64), index=True)
    timestamp: Mapped[dt.datetime | None]
    timestamp_source: Mapped[str | None] = mapped_column(String(32))
    duration_s: Mapped[float | None] = mapped_column(Float)
    fps: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("processing_run.id", ondelete="SET NULL"))
    #: The root ``path`` is relative to (None only for rows made without an ingest).
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_source.id", ondelete="CASCADE"), index=True
    )


class Cluster(Base):
    """A sequence: images at one site (optionally one camera) close together in time."""

    __tablename__ = "cluster"
    __table_args__ = (Index("ix_cluster_survey_active", "survey_id", "active"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("camera.id", ondelete="CASCADE"))
    video_id: Mapped[int | None] = mapped_column(ForeignKey("video.id", ondelete="CASCADE"))
    start: Mapped[dt.datetime | None]
    end: Mapped[dt.datetime | None]
    image_count: Mapped[int] = mapped_column(Integer, default=0)
    #: A signature of the member image ids: equal signatures are the same sequence.
    members_hash: Mapped[str] = mapped_column(String(40))
    #: False once a re-clustering replaced it (kept because annotations point at it).
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("processing_run.id", ondelete="SET NULL"))


class Image(Base):
    """A photo (or a still extracted from a video) that was imported."""

    __tablename__ = "image"
    __table_args__ = (
        UniqueConstraint("survey_id", "path_hash"),
        Index("ix_image_survey_hash", "survey_id", "hash"),
        Index("ix_image_camera_time", "camera_id", "corrected_timestamp"),
        #: Results read each sequence's span from this index alone (results/spans.py).
        Index("ix_image_cluster_time", "cluster_id", "camera_id", "corrected_timestamp"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)
    path_hash: Mapped[str] = mapped_column(String(40))
    #: Content hash that ignores metadata: the same photo with edited EXIF has the same hash.
    hash: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    timestamp: Mapped[dt.datetime | None]
    #: Where the timestamp came from (exif_original, exif_digitized, exif_datetime,
    #: filename, video) or why there is none (missing, invalid: ...).
    timestamp_source: Mapped[str | None] = mapped_column(String(64))
    corrected_timestamp: Mapped[dt.datetime | None]
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    altitude: Mapped[float | None] = mapped_column(Float)
    make: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100))
    #: Metadata kept whole where a column holds less (a make or model past 100 characters).
    metadata_extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    compressed_key: Mapped[str | None] = mapped_column(String(300))
    thumbnail_key: Mapped[str | None] = mapped_column(String(300))
    is_video_frame: Mapped[bool] = mapped_column(Boolean, default=False)
    video_id: Mapped[int | None] = mapped_column(
        ForeignKey("video.id", ondelete="CASCADE"), index=True
    )
    frame_index: Mapped[int | None] = mapped_column(Integer)
    cluster_id: Mapped[int | None] = mapped_column(
        ForeignKey("cluster.id", ondelete="SET NULL"), index=True
    )
    run_id: Mapped[int | None] = mapped_column(ForeignKey("processing_run.id", ondelete="SET NULL"))
    #: The root ``path`` is relative to (None only for rows made without an ingest).
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_source.id", ondelete="CASCADE"), index=True
    )

    @property
    def has_timestamp(self) -> bool:
        """Whether the image has a usable capture time."""
        return self.timestamp is not None


class IngestIssue(Base):
    """A file that was found but not imported, with the reason (corrupt, duplicate, no site...)."""

    __tablename__ = "ingest_issue"
    __table_args__ = (UniqueConstraint("survey_id", "path_hash"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)
    path_hash: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(32), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    duplicate_of: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("processing_run.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: The source the file was found under.
    source_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_source.id", ondelete="SET NULL")
    )


class ProcessingRun(Base):
    """Provenance: one run of a stage with its parameters, software version and outcome."""

    __tablename__ = "processing_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="running")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    software_version: Mapped[str] = mapped_column(String(40), default="")
    model: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class Detection(Base):
    """A box found by a detector or drawn by a person."""

    __tablename__ = "detection"
    __table_args__ = (Index("ix_detection_relevant", "image_id", "status", "score"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("image.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("processing_run.id", ondelete="SET NULL"))
    #: MegaDetector categories: 1 animal, 2 person, 3 vehicle.
    category: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    w: Mapped[float] = mapped_column(Float)
    h: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(64))
    #: active, static, masked, hidden or deleted.
    status: Mapped[str] = mapped_column(String(16), default="active")
    static_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("static_group.id", ondelete="SET NULL"), index=True
    )


class StaticGroup(Base):
    """Boxes that recur in one place on a camera: probably a rock or branch, awaiting review."""

    __tablename__ = "static_group"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("processing_run.id", ondelete="SET NULL"))
    #: unknown (found, not reviewed), accepted (really static), rejected (real animals).
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    count: Mapped[int] = mapped_column(Integer, default=0)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    w: Mapped[float] = mapped_column(Float)
    h: Mapped[float] = mapped_column(Float)
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DetectionPass(Base):
    """That a detector has looked at an image (even when it found nothing), or why it could not.

    Detection is resumable because of these rows: images with a pass for the
    model are skipped on the next run.
    """

    __tablename__ = "detection_pass"
    __table_args__ = (UniqueConstraint("image_id", "model"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("image.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("processing_run.id", ondelete="SET NULL"))
    model: Mapped[str] = mapped_column(String(64))
    #: done, or failed (with the reason in ``failure``).
    status: Mapped[str] = mapped_column(String(16), default="done")
    failure: Mapped[str | None] = mapped_column(Text)
    detections: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Classification(Base):
    """A classifier's label probability for one detection."""

    __tablename__ = "classification"
    __table_args__ = (Index("ix_classification_detection", "detection_id", "score"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    detection_id: Mapped[int] = mapped_column(ForeignKey("detection.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("processing_run.id", ondelete="SET NULL"))
    label: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    model: Mapped[str] = mapped_column(String(200))


class ClusterSuggestion(Base):
    """A classifier's suggestion for a cluster, whether it auto-labels it, and why."""

    __tablename__ = "cluster_suggestion"
    __table_args__ = (UniqueConstraint("cluster_id", "model"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("cluster.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("processing_run.id", ondelete="SET NULL"))
    model: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(200))
    detections: Mapped[int] = mapped_column(Integer, default=0)
    share: Mapped[float] = mapped_column(Float, default=0.0)
    auto: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Task(Base):
    """An annotation task over a survey's clusters, with its own label tree."""

    __tablename__ = "task"
    __table_args__ = (UniqueConstraint("survey_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), default="species")
    status: Mapped[str] = mapped_column(String(16), default="ready")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Label(Base):
    """A label (species, or an informational tag) in a task's label tree."""

    __tablename__ = "label"
    __table_args__ = (UniqueConstraint("task_id", "parent_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("label.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    hotkey: Mapped[str | None] = mapped_column(String(8))
    is_tag: Mapped[bool] = mapped_column(Boolean, default=False)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)


class Job(Base):
    """A batch of clusters leased to one annotator until ``expires_at``."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_task_status", "task_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    annotator: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]


class TaskItem(Base):
    """A cluster a task needs annotated, how many times, and how many are done or leased.

    ``done`` and ``leased`` change only while the row is locked (``FOR UPDATE``),
    which is what makes allocation safe for many annotators at once.
    """

    __tablename__ = "task_item"
    __table_args__ = (
        UniqueConstraint("task_id", "cluster_id"),
        Index("ix_task_item_order", "task_id", "site_id", "start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    cluster_id: Mapped[int] = mapped_column(ForeignKey("cluster.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"))
    start: Mapped[dt.datetime | None]
    required: Mapped[int] = mapped_column(Integer, default=1)
    done: Mapped[int] = mapped_column(Integer, default=0)
    leased: Mapped[int] = mapped_column(Integer, default=0)


class JobItem(Base):
    """One cluster of a job: leased until ``leased_until``, then done or given back.

    ``holder`` is the annotator (case-folded) while the row is leased or done, and
    NULL once it was released, expired or replaced: the unique ``(task_item_id,
    holder)`` is the rule that one person never holds or labels a cluster twice.
    """

    __tablename__ = "job_item"
    __table_args__ = (
        UniqueConstraint("task_item_id", "holder"),
        Index("ix_job_item_item_annotator", "task_item_id", "annotator"),
        Index("ix_job_item_lease", "task_id", "status", "leased_until"),
        Index("ix_job_item_job", "job_id", "cluster_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"))
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    task_item_id: Mapped[int] = mapped_column(ForeignKey("task_item.id", ondelete="CASCADE"))
    cluster_id: Mapped[int] = mapped_column(ForeignKey("cluster.id", ondelete="CASCADE"))
    annotator: Mapped[str] = mapped_column(String(200))
    holder: Mapped[str | None] = mapped_column(String(200))
    #: leased, done, released (given back), expired (lease ran out) or replaced (the
    #: sequence was re-grouped: the job holds the new sequences instead).
    status: Mapped[str] = mapped_column(String(16), default="leased")
    leased_until: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]


class Annotation(Base):
    """One person's (or a rule's) label on a cluster or detection; never overwritten.

    A correction is a new row whose ``previous_id`` points at the row it
    replaces, so the full history stays and undo can restore it.
    """

    __tablename__ = "annotation"
    __table_args__ = (Index("ix_annotation_task_cluster", "task_id", "cluster_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("cluster.id", ondelete="CASCADE"))
    detection_id: Mapped[int | None] = mapped_column(ForeignKey("detection.id", ondelete="CASCADE"))
    label_id: Mapped[int | None] = mapped_column(ForeignKey("label.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id", ondelete="SET NULL"))
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("annotation.id", ondelete="SET NULL")
    )
    #: When re-clustering copied this annotation from a replaced cluster: the original row.
    carried_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("annotation.id", ondelete="SET NULL")
    )
    annotator: Mapped[str] = mapped_column(String(200))
    count: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Individual(Base):
    """An identified animal (individual ID)."""

    __tablename__ = "individual"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    species: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IndividualDetection(Base):
    """Which detections show which individual."""

    __tablename__ = "individual_detection"

    individual_id: Mapped[int] = mapped_column(
        ForeignKey("individual.id", ondelete="CASCADE"), primary_key=True
    )
    detection_id: Mapped[int] = mapped_column(
        ForeignKey("detection.id", ondelete="CASCADE"), primary_key=True
    )


class Mask(Base):
    """An exclusion polygon on a camera's view: detections inside it are masked."""

    __tablename__ = "mask"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id", ondelete="CASCADE"), index=True)
    #: [[x, y], ...] in normalised image coordinates.
    polygon: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Export(Base):
    """A file exported from a survey or task, with its parameters."""

    __tablename__ = "export"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id", ondelete="SET NULL"))
    format: Mapped[str] = mapped_column(String(32))
    location: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
