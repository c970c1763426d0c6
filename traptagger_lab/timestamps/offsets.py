"""From OCR-vs-EXIF differences to clock offsets (pure: plain records in, plain records out).

For each photo of a camera that has both an EXIF time and a time read off its strip,
the difference (strip minus EXIF, seconds) is what the camera's offset would have to
be for that photo. A healthy camera gives the same difference on every photo (zero
when EXIF and strip agree); a camera whose EXIF is off gives a steady non-zero one;
a camera whose clock jumped (a battery change, a reset, daylight saving applied
mid-survey) gives one steady difference before the jump and another after.

:func:`find_segments` walks the photos in EXIF-time order and keeps runs where the
difference is stable (within a tolerance); a new run starts only when ``min_run``
photos in a row agree with each other and not with the current run, so a single
misread strip is an outlier, not a jump. The boundary between two runs is a change
point, reported as the last photo before it and the first after it.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Point:
    """One photo compared: its EXIF time and the strip-minus-EXIF difference (seconds)."""

    image_id: int
    exif: dt.datetime
    difference_s: float


@dataclass(frozen=True)
class ClockSegment:
    """A stretch of a camera's photos (by EXIF time) that share one offset.

    ``start`` is inclusive, ``end`` exclusive; None leaves that side open. Applying it
    sets the corrected time of the camera's photos whose EXIF time lies in
    ``[start, end)`` to EXIF time plus ``offset_s``.
    """

    start: dt.datetime | None
    end: dt.datetime | None
    offset_s: float
    photos: int = 0
    agreeing: int = 0

    def covers(self, when: dt.datetime) -> bool:
        """Whether an EXIF time lies in this segment."""
        return (self.start is None or when >= self.start) and (self.end is None or when < self.end)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form (ISO times), as stored in a run's record."""
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "offset_s": self.offset_s,
            "photos": self.photos,
            "agreeing": self.agreeing,
        }


@dataclass(frozen=True)
class ChangePoint:
    """Where a camera's offset changed: between these two photos (EXIF times)."""

    after: dt.datetime
    before: dt.datetime
    from_s: float
    to_s: float


@dataclass(frozen=True)
class Segmentation:
    """A camera's photos split into segments of steady offset, and the photos that fit none."""

    segments: tuple[ClockSegment, ...]
    change_points: tuple[ChangePoint, ...]
    #: image id -> index of its segment; photos left out (outliers) are absent.
    member_of: dict[int, int]
    outliers: tuple[int, ...]


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _runs(points: Sequence[Point], tolerance_s: float, min_run: int) -> list[list[Point]]:
    """Consecutive photos of stable difference; lone disagreeing photos are left out."""
    runs: list[list[Point]] = []
    current: list[Point] = []
    index = 0
    while index < len(points):
        point = points[index]
        if not current:
            current = [point]
            index += 1
            continue
        reference = _median([p.difference_s for p in current])
        if abs(point.difference_s - reference) <= tolerance_s:
            current.append(point)
            index += 1
            continue
        ahead = points[index : index + min_run]
        steady = len(ahead) == min_run and all(
            abs(p.difference_s - point.difference_s) <= tolerance_s for p in ahead
        )
        if steady:
            runs.append(current)
            current = []
        else:
            index += 1  # an outlier: a misread strip, most likely
    if current:
        runs.append(current)
    long_enough = [run for run in runs if len(run) >= min_run]
    if not long_enough and runs:  # too few photos for any run: the longest stands alone
        long_enough = [max(runs, key=len)]
    return _merged(long_enough, tolerance_s)  # short runs (a misread first photo) are outliers


def _merged(runs: list[list[Point]], tolerance_s: float) -> list[list[Point]]:
    """Neighbouring runs with the same offset (split by outliers) joined."""
    merged: list[list[Point]] = []
    for run in runs:
        if merged:
            last = _median([p.difference_s for p in merged[-1]])
            if abs(_median([p.difference_s for p in run]) - last) <= tolerance_s:
                merged[-1] = merged[-1] + run
                continue
        merged.append(run)
    return merged


def find_segments(
    points: Sequence[Point], tolerance_s: float = 2.0, min_run: int = 2
) -> Segmentation:
    """Split one camera's compared photos into segments of steady offset.

    Args:
        points: The camera's photos with both times (any order).
        tolerance_s: Largest difference between two photos' offsets that still agree.
        min_run: Photos in a row that must agree on a new offset before it counts as a
            jump (fewer are outliers).

    Returns:
        The segments (the first open at its start, the last open at its end, each
        boundary at the first photo of the next segment), the change points between
        them, and the outliers.
    """
    ordered = sorted(points, key=lambda p: (p.exif, p.image_id))
    if not ordered:
        return Segmentation((), (), {}, ())
    runs = _runs(ordered, tolerance_s, max(1, min_run))
    if not runs:  # every photo disagreed with every other: keep them as one run
        runs = [ordered]
    segments: list[ClockSegment] = []
    changes: list[ChangePoint] = []
    member_of: dict[int, int] = {}
    for number, run in enumerate(runs):
        offset = _median([p.difference_s for p in run])
        start = None if number == 0 else run[0].exif
        end = None if number == len(runs) - 1 else runs[number + 1][0].exif
        agreeing = sum(abs(p.difference_s - offset) <= tolerance_s for p in run)
        segments.append(ClockSegment(start, end, offset, len(run), agreeing))
        member_of.update((p.image_id, number) for p in run)
        if number:
            previous = segments[number - 1]
            changes.append(
                ChangePoint(runs[number - 1][-1].exif, run[0].exif, previous.offset_s, offset)
            )
    outliers = tuple(p.image_id for p in ordered if p.image_id not in member_of)
    return Segmentation(tuple(segments), tuple(changes), member_of, outliers)


def segment_of(segments: Sequence[ClockSegment], when: dt.datetime) -> ClockSegment | None:
    """The segment an EXIF time falls in (None when none covers it)."""
    return next((s for s in segments if s.covers(when)), None)


def confidence(
    compared: int, agreement: float, high_photos: int, high: float, medium: float
) -> str:
    """``high``, ``medium``, ``low`` or ``none``: how far a camera's proposal can be trusted,
    from how many photos were compared and the share that agree with their segment."""
    if compared == 0:
        return "none"
    if compared >= high_photos and agreement >= high:
        return "high"
    if compared >= 2 and agreement >= medium:
        return "medium"
    return "low"
