"""A survey's deployments in the database: import a station table (camtrapR's camera-trap
table or Camtrap DP's ``deployments.csv``), read them as DataFrames, edit or remove one.

Stations are the survey's sites, matched case-folded; a row naming a station (or, in a
camtrapR table with a camera column, a camera) the survey does not have is reported with
the file, the row and the names it has, and the other rows are imported. So is a row whose
period overlaps another deployment of its camera (a station-wide deployment covers every
camera of the station). Importing a file again replaces the rows that file gave before.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from traptagger_lab.db.engine import chunks, transaction
from traptagger_lab.db.models import Camera, Deployment, DeploymentProblem, Site
from traptagger_lab.deployments.camtrap_dp import is_camtrap_dp, read_camtrap_dp
from traptagger_lab.deployments.camtrapr import read_camtrapr
from traptagger_lab.deployments.dates import Moment
from traptagger_lab.deployments.rows import (
    DeploymentImport,
    DeploymentRow,
    ProblemRow,
    format_problems,
)
from traptagger_lab.errors import InputFileError
from traptagger_lab.exports.fields import FieldError, RecordError, decode_text
from traptagger_lab.surveys import SurveyRef, find_survey
from traptagger_lab.workspace import Workspace

log = logging.getLogger(__name__)

#: The columns of :func:`deployments`.
COLUMNS = [
    "deployment_id", "station", "camera", "setup", "setup_time_known", "retrieval",
    "retrieval_time_known", "problems", "latitude", "longitude", "x", "y", "crs",
    "camera_height", "bait", "habitat", "feature_type", "covariates", "name", "source_file",
    "source_row",
]  # fmt: skip
#: The columns of :func:`deployment_problems`.
PROBLEM_COLUMNS = [
    "deployment_id", "station", "camera", "start", "start_time_known", "end", "end_time_known",
    "reason",
]  # fmt: skip

#: The longest text each text field of a deployment holds (the database columns').
LIMITS = {"name": 200, "crs": 64, "bait": 200, "feature_type": 100}


@dataclass(frozen=True)
class Place:
    """Where a deployment is: its site (and camera, None for the whole station)."""

    site_id: int
    camera_id: int | None
    station: str
    camera: str | None


def read_table_file(workspace: Workspace, path: str) -> tuple[str, str]:
    """(text, name) of a table file, local or remote; a folder means its ``deployments.csv``
    (a Camtrap DP package)."""
    from fsspec.core import url_to_fs

    fs, fs_path = url_to_fs(path, **workspace.settings.fsspec_options(path))
    name = path
    if fs.isdir(fs_path):
        fs_path = fs_path.rstrip("/") + "/deployments.csv"
        name = path.rstrip("/") + "/deployments.csv"
    try:
        data = fs.cat_file(fs_path)
    except FileNotFoundError:
        raise InputFileError(name, "does not exist") from None
    return decode_text(data, name), name


def source_key(name: str) -> str:
    """How a file is remembered as a source (a local file by its absolute path)."""
    return name if "://" in name else str(Path(name).resolve())


def places(
    session: Session, survey_id: int
) -> tuple[dict[str, Site], dict[tuple[int, str], Camera]]:
    """The survey's sites by case-folded name and cameras by (site id, case-folded name)."""
    sites = {
        s.name.casefold(): s
        for s in session.scalars(select(Site).where(Site.survey_id == survey_id))
    }
    cameras = {
        (c.site_id, c.name.casefold()): c
        for c in session.scalars(
            select(Camera).join(Site, Site.id == Camera.site_id).where(Site.survey_id == survey_id)
        )
    }
    return sites, cameras


def resolve(
    row: DeploymentRow,
    sites: dict[str, Site],
    cameras: dict[tuple[int, str], Camera],
    survey: str,
    strict_camera: bool,
) -> Place:
    """The site and camera a row names, its text fields checked for length.

    Raises:
        FieldError: for a station (or, with ``strict_camera``, a camera) the survey lacks,
            or a text too long.
    """
    for field, limit in LIMITS.items():
        value = getattr(row, field)
        if isinstance(value, str) and len(value) > limit:
            raise FieldError(field, f"is {len(value)} characters long; at most {limit}")
    return locate(row.station, row.camera, sites, cameras, survey, strict_camera)


