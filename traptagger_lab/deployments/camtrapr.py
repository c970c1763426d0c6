"""camtrapR's camera-trap table (``CTtable``) read into :class:`DeploymentRow` records (pure).

Columns as camtrapR names them: the station (``Station``), optionally the camera, setup
and retrieval (``Setup_date``, ``Retrieval_date``) and any number of problem periods
``ProblemN_from`` / ``ProblemN_to`` (``ProblemN_reason`` optional), the end inclusive.
Dates follow :mod:`~traptagger_lab.deployments.dates`. Coordinates are ``latitude`` /
``longitude`` columns, or projected ``x`` / ``y`` columns in ``crs`` (camtrapR's sample:
``utm_x``, ``utm_y`` in EPSG:32650), kept beside the latitude/longitude made from them.
Camera height, bait, habitat and feature type are read from columns of those names
(``cameraHeight``, ``baitUse`` and ``featureType`` too); every other column is a free
covariate. A row that cannot be read is reported (file, row, field) and left out.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from traptagger_lab.deployments.coordinates import ToLatLon, check_latlon, to_latlon
from traptagger_lab.deployments.dates import DateReader, Moment
from traptagger_lab.deployments.rows import DeploymentRow, ProblemRow, check_periods
from traptagger_lab.errors import ConfigurationError, InputFileError
from traptagger_lab.exports.fields import FieldError, name_text, number

_PROBLEM_COLUMN = re.compile(r"^problem(\d+)\S(from|to|reason)$", re.IGNORECASE)
#: Our field -> the column names (lower case, letters and digits only) that give it.
ALIASES = {
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon", "long", "lng"),
    "camera_height": ("cameraheight", "height"),
    "bait": ("bait", "baituse"),
    "habitat": ("habitat",),
    "feature_type": ("featuretype", "feature"),
}


@dataclass(frozen=True)
class Columns:
    """The columns of a camtrapR table that give each field (problems: ``N -> (from, to,
    reason or None)``)."""

    station: str
    camera: str | None
    setup: str
    retrieval: str
    problems: Mapping[int, tuple[str, str, str | None]]
    x: str | None
    y: str | None
    details: Mapping[str, str]
    covariates: Sequence[str]


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def find_columns(
    header: Sequence[str],
    name: str,
    station: str = "Station",
    camera: str | None = None,
    setup: str = "Setup_date",
    retrieval: str = "Retrieval_date",
    x: str | None = None,
    y: str | None = None,
) -> Columns:
    """Which column gives what.

    Raises:
        InputFileError: naming a column that is asked for and missing, or a problem
            column without its pair.
    """
    wanted = {"station": station, "setup": setup, "retrieval": retrieval}
    wanted |= {k: v for k, v in {"camera": camera, "x": x, "y": y}.items() if v is not None}
    missing = [f"{v!r} ({k})" for k, v in wanted.items() if v not in header]
    if missing:
        raise InputFileError(name, f"no column {', '.join(missing)}; columns: {list(header)}", 1)
    periods: dict[int, dict[str, str]] = {}
    for column in header:
        if found := _PROBLEM_COLUMN.match(column):
            periods.setdefault(int(found[1]), {})[found[2].lower()] = column
    for number_, ends in sorted(periods.items()):
        if {"from", "to"} - set(ends):
            raise InputFileError(name, f"Problem{number_} needs both _from and _to columns", 1)
    used = set(wanted.values()) | {c for ends in periods.values() for c in ends.values()}
    details = {}
    if x is None:  # projected coordinates replace latitude/longitude columns
        aliases = ALIASES
    else:
        aliases = {k: v for k, v in ALIASES.items() if k not in ("latitude", "longitude")}
    for field, keys in aliases.items():
        match = next((c for c in header if _key(c) in keys and c not in used), None)
        if match is not None:
            details[field] = match
            used.add(match)
    return Columns(
        station,
        camera,
        setup,
        retrieval,
        {n: (e["from"], e["to"], e.get("reason")) for n, e in sorted(periods.items())},
        x,
        y,
        details,
        [c for c in header if c not in used],
    )


def covariate(value: str) -> Any:
    """A covariate's value: a number when it reads as one, else the text."""
    try:
        found = float(value)
    except ValueError:
        return value
    return int(found) if found.is_integer() and "." not in value else found


