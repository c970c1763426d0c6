"""Camtrap DP's ``deployments.csv`` read into :class:`DeploymentRow` records (pure), and the
notes our own export adds to ``deploymentComments``.

The station is ``locationName`` (``locationID`` when it has none), the camera ``cameraID``
(matched to the survey's cameras by the store; a camera of another name leaves the
deployment station-wide). ``deploymentStart``/``deploymentEnd`` are ISO 8601 with a UTC
offset: they are kept as local camera times, converted first to the survey's
``utc_offset`` when it has one. Camera height, bait, habitat and feature type have fields of
their own; the other fields are kept as covariates.

Camtrap DP has no field for a date without a time, nor for problem periods: our export
writes them into ``deploymentComments`` (``setup time unknown``, ``problems: ...``), which
this reader takes back, so an export imported again gives the same effort.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping

from traptagger_lab.deployments.camtrapr import covariate
from traptagger_lab.deployments.coordinates import check_latlon
from traptagger_lab.deployments.dates import Moment
from traptagger_lab.deployments.rows import (
    DeploymentRow,
    ProblemRow,
    check_periods,
    format_problems,
    parse_problems,
)
from traptagger_lab.errors import InputFileError
from traptagger_lab.exports.fields import FieldError, name_text, number, required

COLUMNS = ("deploymentID", "deploymentStart", "deploymentEnd")
#: The fields read into a deployment's own columns (the rest become covariates).
OWN = (
    "deploymentID", "locationName", "latitude", "longitude", "deploymentStart",
    "deploymentEnd", "cameraHeight", "baitUse", "habitat", "featureType", "deploymentComments",
)  # fmt: skip
SETUP_UNKNOWN = "setup time unknown"
RETRIEVAL_UNKNOWN = "retrieval time unknown"
PROBLEMS = "problems: "
SEPARATOR = " | "


def comments(
    setup: Moment, retrieval: Moment, problems: tuple[ProblemRow, ...], text: str | None = None
) -> str | None:
    """``deploymentComments`` of an export: ``text`` and what Camtrap DP has no field for."""
    parts = [text] if text else []
    parts += [SETUP_UNKNOWN] if not setup.time_known else []
    parts += [RETRIEVAL_UNKNOWN] if not retrieval.time_known else []
    parts += [PROBLEMS + format_problems(problems)] if problems else []
    return SEPARATOR.join(parts) or None


def _notes(text: str) -> tuple[set[str], tuple[ProblemRow, ...], str]:
    """(flags, problem periods, the rest of the comment) of a ``deploymentComments``."""
    flags: set[str] = set()
    problems: tuple[ProblemRow, ...] = ()
    rest: list[str] = []
    for part in text.split(SEPARATOR) if text else []:
        if part in (SETUP_UNKNOWN, RETRIEVAL_UNKNOWN):
            flags.add(part)
        elif part.startswith(PROBLEMS):
            problems = parse_problems(part.removeprefix(PROBLEMS))
        else:
            rest.append(part)
    return flags, problems, SEPARATOR.join(rest)


def _time(value: str, field: str, offset: dt.timezone | None) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise FieldError(field, f"{value!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is not None and offset is not None:
        moment = moment.astimezone(offset)
    return moment.replace(tzinfo=None)


def _moment(when: dt.datetime, unknown: bool, end: bool) -> Moment:
    """A time written for a date alone (00:00 for a start, 23:59:59 for an end) read back as
    the date; anything else as it is."""
    edge = dt.time(23, 59, 59) if end else dt.time()
    if unknown and when.time() == edge:
        return Moment(dt.datetime.combine(when.date(), dt.time()), False)
    return Moment(when)


def read_row(
    row: Mapping[str, str | None], number_: int, offset: dt.timezone | None
) -> DeploymentRow:
    """One deployment.

    Raises:
        FieldError: naming the field that cannot be read.
    """
    text = {k: (v or "").strip() for k, v in row.items() if k is not None}
    station_field = "locationName" if text.get("locationName") else "locationID"
    station = name_text(required(text, station_field), station_field)
    flags, problems, rest = _notes(text.get("deploymentComments", ""))
    start = _time(required(text, "deploymentStart"), "deploymentStart", offset)
    end = _time(required(text, "deploymentEnd"), "deploymentEnd", offset)
    setup = _moment(start, SETUP_UNKNOWN in flags, end=False)
    retrieval = _moment(end, RETRIEVAL_UNKNOWN in flags, end=True)
    check_periods(setup, retrieval, problems, station)
    latitude = number(text["latitude"], "latitude") if text.get("latitude") else None
    longitude = number(text["longitude"], "longitude") if text.get("longitude") else None
    if latitude is not None and longitude is not None:
        check_latlon(latitude, longitude)
    covariates = {k: covariate(v) for k, v in text.items() if k not in OWN and v}
    if rest:
        covariates["deploymentComments"] = rest
    height = text.get("cameraHeight")
    return DeploymentRow(
        number_,
        station,
        text.get("cameraID") or None,
        setup,
        retrieval,
        problems,
        name=name_text(required(text, "deploymentID"), "deploymentID"),
        latitude=latitude,
        longitude=longitude,
        camera_height=number(height, "cameraHeight") if height else None,
        bait=text.get("baitUse") or None,
        habitat=text.get("habitat") or None,
        feature_type=text.get("featureType") or None,
        covariates=covariates,
    )


def offset_of(utc_offset: str | None) -> dt.timezone | None:
    """``+08:00`` as a time zone (None for None)."""
    if not utc_offset:
        return None
    sign = -1 if utc_offset.startswith("-") else 1
    hours, _, minutes = utc_offset.lstrip("+-").partition(":")
    return dt.timezone(sign * dt.timedelta(hours=int(hours), minutes=int(minutes or 0)))


def read_camtrap_dp(
    text: str, name: str, utc_offset: str | None = None
) -> tuple[list[DeploymentRow], list[InputFileError]]:
    """The deployments of a Camtrap DP ``deployments.csv`` and the rows that could not be read.

    Raises:
        InputFileError: for a table without the columns a deployment needs.
    """
    reader = csv.DictReader(io.StringIO(text))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InputFileError(name, f"unreadable CSV: {exc}", reader.line_num) from None
    header = reader.fieldnames or []
    missing = [c for c in COLUMNS if c not in header]
    if "locationName" not in header and "locationID" not in header:
        missing.append("locationName")
    if missing:
        raise InputFileError(name, f"the deployments table has no column {', '.join(missing)}", 1)
    offset = offset_of(utc_offset)
    found: list[DeploymentRow] = []
    problems: list[InputFileError] = []
    for number_, row in enumerate(rows, start=2):
        try:
            found.append(read_row(row, number_, offset))
        except FieldError as problem:
            problems.append(problem.at(name, number_))
    return found, problems


def is_camtrap_dp(header: list[str]) -> bool:
    """Whether a table's header is Camtrap DP's deployments table."""
    return all(c in header for c in COLUMNS)
