"""Ingest a survey: discover, skip what is done, process in parallel, write per batch."""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from traptagger_lab.compute import map_unordered
from traptagger_lab.db.engine import chunks, transaction
from traptagger_lab.db.models import (
    Camera,
    Image,
    IngestIssue,
    Site,
    Survey,
    SurveySource,
    Video,
    path_digest,
)
from traptagger_lab.ingest.batch import BatchParams, process_batch
from traptagger_lab.ingest.discover import classify, is_excluded, kind_of, walk
from traptagger_lab.ingest.folders import Found
from traptagger_lab.ingest.layout import Layout, guess_cameras
from traptagger_lab.ingest.lock import stage_lock
from traptagger_lab.ingest.records import Failure, FailureReason, SourceFile
from traptagger_lab.ingest.sources import register_source
from traptagger_lab.ingest.writer import BatchCounts, SurveyWriter
from traptagger_lab.runs import close_abandoned, finish_run, outcome, start_run

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What one ingest run found and did."""

    survey: str
    run_id: int
    found: int = 0
    skipped: int = 0
    counts: BatchCounts = field(default_factory=BatchCounts)
    #: How files were given cameras (the pattern, or the first ingest's choice and why).
    cameras: str = ""

    @property
    def images(self) -> int:
        """Photos added by this run."""
        return self.counts.images

    @property
    def videos(self) -> int:
        """Videos added by this run."""
        return self.counts.videos

    @property
    def failures(self) -> dict[str, int]:
        """Files not imported by this run, by reason."""
        return dict(self.counts.failures)

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers, for JSON and the processing-run record."""
        return {
            "found": self.found,
            "skipped": self.skipped,
            "images": self.counts.images,
            "videos": self.counts.videos,
            "video_frames": self.counts.frames,
            "failures": dict(self.counts.failures),
            "cameras": self.cameras,
        }


def _done(
    session: Session, survey_id: int, source_id: int, paths: list[str]
) -> tuple[set[str], dict[str, int]]:
    """The paths already imported from this source (as photo or video) or known to be
    duplicates, and those the survey has from another source (with that source's id)."""
    done: set[str] = set()
    taken: dict[str, int] = {}
    by_digest = {path_digest(p): p for p in paths}
    for part in chunks(list(by_digest)):
        found: list[tuple[str, int | None]] = []
        for table in (Image, Video):
            found += session.execute(
                select(table.path_hash, table.source_id).where(
                    table.survey_id == survey_id, table.path_hash.in_(part)
                )
            ).all()
        found += session.execute(
            select(IngestIssue.path_hash, IngestIssue.source_id).where(
                IngestIssue.survey_id == survey_id,
                IngestIssue.reason == FailureReason.DUPLICATE.value,
                IngestIssue.path_hash.in_(part),
            )
        ).all()
        for digest, other in found:
            if other is None or other == source_id:
                done.add(by_digest[digest])
            else:
                taken[by_digest[digest]] = other
    return done, {path: other for path, other in taken.items() if path not in done}


def _taken(session: Session, files: Sequence[SourceFile], taken: dict[str, int]) -> list[Failure]:
    """A failure for each file whose path the survey already has from another source."""
    ids = set(taken.values())
    urls = dict(
        session.execute(
            select(SurveySource.id, SurveySource.url).where(SurveySource.id.in_(ids))
        ).all()
    )
    return [
        Failure(
            f.path,
            FailureReason.PATH_TAKEN,
            f"the survey already has a file at this path, from {urls.get(taken[f.path])}: "
            "ingest the sources' common folder instead, or rename one of the folders",
        )
        for f in files
        if f.path in taken
    ]


def _batches(files: Sequence[SourceFile], size: int) -> list[list[SourceFile]]:
    """Batches of about ``size`` files; a video counts as 20 photos of work."""
    batches: list[list[SourceFile]] = [[]]
    weight = 0
    for item in files:
        cost = 20 if item.kind == "video" else 1
        if batches[-1] and weight + cost > size:
            batches.append([])
            weight = 0
        batches[-1].append(item)
        weight += cost
    return [b for b in batches if b]


def _balanced_size(files: int, largest: int, client: Client | None) -> int:
    """A batch size that gives every worker several batches (no idle workers at the end)."""
    workers = len(client.scheduler_info().get("workers", {})) if client is not None else 1
    return min(largest, max(4, math.ceil(files / (max(1, workers) * 4))))


def _fill_site_coordinates(session: Session, survey_id: int) -> None:
    """Sites without coordinates take the median GPS position of their photos."""
    sites = session.scalars(
        select(Site).where(Site.survey_id == survey_id, Site.latitude.is_(None))
    ).all()
    for site in sites:
        points = session.execute(
            select(Image.latitude, Image.longitude, Image.altitude)
            .join(Camera, Camera.id == Image.camera_id)
            .where(Camera.site_id == site.id, Image.latitude.is_not(None))
            .limit(1000)
        ).all()
        located = [(lat, lon) for lat, lon, _ in points if lat is not None and lon is not None]
        if located:
            site.latitude = statistics.median(lat for lat, _ in located)
            site.longitude = statistics.median(lon for _, lon in located)
            altitudes = [alt for _, _, alt in points if alt is not None]
            site.altitude = statistics.median(altitudes) if altitudes else None


