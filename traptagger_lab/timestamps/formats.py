"""Reading a date and a time out of a strip's OCR text, and each camera's date format.

A camera prints one format all its life: Reconyx ``2021-04-11 20:43:09`` or
``04/11/2021 8:43:09 PM``, Bushnell ``04-11-2021 20:43:09`` beside ``72°F 22°C`` and a moon
glyph, Browning ``04/11/2021 8:43 PM`` (no seconds), Cuddeback ``4/11/2021 8:43:09 PM``,
European set-ups ``11.04.2021 20:43:09``. :func:`parse_text` finds the date and the
time in a line of OCR text, whatever else is printed around them, and keeps the date's
numbers as printed (:class:`Reading`): whether ``04/11/2021`` is April or November is
decided per camera by :func:`learn_format`, which votes across the camera's photos
(a day above 12 settles it; else the order that agrees best with EXIF; else the default,
month first, as US-made cameras print).
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class DateOrder(StrEnum):
    """The order of year, month and day in a printed date."""

    YMD = "ymd"
    MDY = "mdy"
    DMY = "dmy"


@dataclass(frozen=True)
class Reading:
    """A date and a time as printed on one photo (the date's order not yet decided)."""

    #: The date's three numbers in printed order (a two-digit year made 20xx).
    date: tuple[int, int, int]
    #: Whether the year is printed first (``2021-04-11``) or last (``04/11/2021``).
    year_first: bool
    hour: int
    minute: int
    #: None when the camera prints no seconds.
    second: int | None
    #: ``"AM"``, ``"PM"`` or None (a 24-hour clock).
    meridiem: str | None

    def orders(self) -> list[DateOrder]:
        """The date orders under which this reading is a real date."""
        candidates = [DateOrder.YMD] if self.year_first else [DateOrder.MDY, DateOrder.DMY]
        return [o for o in candidates if self.at(o) is not None]

    def at(self, order: DateOrder) -> dt.datetime | None:
        """The time this reading names under ``order`` (None when not a real date/time)."""
        a, b, c = self.date
        if order is DateOrder.YMD:
            if not self.year_first:
                return None
            year, month, day = a, b, c
        elif self.year_first:
            return None
        elif order is DateOrder.MDY:
            year, month, day = c, a, b
        else:
            year, month, day = c, b, a
        hour = self.hour
        if self.meridiem is not None:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if self.meridiem == "PM" else 0)
        try:
            return dt.datetime(year, month, day, hour, self.minute, self.second or 0)
        except ValueError:
            return None

    @property
    def key(self) -> tuple[object, ...]:
        """What two readings of the same strip share when they agree."""
        return (self.date, self.year_first, self.hour, self.minute, self.second, self.meridiem)


