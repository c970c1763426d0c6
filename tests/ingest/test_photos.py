"""Per-photo processing: derived copies at reduced-scale decode, and every failure kind."""

from __future__ import annotations

import random
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from traptagger_lab.ingest.photos import DerivedSizes, decode_reduced, process_photo
from traptagger_lab.ingest.records import Failure, FailureReason, PhotoRecord, SourceFile
from traptagger_lab.sample import SampleSurvey

SIZES = DerivedSizes(compressed_width=800, thumbnail_width=240, quality=85)


def _run(data: bytes, path: str = "S/C/x.jpg") -> tuple[PhotoRecord | Failure, dict[str, bytes]]:
    written: dict[str, bytes] = {}
    item = SourceFile(path=path, size=len(data), kind="image", site="S", camera="C")
    return process_photo(item, data, written.__setitem__, SIZES), written


def test_full_size_reconyx_photo(shared_data: Path) -> None:
    data = (shared_data / "camtrap-dp/example/media/20210531082538-RCNX0031.JPG").read_bytes()
    record, written = _run(data)
    assert isinstance(record, PhotoRecord)
    assert (record.width, record.height) == (2048, 1440)
    assert record.make == "RECONYX"
    compressed = Image.open(BytesIO(written[record.derived.compressed_key]))
    thumbnail = Image.open(BytesIO(written[record.derived.thumbnail_key]))
    assert compressed.size == (800, 562)
    assert thumbnail.size == (240, 169)
    assert compressed.mode == "RGB"  # detectors need three channels, even for IR shots


def test_reduced_decode_uses_dct_scaling(shared_data: Path) -> None:
    data = (shared_data / "camtrap-dp/example/media/20210531082538-RCNX0031.JPG").read_bytes()
    image = decode_reduced(data, 2048, 1440, 800)
    assert image.size == (1024, 720)  # 1/2 scale: the smallest still >= 800 wide


def test_small_photos_are_not_upscaled(shared_data: Path) -> None:
    data = next((shared_data / "camtrapR/pictures/raw_images/StationA").glob("*.JPG")).read_bytes()
    record, written = _run(data)
    assert isinstance(record, PhotoRecord)
    assert Image.open(BytesIO(written[record.derived.compressed_key])).size == (100, 75)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", FailureReason.EMPTY_FILE),
        (b"hello, not a photo", FailureReason.NOT_AN_IMAGE),
        (b"\xff\xd8\xff\xe1\x10\x00Exif", FailureReason.TRUNCATED),
        (b"\xff\xd8" + b"\x13" * 64, FailureReason.CORRUPT),
    ],
)
def test_bad_files_become_failures(data: bytes, reason: FailureReason) -> None:
    record, written = _run(data, "S/C/bad.jpg")
    assert isinstance(record, Failure)
    assert record.reason is reason
    assert record.path == "S/C/bad.jpg"
    assert record.detail
    assert written == {}


def test_sample_problem_files(sample_survey: SampleSurvey) -> None:
    for path, reason in sample_survey.failures.items():
        if reason in ("empty_file", "truncated", "not_an_image"):
            record, _ = _run((sample_survey.root / path).read_bytes(), path)
            assert isinstance(record, Failure), path
            assert record.reason.value == reason, path


def _photo_bytes() -> bytearray:
    buffer = BytesIO()
    Image.effect_noise((320, 240), 60).convert("RGB").save(buffer, "JPEG")
    return bytearray(buffer.getvalue())


def test_garbage_in_image_data_is_corrupt() -> None:
    data = _photo_bytes()
    sos = data.index(b"\xff\xda")
    data[sos + 200 : sos + 2200] = random.Random(3).randbytes(2000)
    record, _ = _run(bytes(data))
    assert isinstance(record, Failure)
    assert record.reason is FailureReason.CORRUPT
    assert "invalid marker" in record.detail


def test_zero_filled_tail_is_truncated() -> None:
    data = _photo_bytes()
    half = len(data) // 2
    data[half:] = bytes(len(data) - half)  # what a failing SD card leaves behind
    record, _ = _run(bytes(data))
    assert isinstance(record, Failure)
    assert record.reason is FailureReason.TRUNCATED


@pytest.mark.parametrize("lenient", [False, True])
def test_damaged_pixels_fail_whatever_the_process_set(
    lenient: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Importing megadetector's visualisation sets PIL's LOAD_TRUNCATED_IMAGES for the whole
    process; ingest must still refuse a photo whose pixel data is cut short, and a header
    claiming 1 x 65,501 pixels must never stop the run (its copy fits a JPEG)."""
    import struct

    from PIL import ImageFile

    buffer = BytesIO()
    Image.new("RGB", (8, 8), (90, 120, 60)).save(buffer, "JPEG")
    claims = bytearray(buffer.getvalue())
    at = claims.find(b"\xff\xc0")
    claims[at + 5 : at + 9] = struct.pack(">HH", 65501, 1)  # height 65,501, width 1
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", lenient)
    source = SourceFile(
        path="Site01/CamA/x.jpg", size=0, kind="image", site="Site01", camera="CamA"
    )
    written: dict[str, bytes] = {}
    sizes = DerivedSizes(compressed_width=800, thumbnail_width=200, quality=85)
    tall = process_photo(source, bytes(claims), written.__setitem__, sizes)
    assert isinstance(tall, Failure)
    assert tall.reason == FailureReason.CORRUPT
    assert ImageFile.LOAD_TRUNCATED_IMAGES is lenient  # the process's setting is given back
