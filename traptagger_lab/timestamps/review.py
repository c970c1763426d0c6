"""A survey's strip readings turned into proposals: a table per photo, a report per camera
(pure: records in, DataFrames out; :mod:`.repair` reads the photos and applies).

Per camera: the date format is learnt by vote (:func:`.formats.learn_format`), each
reading resolved with it, the strip-minus-EXIF differences split into segments of
steady offset (:func:`.offsets.find_segments`), and the proposal graded by how many
photos were compared and the share that agree (:func:`.offsets.confidence`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from pydantic import Field

from traptagger_lab.errors import ConfigurationError
from traptagger_lab.params import StageParams
from traptagger_lab.timestamps.formats import DateOrder, StripFormat, learn_format, resolve
from traptagger_lab.timestamps.ocr import OcrParams, PhotoStrip
from traptagger_lab.timestamps.offsets import (
    ClockSegment,
    Point,
    Segmentation,
    confidence,
    find_segments,
)

#: Confidence grades, weakest first.
GRADES = ("none", "low", "medium", "high")


class RepairParams(StageParams):
    """How strips are read and how their times become proposals."""

    ocr: OcrParams = Field(default_factory=OcrParams, description="How strips are OCRed.")
    tolerance_s: float = Field(
        default=2.0,
        ge=0,
        description="Largest gap between a photo's strip-minus-EXIF difference and its "
        "segment's offset that still agrees (seconds; a camera that prints no seconds "
        "gets a minute more).",
    )
    min_run: int = Field(
        default=2,
        ge=1,
        description="Photos in a row that must agree on a new offset before a clock jump "
        "is reported (fewer are misreads).",
    )
    learn_photos: int = Field(
        default=6,
        ge=1,
        description="Photos per camera read at both edges to learn where its strip is.",
    )
    per_camera: int | None = Field(
        default=None,
        ge=1,
        description="Most photos with an EXIF time read per camera (None: all); photos "
        "without one are always read.",
    )
    photos_per_task: int = Field(
        default=16, ge=1, description="Photos per OCR task (one tesseract call reads them)."
    )
    default_order: DateOrder = Field(
        default=DateOrder.MDY,
        description="Date order of a camera whose dates read both ways and whose photos "
        "have no EXIF to tell (month first, as US-made cameras print).",
    )
    high_photos: int = Field(
        default=5, ge=1, description="Photos compared for a proposal of high confidence."
    )
    high_agreement: float = Field(
        default=0.9, ge=0, le=1, description="Share agreeing for high confidence (0..1)."
    )
    medium_agreement: float = Field(
        default=0.6, ge=0, le=1, description="Share agreeing for medium confidence (0..1)."
    )


@dataclass(frozen=True)
class SurveyPhoto:
    """A survey photo as the review needs it."""

    image_id: int
    path: str
    source_id: int | None
    site: str
    camera: str
    camera_id: int
    exif: dt.datetime | None
    source: str | None
    offset_s: float

    @property
    def key(self) -> str:
        """The camera as ``SITE/CAMERA``."""
        return f"{self.site}/{self.camera}"


@dataclass(frozen=True)
class CameraPlan:
    """What the review proposes for one camera."""

    camera: str
    camera_id: int
    current_offset_s: float
    format: StripFormat | None
    segmentation: Segmentation
    compared: int
    agreement: float
    confidence: str
    tolerance_s: float

    @property
    def segments(self) -> tuple[ClockSegment, ...]:
        """The proposed offsets: one segment, or several where the clock jumped."""
        return self.segmentation.segments

    @property
    def needs_change(self) -> bool:
        """Whether applying the proposal would change the camera's corrected times."""
        if not self.segments:
            return False
        if len(self.segments) > 1:
            return True
        return abs(self.segments[0].offset_s - self.current_offset_s) > self.tolerance_s


