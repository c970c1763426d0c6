"""Capture time, GPS and camera from EXIF, with fallbacks, checked on real camera-trap photos."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from PIL import Image

from traptagger_lab.ingest.jpeg import parse_jpeg
from traptagger_lab.ingest.metadata import (
    parse_exif_datetime,
    read_metadata,
    time_from_filename,
)
from traptagger_lab.sample import _exif


def _meta(path: Path) -> object:
    return read_metadata(parse_jpeg(path.read_bytes()).exif, path.name)


def test_real_cuddeback_and_reconyx_times_match_pillow(shared_data: Path) -> None:
    paths = sorted((shared_data / "camtrapR/pictures/raw_images").glob("*/*.JPG"))
    paths += sorted((shared_data / "camtrap-dp/example/media").glob("*.JPG"))
    assert len(paths) == 16
    for path in paths:
        meta = _meta(path)
        with Image.open(path) as image:
            expected = image.getexif().get_ifd(0x8769)[0x9003]
            make = image.getexif()[0x010F].strip("\x00 ")
        assert meta.time.source == "exif_original"  # type: ignore[attr-defined]
        assert meta.time.value == dt.datetime.strptime(expected, "%Y:%m:%d %H:%M:%S")  # type: ignore[attr-defined]
        assert meta.make == make  # type: ignore[attr-defined]


def test_exif_beats_filename(shared_data: Path) -> None:
    # The Camtrap DP example file names carry the upload time, not the capture time.
    meta = _meta(shared_data / "camtrap-dp/example/media/20210531082538-RCNX0031.JPG")
    assert meta.time.value == dt.datetime(2021, 4, 11, 20, 43, 9)  # type: ignore[attr-defined]


def test_gps_round_trip() -> None:
    block = _exif(dt.datetime(2024, 1, 2, 3, 4, 5), (-24.25, 31.5))
    meta = read_metadata(block, "a.jpg")
    assert meta.latitude == pytest.approx(-24.25, abs=1e-5)
    assert meta.longitude == pytest.approx(31.5, abs=1e-5)
    assert meta.time.value == dt.datetime(2024, 1, 2, 3, 4, 5)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("StationA__2009-04-21__00-40-00(1).JPG", dt.datetime(2009, 4, 21, 0, 40, 0)),
        ("20210531082538-RCNX0031.JPG", dt.datetime(2021, 5, 31, 8, 25, 38)),
        ("IMG_20230102_131415.jpg", dt.datetime(2023, 1, 2, 13, 14, 15)),
        ("site/2023-01-02 13.14.15.jpg", dt.datetime(2023, 1, 2, 13, 14, 15)),
        ("IMG_0001.JPG", None),
        ("19991399999999.jpg", None),
    ],
)
def test_time_from_filename(name: str, expected: dt.datetime | None) -> None:
    assert time_from_filename(name) == expected


def test_filename_fallback_when_no_exif() -> None:
    meta = read_metadata(None, "A/StationA__2009-04-21__00-40-00(1).JPG")
    assert meta.time.source == "filename"
    assert meta.time.value == dt.datetime(2009, 4, 21, 0, 40)


def test_missing_and_invalid_are_flagged_not_guessed() -> None:
    assert read_metadata(None, "IMG_0001.JPG").time.source == "missing"
    bad = Image.Exif()
    bad.get_ifd(0x8769)[0x9003] = "0000:00:00 00:00:00"
    meta = read_metadata(bad.tobytes(), "IMG_0001.JPG")
    assert meta.time.value is None
    assert meta.time.source.startswith("invalid")
    assert read_metadata(b"Exif\x00\x00garbage", "IMG_0001.JPG").time.source == "missing"


def test_digitized_and_subseconds() -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9004] = "2022:05:06 07:08:09"
    exif.get_ifd(0x8769)[0x9292] = "25"
    meta = read_metadata(exif.tobytes(), "x.jpg")
    assert meta.time.source == "exif_digitized"
    assert meta.time.value == dt.datetime(2022, 5, 6, 7, 8, 9, 250000)


def test_future_dates_are_rejected() -> None:
    now = dt.datetime(2024, 1, 1)
    with pytest.raises(ValueError, match="implausible"):
        parse_exif_datetime("2030:01:01 00:00:00", now=now)
    with pytest.raises(ValueError, match="unreadable"):
        parse_exif_datetime("yesterday")
