"""Per-camera clock correction.

Camera clocks drift, reset to 2000-01-01 after a battery change, or ignore
daylight saving. Each camera has an offset in seconds; an image's corrected
timestamp is its original timestamp plus its camera's offset. The original is
never overwritten, and everything downstream (sequences, results) uses the
corrected time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from traptagger_lab.db.engine import transaction
from traptagger_lab.db.models import Camera, Image, Site, path_digest
from traptagger_lab.errors import ConfigurationError, NotFoundError
from traptagger_lab.sequences import recluster_if_clustered
from traptagger_lab.surveys import SurveyRef, camera_of, get_survey
from traptagger_lab.workspace import Workspace


def offset_from_reference(recorded: dt.datetime, true_time: dt.datetime) -> float:
    """The offset (seconds) that turns a camera's ``recorded`` time into ``true_time``."""
    return (true_time - recorded).total_seconds()


def apply_offset(session: Session, camera: Camera, offset_s: float) -> int:
    """Set ``camera``'s clock offset and recompute its images' corrected timestamps.

    Returns:
        How many images were updated.
    """
    camera.clock_offset_s = float(offset_s)
    rows = session.execute(
        select(Image.id, Image.timestamp).where(
            Image.camera_id == camera.id, Image.timestamp.is_not(None)
        )
    ).all()
    shift = dt.timedelta(seconds=float(offset_s))
    changes = [
        {"id": image_id, "corrected_timestamp": stamp + shift}
        for image_id, stamp in rows
        if stamp is not None
    ]
    if changes:
        session.execute(update(Image), changes)
    return len(changes)


def _change_camera(
    workspace: Workspace,
    survey: SurveyRef,
    camera: str,
    change: Callable[[Session, Camera], int],
) -> int:
    """Apply ``change`` to a camera in one transaction, then re-cluster the survey if it was
    clustered; returns how many images got a new corrected timestamp."""
    row = get_survey(workspace, survey)
    target = camera_of(workspace, row, camera)
    with transaction(workspace.sessions) as session:
        stored = session.get(Camera, target.id)
        assert stored is not None
        changed = change(session, stored)
    recluster_if_clustered(workspace.sessions, row.id)
    return changed


def set_clock_offset(workspace: Workspace, survey: SurveyRef, camera: str, seconds: float) -> int:
    """Set a camera's clock offset; re-clusters the survey if it was clustered.

    Returns:
        How many images got a new corrected timestamp.
    """
    return _change_camera(workspace, survey, camera, lambda s, c: apply_offset(s, c, seconds))


def correct_clock(
    workspace: Workspace, survey: SurveyRef, image_path: str, true_time: dt.datetime | str
) -> float:
    """Set a camera's offset from one photo whose true capture time you know.

    Returns:
        The offset in seconds now applied to that photo's camera.
    """
    row = get_survey(workspace, survey)
    when = dt.datetime.fromisoformat(true_time) if isinstance(true_time, str) else true_time
    with workspace.sessions() as session:
        image = session.scalar(
            select(Image).where(
                Image.survey_id == row.id, Image.path_hash == path_digest(image_path)
            )
        )
        if image is None:
            raise NotFoundError(f"no image {image_path!r} in survey {row.name!r}")
        if image.timestamp is None:
            raise ConfigurationError(f"{image_path} has no recorded timestamp to correct from")
        stored = session.get(Camera, image.camera_id)
        site = session.get(Site, stored.site_id) if stored else None
        assert stored is not None
        assert site is not None
        offset = offset_from_reference(image.timestamp, when)
    set_clock_offset(workspace, row, f"{site.name}/{stored.name}", offset)
    return offset


#: A piece of a camera's clock correction: original times in ``[start, end)`` (None: open)
#: get ``offset_s`` seconds added.
OffsetRange = tuple[dt.datetime | None, dt.datetime | None, float]


def _offset_for(ranges: Sequence[OffsetRange], when: dt.datetime, default: float) -> float:
    for start, end, offset in ranges:
        if (start is None or when >= start) and (end is None or when < end):
            return float(offset)
    return default


def apply_offset_ranges(session: Session, camera: Camera, ranges: Sequence[OffsetRange]) -> int:
    """Correct a camera whose clock jumped: each image's corrected time is its original time
    plus the offset of the range it falls in (piecewise offsets).

    The camera's own ``clock_offset_s`` becomes the last range's offset (the clock as it
    stands now); an image in no range gets that too. A later :func:`set_clock_offset` on
    the camera replaces the pieces with one offset.

    Returns:
        How many images were updated.
    """
    if not ranges:
        raise ConfigurationError("no offset ranges given")
    latest = float(ranges[-1][2])
    camera.clock_offset_s = latest
    rows = session.execute(
        select(Image.id, Image.timestamp).where(
            Image.camera_id == camera.id, Image.timestamp.is_not(None)
        )
    ).all()
    changes = [
        {
            "id": image_id,
            "corrected_timestamp": stamp + dt.timedelta(seconds=_offset_for(ranges, stamp, latest)),
        }
        for image_id, stamp in rows
        if stamp is not None
    ]
    if changes:
        session.execute(update(Image), changes)
    return len(changes)


def set_clock_offset_ranges(
    workspace: Workspace, survey: SurveyRef, camera: str, ranges: Sequence[OffsetRange]
) -> int:
    """Set piecewise offsets on a camera whose clock jumped (:func:`apply_offset_ranges`);
    re-clusters the survey if it was clustered.

    Returns:
        How many images got a new corrected timestamp.
    """
    return _change_camera(workspace, survey, camera, lambda s, c: apply_offset_ranges(s, c, ranges))


def offset_in_effect(session: Session, camera: Camera, corrected: dt.datetime) -> float:
    """The offset the camera's photos have around a corrected time: that of its photo whose
    corrected time is nearest to ``corrected`` (piecewise offsets differ along the survey),
    else the camera's own offset."""
    base = select(Image.timestamp, Image.corrected_timestamp).where(
        Image.camera_id == camera.id,
        Image.timestamp.is_not(None),
        Image.corrected_timestamp.is_not(None),
    )
    later = session.execute(
        base.where(Image.corrected_timestamp >= corrected)
        .order_by(Image.corrected_timestamp)
        .limit(1)
    ).first()
    earlier = session.execute(
        base.where(Image.corrected_timestamp < corrected)
        .order_by(Image.corrected_timestamp.desc())
        .limit(1)
    ).first()
    near = [
        (taken, fixed)
        for r in (later, earlier)
        if r is not None and (taken := r[0]) is not None and (fixed := r[1]) is not None
    ]
    if not near:
        return float(camera.clock_offset_s or 0.0)
    taken, fixed = min(near, key=lambda pair: abs((pair[1] - corrected).total_seconds()))
    return (fixed - taken).total_seconds()
