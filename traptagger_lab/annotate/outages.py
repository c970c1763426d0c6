"""Camera outages from "Knocked down" labels: when cameras stopped recording properly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from traptagger_lab.db.models import Camera, CameraOutage, Image, Site
from traptagger_lab.errors import NotFoundError

KNOCKED_DOWN = "knocked down"


def record_knockdown(
    session: Session, cluster_id: int, annotation_id: int, annotator: str
) -> list[int]:
    """An open outage for each camera of the cluster, from its first photo in the cluster."""
    starts = session.execute(
        select(Image.camera_id, func.min(Image.corrected_timestamp))
        .where(Image.cluster_id == cluster_id, Image.corrected_timestamp.is_not(None))
        .group_by(Image.camera_id)
    ).all()
    outages = [
        CameraOutage(
            camera_id=camera_id,
            start=start,
            end=None,
            annotation_id=annotation_id,
            created_by=annotator,
        )
        for camera_id, start in starts
    ]
    session.add_all(outages)
    session.flush()
    return [o.id for o in outages]


def forget_knockdown(session: Session, annotation_ids: Sequence[int]) -> None:
    """Remove outages made by annotations that were undone."""
    if annotation_ids:
        session.execute(
            delete(CameraOutage).where(CameraOutage.annotation_id.in_(list(annotation_ids)))
        )


def set_outage_end(session: Session, outage_id: int, end: dt.datetime) -> None:
    """Say when the camera was put right again.

    Raises:
        NotFoundError: for an unknown outage; ValueError if ``end`` is before its start.
    """
    outage = session.get(CameraOutage, outage_id)
    if outage is None:
        raise NotFoundError(f"no camera outage {outage_id}")
    if end < outage.start:
        raise ValueError(f"an outage cannot end ({end}) before it starts ({outage.start})")
    outage.end = end


def outages_frame(session: Session, survey_id: int) -> pd.DataFrame:
    """The survey's outages: site, camera, start, end (NaT while open), reason, who."""
    rows = (
        session.execute(
            select(
                CameraOutage.id.label("outage_id"),
                Site.name.label("site"),
                Camera.name.label("camera"),
                CameraOutage.start,
                CameraOutage.end,
                CameraOutage.reason,
                CameraOutage.created_by,
            )
            .join(Camera, Camera.id == CameraOutage.camera_id)
            .join(Site, Site.id == Camera.site_id)
            .where(Site.survey_id == survey_id)
            .order_by(CameraOutage.start)
        )
        .mappings()
        .all()
    )
    columns = ["outage_id", "site", "camera", "start", "end", "reason", "created_by"]
    return pd.DataFrame(rows, columns=columns)
