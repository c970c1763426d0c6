"""The small frozen records the deployment readers return and the store writes, and the report
of an import.

A :class:`DeploymentRow` is one row of a station table as read (the station and camera by
the names the table gives); the store matches those names to the survey's sites and cameras.
Rows that cannot be read are :class:`~traptagger_lab.exports.fields.RecordError` values
(file, row, field, reason), never a stopped import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from traptagger_lab.deployments.dates import Moment, iso_moment
from traptagger_lab.errors import InputFileError
from traptagger_lab.exports.fields import FieldError

#: Every field of a deployment besides station, camera, times and problems.
DETAILS = (
    "name", "latitude", "longitude", "x", "y", "crs", "camera_height", "bait", "habitat",
    "feature_type",
)  # fmt: skip


@dataclass(frozen=True)
class ProblemRow:
    """A period the camera did not work: ``start`` to ``end``, the end inclusive (a date alone
    loses its whole day, as camtrapR's ``Problem_to``)."""

    start: Moment
    end: Moment
    reason: str = ""


@dataclass(frozen=True)
class DeploymentRow:
    """One deployment as a table gives it (``row``: its line in the file, the header is 1)."""

    row: int
    station: str
    camera: str | None
    setup: Moment
    retrieval: Moment
    problems: tuple[ProblemRow, ...] = ()
    name: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    x: float | None = None
    y: float | None = None
    crs: str | None = None
    camera_height: float | None = None
    bait: str | None = None
    habitat: str | None = None
    feature_type: str | None = None
    covariates: dict[str, Any] = field(default_factory=dict)

    def details(self) -> dict[str, Any]:
        """The fields of :data:`DETAILS` with their values."""
        return {name: getattr(self, name) for name in DETAILS}


def check_periods(
    setup: Moment, retrieval: Moment, problems: tuple[ProblemRow, ...], station: str = ""
) -> None:
    """camtrapR's checks of one deployment's times: retrieval not before setup, each problem
    ending after it starts and lying within setup..retrieval (dates alone compare by day).

    Raises:
        FieldError: naming the field that is out of order.
    """
    if retrieval.last_moment < setup.first_moment:
        raise FieldError("retrieval", f"{retrieval} is before setup {setup}")
    for problem in problems:
        if problem.end.last_moment < problem.start.first_moment:
            raise FieldError("problem", f"problem ends ({problem.end}) before it starts")
        if problem.start.last_moment < setup.first_moment:
            raise FieldError("problem", f"{station}: problem begins ({problem.start}) before setup")
        if problem.end.first_moment > retrieval.last_moment:
            raise FieldError("problem", f"{station}: problem ends ({problem.end}) after retrieval")


@dataclass
class DeploymentImport:
    """What an import of a station table did: rows imported, rows of an earlier import of the
    same file replaced, and the rows that could not be imported (file, row, reason)."""

    file: str
    format: str
    imported: int = 0
    replaced: int = 0
    problem_periods: int = 0
    problems: list[InputFileError] = field(default_factory=list)

    def __str__(self) -> str:
        line = (
            f"{self.file} ({self.format}): {self.imported} deployment(s) imported with "
            f"{self.problem_periods} problem period(s), {self.replaced} replaced"
        )
        if self.problems:
            line += f"; {len(self.problems)} row(s) not imported:\n" + "\n".join(
                f"  {p}" for p in self.problems
            )
        return line


def format_problems(problems: tuple[ProblemRow, ...] | list[ProblemRow]) -> str:
    """Problem periods as text: ``2009-05-12..2009-05-17 (flooded); 2009-06-01 06:00..``
    (what :func:`parse_problems` reads back)."""
    return "; ".join(
        f"{p.start}..{p.end}" + (f" ({p.reason})" if p.reason else "") for p in problems
    )


_PROBLEM = re.compile(r"^(?P<start>[^.]+?)\s*\.\.\s*(?P<end>[^(]+?)\s*(?:\((?P<reason>.*)\))?$")


def parse_problems(text: str) -> tuple[ProblemRow, ...]:
    """Problem periods from text made by :func:`format_problems` (ISO dates or date-times).

    Raises:
        FieldError: naming the period that is not ``START..END [(reason)]``.
    """
    periods = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        found = _PROBLEM.match(part)
        if found is None:
            raise FieldError("problems", f"{part!r} is not START..END (reason)")
        periods.append(
            ProblemRow(
                iso_moment(found["start"], "problems"),
                iso_moment(found["end"], "problems"),
                (found["reason"] or "").strip(),
            )
        )
    return tuple(periods)
