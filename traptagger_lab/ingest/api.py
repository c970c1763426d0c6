"""The ingest verbs as ``Lab`` offers them: import a source into a survey, where a survey's
files are, and site coordinates."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import select

from traptagger_lab.db.engine import transaction
from traptagger_lab.db.models import Camera, Site, Survey
from traptagger_lab.errors import InputFileError
from traptagger_lab.ingest.coordinates import CoordinateTable, read_coordinates
from traptagger_lab.ingest.discover import Source, classify, is_excluded, kind_of, walk
from traptagger_lab.ingest.layout import Layout, guess_cameras
from traptagger_lab.ingest.records import Failure
from traptagger_lab.ingest.sources import SurveySources, survey_sources
from traptagger_lab.surveys import SurveyRef, create_survey, find_survey
from traptagger_lab.workspace import Workspace

if TYPE_CHECKING:  # Dask loads when an ingest runs
    from distributed import Client

    from traptagger_lab.ingest.run import IngestReport

log = logging.getLogger(__name__)


def ingest(
    workspace: Workspace,
    source: str,
    survey: str,
    site_pattern: str | int | None = None,
    camera_pattern: str | int | None = None,
    exclude: Iterable[str] = (),
    client: Client | None = None,
    wait_s: float = 0.0,
) -> IngestReport:
    """Import the photos and videos under ``source`` (a folder or ``s3://bucket/prefix``).

    A survey may take files from several sources (each file remembers its own). One
    ingest runs per survey at a time.

    Args:
        source: Where the survey's files are.
        survey: Survey name; created if new.
        site_pattern: Regex over the relative path naming the site (first group or
            whole match), or ``folder:N`` / N for the N-th folder. Default: the top folder.
            Stored with the survey, so later runs reuse it.
        camera_pattern: Regex or ``folder:N`` naming the camera, or ``site`` for one camera
            per site. Default: the bottom folder, except on a first ingest whose folders
            below each site never share a file name (one camera's photos sorted by species
            or date, as camtrapR's layout): one camera per site then (the report's
            ``cameras`` says which, and why). Stored with the survey.
        exclude: Folder names to skip (folders starting with a dot are always skipped).
        client: A Dask client to use instead of the workspace's own.
        wait_s: How long to wait for another process's ingest of the survey to end.

    Returns:
        An :class:`~traptagger_lab.ingest.run.IngestReport`.

    Raises:
        AlreadyRunningError: if the survey is still being ingested by another process.
    """
    from traptagger_lab.ingest.batch import BatchParams
    from traptagger_lab.ingest.photos import DerivedSizes
    from traptagger_lab.ingest.run import ingest_survey
    from traptagger_lab.ingest.sources import normalise_url

    settings = workspace.settings
    row = create_survey(workspace, survey)
    site_pattern = site_pattern if site_pattern is not None else row.site_pattern
    camera_pattern = camera_pattern if camera_pattern is not None else row.camera_pattern
    layout = Layout.parse(site_pattern, camera_pattern)
    source_url = normalise_url(str(source))
    with transaction(workspace.sessions) as session:
        stored = session.get(Survey, row.id)
        assert stored is not None
        stored.source = stored.source or source_url  # the first; each file keeps its own
        stored.site_pattern = layout.site.text
        stored.camera_pattern = layout.camera_text
        row = stored
    params = BatchParams(
        source=Source(source_url, settings.fsspec_options(source_url)),
        store=workspace.store,
        sizes=DerivedSizes(
            compressed_width=settings.compressed_width,
            thumbnail_width=settings.thumbnail_width,
            quality=settings.jpeg_quality,
        ),
    )
    return ingest_survey(
        workspace.sessions,
        row,
        params,
        layout,
        client if client is not None else workspace.client,
        exclude=exclude,
        batch_size=settings.batch_size,
        wait_s=wait_s,
    )


@dataclass(frozen=True)
class IngestPreview:
    """What an ingest of a source would find, before anything is written."""

    #: One row per site and camera: site, camera, photos, videos.
    cameras: pd.DataFrame
    #: Files it would not import: path, reason, detail.
    unplaced: pd.DataFrame
    #: How files get their camera, and why.
    layout: str

    def __str__(self) -> str:
        sites = self.cameras["site"].nunique()
        lines = [
            f"{sites} site(s), {len(self.cameras)} camera(s), "
            f"{int(self.cameras['photos'].sum())} photo(s), "
            f"{int(self.cameras['videos'].sum())} video(s); {len(self.unplaced)} not placed",
            f"cameras: {self.layout}",
            self.cameras.to_string(index=False) if len(self.cameras) else "(no files found)",
        ]
        return "\n".join(lines)


def preview(
    workspace: Workspace,
    source: str,
    survey: str | None = None,
    site_pattern: str | int | None = None,
    camera_pattern: str | int | None = None,
    exclude: Iterable[str] = (),
) -> IngestPreview:
    """The sites, cameras and files an :func:`ingest` of ``source`` would find (a dry run:
    nothing is written), with the survey's stored patterns when it exists, and how each
    file would get its camera."""
    from traptagger_lab.ingest.sources import normalise_url

    stored_site = stored_camera = None
    has_cameras = False
    if survey is not None:
        with workspace.sessions() as session:
            row = session.scalars(select(Survey).where(Survey.name == survey)).first()
            if row is not None:
                stored_site, stored_camera = row.site_pattern, row.camera_pattern
                has_cameras = (
                    session.scalar(
                        select(Camera.id)
                        .join(Site, Site.id == Camera.site_id)
                        .where(Site.survey_id == row.id)
                    )
                    is not None
                )
    layout = Layout.parse(
        site_pattern if site_pattern is not None else stored_site,
        camera_pattern if camera_pattern is not None else stored_camera,
    )
    url = normalise_url(str(source))
    found = list(walk(Source(url, workspace.settings.fsspec_options(url))))
    exclude = tuple(exclude)
    if has_cameras and layout.camera_is_default:
        why = "one camera per folder holding photos (as the survey's earlier ingests)"
    else:
        paths = [
            item[0]
            for item in found
            if not isinstance(item, Failure)
            and kind_of(item[0])
            and not is_excluded(item[0], exclude)
        ]
        layout, why = guess_cameras(layout, paths)
    wanted, unplaced = classify(found, layout, exclude)
    rows = pd.DataFrame(
        [(f.site, f.camera, f.kind == "image", f.kind == "video") for f in wanted],
        columns=["site", "camera", "photos", "videos"],
    )
    table = rows.groupby(["site", "camera"], as_index=False)[["photos", "videos"]].sum()
    failures = pd.DataFrame(
        [(f.path, f.reason.value, f.detail) for f in unplaced], columns=["path", "reason", "detail"]
    )
    return IngestPreview(table, failures, why)


def sources(workspace: Workspace, survey: SurveyRef) -> SurveySources:
    """Where the survey's files are: each source's root, to read a file through
    ``sources.read(image.path, image.source_id)``."""
    with workspace.sessions() as session:
        row = find_survey(session, survey)
        return survey_sources(session, row.id, workspace.settings.fsspec_options)


def import_site_coordinates(workspace: Workspace, survey: SurveyRef, path: str) -> CoordinateTable:
    """Set site coordinates from a CSV (site, latitude, longitude[, altitude]) or KML file.

    Rows that cannot be read, and sites the survey does not have, are logged and
    returned in ``problems``; the other rows are applied and returned in ``coordinates``.
    """
    from fsspec.core import url_to_fs

    fs, fs_path = url_to_fs(path, **workspace.settings.fsspec_options(path))
    table = read_coordinates(fs.cat_file(fs_path), path)
    problems = list(table.problems)
    applied = []
    with transaction(workspace.sessions) as session:
        row = find_survey(session, survey)
        known = {s.name: s for s in session.scalars(select(Site).where(Site.survey_id == row.id))}
        for coordinate in table.coordinates:
            site = known.get(coordinate.site)
            if site is None:
                problems.append(
                    InputFileError(path, f"no site {coordinate.site!r} in {row.name!r}")
                )
                continue
            site.latitude = coordinate.latitude
            site.longitude = coordinate.longitude
            site.altitude = coordinate.altitude
            applied.append(coordinate)
    for problem in problems:
        log.warning("%s", problem)
    return CoordinateTable(applied, problems)
