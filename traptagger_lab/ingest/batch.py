"""One ingest task: a batch of files read, processed and their derived blobs written.

This is what runs on a Dask worker. It returns plain records; the database
writes happen on the client, one transaction per batch
(:mod:`traptagger_lab.ingest.writer`).
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, InstanceOf

from traptagger_lab.ingest.discover import Source
from traptagger_lab.ingest.photos import DerivedSizes, process_photo
from traptagger_lab.ingest.records import Failure, FailureReason, Outcome, SourceFile
from traptagger_lab.ingest.videos import MAX_FRAMES, process_video
from traptagger_lab.params import StageParams
from traptagger_lab.storage import BlobStore


class BatchParams(StageParams):
    """Everything a worker needs besides the files themselves.

    ``source`` and ``store`` are objects already made, taken as they are (checked by type
    only).
    """

    source: InstanceOf[Source] = Field(
        description="Where the files are: the root URL and its fsspec options."
    )
    store: InstanceOf[BlobStore] = Field(
        description="Where the derived pictures (compressed copies, thumbnails, stills) go."
    )
    sizes: DerivedSizes = Field(
        default_factory=DerivedSizes,
        description="Widths (pixels) and JPEG quality of the compressed copy and thumbnail.",
    )
    max_video_frames: int = Field(
        default=MAX_FRAMES,
        ge=1,
        description="Most stills taken from one video, at most one a second (stills).",
    )


def process_one(params: BatchParams, item: SourceFile, now: dt.datetime | None = None) -> Outcome:
    """Read and process one file; any read problem becomes an ``unreadable`` failure."""
    try:
        data = params.source.read(item.path)
    except (OSError, PermissionError) as exc:
        return Failure(item.path, FailureReason.UNREADABLE, f"cannot read file: {exc}")
    if item.kind == "video":
        return process_video(item, data, params.store.put, params.sizes, params.max_video_frames)
    return process_photo(item, data, params.store.put, params.sizes, now)


def process_batch(params: BatchParams, items: list[SourceFile]) -> list[Outcome]:
    """Process a batch of files; one bad file never stops the others."""
    now = dt.datetime.now()
    return [process_one(params, item, now) for item in items]
