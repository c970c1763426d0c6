"""Timestamp repair over a survey, as TrapTagger does it: read every photo's printed
date/time strip, compare it with EXIF per camera, propose offsets, fill missing times.

:func:`review_timestamps` OCRs the photos (on the Dask cluster when there is one):
first a few photos of each camera at both edges, to learn which edge its strip is on,
then the rest at that edge only. Each camera's date format is learnt by vote
(:func:`.formats.learn_format`), each reading resolved with it, and the strip-minus-EXIF
differences split into segments of steady offset (:func:`.offsets.find_segments`).
The :class:`TimestampReview` it returns holds a table per photo and a report per
camera (photos read, agreement, proposed offset or piecewise offsets with their change
points, confidence); photos without an EXIF time get their strip's time as a proposal.

:func:`apply_timestamps` applies the chosen proposals (``clock.apply_offset`` or
``clock.apply_offset_ranges``) and fills missing times, :func:`enter_times` fills
times a person typed (by image id or path); both re-cluster the survey when it was
clustered and record what changed as a ``timestamps`` run.

A filled photo's corrected time is the time given (the strip's, or the person's); its
``timestamp`` is that time less the offset its camera's photos have around then, so that
a later change of the camera's offset moves it with them. ``timestamp_source`` says
``ocr`` or ``entered``. An EXIF time is never overwritten.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import Field, InstanceOf
from sqlalchemy import select
from sqlalchemy.orm import Session

from traptagger_lab.clock import apply_offset, apply_offset_ranges, offset_in_effect
from traptagger_lab.compute import map_unordered
from traptagger_lab.db.engine import transaction
from traptagger_lab.db.models import Camera, Image, Site, path_digest
from traptagger_lab.errors import ConfigurationError, NotFoundError, TrapTaggerError
from traptagger_lab.ingest.api import sources
from traptagger_lab.ingest.sources import SurveySources
from traptagger_lab.params import StageParams
from traptagger_lab.runs import finish_run, outcome, start_run
from traptagger_lab.sequences import recluster_if_clustered
from traptagger_lab.surveys import SurveyRef, get_survey
from traptagger_lab.timestamps.ocr import (
    OcrParams,
    PhotoStrip,
    open_photo,
    read_images,
    require_tesseract,
)
from traptagger_lab.timestamps.review import (
    CameraPlan,
    RepairParams,
    SurveyPhoto,
    TimestampReview,
    build_review,
)
from traptagger_lab.timestamps.strip import Edge
from traptagger_lab.workspace import Workspace

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhotoJob:
    """One photo to read, and the edges to look at."""

    image_id: int
    path: str
    source_id: int | None
    edges: tuple[Edge, ...] = tuple(Edge)


class ReadParams(StageParams):
    """What an OCR task needs: where the photos are and how to read them."""

    source: InstanceOf[SurveySources] = Field(description="Where the survey's photos are.")
    ocr: OcrParams = Field(default_factory=OcrParams, description="How strips are OCRed.")


def read_batch(params: ReadParams, jobs: list[PhotoJob]) -> list[tuple[int, PhotoStrip]]:
    """The worker task: read a batch of photos' strips (one tesseract call for all).

    A photo that cannot be fetched or opened is read as ``unreadable``.
    """
    images = []
    for job in jobs:
        try:
            images.append(open_photo(params.source.read(job.path, job.source_id)))
        except (OSError, TrapTaggerError) as exc:
            log.warning("cannot read %s: %s", job.path, exc)
            images.append(None)
    strips = read_images(images, params.ocr, [job.edges for job in jobs])
    return [(job.image_id, strip) for job, strip in zip(jobs, strips, strict=True)]


def _photos(
    workspace: Workspace, survey_id: int, cameras: Iterable[str] | None
) -> list[SurveyPhoto]:
    query = (
        select(
            Image.id,
            Image.path,
            Image.source_id,
            Site.name,
            Camera.name,
            Camera.id,
            Image.timestamp,
            Image.timestamp_source,
            Camera.clock_offset_s,
        )
        .join(Camera, Camera.id == Image.camera_id)
        .join(Site, Site.id == Camera.site_id)
        .where(Image.survey_id == survey_id, Image.is_video_frame.is_(False))
        .order_by(Site.name, Camera.name, Image.path)
    )
    with workspace.sessions() as session:
        found = [
            # a time filled from the strip or by hand is no EXIF to compare the strip with
            SurveyPhoto(*row[:6], None if row[7] in FILLED else row[6], row[7], float(row[8] or 0))
            for row in session.execute(query)
        ]
    if cameras is None:
        return found
    wanted = set(cameras)
    return [p for p in found if p.key in wanted or p.camera in wanted]


def _chosen(photos: list[SurveyPhoto], params: RepairParams) -> list[SurveyPhoto]:
    """Photos to read: all without an EXIF time, up to ``per_camera`` with one, spread out."""
    if params.per_camera is None:
        return photos
    chosen: list[SurveyPhoto] = []
    for key in dict.fromkeys(p.key for p in photos):
        own = [p for p in photos if p.key == key]
        timed = [p for p in own if p.exif is not None]
        chosen += [p for p in own if p.exif is None] + _spread(timed, params.per_camera)
    return chosen


def _spread(items: Sequence[SurveyPhoto], count: int) -> list[SurveyPhoto]:
    if len(items) <= count:
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def _read(
    photos: list[SurveyPhoto], params: RepairParams, source: SurveySources, client: Client | None
) -> dict[int, PhotoStrip]:
    """OCR the photos: a sample per camera at both edges, then the rest at the learnt edge."""
    read_params = ReadParams(source=source, ocr=params.ocr)
    results: dict[int, PhotoStrip] = {}

    def run(jobs: list[PhotoJob], what: str) -> None:
        tasks = [
            jobs[i : i + params.photos_per_task]
            for i in range(0, len(jobs), params.photos_per_task)
        ]
        for _, done in map_unordered(
            client, read_batch, tasks, read_params, description=what, unit="photo", weight=len
        ):
            results.update(done)

    by_camera: dict[str, list[SurveyPhoto]] = {}
    for photo in photos:
        by_camera.setdefault(photo.key, []).append(photo)
    samples = {key: _spread(own, params.learn_photos) for key, own in by_camera.items()}
    run(
        [PhotoJob(p.image_id, p.path, p.source_id) for s in samples.values() for p in s],
        "strips: learn",
    )
    rest = []
    for key, own in by_camera.items():
        edges = [e for p in samples[key] if (e := results[p.image_id].edge) is not None]
        learnt = (max(Edge, key=edges.count),) if edges else tuple(Edge)  # ties: the top
        sampled = {p.image_id for p in samples[key]}
        rest += [
            PhotoJob(p.image_id, p.path, p.source_id, learnt)
            for p in own
            if p.image_id not in sampled
        ]
    run(rest, "strips: read")
    return results


def review_timestamps(
    workspace: Workspace,
    survey: SurveyRef,
    cameras: Iterable[str] | None = None,
    params: RepairParams | None = None,
    client: Client | None = None,
) -> TimestampReview:
    """Read the date/time strip printed on the survey's photos and compare it with EXIF.

    Args:
        survey: Survey name, id or object.
        cameras: Cameras to read (``SITE/CAMERA`` or a camera name); default all.
        params: How to read and compare (:class:`~.review.RepairParams`).
        client: A Dask client to use instead of the workspace's own (its workers need
            tesseract and pytesseract too).

    Returns:
        A :class:`~.review.TimestampReview`: ``.cameras`` (per camera: photos read,
        agreement, proposed offset or piecewise offsets with change points, confidence),
        ``.photos`` (per photo: EXIF and strip times, difference, failure) and
        ``.missing()`` (times proposed for photos without EXIF).

    Raises:
        ConfigurationError: when tesseract or pytesseract is not installed.
    """
    require_tesseract()
    params = params or RepairParams()
    cameras = list(cameras) if cameras is not None else None
    row = get_survey(workspace, survey)
    photos = _photos(workspace, row.id, cameras)
    if cameras is not None and not photos:
        raise NotFoundError(f"no photos of cameras {sorted(cameras)} in survey {row.name!r}")
    chosen = _chosen(photos, params)
    chosen_client = client if client is not None else workspace.client
    strips = _read(chosen, params, sources(workspace, row.id), chosen_client)
    return build_review(row.name, photos, strips, params)


@dataclass
class RepairReport:
    """What :func:`apply_timestamps` or :func:`enter_times` changed."""

    survey: str
    run_id: int
    #: Camera -> the offsets applied (one segment, or several for a clock that jumped).
    offsets: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    filled: int = 0
    #: Per photo whose corrected time changed: ``image_id``, ``path``, ``camera``,
    #: ``before``, ``after`` and ``how`` (``offset``, ``ocr`` or ``entered``).
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)

    def counts(self) -> dict[str, Any]:
        """The run's counts."""
        return {
            "cameras": len(self.offsets),
            "filled": self.filled,
            "changed": len(self.changes),
        }


