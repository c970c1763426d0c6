"""Small frozen records passed between the ingest stages (worker -> database writer)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FailureReason(StrEnum):
    """Why a file found under a survey's source was not imported."""

    EMPTY_FILE = "empty_file"
    NOT_AN_IMAGE = "not_an_image"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    UNREADABLE = "unreadable"
    DUPLICATE = "duplicate"
    NO_SITE = "no_site"
    UNSUPPORTED = "unsupported"
    BAD_NAME = "bad_name"  # a file name that is not text (bytes outside UTF-8)
    TOO_LARGE = "too_large"  # pixel dimensions past what a camera makes (a decompression bomb)
    SPECIAL_FILE = "special_file"  # a FIFO, socket or device with a photo's name
    BAD_LINK = "bad_link"  # a link to a folder that cannot be followed, or would be read twice
    PATH_TAKEN = "path_taken"  # the survey has a file at this path from another source


@dataclass(frozen=True)
class SourceFile:
    """A file found under a source, and where it belongs."""

    path: str
    size: int
    kind: str  # "image" or "video"
    site: str
    camera: str


@dataclass(frozen=True)
class Derived:
    """Keys of the derived blobs written to the store for one picture."""

    compressed_key: str
    thumbnail_key: str


@dataclass(frozen=True)
class PhotoRecord:
    """Everything ingest learnt about one photo (or one still of a video)."""

    path: str
    site: str
    camera: str
    hash: str
    size_bytes: int
    width: int
    height: int
    timestamp: dt.datetime | None
    timestamp_source: str
    derived: Derived
    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None
    make: str | None = None
    model: str | None = None
    frame_index: int | None = None
    #: Metadata kept whole where a column holds less (``image.metadata_extra``).
    extra: dict[str, Any] | None = None


@dataclass(frozen=True)
class VideoRecord:
    """A video and the stills extracted from it."""

    path: str
    site: str
    camera: str
    hash: str
    size_bytes: int
    timestamp: dt.datetime | None
    timestamp_source: str
    duration_s: float | None
    fps: float | None
    width: int | None
    height: int | None
    frames: tuple[PhotoRecord, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Failure:
    """A file that could not be imported, with the reason and a human-readable detail."""

    path: str
    reason: FailureReason
    detail: str
    duplicate_of: str | None = None


Outcome = PhotoRecord | VideoRecord | Failure
