"""Apply the false-positive filters to a survey's detections in the database.

Per camera: exclusion masks (boxes wholly inside a mask polygon become
``masked``), static groups (``static`` until reviewed; a rejected group's boxes
stay active on every later run) and, optionally, tiny boxes (``hidden``).
Parameters are recorded with the run.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from traptagger_lab.db.engine import chunks, transaction
from traptagger_lab.db.models import (
    Camera,
    Detection,
    Image,
    Mask,
    Site,
    StaticGroup,
)
from traptagger_lab.detect.static import PlacedBox, StaticParams, find_static_groups, is_small
from traptagger_lab.runs import add_counts, closing_run, start_run

if TYPE_CHECKING:
    import pandas as pd

FILTERED = ("static", "masked", "hidden")


@dataclass
class FilterReport:
    """What a filter run changed."""

    static_groups: int = 0
    static: int = 0
    masked: int = 0
    hidden: int = 0


def _inside_masks(boxes: list[PlacedBox], polygons: list[list[list[float]]]) -> set[int]:
    """Detection ids whose box lies wholly inside one of the polygons."""
    if not polygons:
        return set()
    from shapely.geometry import Polygon, box

    shapes = [Polygon(points).buffer(0) for points in polygons if len(points) >= 3]
    return {
        b.detection_id
        for b in boxes
        if any(shape.contains(box(b.x, b.y, b.x + b.w, b.y + b.h)) for shape in shapes)
    }


def _camera_boxes(
    session: Session, camera_id: int
) -> tuple[list[PlacedBox], dict[int, int | None], int]:
    rows = session.execute(
        select(
            Detection.id,
            Detection.image_id,
            Image.corrected_timestamp,
            Detection.score,
            Detection.x,
            Detection.y,
            Detection.w,
            Detection.h,
            Detection.static_group_id,
        )
        .join(Image, Image.id == Detection.image_id)
        .where(Image.camera_id == camera_id, Detection.status.in_(("active", *FILTERED)))
    ).all()
    boxes = [PlacedBox(*row[:8]) for row in rows]
    groups = {row[0]: row[8] for row in rows}
    photos = session.scalar(
        select(func.count()).select_from(Image).where(Image.camera_id == camera_id)
    )
    return boxes, groups, int(photos or 0)


def _filter_camera(
    session: Session, camera_id: int, params: StaticParams, hide_small: float | None, run_id: int
) -> FilterReport:
    report = FilterReport()
    boxes, group_of, photos = _camera_boxes(session, camera_id)
    groups = {
        g.id: g
        for g in session.scalars(select(StaticGroup).where(StaticGroup.camera_id == camera_id))
    }
    rejected = {d for d, g in group_of.items() if g is not None and groups[g].status == "rejected"}
    accepted = {d for d, g in group_of.items() if g is not None and groups[g].status == "accepted"}
    for group in [g for g in groups.values() if g.status == "unknown"]:  # found again below
        session.execute(
            update(Detection)
            .where(Detection.static_group_id == group.id)
            .values(static_group_id=None)
        )
        session.delete(group)
    polygons = [m.polygon for m in session.scalars(select(Mask).where(Mask.camera_id == camera_id))]
    masked = _inside_masks(boxes, polygons)
    settled = rejected | accepted | masked
    candidates = [b for b in boxes if b.detection_id not in settled]
    static: dict[int, int] = {}
    for members in find_static_groups(candidates, photos, params):
        seed = members[0]
        group = StaticGroup(
            camera_id=camera_id,
            run_id=run_id,
            status="unknown",
            count=len(members),
            x=seed.x,
            y=seed.y,
            w=seed.w,
            h=seed.h,
        )
        session.add(group)
        session.flush()
        static.update((b.detection_id, group.id) for b in members)
        report.static_groups += 1
    status: dict[str, list[int]] = defaultdict(list)
    for b in boxes:
        if b.detection_id in masked:
            status["masked"].append(b.detection_id)
        elif b.detection_id in static or b.detection_id in accepted:
            status["static"].append(b.detection_id)
        elif hide_small is not None and is_small(b, hide_small):
            status["hidden"].append(b.detection_id)
        else:
            status["active"].append(b.detection_id)
    for value, ids in status.items():
        for part in chunks(ids):
            session.execute(update(Detection).where(Detection.id.in_(part)).values(status=value))
    if static:
        session.execute(
            update(Detection), [{"id": d, "static_group_id": g} for d, g in static.items()]
        )
    report.static, report.masked, report.hidden = (
        len(status[k]) for k in ("static", "masked", "hidden")
    )
    return report


def filter_survey(
    sessions: sessionmaker[Session],
    survey_id: int,
    params: StaticParams,
    hide_small: float | None = None,
) -> FilterReport:
    """Run masks, the static filter and (optionally) tiny-box hiding on every camera of a survey."""
    with transaction(sessions) as session:
        run = start_run(
            session, survey_id, "filter", {**params.model_dump(), "hide_small": hide_small}
        )
        cameras = list(
            session.scalars(
                select(Camera.id)
                .join(Site, Site.id == Camera.site_id)
                .where(Site.survey_id == survey_id)
            )
        )
    total = FilterReport()
    with closing_run(sessions, run.id, lambda: dict(vars(total))):
        for camera_id in cameras:
            with transaction(sessions) as session:
                part = _filter_camera(session, camera_id, params, hide_small, run.id)
            add_counts(total, part)
    return total


def review_group(session: Session, group_id: int, accept: bool, reviewer: str) -> StaticGroup:
    """Accept (really static: stays hidden) or reject (real animals: boxes back to active)."""
    group = session.get(StaticGroup, group_id)
    if group is None:
        from traptagger_lab.errors import NotFoundError

        raise NotFoundError(f"no static group {group_id}")
    group.status = "accepted" if accept else "rejected"
    group.reviewed_by = reviewer
    session.execute(
        update(Detection)
        .where(Detection.static_group_id == group_id, Detection.status.in_(("active", "static")))
        .values(status="static" if accept else "active")
    )
    return group


def static_groups_frame(session: Session, survey_id: int) -> pd.DataFrame:
    """One row per static group of the survey: camera, status, count, place."""
    import pandas as pd

    rows = (
        session.execute(
            select(
                StaticGroup.id.label("group_id"),
                Site.name.label("site"),
                Camera.name.label("camera"),
                StaticGroup.status,
                StaticGroup.count,
                StaticGroup.x,
                StaticGroup.y,
                StaticGroup.w,
                StaticGroup.h,
            )
            .join(Camera, Camera.id == StaticGroup.camera_id)
            .join(Site, Site.id == Camera.site_id)
            .where(Site.survey_id == survey_id)
            .order_by(StaticGroup.id)
        )
        .mappings()
        .all()
    )
    return pd.DataFrame(
        rows, columns=["group_id", "site", "camera", "status", "count", "x", "y", "w", "h"]
    )


def static_group_boxes(
    session: Session, group_id: int, limit: int
) -> list[tuple[str, float, float, float, float]]:
    """Up to ``limit`` boxes of a static group, best first: (compressed copy's key, x, y, w, h)."""
    rows = session.execute(
        select(Image.compressed_key, Detection.x, Detection.y, Detection.w, Detection.h)
        .join(Image, Image.id == Detection.image_id)
        .where(Detection.static_group_id == group_id)
        .order_by(Detection.score.desc())
        .limit(limit)
    ).all()
    return [(key, x, y, w, h) for key, x, y, w, h in rows if key]