# Separators between date parts: -, / or . (OCR sometimes puts spaces around them).
_SEP = r"\s?[-/.]\s?"
_YEAR_FIRST = re.compile(rf"(?<!\d)((?:19|20)\d\d){_SEP}(\d{{1,2}}){_SEP}(\d{{1,2}})(?!\d)")
_YEAR_LAST = re.compile(rf"(?<!\d)(\d{{1,2}}){_SEP}(\d{{1,2}}){_SEP}((?:19|20)?\d\d)(?!\d)")
# Between hours, minutes and seconds: a colon (or what OCR makes of one), or a space
# where the colon was erased before OCR (strip.erase_colons).
_SEP_TIME = r"(\s?[:.;]\s?|\s)"
_MERIDIEM = r"(?:\s?([AaPpFf])\.?\s?[MmNn]\.?)?"
_TIME = re.compile(
    rf"(?<![\d:])(\d{{1,2}}){_SEP_TIME}(\d\d)(?:{_SEP_TIME}(\d\d))?(?!\d)" + _MERIDIEM
)
# Letters OCR puts for digits inside numbers.
_DIGIT_LIKE = str.maketrans({"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "|": "1"})


def _normalised(text: str) -> str:
    """OCR text with letters that stand for digits (next to a digit) made digits."""
    text = " ".join(text.split())
    return re.sub(
        r"(?<=\d)[OoDIl|]+|[OoDIl|]+(?=\d)",
        lambda m: m.group(0).translate(_DIGIT_LIKE),
        text,
    )


def _date(text: str) -> tuple[tuple[int, int, int], bool, tuple[int, int]] | None:
    """The first plausible date in ``text``: its numbers, year-first flag and span."""
    found = []
    for pattern, year_first in ((_YEAR_FIRST, True), (_YEAR_LAST, False)):
        for match in pattern.finditer(text):
            a, b, c = (int(g) for g in match.groups())
            if year_first:
                plausible = 1 <= b <= 12 and 1 <= c <= 31
            else:
                c = c + 2000 if c < 100 else c
                plausible = 1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12
            if plausible:
                found.append((match.start(), (a, b, c), year_first, match.span()))
    if not found:
        return None
    _, numbers, year_first, span = min(found)
    return numbers, year_first, span


def _time(text: str, avoid: tuple[int, int]) -> tuple[int, int, int | None, str | None] | None:
    """The time in ``text`` outside the date's span: after the date first, then before; a
    time written with colons before one whose colons were all erased."""
    for part in (text[avoid[1] :], text[: avoid[0]]):
        found = [t for m in _TIME.finditer(part) if (t := _time_of(m)) is not None]
        if found:
            return min(found, key=lambda t: t[1])[0]  # the first with a colon, else the first
    return None


def _time_of(
    match: re.Match[str],
) -> tuple[tuple[int, int, int | None, str | None], bool] | None:
    """A time match's hour, minute, second and meridiem, and whether only spaces separate
    them; None when it is not a real time (a time with spaces alone must have seconds or
    AM/PM, so that "1/10 20 2" is not one)."""
    hour, minute = int(match.group(1)), int(match.group(3))
    second = int(match.group(5)) if match.group(5) else None
    letter = match.group(6)
    meridiem = None if letter is None else ("AM" if letter in "Aa" else "PM")
    spaced = not any(sep and sep.strip() for sep in (match.group(2), match.group(4)))
    if spaced and second is None and meridiem is None:
        return None
    limit = 12 if meridiem else 23
    if hour > limit or minute > 59 or (second is not None and second > 59):
        return None
    return (hour, minute, second, meridiem), spaced


def parse_text(text: str) -> Reading | None:
    """The date and time printed in one line of OCR text, or None when it holds none.

    Temperature, moon glyphs, camera names and frame counters around them are ignored.
    A time without seconds reads as ``second=None``; ``AM``/``PM`` (also as OCR often
    misreads them: ``FM``, ``P.M.``) make a 12-hour time.
    """
    clean = _normalised(text)
    date = _date(clean)
    if date is None:
        return None
    numbers, year_first, span = date
    time = _time(clean, span)
    if time is None:
        return None
    hour, minute, second, meridiem = time
    return Reading(numbers, year_first, hour, minute, second, meridiem)


def vote(readings: Iterable[Reading | None]) -> tuple[Reading | None, int]:
    """The reading most of several OCR attempts of one strip agree on, and how many did.

    Ties go to the reading that says more (seconds, AM/PM), then to the earliest.
    """
    found = [r for r in readings if r is not None]
    if not found:
        return None, 0
    counts = Counter(r.key for r in found)
    first: dict[tuple[object, ...], tuple[int, Reading]] = {}
    for index, reading in enumerate(found):
        first.setdefault(reading.key, (index, reading))
    best = max(
        counts,
        key=lambda k: (
            counts[k],
            first[k][1].second is not None,
            first[k][1].meridiem is not None,
            -first[k][0],
        ),
    )
    return first[best][1], counts[best]


@dataclass(frozen=True)
class StripFormat:
    """How one camera prints its date and time, learnt from its photos."""

    order: DateOrder
    #: How the order was chosen: ``printed`` (year first, or a day above 12 on some photo),
    #: ``exif`` (the order that agrees best with the photos' EXIF times) or ``default``.
    order_from: str
    twelve_hour: bool
    seconds: bool
    #: Photos whose reading the format was learnt from.
    photos: int


def learn_format(
    readings: Sequence[Reading],
    exif: Sequence[dt.datetime | None] | None = None,
    default: DateOrder = DateOrder.MDY,
) -> StripFormat | None:
    """A camera's date format, by vote across its photos' readings (None if it has none).

    ``exif`` (same length as ``readings``, None where a photo has none) breaks the tie
    when every printed date would read either way (day and month both 12 or less).
    """
    if not readings:
        return None
    votes: Counter[DateOrder] = Counter()
    for reading in readings:
        orders = reading.orders()
        if len(orders) == 1:
            votes[orders[0]] += 1
    order_from = "printed"
    if votes:
        order = votes.most_common(1)[0][0]
    else:
        by_exif = _order_by_exif(readings, exif or [None] * len(readings))
        order, order_from = (by_exif, "exif") if by_exif else (default, "default")
    return StripFormat(
        order=order,
        order_from=order_from,
        twelve_hour=sum(r.meridiem is not None for r in readings) * 2 > len(readings),
        seconds=sum(r.second is not None for r in readings) * 2 > len(readings),
        photos=len(readings),
    )


def _order_by_exif(
    readings: Sequence[Reading], exif: Sequence[dt.datetime | None]
) -> DateOrder | None:
    """The day/month order whose times differ least (and most steadily) from EXIF."""
    spreads = {}
    for order in (DateOrder.MDY, DateOrder.DMY):
        gaps = [
            abs((when - taken).total_seconds())
            for reading, taken in zip(readings, exif, strict=True)
            if taken is not None and (when := reading.at(order)) is not None
        ]
        if gaps:
            spreads[order] = statistics.median(gaps)
    if len(spreads) < 2 or spreads[DateOrder.MDY] == spreads[DateOrder.DMY]:
        return None
    return min(spreads, key=lambda o: spreads[o])


def resolve(reading: Reading, fmt: StripFormat) -> dt.datetime | None:
    """A reading's time under its camera's format (None when the date is not real in it,
    a 12-hour camera's reading lost its AM/PM, or a camera that prints seconds has none
    in this reading: part of the time was misread)."""
    if fmt.twelve_hour and reading.meridiem is None and reading.hour <= 12:
        return None
    if fmt.seconds and reading.second is None:
        return None
    return reading.at(fmt.order)
