"""Per-camera clock correction.

Camera clocks drift, reset to 2000-01-01 after a battery change, or ignore
daylight saving. Each camera has an offset in seconds; an image's corrected
timestamp is its original timestamp plus its camera's offset. The original is
never overwritten, and everything downstream (sequences, results) uses the
corrected time.
"""

from __future__ import annotations

import datetime as dt

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


def set_clock_offset(workspace: Workspace, survey: SurveyRef, camera: str, seconds: float) -> int:
    """Set a camera's clock offset; re-clusters the survey if it was clustered.

    Returns:
        How many images got a new corrected timestamp.
    """
    row = get_survey(workspace, survey)
    target = camera_of(workspace, row, camera)
    with transaction(workspace.sessions) as session:
        stored = session.get(Camera, target.id)
        assert stored is not None
        changed = apply_offset(session, stored, seconds)
    recluster_if_clustered(workspace.sessions, row.id)
    return changed


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
