"""Survey tables as DataFrames: one row per image, and the survey's status counts (with its
deployments and the findings of the deployment checks)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from traptagger_lab.db.models import (
    Camera,
    Cluster,
    Deployment,
    DetectionPass,
    Image,
    IngestIssue,
    ProcessingRun,
    Site,
    Survey,
    Video,
)
from traptagger_lab.deployments.checks import check_counts, deployment_checks
from traptagger_lab.surveys import SurveyRef, find_survey
from traptagger_lab.workspace import Workspace

IMAGE_COLUMNS = [
    "path",
    "site",
    "camera",
    "timestamp",
    "corrected_timestamp",
    "timestamp_source",
    "hash",
    "cluster_id",
    "failure_reason",
    "failure_detail",
    "width",
    "height",
    "is_video_frame",
    "latitude",
    "longitude",
    "image_id",
    "run_id",
]


def images_frame(session: Session, survey_id: int, include_failures: bool = True) -> pd.DataFrame:
    """One row per image (and, unless excluded, per file that failed), sorted by path."""
    query = (
        select(
            Image.path,
            Site.name.label("site"),
            Camera.name.label("camera"),
            Image.timestamp,
            Image.corrected_timestamp,
            Image.timestamp_source,
            Image.hash,
            Image.cluster_id,
            Image.width,
            Image.height,
            Image.is_video_frame,
            Image.latitude,
            Image.longitude,
            Image.id.label("image_id"),
            Image.run_id,
        )
        .join(Camera, Camera.id == Image.camera_id)
        .join(Site, Site.id == Camera.site_id)
        .where(Image.survey_id == survey_id)
    )
    frame = pd.DataFrame(session.execute(query).mappings().all())
    if include_failures:
        issues = pd.DataFrame(
            session.execute(
                select(
                    IngestIssue.path,
                    IngestIssue.reason.label("failure_reason"),
                    IngestIssue.detail.label("failure_detail"),
                    IngestIssue.run_id,
                ).where(IngestIssue.survey_id == survey_id)
            )
            .mappings()
            .all()
        )
        frame = pd.concat([frame, issues], ignore_index=True) if len(issues) else frame
    frame = frame.reindex(columns=IMAGE_COLUMNS)
    for column in ("cluster_id", "image_id", "width", "height", "run_id"):
        frame[column] = frame[column].astype("Int64")
    for column in ("timestamp", "corrected_timestamp"):
        frame[column] = pd.to_datetime(frame[column])
    return frame.sort_values("path", kind="stable").reset_index(drop=True)


def status_counts(session: Session, survey_id: int) -> dict[str, Any]:
    """Counts that say where a survey stands (nested: failures by reason, runs by stage)."""

    def count(query: Any) -> int:
        return int(session.scalar(query) or 0)

    failures = {
        reason: int(n)
        for reason, n in session.execute(
            select(IngestIssue.reason, func.count())
            .where(IngestIssue.survey_id == survey_id)
            .group_by(IngestIssue.reason)
            .order_by(IngestIssue.reason)
        )
    }
    photos = select(func.count()).select_from(Image).where(Image.survey_id == survey_id)
    last_runs = {
        stage: {"status": status, "finished_at": finished.isoformat() if finished else None}
        for stage, status, finished in session.execute(
            select(ProcessingRun.stage, ProcessingRun.status, ProcessingRun.finished_at)
            .where(ProcessingRun.survey_id == survey_id)
            .order_by(ProcessingRun.id)
        )
    }
    total = count(photos)
    detection: dict[str, dict[str, int]] = {}
    for model, status, n in session.execute(
        select(DetectionPass.model, DetectionPass.status, func.count())
        .join(Image, Image.id == DetectionPass.image_id)
        .where(Image.survey_id == survey_id)
        .group_by(DetectionPass.model, DetectionPass.status)
    ):
        entry = detection.setdefault(model, {"done": 0, "failed": 0, "remaining": total})
        entry[status] = int(n)
        entry["remaining"] -= int(n) if status == "done" else 0
    return {
        "images": count(photos.where(Image.is_video_frame.is_(False))),
        "videos": count(
            select(func.count()).select_from(Video).where(Video.survey_id == survey_id)
        ),
        "video_frames": count(photos.where(Image.is_video_frame.is_(True))),
        "images_without_timestamp": count(photos.where(Image.timestamp.is_(None))),
        "sites": count(select(func.count()).select_from(Site).where(Site.survey_id == survey_id)),
        "cameras": count(
            select(func.count())
            .select_from(Camera)
            .join(Site, Site.id == Camera.site_id)
            .where(Site.survey_id == survey_id)
        ),
        "clusters": count(
            select(func.count())
            .select_from(Cluster)
            .where(Cluster.survey_id == survey_id, Cluster.active.is_(True))
        ),
        "unclustered_images": count(photos.where(Image.cluster_id.is_(None))),
        "failures": failures,
        "failed_files": sum(failures.values()),
        "stages": last_runs,
        "detection": detection,
    }


def status_frame(counts: dict[str, Any]) -> pd.DataFrame:
    """Flatten :func:`status_counts` into a two-column table (``metric``, ``value``)."""
    rows: list[tuple[str, Any]] = []
    for key, value in counts.items():
        if key == "stages":
            rows.extend((f"stage.{stage}", info["status"]) for stage, info in value.items())
        elif key == "detection":
            rows.extend(
                (f"detection.{model}.{part}", n)
                for model, parts in value.items()
                for part, n in parts.items()
            )
        elif isinstance(value, dict):
            rows.extend((f"{key}.{sub}", n) for sub, n in value.items())
        else:
            rows.append((key, value))
    return pd.DataFrame(rows, columns=["metric", "value"]).set_index("metric")


SURVEY_COLUMNS = [
    "name", "description", "source", "images", "videos", "sites", "clusters",
    "failed_files", "created_at",
]  # fmt: skip


def survey_table(workspace: Workspace) -> pd.DataFrame:
    """Every survey with its counts of images, videos, sites, clusters and failed files."""
    rows = []
    with workspace.sessions() as session:
        for survey in session.scalars(select(Survey).order_by(Survey.name)):
            counts = status_counts(session, survey.id)
            rows.append(
                {
                    "name": survey.name,
                    "description": survey.description,
                    "source": survey.source,
                    **{k: counts[k] for k in ("images", "videos", "sites", "clusters")},
                    "failed_files": counts["failed_files"],
                    "created_at": survey.created_at,
                }
            )
    return pd.DataFrame(rows, columns=SURVEY_COLUMNS)


def images(workspace: Workspace, survey: SurveyRef, include_failures: bool = True) -> pd.DataFrame:
    """One row per image (path, site, camera, times, hash, cluster, failure reason...)."""
    with workspace.sessions() as session:
        return images_frame(session, find_survey(session, survey).id, include_failures)


def survey_status_counts(workspace: Workspace, survey: SurveyRef) -> dict[str, Any]:
    """Where a survey stands, as nested plain numbers (what ``status --json`` prints): with
    its deployments and how many findings of each kind the deployment checks make
    (:func:`~traptagger_lab.deployments.checks.deployment_checks`: photos outside their
    deployment or far from their camera's others, cameras without a deployment, deployments
    whose photos disagree with their dates)."""
    with workspace.sessions() as session:
        survey_id = find_survey(session, survey).id
        counts = status_counts(session, survey_id)
        counts["deployments"] = int(
            session.scalar(
                select(func.count())
                .select_from(Deployment)
                .where(Deployment.survey_id == survey_id)
            )
            or 0
        )
    counts["deployment_checks"] = check_counts(deployment_checks(workspace, survey_id))
    return counts


def survey_status(workspace: Workspace, survey: SurveyRef) -> pd.DataFrame:
    """Where a survey stands, as a ``metric`` -> ``value`` table."""
    return status_frame(survey_status_counts(workspace, survey))