@dataclass
class TimestampReview:
    """A survey's strips read and compared with EXIF: what :func:`.repair.apply_timestamps`
    takes. ``photos`` has a row per photo, ``cameras`` a row per camera."""

    survey: str
    photos: pd.DataFrame
    cameras: pd.DataFrame
    plans: dict[str, CameraPlan]

    def missing(self) -> pd.DataFrame:
        """Photos without an EXIF time whose strip was read: the times proposed for them
        (a photo whose time a person entered is left out)."""
        photos = self.photos
        entered = photos.timestamp_source.eq("entered")
        rows = photos[photos.exif_time.isna() & photos.ocr_time.notna() & ~entered]
        return rows[["image_id", "path", "camera", "ocr_time"]].reset_index(drop=True)

    def summary(self, min_confidence: str = "medium") -> pd.DataFrame:
        """The camera report in short, for a terminal: photos read of all, agreement,
        the proposed offset(s), change points, confidence, and what applying at
        ``min_confidence`` would do (``apply``, ``keep`` or ``check``: too unsure)."""
        chosen = {plan.camera for plan in self.chosen(min_confidence)}
        rows = []
        for row in self.cameras.itertuples():
            plan = self.plans[str(row.camera)]
            action = "apply" if plan.camera in chosen else "keep"
            if plan.needs_change and plan.camera not in chosen:
                action = "check"
            rows.append(
                {
                    "camera": row.camera,
                    "read": f"{row.read}/{row.photos}",
                    "agreement": "" if math.isnan(float(row.agreement)) else f"{row.agreement:.0%}",
                    "offsets": row.offsets,
                    "change points": "; ".join(row.change_points),
                    "no EXIF": row.without_exif,
                    "confidence": row.confidence,
                    "action": action,
                }
            )
        return pd.DataFrame(rows)

    def chosen(self, min_confidence: str = "medium") -> list[CameraPlan]:
        """The plans that would change a camera, at ``min_confidence`` or above."""
        if min_confidence not in GRADES[1:]:
            raise ConfigurationError(
                f"min_confidence must be one of {', '.join(GRADES[1:])}, not {min_confidence!r}"
            )
        floor = GRADES.index(min_confidence)
        return [
            plan
            for plan in self.plans.values()
            if plan.needs_change and GRADES.index(plan.confidence) >= floor
        ]


def _difference(ocr: dt.datetime, exif: dt.datetime, seconds: bool) -> float:
    """Strip minus EXIF (seconds); to the minute for a camera that prints none."""
    if not seconds:
        exif = exif.replace(second=0, microsecond=0)
    return (ocr - exif).total_seconds()


def _failure(strip: PhotoStrip | None, resolved: dt.datetime | None) -> str | None:
    if strip is None:
        return "not_read"
    if strip.failure is not None:
        return strip.failure.value
    return "ambiguous" if resolved is None else None


def _camera(
    key: str,
    photos: Sequence[SurveyPhoto],
    strips: Mapping[int, PhotoStrip],
    params: RepairParams,
) -> tuple[CameraPlan, list[dict[str, object]], dict[str, object]]:
    """One camera's plan, its photos' rows and its report row."""
    read = [(p, strips[p.image_id]) for p in photos if p.image_id in strips]
    with_reading = [(p, s) for p, s in read if s.reading is not None]
    fmt = learn_format(
        [s.reading for _, s in with_reading if s.reading is not None],
        [p.exif for p, _ in with_reading],
        params.default_order,
    )
    seconds = fmt.seconds if fmt is not None else True
    tolerance = params.tolerance_s + (0 if seconds else 60)
    times: dict[int, dt.datetime | None] = {
        p.image_id: resolve(s.reading, fmt) if s.reading is not None and fmt else None
        for p, s in read
    }
    points = [
        Point(p.image_id, p.exif, _difference(t, p.exif, seconds))
        for p in photos
        if p.exif is not None and (t := times.get(p.image_id)) is not None
    ]
    split = find_segments(points, tolerance, params.min_run)
    agreeing = sum(s.agreeing for s in split.segments)
    agreement = agreeing / len(points) if points else math.nan
    grade = confidence(
        len(points),
        agreement if points else 0.0,
        params.high_photos,
        params.high_agreement,
        params.medium_agreement,
    )
    plan = CameraPlan(
        key,
        photos[0].camera_id,
        photos[0].offset_s,
        fmt,
        split,
        len(points),
        agreement,
        grade,
        tolerance,
    )
    differences = {p.image_id: p.difference_s for p in points}
    rows = []
    for photo in photos:
        strip = strips.get(photo.image_id)
        when = times.get(photo.image_id)
        number = split.member_of.get(photo.image_id)
        segment = split.segments[number] if number is not None else None
        rows.append(
            {
                "image_id": photo.image_id,
                "path": photo.path,
                "site": photo.site,
                "camera": key,
                "exif_time": photo.exif,
                "timestamp_source": photo.source,
                "edge": strip.edge.value if strip is not None and strip.edge else None,
                "ocr_text": strip.text if strip is not None else "",
                "votes": strip.votes if strip is not None else 0,
                "ocr_time": when,
                "difference_s": differences.get(photo.image_id, math.nan),
                "segment": number,
                "agrees": (
                    None
                    if segment is None
                    else abs(differences[photo.image_id] - segment.offset_s) <= tolerance
                ),
                "failure": _failure(strip, when),
            }
        )
    return plan, rows, _report_row(plan, photos, read, times)


