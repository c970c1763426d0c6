"""Read what we need from a JPEG's structure without decoding its pixels.

One pass over the marker segments gives the size (from the SOF header), the
raw EXIF block (APP1), whether the file ends properly, and a content hash of
everything except metadata segments (APPn and COM): editing EXIF (fixing a
clock, adding GPS, tagging species in XMP) leaves the hash unchanged, so the
same photo imported twice is recognised.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass

SOI = b"\xff\xd8"
EOI = b"\xff\xd9"
#: Start-of-frame markers that carry the image size (all SOFn except DHT, JPG, DAC).
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_METADATA = set(range(0xE0, 0xF0)) | {0xFE}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}
#: After 0xFF inside image data only these may follow: stuffing (00), restart markers,
#: fill (FF), and the markers a progressive JPEG puts between scans. Anything else
#: is damage (bit rot, a bad card, a half-overwritten file).
_BAD_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xd9-\xdd\xc4\xe0-\xef\xfe\xff]")


class NotJpegError(ValueError):
    """The bytes are not a JPEG at all."""


class BrokenJpegError(ValueError):
    """The bytes start like a JPEG but the structure is damaged."""


class TruncatedJpegError(BrokenJpegError):
    """The file ends in the middle of the JPEG headers."""


@dataclass(frozen=True)
class JpegInfo:
    """Facts read from the marker segments of one JPEG."""

    width: int
    height: int
    exif: bytes | None
    content_hash: str
    ends_properly: bool


def content_hasher() -> hashlib.blake2b:
    """The hash used for every content hash (images and videos)."""
    return hashlib.blake2b(digest_size=16)


def parse_jpeg(data: bytes) -> JpegInfo:
    """Parse the marker segments of ``data``.

    Raises:
        NotJpegError: if ``data`` does not start with a JPEG SOI marker.
        BrokenJpegError: if a segment is cut short or no scan data follows.
    """
    if not data.startswith(SOI):
        raise NotJpegError("does not start with a JPEG marker")
    view = memoryview(data)
    digest = content_hasher()
    digest.update(view[:2])
    pos, size, exif = 2, len(data), None
    width = height = 0
    while True:
        # Skip fill bytes between segments.
        while pos < size and data[pos] == 0xFF and pos + 1 < size and data[pos + 1] == 0xFF:
            pos += 1
        if pos + 4 > size:
            raise TruncatedJpegError(f"file ends inside the headers at byte {size}")
        if data[pos] != 0xFF:
            raise BrokenJpegError(f"damaged marker structure at byte {pos}")
        marker = data[pos + 1]
        if marker in _STANDALONE:
            digest.update(view[pos : pos + 2])
            pos += 2
            continue
        if marker == 0xD9:
            raise BrokenJpegError("image ends before any scan data")
        (length,) = struct.unpack(">H", view[pos + 2 : pos + 4])
        end = pos + 2 + length
        if end > size:
            raise TruncatedJpegError(f"segment 0x{marker:02X} at byte {pos} is cut short")
        if length < 2:
            raise BrokenJpegError(f"segment 0x{marker:02X} at byte {pos} has a bad length")
        if marker in _SOF and length >= 7:
            height, width = struct.unpack(">HH", view[pos + 5 : pos + 9])
        if marker == 0xE1 and exif is None and data.startswith(b"Exif\x00\x00", pos + 4):
            exif = bytes(view[pos + 4 : end])
        if marker not in _METADATA:
            digest.update(view[pos:end])
        if marker == 0xDA:  # start of scan: the rest is image data
            break
        pos = end
    if width == 0 or height == 0:
        raise BrokenJpegError("no frame header (SOF) before the scan data")
    last_eoi = data.rfind(EOI, end)
    ends_properly = last_eoi != -1
    damage = _BAD_IN_SCAN.search(data, end, last_eoi if ends_properly else size)
    if damage is not None:
        raise BrokenJpegError(f"invalid marker in the image data at byte {damage.start()}")
    digest.update(view[end : last_eoi + 2 if ends_properly else size])
    return JpegInfo(width, height, exif, digest.hexdigest(), ends_properly)
