"""The pure core of photo ingest: bytes of one JPEG in, one record (or failure) out.

Pixels are decoded once, at reduced scale where the JPEG allows it (libjpeg's
DCT scaling through Pillow's ``draft``), to make the compressed copy shown on
annotation screens and the thumbnail. Everything else comes from the marker
segments (see :mod:`traptagger_lab.ingest.jpeg`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageFile

from traptagger_lab.ingest.jpeg import (
    BrokenJpegError,
    NotJpegError,
    TruncatedJpegError,
    parse_jpeg,
)
from traptagger_lab.ingest.metadata import read_metadata
from traptagger_lab.ingest.records import Derived, Failure, FailureReason, PhotoRecord, SourceFile


@dataclass(frozen=True)
class DerivedSizes:
    """Widths and quality of the derived JPEGs."""

    compressed_width: int = 800
    thumbnail_width: int = 240
    quality: int = 85


def derived_keys(content_hash: str) -> Derived:
    """Store keys of a picture's derived files: by content, so rewriting is idempotent."""
    shard = content_hash[:2]
    return Derived(
        compressed_key=f"compressed/{shard}/{content_hash}.jpg",
        thumbnail_key=f"thumbnails/{shard}/{content_hash}.jpg",
    )


def _encode(image: Image.Image, quality: int) -> bytes:
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


#: The longest side a JPEG can be written with (libjpeg's limit).
JPEG_MAX_SIDE = 65_500


def _scaled(image: Image.Image, width: int) -> Image.Image:
    """At most ``width`` wide, and no side past what a JPEG can hold (a 1 x 65,501 header)."""
    scale = min(1.0, width / image.width, JPEG_MAX_SIDE / image.height)
    if scale >= 1.0:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def make_derived(image: Image.Image, sizes: DerivedSizes) -> tuple[bytes, bytes]:
    """Compressed copy and thumbnail (JPEG bytes) of a loaded RGB image."""
    compressed = _scaled(image, sizes.compressed_width)
    thumbnail = _scaled(compressed, sizes.thumbnail_width)
    return _encode(compressed, sizes.quality), _encode(thumbnail, sizes.quality)


def decode_reduced(data: bytes, width: int, height: int, target_width: int) -> Image.Image:
    """Decode ``data`` to RGB at the smallest DCT scale still at least ``target_width`` wide.

    Raises:
        OSError: if the pixel data is damaged or cut short.
    """
    image = Image.open(BytesIO(data))
    if width > target_width:
        target_height = max(1, round(height * target_width / width))
        image.draft("RGB", (target_width, target_height))
    with _strict_decoding():
        image.load()
    return image if image.mode == "RGB" else image.convert("RGB")


_DECODING = threading.Lock()


@contextmanager
def _strict_decoding() -> Iterator[None]:
    """Damaged pixel data raises, whatever the process set: importing megadetector's
    visualisation sets PIL's global ``LOAD_TRUNCATED_IMAGES``, which would fill a damaged
    photo with grey and import it."""
    with _DECODING:
        before = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = before


Writer = Callable[[str, bytes], None]
#: The most pixels a photo may claim (400 megapixels: past every camera trap and DSLR).
MAX_PIXELS = 400_000_000


def process_photo(
    source: SourceFile,
    data: bytes,
    write: Writer,
    sizes: DerivedSizes,
    now: dt.datetime | None = None,
) -> PhotoRecord | Failure:
    """Turn one photo's bytes into a :class:`PhotoRecord`, writing its derived files.

    Never raises for bad input: an empty, non-JPEG, truncated, corrupt or impossibly
    large file gives a :class:`Failure` naming the reason.
    """
    if not data:
        return Failure(source.path, FailureReason.EMPTY_FILE, "file has zero bytes")
    try:
        info = parse_jpeg(data)
    except NotJpegError as exc:
        return Failure(source.path, FailureReason.NOT_AN_IMAGE, str(exc))
    except TruncatedJpegError as exc:
        return Failure(source.path, FailureReason.TRUNCATED, str(exc))
    except BrokenJpegError as exc:
        return Failure(source.path, FailureReason.CORRUPT, str(exc))
    if not info.ends_properly:
        return Failure(
            source.path, FailureReason.TRUNCATED, "no end-of-image marker: file is cut short"
        )
    if info.width * info.height > MAX_PIXELS:
        return Failure(
            source.path,
            FailureReason.TOO_LARGE,
            f"the header claims {info.width}x{info.height} pixels, more than any camera makes",
        )
    try:
        pixels = decode_reduced(data, info.width, info.height, sizes.compressed_width)
    except Image.DecompressionBombError as exc:
        return Failure(source.path, FailureReason.TOO_LARGE, str(exc))
    except (OSError, SyntaxError, ValueError) as exc:
        return Failure(source.path, FailureReason.CORRUPT, f"cannot decode pixels: {exc}")
    keys = derived_keys(info.content_hash)
    try:
        compressed, thumbnail = make_derived(pixels, sizes)
    except (OSError, ValueError) as exc:  # pixels no JPEG encoder takes: this file alone fails
        return Failure(source.path, FailureReason.CORRUPT, f"cannot make its copies: {exc}")
    write(keys.compressed_key, compressed)
    write(keys.thumbnail_key, thumbnail)
    meta = read_metadata(info.exif, source.path, now)
    return PhotoRecord(
        path=source.path,
        site=source.site,
        camera=source.camera,
        hash=info.content_hash,
        size_bytes=len(data),
        width=info.width,
        height=info.height,
        timestamp=meta.time.value,
        timestamp_source=meta.time.source,
        derived=keys,
        latitude=meta.latitude,
        longitude=meta.longitude,
        altitude=meta.altitude,
        make=meta.make,
        model=meta.model,
        extra=meta.extra,
    )
