"""Write ingest outcomes to the database: one transaction per batch.

A batch is written whole or not at all, so a run killed at any moment leaves
no half-imported files; the next run skips every path already written.
Duplicates (same content hash, metadata ignored) are recorded as issues
pointing at the copy that was kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from traptagger_lab.db.engine import chunks, transaction
from traptagger_lab.db.models import (
    Camera,
    Image,
    IngestIssue,
    Site,
    Video,
    path_digest,
    utcnow,
)
from traptagger_lab.ingest.metadata import json_safe
from traptagger_lab.ingest.records import (
    Failure,
    FailureReason,
    Outcome,
    PhotoRecord,
    VideoRecord,
)


def _shift(value: dt.datetime | None, offset_s: float) -> dt.datetime | None:
    return value + dt.timedelta(seconds=offset_s) if value is not None else None


@dataclass
class BatchCounts:
    """What one batch added."""

    images: int = 0
    videos: int = 0
    frames: int = 0
    failures: dict[str, int] = field(default_factory=dict)

    def add(self, other: BatchCounts) -> None:
        """Accumulate another batch's counts."""
        self.images += other.images
        self.videos += other.videos
        self.frames += other.frames
        for reason, count in other.failures.items():
            self.failures[reason] = self.failures.get(reason, 0) + count


