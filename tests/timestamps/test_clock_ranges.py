"""Piecewise clock offsets (clock.py additions): a camera whose clock jumped gets one offset
before the jump and another after; photos given a time later follow their neighbours."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from traptagger_lab.clock import offset_in_effect, set_clock_offset_ranges
from traptagger_lab.db.models import Camera
from traptagger_lab.errors import ConfigurationError
from traptagger_lab.sample import SampleSurvey


def test_offset_ranges(lab: Any, sample_survey: SampleSurvey) -> None:
    before = lab.images("S", include_failures=False).set_index("path")
    cam_b = before[before.site.eq("Site01") & before.camera.eq("CamB")].sort_values("timestamp")
    middle = cam_b.timestamp.iloc[len(cam_b) // 2].to_pydatetime()
    ranges = [(None, middle, 0.0), (middle, None, -86400.0)]
    changed = set_clock_offset_ranges(lab.workspace, "S", "Site01/CamB", ranges)
    assert changed == len(cam_b)
    after = lab.images("S", include_failures=False).set_index("path").loc[cam_b.index]
    shift = after.corrected_timestamp - after.timestamp
    early = cam_b.timestamp < middle
    assert (shift[early] == dt.timedelta(0)).all()
    assert (shift[~early] == dt.timedelta(days=-1)).all()
    assert lab.camera("S", "Site01/CamB").clock_offset_s == -86400.0  # the clock as it is now
    assert lab.status_counts("S")["unclustered_images"] == 0
    with lab.workspace.sessions() as session:
        camera = session.get(Camera, lab.camera("S", "Site01/CamB").id)
        assert camera is not None
        first = after.corrected_timestamp[early].min().to_pydatetime()
        last = after.corrected_timestamp[~early].max().to_pydatetime()
        assert offset_in_effect(session, camera, first - dt.timedelta(hours=1)) == 0.0
        assert offset_in_effect(session, camera, last + dt.timedelta(hours=1)) == -86400.0
    with pytest.raises(ConfigurationError, match="no offset ranges"):
        set_clock_offset_ranges(lab.workspace, "S", "Site01/CamB", [])