def _describe(segment: ClockSegment) -> str:
    start = segment.start.isoformat(sep=" ") if segment.start else "start"
    end = segment.end.isoformat(sep=" ") if segment.end else "end"
    return f"{segment.offset_s:+.0f} s ({start} .. {end}, {segment.photos} photos)"


def _report_row(
    plan: CameraPlan,
    photos: Sequence[SurveyPhoto],
    read: Sequence[tuple[SurveyPhoto, PhotoStrip]],
    times: Mapping[int, dt.datetime | None],
) -> dict[str, object]:
    edges = Counter(s.edge.value for _, s in read if s.edge is not None and s.reading is not None)
    fmt = plan.format
    segments = plan.segments
    return {
        "camera": plan.camera,
        "photos": len(photos),
        "without_exif": sum(p.exif is None for p in photos),
        "read": sum(t is not None for t in times.values()),
        "compared": plan.compared,
        "agreement": plan.agreement,
        "offset_s": segments[0].offset_s if len(segments) == 1 else math.nan,
        "segments": len(segments),
        "offsets": "; ".join(_describe(s) for s in segments),
        "change_points": [
            f"{c.after.isoformat(sep=' ')} .. {c.before.isoformat(sep=' ')}: "
            f"{c.from_s:+.0f} s -> {c.to_s:+.0f} s"
            for c in plan.segmentation.change_points
        ],
        "outliers": len(plan.segmentation.outliers),
        "confidence": plan.confidence,
        "current_offset_s": plan.current_offset_s,
        "needs_change": plan.needs_change,
        "edge": edges.most_common(1)[0][0] if edges else None,
        "date_order": fmt.order.value if fmt else None,
        "order_from": fmt.order_from if fmt else None,
        "twelve_hour": fmt.twelve_hour if fmt else None,
        "seconds": fmt.seconds if fmt else None,
    }


def build_review(
    survey: str,
    photos: Sequence[SurveyPhoto],
    strips: Mapping[int, PhotoStrip],
    params: RepairParams,
) -> TimestampReview:
    """The review of a survey from its photos and what OCR read on them (``strips`` by
    image id; a photo absent from it was not read)."""
    by_camera: dict[str, list[SurveyPhoto]] = {}
    for photo in photos:
        by_camera.setdefault(photo.key, []).append(photo)
    plans, photo_rows, camera_rows = {}, [], []
    for key, own in by_camera.items():
        plan, rows, report = _camera(key, own, strips, params)
        plans[key] = plan
        photo_rows += rows
        camera_rows.append(report)
    photo_table = pd.DataFrame(photo_rows, columns=_PHOTO_COLUMNS)
    for column in ("exif_time", "ocr_time"):
        photo_table[column] = pd.to_datetime(photo_table[column])
    return TimestampReview(
        survey, photo_table, pd.DataFrame(camera_rows, columns=_CAMERA_COLUMNS), plans
    )


_PHOTO_COLUMNS = [
    "image_id", "path", "site", "camera", "exif_time", "timestamp_source", "edge", "ocr_text",
    "votes", "ocr_time", "difference_s", "segment", "agrees", "failure",
]  # fmt: skip
_CAMERA_COLUMNS = [
    "camera", "photos", "without_exif", "read", "compared", "agreement", "offset_s", "segments",
    "offsets", "change_points", "outliers", "confidence", "current_offset_s", "needs_change",
    "edge", "date_order", "order_from", "twelve_hour", "seconds",
]  # fmt: skip