def _times(session: Session, where: Any) -> dict[int, tuple[str, str, dt.datetime | None]]:
    query = (
        select(Image.id, Image.path, Site.name, Camera.name, Image.corrected_timestamp)
        .join(Camera, Camera.id == Image.camera_id)
        .join(Site, Site.id == Camera.site_id)
        .where(where)
    )
    return {r[0]: (r[1], f"{r[2]}/{r[3]}", r[4]) for r in session.execute(query)}


def _fill(session: Session, image: Image, when: dt.datetime, how: str) -> None:
    """Give a photo without an EXIF time the corrected time ``when`` (see the module)."""
    camera = session.get(Camera, image.camera_id)
    assert camera is not None
    offset = offset_in_effect(session, camera, when)
    image.timestamp = when - dt.timedelta(seconds=offset)
    image.corrected_timestamp = when
    image.timestamp_source = how


def _changes(
    before: Mapping[int, tuple[str, str, dt.datetime | None]],
    after: Mapping[int, tuple[str, str, dt.datetime | None]],
    how: Mapping[int, str],
) -> pd.DataFrame:
    rows = [
        {
            "image_id": image_id,
            "path": path,
            "camera": camera,
            "before": before.get(image_id, (path, camera, None))[2],
            "after": time,
            "how": how.get(image_id, "offset"),
        }
        for image_id, (path, camera, time) in after.items()
        if before.get(image_id, (path, camera, None))[2] != time
    ]
    return pd.DataFrame(rows, columns=["image_id", "path", "camera", "before", "after", "how"])