def locate(
    station: str,
    camera: str | None,
    sites: dict[str, Site],
    cameras: dict[tuple[int, str], Camera],
    survey: str,
    strict_camera: bool = True,
) -> Place:
    """The site and camera of a station and camera name (case-folded).

    Raises:
        FieldError: for a station (or, with ``strict_camera``, a camera) the survey lacks.
    """
    site = sites.get(station.casefold())
    if site is None:
        known = sorted(s.name for s in sites.values())
        raise FieldError(
            "station", f"no station {station!r} in survey {survey!r}; stations: {known}"
        )
    if camera is None:
        return Place(site.id, None, site.name, None)
    found = cameras.get((site.id, camera.casefold()))
    if found is None:
        if not strict_camera:
            return Place(site.id, None, site.name, None)
        known = sorted(c.name for (s, _), c in cameras.items() if s == site.id)
        raise FieldError(
            "camera", f"no camera {camera!r} at station {site.name!r}; cameras: {known}"
        )
    return Place(site.id, found.id, site.name, found.name)


def effort_span(setup: Moment, retrieval: Moment) -> tuple[dt.datetime, dt.datetime]:
    """The period effort counts (a date alone stands for noon, as in camtrapR)."""
    noon = dt.timedelta(hours=12)
    return (
        setup.when if setup.time_known else setup.first_moment + noon,
        retrieval.when if retrieval.time_known else retrieval.first_moment + noon,
    )


def _clash(a: Place, b: Place) -> bool:
    same_camera = a.camera_id is None or b.camera_id is None or a.camera_id == b.camera_id
    return a.site_id == b.site_id and same_camera


def without_overlaps(
    placed: list[tuple[DeploymentRow, Place]],
    existing: Sequence[tuple[Place, dt.datetime, dt.datetime, str]],
    name: str,
) -> tuple[list[tuple[DeploymentRow, Place]], list[InputFileError]]:
    """The rows whose period overlaps no other deployment of their camera, and an error for
    each that does (the later row of two in the file)."""
    kept: list[tuple[DeploymentRow, Place]] = []
    taken = list(existing)
    problems: list[InputFileError] = []
    for row, place in placed:
        start, end = effort_span(row.setup, row.retrieval)
        other = next(
            (label for p, s, e, label in taken if _clash(p, place) and s < end and start < e),
            None,
        )
        if other is not None:
            problems.append(
                RecordError(name, f"overlaps the deployment of {other}", row.row, field="setup")
            )
            continue
        where = place.station + (f"/{place.camera}" if place.camera else "")
        taken.append((place, start, end, f"{where} in row {row.row}"))
        kept.append((row, place))
    return kept, problems


def stored_periods(
    session: Session, survey_id: int, key: str | None = None, but: int | None = None
) -> list[tuple[Place, dt.datetime, dt.datetime, str]]:
    """Deployments of the survey that came from other files than ``key`` (or from edits),
    less the deployment ``but``: what a new one must not overlap."""
    rows = session.execute(
        select(Deployment, Site.name, Camera.name)
        .join(Site, Site.id == Deployment.site_id)
        .outerjoin(Camera, Camera.id == Deployment.camera_id)
        .where(Deployment.survey_id == survey_id)
        .where(
            (Deployment.source_file != key) | Deployment.source_file.is_(None)
            if key is not None
            else Deployment.id != (but if but is not None else -1)
        )
    ).all()
    found = []
    for deployment, station, camera in rows:
        start, end = effort_span(*moments(deployment))
        label = (
            f"{station}{'/' + camera if camera else ''} from {deployment.source_file or 'an edit'}"
        )
        found.append(
            (Place(deployment.site_id, deployment.camera_id, station, camera), start, end, label)
        )
    return found