def ingest_survey(
    sessions: sessionmaker[Session],
    survey: Survey,
    params: BatchParams,
    layout: Layout,
    client: Client | None,
    exclude: Iterable[str] = (),
    batch_size: int = 64,
    wait_s: float = 0.0,
) -> IngestReport:
    """Import every new photo and video of ``params.source`` into ``survey``.

    Re-running adds only new files; files that failed before are tried again. The
    source is added to the survey's sources (a survey may have several). One ingest
    runs per survey at a time: another waits up to ``wait_s`` seconds for it.

    Raises:
        AlreadyRunningError: if another process is still ingesting into the survey.
    """
    engine = sessions.kw["bind"]
    what = f"an ingest of survey {survey.name!r}"
    with stage_lock(engine, survey.id, "ingest", what, wait_s):
        return _ingest_locked(sessions, survey, params, layout, client, tuple(exclude), batch_size)


def _ingest_locked(
    sessions: sessionmaker[Session],
    survey: Survey,
    params: BatchParams,
    layout: Layout,
    client: Client | None,
    exclude: tuple[str, ...],
    batch_size: int,
) -> IngestReport:
    """The ingest itself, run while holding the survey's ingest lock."""
    with transaction(sessions) as session:
        close_abandoned(session, survey.id, "ingest")  # under the lock: truly abandoned
        source_id = register_source(session, survey.id, params.source.url).id
        run = start_run(
            session,
            survey.id,
            "ingest",
            {
                "source": params.source.url,
                "site_pattern": layout.site.text,
                "camera_pattern": layout.camera_text,
                "exclude": list(exclude),
                "compressed_width": params.sizes.compressed_width,
                "thumbnail_width": params.sizes.thumbnail_width,
            },
        )
    report = IngestReport(survey=survey.name, run_id=run.id)
    writer = SurveyWriter(sessions, survey.id, run.id, source_id)
    try:
        found = list(walk(params.source))
        layout, report.cameras = _first_layout(sessions, survey.id, layout, found, exclude)
        wanted, unplaced = classify(found, layout, exclude)
        report.found = len(wanted) + len(unplaced)
        with sessions() as session:
            done, taken = _done(session, survey.id, source_id, [f.path for f in wanted + unplaced])
            unplaced += _taken(session, wanted, taken)
        wanted = [f for f in wanted if f.path not in taken]
        unplaced = [f for f in unplaced if f.path not in done]  # imported under an older pattern
        writer.record_failures(unplaced)
        report.counts.failures[FailureReason.NO_SITE.value] = 0
        for failure in unplaced:  # no site, a bad name or link, a special file, a taken path
            reason = failure.reason.value
            report.counts.failures[reason] = report.counts.failures.get(reason, 0) + 1
        todo = [f for f in wanted if f.path not in done]
        report.skipped = len(wanted) - len(todo)
        log.info("%s: %d files found, %d to import", survey.name, report.found, len(todo))
        _import(writer, report, todo, params, client, survey.name, batch_size)
        with transaction(sessions) as session:
            _fill_site_coordinates(session, survey.id)
    except BaseException as exc:
        finish_run(sessions, run.id, report.as_dict(), outcome(exc), repr(exc))
        raise
    finish_run(sessions, run.id, report.as_dict())
    return report


def _first_layout(
    sessions: sessionmaker[Session],
    survey_id: int,
    layout: Layout,
    found: list[Found],
    exclude: tuple[str, ...],
) -> tuple[Layout, str]:
    """On a survey's first ingest without a camera pattern, choose what a camera is
    (:func:`~traptagger_lab.ingest.layout.guess_cameras`) and store the choice."""
    if not layout.camera_is_default:
        return layout, f"camera pattern {layout.camera_text!r}"
    with sessions() as session:
        has_cameras = session.scalar(
            select(Camera.id)
            .join(Site, Site.id == Camera.site_id)
            .where(Site.survey_id == survey_id)
        )
    if has_cameras is not None:
        return layout, "one camera per folder holding photos (as the survey's earlier ingests)"
    paths = [
        item[0]
        for item in found
        if not isinstance(item, Failure) and kind_of(item[0]) and not is_excluded(item[0], exclude)
    ]
    chosen, why = guess_cameras(layout, paths)
    if chosen.camera_is_site:
        with transaction(sessions) as session:
            stored = session.get(Survey, survey_id)
            assert stored is not None
            stored.camera_pattern = chosen.camera_text
    log.info("cameras: %s", why)
    return chosen, why


def _import(
    writer: SurveyWriter,
    report: IngestReport,
    todo: list[SourceFile],
    params: BatchParams,
    client: Client | None,
    name: str,
    batch_size: int,
) -> None:
    """Process the files in batches on Dask and write each batch as it comes."""
    batches = _batches(todo, _balanced_size(len(todo), batch_size, client))
    # Batches finish in any order but are written in discovery order, so that of two
    # files with the same content the first by path is the original, every time.
    position = {id(batch): index for index, batch in enumerate(batches)}
    finished: dict[int, Any] = {}
    next_to_write = 0
    for batch, outcomes in map_unordered(
        client,
        process_batch,
        batches,
        params,
        description=f"ingest {name}",
        unit="file",
        weight=len,
    ):
        finished[position[id(batch)]] = outcomes
        while next_to_write in finished:
            report.counts.add(writer.write(finished.pop(next_to_write)))
            next_to_write += 1