def apply_timestamps(
    workspace: Workspace,
    survey: SurveyRef,
    review: TimestampReview,
    cameras: Iterable[str] | None = None,
    min_confidence: str = "medium",
    fill_missing: bool = True,
) -> RepairReport:
    """Apply a review's proposals, then re-cluster the survey if it was clustered.

    Args:
        review: What :func:`review_timestamps` returned for this survey.
        cameras: The cameras (``SITE/CAMERA``) whose proposed offsets to apply, whatever
            their confidence; default every camera whose proposal would change it, at
            ``min_confidence`` (``low``, ``medium`` or ``high``) or above.
        fill_missing: Also give photos without an EXIF time the time read on their strip.

    Returns:
        A :class:`RepairReport`; the run (stage ``timestamps``) records the offsets and
        the times filled.
    """
    row = get_survey(workspace, survey)
    chosen = review.chosen(min_confidence)  # refuses an unknown grade
    if cameras is None:
        plans = chosen
    else:
        unknown = [c for c in cameras if c not in review.plans]
        if unknown:
            raise NotFoundError(f"the review has no camera {unknown[0]!r} (SITE/CAMERA)")
        plans = [review.plans[c] for c in cameras if review.plans[c].segments]
    missing = review.missing() if fill_missing else review.missing().iloc[:0]
    filled = {int(r.image_id): r.ocr_time.to_pydatetime() for r in missing.itertuples()}
    return _apply(workspace, row.id, row.name, plans, filled, "ocr")