def _text(row: Mapping[str, str | None], column: str | None) -> str:
    return (row.get(column) or "").strip() if column else ""


def _problems(row: Mapping[str, str | None], columns: Columns, dates: DateReader) -> list[Any]:
    found = []
    for number_, (start, end, reason) in columns.problems.items():
        first, last = _text(row, start), _text(row, end)
        if not first and not last:
            continue
        if not first or not last:
            empty = start if not first else end
            raise FieldError(empty, f"Problem{number_} has one end and not the other")
        found.append(
            ProblemRow(dates.read(first, start), dates.read(last, end), _text(row, reason))
        )
    return found


def read_row(
    row: Mapping[str, str | None],
    number_: int,
    columns: Columns,
    dates: DateReader,
    convert: ToLatLon | None,
    crs: str | None,
) -> DeploymentRow:
    """One row of the table.

    Raises:
        FieldError: naming the field that cannot be read.
    """
    station = name_text(_text(row, columns.station), columns.station)
    camera = None
    if columns.camera:
        camera = name_text(_text(row, columns.camera), columns.camera)
    setup: Moment = dates.read(_text(row, columns.setup), columns.setup)
    retrieval: Moment = dates.read(_text(row, columns.retrieval), columns.retrieval)
    problems = tuple(_problems(row, columns, dates))
    check_periods(setup, retrieval, problems, station)
    values: dict[str, Any] = {}
    if convert is not None and columns.x and columns.y:
        values["x"] = number(_text(row, columns.x), columns.x)
        values["y"] = number(_text(row, columns.y), columns.y)
        values["latitude"], values["longitude"] = convert(values["x"], values["y"])
        values["crs"] = crs
    for field, column in columns.details.items():
        text = _text(row, column)
        if not text:
            continue
        numeric = field in ("latitude", "longitude", "camera_height")
        values[field] = number(text, column) if numeric else text
    if "latitude" in values or "longitude" in values:
        if values.get("latitude") is None or values.get("longitude") is None:
            raise FieldError("latitude", "latitude and longitude go together")
        check_latlon(values["latitude"], values["longitude"])
    covariates = {c: covariate(_text(row, c)) for c in columns.covariates if _text(row, c)}
    return DeploymentRow(
        number_, station, camera, setup, retrieval, problems, covariates=covariates, **values
    )


def read_camtrapr(
    text: str,
    name: str,
    date_format: str | None = None,
    x: str | None = None,
    y: str | None = None,
    crs: str | None = None,
    station: str = "Station",
    camera: str | None = None,
    setup: str = "Setup_date",
    retrieval: str = "Retrieval_date",
) -> tuple[list[DeploymentRow], list[InputFileError]]:
    """The deployments of a camtrapR camera-trap table and the rows that could not be read.

    Raises:
        ConfigurationError: for ``x``/``y`` without ``crs`` (or the reverse).
        InputFileError: for a table that cannot be read as a whole (a missing column,
            dates whose day and month cannot be told apart).
    """
    if (x is None) != (y is None) or (x is None) != (crs is None):
        raise ConfigurationError("projected coordinates need x, y and crs together")
    reader = csv.DictReader(io.StringIO(text))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InputFileError(name, f"unreadable CSV: {exc}", reader.line_num) from None
    columns = find_columns(reader.fieldnames or [], name, station, camera, setup, retrieval, x, y)
    date_columns = [
        columns.setup,
        columns.retrieval,
        *(c for s, e, _ in columns.problems.values() for c in (s, e)),
    ]
    dates = DateReader(
        date_format,
        ((n, c, _text(r, c)) for n, r in enumerate(rows, start=2) for c in date_columns),
        name,
    )
    convert = to_latlon(crs) if crs is not None else None
    found: list[DeploymentRow] = []
    problems: list[InputFileError] = []
    for number_, row in enumerate(rows, start=2):
        try:
            found.append(read_row(row, number_, columns, dates, convert, crs))
        except FieldError as problem:
            problems.append(problem.at(name, number_))
    return found, problems
