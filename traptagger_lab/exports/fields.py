"""Checks of the fields of imported records, and the errors that name file, record and field.

Readers pull each field through these checks; a failed check raises
:class:`FieldError`, which the reader turns into a :class:`RecordError` (the
file, the record by row, index or id, the field and the reason), records, and
goes on with the next record. :func:`decode_text` reads a text file or says
plainly which encoding it seems to be in.
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Mapping
from typing import Any

from traptagger_lab.errors import InputFileError

#: A box's edge may pass the image's edge by this much (rounding of pixel boxes).
EDGE_TOLERANCE = 1e-3
#: The most animals one label may count (the database column is a 32-bit integer).
MAX_COUNT = 1_000_000
#: The longest label or individual name (the database columns hold 200 characters).
MAX_NAME = 200


class RecordError(InputFileError):
    """One record of an imported file is refused: it names the file, the record (a CSV
    row, or a JSON record such as ``images[3]``) and the field."""

    def __init__(
        self,
        path: str,
        reason: str,
        row: int | None = None,
        record: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(path, reason, row)
        self.record = record
        self.field = field
        where = [path, *([f"row {row}"] if row is not None else []), *([record] if record else [])]
        what = (
            ""
            if not field
            else f"field {field!r} "
            if reason.startswith("is ")
            else f"field {field!r}: "
        )
        self.args = (f"{', '.join(where)}: {what}{reason}",)


class FieldError(ValueError):
    """A field failed a check (raised inside a reader, turned into a :class:`RecordError`)."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason

    def at(self, path: str, row: int | None = None, record: str | None = None) -> RecordError:
        """The error for the file ``path`` and this record."""
        return RecordError(path, self.reason, row, record, self.field)


def required(record: Any, name: str) -> Any:
    """The value of ``name`` in ``record`` (a JSON object or CSV row); missing or empty fails."""
    if not isinstance(record, Mapping):
        raise FieldError(None, f"is a {type(record).__name__}, not an object")
    value = record.get(name)
    if value is None or value == "":
        raise FieldError(name, "is missing")
    return value


def name_text(value: Any, name: str) -> str:
    """A label or individual name: text, not empty, no control characters, not too long."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise FieldError(name, f"is {type(value).__name__} {value!r}, not text")
    text = str(value).strip()
    if not text:
        raise FieldError(name, "is empty")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise FieldError(name, f"{text!r} holds control characters (e.g. NUL)")
    if len(text) > MAX_NAME:
        raise FieldError(name, f"is {len(text)} characters long; at most {MAX_NAME}")
    return text


def number(value: Any, name: str) -> float:
    """A finite number (a JSON number, or text such as ``"0.25"``)."""
    if isinstance(value, bool):
        raise FieldError(name, f"is {value!r}, not a number")
    try:
        found = float(value)
    except (TypeError, ValueError):
        raise FieldError(name, f"{value!r} is not a number") from None
    if not math.isfinite(found):
        raise FieldError(name, f"is {value!r}, not a finite number")
    return found


def count(value: Any, name: str = "count") -> int | None:
    """A count of animals: empty is none, ``2`` and ``2.0`` are 2; ``2.5``, negative or
    absurdly large counts fail."""
    if value is None or value == "":
        return None
    try:
        found = number(value, name)
    except FieldError:
        raise FieldError(name, f"{value!r} is not a whole number") from None
    if not found.is_integer():
        raise FieldError(name, f"{value!r} is not a whole number")
    if not 0 <= found <= MAX_COUNT:
        raise FieldError(name, f"{value!r} is outside 0..{MAX_COUNT}")
    return int(found)


def unit_box(values: Any, name: str = "bbox") -> tuple[float, float, float, float]:
    """A normalised box ``[x, y, width, height]``: four finite numbers, inside the image
    (0..1, with :data:`EDGE_TOLERANCE` for rounding), of positive size."""
    if not isinstance(values, list | tuple) or len(values) != 4:
        raise FieldError(name, f"{values!r} is not [x, y, width, height]")
    x, y, w, h = (number(v, name) for v in values)
    if w <= 0 or h <= 0:
        raise FieldError(name, f"{list(values)!r} has no width or height")
    if min(x, y) < 0 or x + w > 1 + EDGE_TOLERANCE or y + h > 1 + EDGE_TOLERANCE:
        raise FieldError(name, f"{list(values)!r} is outside the image (0..1)")
    return x, y, min(w, 1 - x), min(h, 1 - y)


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes, name: str) -> str:
    """The text of a file: UTF-8 (with or without a BOM) or UTF-16 with a BOM. Anything
    else is refused naming the file and the encoding it looks like."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise InputFileError(name, f"is not valid {encoding.upper()}: {exc}") from None
    head = data[:200]
    looks = "UTF-16" if head.count(0) > len(head) // 4 else "latin-1/Windows-1252"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            name,
            f"is not UTF-8 (looks like {looks}; byte {exc.start} is {data[exc.start]:#04x}): "
            "save it as UTF-8",
        ) from None
    if looks == "UTF-16":  # ASCII in UTF-16 without a BOM is valid UTF-8, full of NULs
        raise InputFileError(
            name, "is not UTF-8 (looks like UTF-16 without a BOM): save it as UTF-8"
        )
    return text
