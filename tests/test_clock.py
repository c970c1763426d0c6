"""Per-camera clock correction: offsets, reference photos, originals untouched, re-clustering."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from traptagger_lab.errors import NotFoundError
from traptagger_lab.sample import SampleSurvey


def test_offset_and_reference_photo(
    database_url: str, sample_survey: SampleSurvey, lab_factory: Any
) -> None:
    lab = lab_factory(database_url=database_url)
    lab.ingest(str(sample_survey.root), survey="S")
    lab.sequences("S")
    before = lab.images("S", include_failures=False).set_index("path")

    changed = lab.set_clock_offset("S", "Site01/CamB", 3600)
    after = lab.images("S", include_failures=False).set_index("path")
    cam_b = before.camera.eq("CamB") & before.site.eq("Site01")
    assert changed == int(cam_b.sum())
    shift = after.corrected_timestamp[cam_b] - before.corrected_timestamp[cam_b]
    assert (shift == dt.timedelta(hours=1)).all()
    assert after.timestamp.equals(before.timestamp)  # originals are never overwritten
    assert after.corrected_timestamp[~cam_b].equals(before.corrected_timestamp[~cam_b])

    photo = "Site02/CamA/IMG_0001.JPG"
    recorded = before.loc[photo].timestamp.to_pydatetime()
    truth = recorded - dt.timedelta(days=366, minutes=5)  # the clock was a leap year ahead
    offset = lab.correct_clock("S", photo, truth)
    assert offset == pytest.approx(-(366 * 86400 + 300))
    fixed = lab.images("S", include_failures=False).set_index("path")
    assert fixed.loc[photo].corrected_timestamp.to_pydatetime() == truth
    assert lab.status_counts("S")["unclustered_images"] == 0  # re-clustered with the new times


def test_camera_lookup_errors(sample_survey: SampleSurvey, lab_factory: Any) -> None:
    lab = lab_factory()
    lab.ingest(str(sample_survey.root), survey="S")
    with pytest.raises(NotFoundError, match=r"ambiguous.*Site01/CamA"):
        lab.camera("S", "CamA")
    with pytest.raises(NotFoundError, match="does not exist"):
        lab.camera("S", "Site09/CamA")
    assert lab.camera("S", "CamB").name == "CamB"
    with pytest.raises(NotFoundError, match="no image"):
        lab.correct_clock("S", "nope.jpg", dt.datetime(2024, 1, 1))
