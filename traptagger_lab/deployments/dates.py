"""Dates and times of a station table, read as camtrapR reads them (``dateFormat``).

A table gives its dates in one format. By default that format is found from the values:
ISO (``2009-04-02``, ``2009-04-02 12:00[:00]``, ``2009-04-02T12:00:00``) or camtrapR's
common day-first and month-first forms (``02/04/2009``, ``02.04.2009``, ``02-04-2009``,
``04/02/2009``, each with an optional time). Day and month are told apart by the values
themselves (a 14 can only be a day); when every value could be either, the table is refused
with the row and value that are ambiguous: guessing would shift dates silently. A format
given by the user is strftime style (``%d/%m/%Y``, ``%d/%m/%Y %H:%M``) or lubridate's
orders as camtrapR takes them (``dmy``, ``ymd HMS``).

As in camtrapR, a table whose dates carry no time of day is read as dates alone: each
:class:`Moment` says whether its time is known, and effort later counts a setup or
retrieval without a time as made at noon (half a day). In a table with times, a value
without one is midnight.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from traptagger_lab.errors import InputFileError
from traptagger_lab.exports.fields import FieldError

#: A date (three numbers) with an optional time: ``02/04/2009 12:00:00``.
_DATE_TIME = re.compile(
    r"^(?P<a>\d{1,4})[-/.](?P<b>\d{1,2})[-/.](?P<c>\d{1,4})"
    r"(?:(?:[ T]+)(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,6}))?)?)?$"
)
#: The same with the time first (lubridate's ``HMS dmy``).
_TIME_DATE = re.compile(
    r"^(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s+"
    r"(?P<a>\d{1,4})[-/.](?P<b>\d{1,2})[-/.](?P<c>\d{1,4})$"
)
ORDERS = ("ymd", "dmy", "mdy")


@dataclass(frozen=True)
class Moment:
    """A local camera time, and whether its time of day is known (False: a date alone,
    stored at 00:00)."""

    when: dt.datetime
    time_known: bool = True

    @property
    def day(self) -> dt.date:
        """The calendar day."""
        return self.when.date()

    @property
    def first_moment(self) -> dt.datetime:
        """The earliest time it may stand for (00:00 of its day when the time is unknown)."""
        return self.when if self.time_known else dt.datetime.combine(self.day, dt.time())

    @property
    def last_moment(self) -> dt.datetime:
        """The latest time it may stand for (the end of its day when the time is unknown)."""
        if self.time_known:
            return self.when
        return dt.datetime.combine(self.day, dt.time()) + dt.timedelta(days=1, microseconds=-1)

    def __str__(self) -> str:
        if not self.time_known:
            return self.day.isoformat()
        return self.when.isoformat(sep=" ", timespec="seconds")


def _moment(order: str, parts: dict[str, str | None]) -> dt.datetime | None:
    """The time the numbers stand for in ``order`` (ymd/dmy/mdy), or None if impossible."""
    a, b, c = parts["a"] or "", parts["b"] or "", parts["c"] or ""
    if order == "ymd":
        if len(a) != 4:
            return None
        year, month, day = a, b, c
    else:
        if len(c) != 4:
            return None
        year = c
        day, month = (a, b) if order == "dmy" else (b, a)
    try:
        return dt.datetime(
            int(year),
            int(month),
            int(day),
            int(parts.get("H") or 0),
            int(parts.get("M") or 0),
            int(parts.get("S") or 0),
            int((parts.get("f") or "0").ljust(6, "0")),
        )
    except ValueError:
        return None


def _parts(text: str) -> dict[str, str | None] | None:
    found = _DATE_TIME.match(text) or _TIME_DATE.match(text)
    return found.groupdict() if found else None


def readings(text: str) -> dict[str, dt.datetime]:
    """Each order (ymd, dmy, mdy) under which ``text`` is a valid date (and time)."""
    parts = _parts(text.strip())
    if parts is None:
        return {}
    return {o: m for o in ORDERS if (m := _moment(o, parts)) is not None}


def has_time(text: str) -> bool:
    """Whether a date text carries a time of day."""
    parts = _parts(text.strip())
    return bool(parts and parts.get("H") is not None)


def _lubridate(date_format: str) -> tuple[str, bool] | None:
    """(order, with time) of lubridate orders such as ``dmy`` or ``ymd HMS``; None when the
    format is not one."""
    letters = re.sub(r"[^A-Za-z]", "", date_format)
    date = "".join(ch for ch in letters if ch in "dmyY").lower()
    clock = "".join(ch for ch in letters if ch in "HMS")
    if sorted(date) != ["d", "m", "y"] or len(date) + len(clock) != len(letters):
        return None
    return date, bool(clock)


class DateReader:
    """Reads every date of one table in the table's one format.

    Args:
        date_format: strftime (``%d/%m/%Y``) or lubridate (``dmy``, ``ymd HMS``) format;
            None finds it from ``values``.
        values: ``(row, column, text)`` of every date in the table, to find the format
            and whether the table gives times of day.
        name: the table's file (for errors).

    Raises:
        InputFileError: when day and month cannot be told apart (names row and value), or
            the format is neither strftime nor lubridate orders.
    """

    def __init__(
        self, date_format: str | None, values: Iterable[tuple[int, str, str]], name: str
    ) -> None:
        texts = [(row, column, text.strip()) for row, column, text in values if text.strip()]
        self.strftime: str | None = None
        if date_format is not None and "%" in date_format:
            self.strftime = date_format
            self.order = ""
            self.with_time = any(code in date_format for code in ("%H", "%I", "%T", "%R"))
            return
        if date_format is not None:
            parsed = _lubridate(date_format)
            if parsed is None:
                raise InputFileError(
                    name,
                    f"date_format {date_format!r} is neither strftime (like '%d/%m/%Y') "
                    "nor lubridate orders (like 'dmy' or 'ymd HMS')",
                )
            self.order, self.with_time = parsed
            return
        self.with_time = any(has_time(text) for _, _, text in texts)
        self.order = _find_order(texts, name)

    def read(self, text: str, field: str) -> Moment:
        """The moment a date text stands for.

        Raises:
            FieldError: when it is not a date in the table's format.
        """
        text = text.strip()
        if self.strftime is not None:
            try:
                return Moment(dt.datetime.strptime(text, self.strftime), self.with_time)
            except ValueError:
                raise FieldError(field, f"{text!r} is not a date in {self.strftime!r}") from None
        moment = readings(text).get(self.order)
        if moment is None:
            raise FieldError(field, f"{text!r} is not a date ({_example(self.order)})")
        return Moment(moment, self.with_time)


def _example(order: str) -> str:
    shapes = {"ymd": "YYYY-MM-DD", "dmy": "DD/MM/YYYY", "mdy": "MM/DD/YYYY"}
    return f"read as {shapes[order]}, with an optional HH:MM[:SS]"


def _find_order(texts: list[tuple[int, str, str]], name: str) -> str:
    """The one order (ymd, dmy, mdy) the table's dates are in."""
    support = dict.fromkeys(ORDERS, 0)
    ambiguous: tuple[int, str, str] | None = None
    for row, column, text in texts:
        found = readings(text)
        for order in found:
            support[order] += 1
        day_month = {"dmy", "mdy"} & set(found)
        if day_month == {"dmy", "mdy"} and found["dmy"] != found["mdy"] and ambiguous is None:
            ambiguous = (row, column, text)
    only_dmy = sum(1 for _, _, t in texts if set(readings(t)) & {"dmy", "mdy"} == {"dmy"})
    only_mdy = sum(1 for _, _, t in texts if set(readings(t)) & {"dmy", "mdy"} == {"mdy"})
    if support["ymd"] >= max(support["dmy"], support["mdy"]) and support["ymd"]:
        return "ymd"
    if only_dmy or only_mdy:
        return "dmy" if only_dmy >= only_mdy else "mdy"
    if ambiguous is not None:
        row, column, text = ambiguous
        raise InputFileError(
            name,
            f"{column} {text!r} could be day/month or month/day (every date in the table "
            "could): pass date_format, e.g. '%d/%m/%Y' or '%m/%d/%Y'",
            row,
        )
    return "dmy"


def iso_moment(text: str, field: str = "date") -> Moment:
    """An ISO date (``2009-04-02``: time unknown) or date and time (``2009-04-02 12:00``).

    Raises:
        FieldError: when it is neither.
    """
    text = text.strip()
    moment = readings(text).get("ymd")
    if moment is None:
        raise FieldError(field, f"{text!r} is not an ISO date (YYYY-MM-DD[ HH:MM[:SS]])")
    return Moment(moment, has_time(text))
