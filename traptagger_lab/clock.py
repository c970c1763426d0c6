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

from traptagger_lab.db.models import Camera, Image


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
