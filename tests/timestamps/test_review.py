"""Per-camera reports from strip readings (pure: hand-made readings, no tesseract)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from pydantic import ValidationError

from traptagger_lab.timestamps.formats import parse_text
from traptagger_lab.timestamps.ocr import PhotoStrip, StripFailure
from traptagger_lab.timestamps.review import RepairParams, SurveyPhoto, build_review
from traptagger_lab.timestamps.strip import Edge

T0 = dt.datetime(2024, 3, 13, 22, 20, 34)


def _photo(number: int, exif: dt.datetime | None, camera: str = "CamA") -> SurveyPhoto:
    path = f"Site01/{camera}/IMG_{number:04d}.JPG"
    source = "exif_original" if exif else "missing"
    camera_id = 1 if camera == "CamA" else 2
    return SurveyPhoto(number, path, None, "Site01", camera, camera_id, exif, source, 0.0)


def _strip(text: str) -> PhotoStrip:
    return PhotoStrip(parse_text(text), Edge.BOTTOM, text, 2, 2)


def test_a_camera_without_seconds_is_compared_to_the_minute() -> None:
    """Browning prints no seconds: 22:20 on the strip agrees with 22:20:34 in EXIF."""
    photos = [_photo(i, T0 + dt.timedelta(hours=30 * i)) for i in range(1, 6)]
    strips = {
        p.image_id: _strip(f"BROWNING 75°F {p.exif:%m/%d/%Y} {p.exif:%I:%M %p}")  # type: ignore[str-format]
        for p in photos
    }
    review = build_review("S", photos, strips, RepairParams())
    row = review.cameras.iloc[0]
    assert (row.camera, row.read, row.compared, row.offset_s) == ("Site01/CamA", 5, 5, 0.0)
    assert (row.seconds, row.twelve_hour, row.confidence) == (False, True, "high")
    assert not row.needs_change
    assert list(review.photos.difference_s) == [0.0] * 5
    summary = review.summary().iloc[0]
    assert (summary.read, summary.agreement, summary.action) == ("5/5", "100%", "keep")


def test_failures_and_photos_not_read() -> None:
    days = {1: 0, 2: 1, 4: 2, 5: 4}
    photos = [_photo(i, T0 + dt.timedelta(days=d)) for i, d in days.items()]
    photos.insert(2, _photo(3, None))
    strips = {
        1: _strip(f"{T0:%m/%d/%Y %I:%M:%S %p}"),
        5: _strip(f"{T0 + dt.timedelta(days=4):%m/%d/%Y %I:%M:%S %p}"),
        2: PhotoStrip(None, failure=StripFailure.NO_STRIP),
        3: _strip(f"{T0 + dt.timedelta(days=3):%m/%d/%Y} 10:00:00"),  # lost its AM/PM
    }
    review = build_review("S", photos, strips, RepairParams())
    failures = {
        i: f if isinstance(f, str) else None
        for i, f in zip(review.photos.image_id, review.photos.failure, strict=True)
    }
    assert failures == {1: None, 2: "no_strip", 3: "ambiguous", 4: "not_read", 5: None}
    row = review.cameras.iloc[0]
    assert (row.read, row.compared, row.confidence, row.without_exif) == (2, 2, "medium", 1)
    assert review.missing().empty  # the photo without EXIF could not be read


def test_a_camera_with_nothing_read() -> None:
    review = build_review("S", [_photo(1, T0, "CamB")], {}, RepairParams())
    row = review.cameras.iloc[0]
    assert (row.camera, row.read, row.confidence, row.segments) == ("Site01/CamB", 0, "none", 0)
    assert math.isnan(row.agreement)
    assert review.chosen("low") == []
    assert review.summary().to_dict("records") == [
        {
            "camera": "Site01/CamB",
            "read": "0/1",
            "agreement": "",
            "offsets": "",
            "change points": "",
            "no EXIF": 0,
            "confidence": "none",
            "action": "keep",
        }
    ]


def test_params_defaults_and_ranges() -> None:
    params = RepairParams()
    assert (params.tolerance_s, params.min_run, params.default_order.value) == (2.0, 2, "mdy")
    with pytest.raises(ValidationError, match="high_agreement"):
        RepairParams(high_agreement=1.5)
    with pytest.raises(ValidationError, match="per_camera"):
        RepairParams(per_camera=0)