def moments(deployment: Deployment) -> tuple[Moment, Moment]:
    return (
        Moment(deployment.setup, deployment.setup_time_known),
        Moment(deployment.retrieval, deployment.retrieval_time_known),
    )


def add_deployment(
    session: Session,
    survey_id: int,
    row: DeploymentRow,
    place: Place,
    source: str | None,
) -> Deployment:
    """Write one deployment and its problem periods."""
    made = Deployment(
        survey_id=survey_id,
        site_id=place.site_id,
        camera_id=place.camera_id,
        setup=row.setup.when,
        setup_time_known=row.setup.time_known,
        retrieval=row.retrieval.when,
        retrieval_time_known=row.retrieval.time_known,
        covariates=dict(row.covariates),
        source_file=source,
        source_row=row.row if source else None,
        **row.details(),
    )
    session.add(made)
    session.flush()
    write_problems(session, made.id, row.problems)
    return made


def write_problems(session: Session, deployment_id: int, problems: Iterable[ProblemRow]) -> None:
    """Replace a deployment's problem periods."""
    session.execute(
        delete(DeploymentProblem).where(DeploymentProblem.deployment_id == deployment_id)
    )
    session.add_all(
        DeploymentProblem(
            deployment_id=deployment_id,
            start=p.start.when,
            start_time_known=p.start.time_known,
            end=p.end.when,
            end_time_known=p.end.time_known,
            reason=p.reason,
        )
        for p in problems
    )


def import_deployments(
    workspace: Workspace,
    survey: SurveyRef,
    path: str,
    date_format: str | None = None,
    x: str | None = None,
    y: str | None = None,
    crs: str | None = None,
    station: str = "Station",
    camera: str | None = None,
    setup: str = "Setup_date",
    retrieval: str = "Retrieval_date",
) -> DeploymentImport:
    """Import a survey's deployments from a camtrapR camera-trap table (CSV) or a Camtrap DP
    ``deployments.csv`` (or the package's folder), told apart by their columns.

    camtrapR tables: ``station``, ``camera`` (None: one deployment per station), ``setup``
    and ``retrieval`` name the columns (camtrapR's names by default), ``ProblemN_from`` /
    ``ProblemN_to`` give problem periods (the end inclusive). ``date_format`` is strftime
    (``"%d/%m/%Y"``) or lubridate orders (``"dmy"``); by default ISO or camtrapR's common
    forms, refused when day and month cannot be told apart. Dates without a time count as
    half days at setup and retrieval, as camtrapR counts them. Coordinates come from
    ``latitude``/``longitude`` columns, or from projected ``x``/``y`` columns in ``crs``
    (camtrapR's sample: ``x="utm_x", y="utm_y", crs="EPSG:32650"``), kept beside the
    latitude/longitude made from them. Other columns are kept as covariates.

    Each station must be a site of the survey (case-folded); a row naming another, a row
    that cannot be read, or one overlapping another deployment of its camera is reported
    (file, row, reason) in the result's ``problems`` and logged, and the other rows are
    imported. The deployments an earlier import of the same file made are replaced.

    Raises:
        InputFileError: for a file that cannot be read as a table of deployments.
        ConfigurationError: for ``x``/``y`` without ``crs``, or an unknown ``crs``.
    """
    text, name = read_table_file(workspace, path)
    header = next(csv.reader(io.StringIO(text)), [])
    with workspace.sessions() as session:
        target = find_survey(session, survey)
        offset = (target.settings or {}).get("utc_offset")
    if is_camtrap_dp(header):
        rows, problems = read_camtrap_dp(text, name, offset)
        report = DeploymentImport(name, "camtrap-dp")
    else:
        rows, problems = read_camtrapr(
            text, name, date_format, x, y, crs, station, camera, setup, retrieval
        )
        report = DeploymentImport(name, "camtrapR")
    key = source_key(name)
    with transaction(workspace.sessions) as session:
        target = find_survey(session, survey)
        sites, cameras = places(session, target.id)
        placed = []
        for row in rows:
            try:
                placed.append((row, resolve(row, sites, cameras, target.name, camera is not None)))
            except FieldError as unknown:
                problems.append(unknown.at(name, row.row))
        placed, clashes = without_overlaps(placed, stored_periods(session, target.id, key), name)
        problems.extend(clashes)
        old = session.scalars(
            select(Deployment.id).where(
                Deployment.survey_id == target.id, Deployment.source_file == key
            )
        ).all()
        if old:
            session.execute(delete(Deployment).where(Deployment.id.in_(old)))
        for row, place in placed:
            add_deployment(session, target.id, row, place, key)
        report.replaced = len(old)
        report.imported = len(placed)
        report.problem_periods = sum(len(row.problems) for row, _ in placed)
    report.problems = sorted(problems, key=lambda p: p.row or 0)
    for problem in report.problems:
        log.warning("%s", problem)
    log.info("%s", report)
    return report


