"""Labels from a Camtrap DP package (media.csv and observations.csv), checked record by record.

Media-level observations label their media file; event-level ones label every
media file of their deployment between eventStart and eventEnd (unless the same
event also has media-level observations). Blank observations become Nothing;
animals need a ``scientificName``. A bad media row or observation is reported
(file, row, field) and left out; a table without a needed column is refused.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from traptagger_lab.errors import InputFileError
from traptagger_lab.exports.fields import FieldError, count, decode_text, name_text, required
from traptagger_lab.exports.fields import unit_box as _unit_box
from traptagger_lab.exports.readers import ImageLabel, Labels

#: The columns each table must have for an import (Camtrap DP 1.0 requires them too).
COLUMNS = {
    "media": ("mediaID", "deploymentID", "timestamp", "filePath"),
    "observations": ("observationID", "deploymentID", "observationType"),
}
BOX = ("bboxX", "bboxY", "bboxWidth", "bboxHeight")


@dataclass(frozen=True)
class Media:
    """One media file of the package: its path in the survey, deployment and time."""

    path: str
    deployment: str
    timestamp: dt.datetime


def read_table(data: bytes, name: str, table: str) -> list[dict[str, str]]:
    """The rows of one Camtrap DP table (``name`` is its file), its needed columns checked."""
    reader = csv.DictReader(io.StringIO(decode_text(data, name)))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InputFileError(name, f"unreadable CSV: {exc}", reader.line_num) from None
    missing = [c for c in COLUMNS[table] if c not in (reader.fieldnames or [])]
    if missing:
        raise InputFileError(name, f"the {table} table has no column {', '.join(missing)}", 1)
    return rows


def _time(value: str, field: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise FieldError(field, f"{value!r} is not an ISO 8601 date-time") from None
    return moment


def _media_path(row: Mapping[str, str]) -> str:
    """A media file's path in the survey: ``filePath``, or ``fileName`` when the path is a URL."""
    path = required(row, "filePath")
    return (row.get("fileName") or path) if "://" in path else path


def _media(rows: Sequence[Mapping[str, str]], name: str, found: Labels) -> dict[str, Media]:
    media = {}
    for number, row in enumerate(rows, start=2):
        try:
            media[required(row, "mediaID")] = Media(
                _media_path(row),
                required(row, "deploymentID"),
                _time(required(row, "timestamp"), "timestamp"),
            )
        except FieldError as problem:
            found.problems.append(problem.at(name, number))
    return media


def _box(obs: Mapping[str, str]) -> tuple[float, float, float, float] | None:
    if not any(obs.get(k) for k in BOX):
        return None
    return _unit_box([obs.get(k) for k in BOX], "bboxX/bboxY/bboxWidth/bboxHeight")


def _observation(
    obs: Mapping[str, str], media: Mapping[str, Media], media_events: set[str]
) -> list[ImageLabel]:
    """The labels of one observation (none for kinds we cannot label)."""
    kind = required(obs, "observationType")
    if kind == "blank":
        species = "Nothing"
    elif obs.get("scientificName") or kind == "animal":
        species = name_text(required(obs, "scientificName"), "scientificName")
    else:
        return []  # unclassified, unknown, human, vehicle without a name: nothing to label
    number = count(obs.get("count"))
    individual = obs.get("individualID") or None
    if individual:
        individual = name_text(individual, "individualID")
    if obs.get("mediaID") or obs.get("observationLevel") == "media":
        file = media.get(required(obs, "mediaID"))
        if file is None:
            raise FieldError("mediaID", f"{obs['mediaID']!r} is in no (readable) media row")
        return [ImageLabel(file.path, species, number, individual, _box(obs))]
    if obs.get("eventID") in media_events:
        return []  # the event's media-level observations say it file by file
    deployment = required(obs, "deploymentID")
    start = _time(required(obs, "eventStart"), "eventStart")
    end = _time(required(obs, "eventEnd"), "eventEnd")
    try:
        return [
            ImageLabel(m.path, species, number, individual)
            for m in media.values()
            if m.deployment == deployment and start <= m.timestamp <= end
        ]
    except TypeError:  # naive and aware times
        raise FieldError(
            "eventStart", "event and media times must all have a UTC offset, or none"
        ) from None


def from_camtrap_dp(
    media: Sequence[Mapping[str, str]], observations: Sequence[Mapping[str, str]], name: str
) -> Labels:
    """The labels of a Camtrap DP package's tables (``name``: the package's folder)."""
    found = Labels()
    files = _media(media, f"{name}/media.csv", found)
    media_events = {o["eventID"] for o in observations if o.get("mediaID") and o.get("eventID")}
    for number, obs in enumerate(observations, start=2):
        try:
            found.rows.extend(_observation(obs, files, media_events))
        except FieldError as problem:
            found.problems.append(problem.at(f"{name}/observations.csv", number))
    return found