def _apply(
    workspace: Workspace,
    survey_id: int,
    name: str,
    plans: Sequence[CameraPlan],
    times: Mapping[int, dt.datetime],
    how: str,
) -> RepairReport:
    """Offsets and filled times in one transaction, recorded as a run; then re-cluster."""
    report = RepairReport(name, 0)
    report.offsets = {p.camera: [s.as_dict() for s in p.segments] for p in plans}
    camera_ids = [p.camera_id for p in plans]
    touched = (Image.camera_id.in_(camera_ids) & Image.timestamp.is_not(None)) | Image.id.in_(
        list(times)
    )
    with transaction(workspace.sessions) as session:
        run = start_run(
            session,
            survey_id,
            "timestamps",
            {"offsets": report.offsets, how: {str(i): t.isoformat() for i, t in times.items()}},
        )
        report.run_id = run.id
        before = _times(session, touched)
    try:
        with transaction(workspace.sessions) as session:
            for plan in plans:
                camera = session.get(Camera, plan.camera_id)
                assert camera is not None
                if len(plan.segments) == 1:
                    apply_offset(session, camera, plan.segments[0].offset_s)
                else:
                    ranges = [(s.start, s.end, s.offset_s) for s in plan.segments]
                    apply_offset_ranges(session, camera, ranges)
            session.flush()
            report.filled = _fill_all(session, survey_id, times, how)
            after = _times(session, touched)
        report.changes = _changes(before, after, {i: how for i in times})
        recluster_if_clustered(workspace.sessions, survey_id)
    except BaseException as exc:
        finish_run(workspace.sessions, run.id, report.counts(), outcome(exc), repr(exc))
        raise
    finish_run(workspace.sessions, run.id, report.counts())
    return report


def _fill_all(session: Session, survey_id: int, times: Mapping[int, dt.datetime], how: str) -> int:
    count = 0
    for image_id, when in sorted(times.items(), key=lambda item: item[1]):
        image = session.get(Image, image_id)
        if image is None or image.survey_id != survey_id:
            raise NotFoundError(f"no image {image_id} in this survey")
        if image.timestamp is not None and image.timestamp_source not in FILLED:
            continue  # an EXIF time is never overwritten
        if how == "ocr" and image.timestamp_source == "entered":
            continue  # nor a time a person gave
        _fill(session, image, when, how)
        count += 1
    return count


def enter_times(
    workspace: Workspace,
    survey: SurveyRef,
    times: Mapping[int | str, dt.datetime | str],
) -> RepairReport:
    """Give photos that have no capture time the times a person read or knows.

    Args:
        times: Image id or path (relative to its source, as ``lab.images`` shows it) ->
            the photo's time (a datetime or ISO text), the time it was really taken.

    Returns:
        A :class:`RepairReport` (``how`` is ``entered``); the survey is re-clustered if
        it was clustered.

    Raises:
        NotFoundError: for an image the survey does not have.
        ConfigurationError: for a photo that has an EXIF time (correct its camera's clock
            with ``correct_clock`` instead).
    """
    row = get_survey(workspace, survey)
    resolved: dict[int, dt.datetime] = {}
    with workspace.sessions() as session:
        for ref, when in times.items():
            image = _image(session, row.id, ref)
            if image.timestamp is not None and image.timestamp_source not in FILLED:
                raise ConfigurationError(
                    f"{image.path} has an EXIF time ({image.timestamp}); correct its "
                    "camera's clock (correct_clock) instead"
                )
            resolved[image.id] = dt.datetime.fromisoformat(when) if isinstance(when, str) else when
    return _apply(workspace, row.id, row.name, [], resolved, "entered")


#: Timestamp sources of times this module filled in (they may be filled again).
FILLED = ("ocr", "entered")


def _image(session: Session, survey_id: int, ref: int | str) -> Image:
    if isinstance(ref, int):
        image = session.get(Image, ref)
        image = image if image is not None and image.survey_id == survey_id else None
    else:
        image = session.scalar(
            select(Image).where(Image.survey_id == survey_id, Image.path_hash == path_digest(ref))
        )
    if image is None:
        raise NotFoundError(f"no image {ref!r} in this survey")
    return image
