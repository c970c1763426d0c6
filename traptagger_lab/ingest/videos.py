"""The pure core of video ingest: one video's bytes in, a record with its stills out.

Up to ``max_frames`` stills (30 by default) are taken at most one per second,
evenly over the video, as TrapTagger does. Each still gets the video's
creation time plus its offset into the video, and its own compressed copy and
thumbnail so the annotation screens treat it like a photo.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from fractions import Fraction
from io import BytesIO
from typing import Any

from traptagger_lab.ingest.jpeg import content_hasher
from traptagger_lab.ingest.metadata import check_plausible, time_from_filename
from traptagger_lab.ingest.photos import DerivedSizes, Writer, derived_keys, make_derived
from traptagger_lab.ingest.records import (
    Failure,
    FailureReason,
    PhotoRecord,
    SourceFile,
    VideoRecord,
)

MAX_FRAMES = 30


def still_times(duration_s: float, max_frames: int = MAX_FRAMES) -> list[float]:
    """Offsets (seconds) of the stills to take: at most one a second and ``max_frames`` in all."""
    if duration_s <= 0:
        return [0.0]
    step = max(1.0, duration_s / max_frames)
    count = min(max_frames, max(1, math.floor(duration_s / step) + 1))
    return [round(i * step, 3) for i in range(count) if i * step < duration_s or i == 0]


def frame_path(video_path: str, offset_s: float) -> str:
    """The path of a still: the video's path with a W3C media-fragment time."""
    return f"{video_path}#t={offset_s:.3f}"


_STILL = re.compile(r"#t=\d+(?:\.\d+)?$")


def file_of(path: str) -> str:
    """The file an image's path names: the video for a video still (``v.mp4#t=1.500``),
    else the path itself (a photo may have ``#`` in its name)."""
    return _STILL.sub("", path)


def _creation_time(container: Any, stream: Any) -> tuple[dt.datetime | None, str]:
    for source, metadata in (
        ("video_stream", stream.metadata),
        ("video_container", container.metadata),
    ):
        text = metadata.get("creation_time")
        if not text:
            continue
        try:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
            check_plausible(value)
        except ValueError:
            continue
        return value, source
    return None, "missing"


def _frames(container: Any, stream: Any, offsets: list[float]) -> list[tuple[float, Any]]:
    """Decode sequentially and keep the first frame at or after each offset."""
    wanted = list(offsets)
    picked: list[tuple[float, Any]] = []
    time_base = stream.time_base or Fraction(1, 1000)
    for frame in container.decode(stream):
        if not wanted:
            break
        seconds = float(frame.pts * time_base) if frame.pts is not None else 0.0
        start = float(stream.start_time * time_base) if stream.start_time else 0.0
        if seconds - start + 1e-6 >= wanted[0]:
            picked.append((wanted.pop(0), frame.to_image()))
            while wanted and seconds - start + 1e-6 >= wanted[0]:
                wanted.pop(0)
    return picked


def process_video(
    source: SourceFile,
    data: bytes,
    write: Writer,
    sizes: DerivedSizes,
    max_frames: int = MAX_FRAMES,
) -> VideoRecord | Failure:
    """Read a video, extract its stills and write their derived files.

    Never raises for bad input: an unreadable video gives a :class:`Failure`.
    """
    import av  # heavy-ish; only needed when a survey has videos

    if not data:
        return Failure(source.path, FailureReason.EMPTY_FILE, "file has zero bytes")
    digest = content_hasher()
    digest.update(data)
    video_hash = digest.hexdigest()
    try:
        with av.open(BytesIO(data), mode="r") as container:
            if not container.streams.video:
                return Failure(source.path, FailureReason.CORRUPT, "no video stream")
            stream = container.streams.video[0]
            duration = (
                float(stream.duration * stream.time_base)
                if stream.duration and stream.time_base
                else (container.duration / 1_000_000 if container.duration else 0.0)
            )
            fps = float(stream.average_rate) if stream.average_rate else None
            when, when_source = _creation_time(container, stream)
            stills = _frames(container, stream, still_times(duration, max_frames))
            width, height = stream.codec_context.width, stream.codec_context.height
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        return Failure(source.path, FailureReason.CORRUPT, f"cannot read video: {exc}")
    if not stills:
        return Failure(source.path, FailureReason.CORRUPT, "no decodable frames")
    if when is None:
        when = time_from_filename(source.path)
        when_source = "filename" if when else "missing"
    frames = []
    for index, (offset, image) in enumerate(stills):
        rgb = image.convert("RGB")
        frame_digest = content_hasher()
        frame_digest.update(f"{video_hash}#{offset}".encode())
        keys = derived_keys(frame_digest.hexdigest())
        compressed, thumbnail = make_derived(rgb, sizes)
        write(keys.compressed_key, compressed)
        write(keys.thumbnail_key, thumbnail)
        frames.append(
            PhotoRecord(
                path=frame_path(source.path, offset),
                site=source.site,
                camera=source.camera,
                hash=frame_digest.hexdigest(),
                size_bytes=len(compressed),
                width=rgb.width,
                height=rgb.height,
                timestamp=when + dt.timedelta(seconds=offset) if when else None,
                timestamp_source=f"{when_source}+offset" if when else when_source,
                derived=keys,
                frame_index=index,
            )
        )
    return VideoRecord(
        path=source.path,
        site=source.site,
        camera=source.camera,
        hash=video_hash,
        size_bytes=len(data),
        timestamp=when,
        timestamp_source=when_source,
        duration_s=duration or None,
        fps=fps,
        width=width,
        height=height,
        frames=tuple(frames),
    )
