"""JPEG structure parsing: size, EXIF block, end marker, metadata-free content hash."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from traptagger_lab.ingest.jpeg import (
    BrokenJpegError,
    NotJpegError,
    TruncatedJpegError,
    parse_jpeg,
)
from traptagger_lab.sample import _exif, _replace_exif


def _jpeg(colour: tuple[int, int, int] = (10, 200, 30), exif: bytes | None = None) -> bytes:
    buffer = BytesIO()
    image = Image.new("RGB", (64, 48), colour)
    image.save(buffer, "JPEG", **({"exif": exif} if exif else {}))
    return buffer.getvalue()


def test_reads_size_and_exif_without_decoding(shared_data: Path) -> None:
    path = shared_data / "camtrap-dp/example/media/20210531082538-RCNX0031.JPG"
    info = parse_jpeg(path.read_bytes())
    with Image.open(path) as image:
        assert (info.width, info.height) == image.size == (2048, 1440)
    assert info.exif is not None
    assert info.exif.startswith(b"Exif\x00\x00")
    assert info.ends_properly


def test_hash_ignores_metadata_but_not_pixels() -> None:
    plain = _jpeg()
    with_exif = _replace_exif(plain, _exif(None, (1.5, 2.5), make="Other"))
    assert with_exif != plain
    assert parse_jpeg(with_exif).content_hash == parse_jpeg(plain).content_hash
    assert parse_jpeg(_jpeg((90, 120, 30))).content_hash != parse_jpeg(plain).content_hash


def test_real_photos_have_distinct_hashes(shared_data: Path) -> None:
    paths = sorted((shared_data / "camtrap-dp/example/media").glob("*.JPG"))
    hashes = {parse_jpeg(p.read_bytes()).content_hash for p in paths}
    assert len(hashes) == len(paths) == 10


def test_not_a_jpeg() -> None:
    with pytest.raises(NotJpegError):
        parse_jpeg(b"GIF89a....")
    png = BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")
    with pytest.raises(NotJpegError):
        parse_jpeg(png.getvalue())


def test_cut_inside_headers_is_truncated() -> None:
    data = _jpeg(exif=_exif(None, None))
    with pytest.raises(TruncatedJpegError):
        parse_jpeg(data[:40])


def test_cut_inside_scan_has_no_end_marker() -> None:
    data = _jpeg()
    info = parse_jpeg(data[: len(data) - 10])
    assert not info.ends_properly


def test_garbage_after_soi_is_broken() -> None:
    with pytest.raises(BrokenJpegError):
        parse_jpeg(b"\xff\xd8" + b"\x00" * 100)