@dataclass
class SurveyWriter:
    """Writes a survey's ingest outcomes, creating sites and cameras as it meets them."""

    sessions: sessionmaker[Session]
    survey_id: int
    run_id: int | None = None
    source_id: int | None = None
    _cameras: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)

    def _camera(self, session: Session, site: str, camera: str) -> tuple[int, float]:
        key = (site, camera)
        if key not in self._cameras:
            site_row = session.scalar(
                select(Site).where(Site.survey_id == self.survey_id, Site.name == site)
            )
            if site_row is None:
                site_row = Site(survey_id=self.survey_id, name=site)
                session.add(site_row)
                session.flush()
            cam = session.scalar(
                select(Camera).where(Camera.site_id == site_row.id, Camera.name == camera)
            )
            if cam is None:
                cam = Camera(site_id=site_row.id, name=camera, clock_offset_s=0.0)
                session.add(cam)
                session.flush()
            self._cameras[key] = (cam.id, cam.clock_offset_s)
        return self._cameras[key]

    def write(self, outcomes: Sequence[Outcome]) -> BatchCounts:
        """Write one batch in one transaction; returns what it added."""
        try:
            with transaction(self.sessions) as session:
                return self._write(session, outcomes)
        except Exception:
            self._cameras.clear()  # ids created in the rolled-back transaction are gone
            raise

    def _write(self, session: Session, outcomes: Sequence[Outcome]) -> BatchCounts:
        counts = BatchCounts()
        failures = [o for o in outcomes if isinstance(o, Failure)]
        photos = [o for o in outcomes if isinstance(o, PhotoRecord)]
        videos = [o for o in outcomes if isinstance(o, VideoRecord)]
        kept_photos, photo_dupes = self._deduplicate(session, photos, Image, "image")
        kept_videos, video_dupes = self._deduplicate(session, videos, Video, "video")
        failures += photo_dupes + video_dupes
        self._clear_issues(session, [o.path for o in outcomes])
        rows = [self._image_row(session, photo, None) for photo in kept_photos]
        if rows:
            session.execute(insert(Image), rows)
        counts.images = len(rows)
        for video in kept_videos:
            camera_id, _offset = self._camera(session, video.site, video.camera)
            row = Video(
                survey_id=self.survey_id,
                camera_id=camera_id,
                path=video.path,
                path_hash=path_digest(video.path),
                hash=video.hash,
                timestamp=video.timestamp,
                timestamp_source=video.timestamp_source,
                duration_s=video.duration_s,
                fps=video.fps,
                width=video.width,
                height=video.height,
                size_bytes=video.size_bytes,
                run_id=self.run_id,
                source_id=self.source_id,
            )
            session.add(row)
            session.flush()
            frames = [self._image_row(session, frame, row.id) for frame in video.frames]
            if frames:
                session.execute(insert(Image), frames)
            counts.videos += 1
            counts.frames += len(frames)
        self._insert_failures(session, failures)
        for failure in failures:
            counts.failures[failure.reason.value] = counts.failures.get(failure.reason.value, 0) + 1
        return counts

    def _image_row(
        self, session: Session, photo: PhotoRecord, video_id: int | None
    ) -> dict[str, Any]:
        camera_id, offset = self._camera(session, photo.site, photo.camera)
        return {
            "survey_id": self.survey_id,
            "camera_id": camera_id,
            "path": photo.path,
            "path_hash": path_digest(photo.path),
            "hash": photo.hash,
            "size_bytes": photo.size_bytes,
            "width": photo.width,
            "height": photo.height,
            "timestamp": photo.timestamp,
            "timestamp_source": photo.timestamp_source,
            "corrected_timestamp": _shift(photo.timestamp, offset),
            "latitude": photo.latitude,
            "longitude": photo.longitude,
            "altitude": photo.altitude,
            "make": photo.make,
            "model": photo.model,
            "metadata_extra": json_safe(photo.extra) if photo.extra else None,
            "compressed_key": photo.derived.compressed_key,
            "thumbnail_key": photo.derived.thumbnail_key,
            "is_video_frame": video_id is not None,
            "video_id": video_id,
            "frame_index": photo.frame_index,
            "run_id": self.run_id,
            "source_id": self.source_id,
        }

    def _deduplicate(
        self, session: Session, records: list[Any], table: type[Image] | type[Video], what: str
    ) -> tuple[list[Any], list[Failure]]:
        """Keep the first record of each content hash; report the rest as duplicates."""
        if not records:
            return [], []
        hashes = sorted({r.hash for r in records})
        known: dict[str, str] = {}
        for part in chunks(hashes):
            query = select(table.hash, table.path).where(
                table.survey_id == self.survey_id, table.hash.in_(part)
            )
            if table is Image:
                query = query.where(Image.is_video_frame.is_(False))
            known.update({h: p for h, p in session.execute(query)})
        kept, dupes = [], []
        for record in records:
            original = known.get(record.hash)
            if original is not None and original != record.path:
                dupes.append(
                    Failure(
                        record.path,
                        FailureReason.DUPLICATE,
                        f"same {what} content as {original}",
                        duplicate_of=original,
                    )
                )
                continue
            known[record.hash] = record.path
            kept.append(record)
        return kept, dupes

    def _clear_issues(self, session: Session, paths: list[str]) -> None:
        for part in chunks([path_digest(p) for p in paths]):
            session.execute(
                delete(IngestIssue).where(
                    IngestIssue.survey_id == self.survey_id, IngestIssue.path_hash.in_(part)
                )
            )

    def record_failures(self, failures: Sequence[Failure]) -> None:
        """Replace the recorded issue of each path with this run's reason (own transaction)."""
        with transaction(self.sessions) as session:
            self._clear_issues(session, [f.path for f in failures])
            self._insert_failures(session, failures)

    def _insert_failures(self, session: Session, failures: Sequence[Failure]) -> None:
        # Two files can share a path as text (a name that is not UTF-8 and one that spells
        # its printable form): the path's issue is the first file's.
        failures = list({path_digest(f.path): f for f in reversed(failures)}.values())
        if not failures:
            return
        session.execute(
            insert(IngestIssue),
            [
                {
                    "survey_id": self.survey_id,
                    "path": f.path,
                    "path_hash": path_digest(f.path),
                    "reason": f.reason.value,
                    "detail": f.detail,
                    "duplicate_of": f.duplicate_of,
                    "run_id": self.run_id,
                    "created_at": utcnow(),
                    "source_id": self.source_id,
                }
                for f in failures
            ],
        )