def deployments(workspace: Workspace, survey: SurveyRef) -> pd.DataFrame:
    """A survey's deployments, one row each (see :data:`COLUMNS`): station, camera (None:
    the whole station), setup and retrieval (local times; ``*_time_known`` False: a date
    alone, shown at 00:00), problem periods as text (``START..END (reason); ...``, what
    :func:`~traptagger_lab.deployments.editing.set_deployment` takes), coordinates, camera
    height, bait, habitat, feature type, covariates and where the row came from."""
    with workspace.sessions() as session:
        target = find_survey(session, survey)
        frame, problems = stored(session, target.id)
    texts = {
        key: format_problems(
            [
                ProblemRow(
                    Moment(p.start.to_pydatetime(), bool(p.start_time_known)),
                    Moment(p.end.to_pydatetime(), bool(p.end_time_known)),
                    p.reason,
                )
                for p in group.itertuples()
            ]
        )
        for key, group in problems.groupby("deployment_id")
    }
    frame["problems"] = [texts.get(d, "") for d in frame["deployment_id"]]
    return frame[COLUMNS]


def deployment_problems(workspace: Workspace, survey: SurveyRef) -> pd.DataFrame:
    """A survey's problem periods, one row each (see :data:`PROBLEM_COLUMNS`)."""
    with workspace.sessions() as session:
        target = find_survey(session, survey)
        return stored(session, target.id)[1]


def stored(session: Session, survey_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(deployments, problem periods) of a survey as stored, in station/camera/setup order."""
    rows = session.execute(
        select(Deployment, Site.name, Camera.name)
        .join(Site, Site.id == Deployment.site_id)
        .outerjoin(Camera, Camera.id == Deployment.camera_id)
        .where(Deployment.survey_id == survey_id)
        .order_by(Site.name, Camera.name, Deployment.setup)
    ).all()
    frame = pd.DataFrame(
        [
            {
                **{c: getattr(d, c) for c in COLUMNS if hasattr(Deployment, c)},
                "deployment_id": d.id,
                "station": station,
                "camera": camera,
                "covariates": dict(d.covariates or {}),
            }
            for d, station, camera in rows
        ],
        columns=[c for c in COLUMNS if c != "problems"],
    )
    ids = frame["deployment_id"].tolist()
    found: list[DeploymentProblem] = []
    for part in chunks(ids):
        found += session.scalars(
            select(DeploymentProblem)
            .where(DeploymentProblem.deployment_id.in_(part))
            .order_by(DeploymentProblem.deployment_id, DeploymentProblem.start)
        ).all()
    where = frame.set_index("deployment_id")[["station", "camera"]]
    problems = pd.DataFrame(
        [
            {
                "deployment_id": p.deployment_id,
                "station": where.loc[p.deployment_id, "station"],
                "camera": where.loc[p.deployment_id, "camera"],
                "start": p.start,
                "start_time_known": p.start_time_known,
                "end": p.end,
                "end_time_known": p.end_time_known,
                "reason": p.reason,
            }
            for p in found
        ],
        columns=PROBLEM_COLUMNS,
    )
    for table, columns in ((frame, ("setup", "retrieval")), (problems, ("start", "end"))):
        for column in columns:
            table[column] = pd.to_datetime(table[column])
    return frame, problems
