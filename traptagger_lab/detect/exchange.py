"""MegaDetector batch-output JSON to and from a survey's detections."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from traptagger_lab.db.engine import chunks
from traptagger_lab.db.models import Detection, DetectionPass, Image, Video, path_digest
from traptagger_lab.detect.infer import Box
from traptagger_lab.detect.mdjson import CATEGORIES, MdDetection, MdImage, from_json, to_json
from traptagger_lab.detect.run import ImageResult, write_results


def survey_to_md(
    session: Session, survey_id: int, model: str, thresholds: dict[str, float]
) -> dict[str, Any]:
    """The MD batch-output document of a survey's detections by ``model``.

    Photos are image entries; the stills of a video make one video entry with
    ``frame_rate``, ``frames_processed`` and a ``frame_number`` on every box
    (format 1.4+), as Timelapse expects.
    """
    passes = session.execute(
        select(
            Image.id,
            Image.path,
            Image.video_id,
            Image.frame_index,
            DetectionPass.status,
            DetectionPass.failure,
        )
        .join(DetectionPass, DetectionPass.image_id == Image.id)
        .where(Image.survey_id == survey_id, DetectionPass.model == model)
        .order_by(Image.path)
    ).all()
    boxes: dict[int, list[MdDetection]] = defaultdict(list)
    ids = [p[0] for p in passes]
    for part in chunks(ids):
        for det in session.scalars(
            select(Detection).where(Detection.image_id.in_(part), Detection.source == model)
        ):
            boxes[det.image_id].append(
                MdDetection(str(det.category), det.score, (det.x, det.y, det.w, det.h))
            )
    images: list[MdImage] = []
    videos: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for image_id, path, video_id, frame_index, status, failure in passes:
        if video_id is not None:
            videos[video_id].append((image_id, path, frame_index))
            continue
        ranked = tuple(sorted(boxes[image_id], key=lambda d: -d.conf))
        images.append(MdImage(path, ranked, failure if status == "failed" else None))
    document = to_json(images, model, thresholds)
    document["images"].extend(_video_entries(session, videos, boxes))
    return document


def _video_entries(
    session: Session,
    videos: dict[int, list[tuple[Any, ...]]],
    boxes: dict[int, list[MdDetection]],
) -> list[dict[str, Any]]:
    entries = []
    for video_id, stills in sorted(videos.items()):
        video = session.get(Video, video_id)
        if video is None:
            continue
        fps = video.fps or 1.0
        frames, detections = [], []
        for image_id, path, _ in sorted(stills, key=lambda s: s[2] or 0):
            seconds = float(path.rsplit("#t=", 1)[1]) if "#t=" in path else 0.0
            number = round(seconds * fps)
            frames.append(number)
            detections += [{**d.as_json(), "frame_number": number} for d in boxes[image_id]]
        entries.append(
            {
                "file": video.path,
                "frame_rate": fps,
                "frames_processed": frames,
                "detections": detections,
            }
        )
    return entries


@dataclass
class ImportReport:
    """What an import of MD JSON did."""

    images: int = 0
    detections: int = 0
    unknown_files: list[str] = field(default_factory=list)
    videos_skipped: int = 0
    #: Detections left out, each naming the file, the entry and the reason.
    problems: list[str] = field(default_factory=list)


def md_to_survey(
    session: Session, survey_id: int, document: Any, name: str, model: str | None
) -> ImportReport:
    """Store the detections of an MD batch-output document on the survey's images.

    Files that are not images of the survey are listed in ``unknown_files``;
    video entries are counted and skipped (their frames need not match our stills).
    """
    report = ImportReport()
    info, entries = from_json(document, name, report.problems)
    source = model or str(info.get("detector") or "imported")
    by_digest: dict[str, int] = {}
    digests = [path_digest(e.file) for e in entries]
    for part in chunks(digests):
        by_digest.update(
            session.execute(
                select(Image.path_hash, Image.id).where(
                    Image.survey_id == survey_id, Image.path_hash.in_(part)
                )
            ).all()
        )
    raw_entries = document["images"]
    results = []
    for entry, raw, digest in zip(entries, raw_entries, digests, strict=True):
        if "frame_rate" in raw or "frames_processed" in raw:
            report.videos_skipped += 1
            continue
        image_id = by_digest.get(digest)
        if image_id is None:
            report.unknown_files.append(entry.file)
            continue
        found = tuple(
            Box(int(d.category), d.conf, *d.bbox)
            for d in entry.detections
            if d.category in CATEGORIES
        )
        results.append(ImageResult(image_id, found, entry.failure))
    for part in chunks(results):
        report.detections += write_results(session, list(part), source, None)
    report.images = len(results)
    return report


def stored_model_name(session: Session, survey_id: int, wanted: str) -> str:
    """The detector's name as the survey's detection passes store it (``MDV5A`` may be stored
    as ``md_v5a.0.0.pt``'s stem): the case-insensitive match, the only model when there is
    one, else ``wanted`` as given."""
    from sqlalchemy import func

    names = session.execute(
        select(DetectionPass.model, func.count())
        .join(Image, Image.id == DetectionPass.image_id)
        .where(Image.survey_id == survey_id)
        .group_by(DetectionPass.model)
    ).all()
    stored = {name.upper(): name for name, _ in names}
    if wanted.upper() in stored:
        return str(stored[wanted.upper()])
    if len(names) == 1:
        return str(names[0][0])
    return wanted
