"""Effort from deployments, as camtrapR computes it for its own sample, and the checks that
keep the sample's stray video (2025, among photos of 2009) out of StationA's effort.

camtrapR's expected values (jniedballa/camtrapR, tests/testthat/):
- test-surveyReport.R, "calculations are correct for a survey without problems": StationA,
  set up 2009-04-02 and retrieved 2009-05-14 (dates alone), has n_trap_nights_active 42.
- test-surveyReport.R, "calculations are correct for a survey WITH problems": StationC, 4 Apr
  to 17 May with Problem1 12-17 May, has n_trap_nights_active 37.5.
- test_cameraOperation.R, "setting time to 00:00:00 works": a setup at 2009-04-02 00:00:00
  gives StationA a full first day: camop[1, 1] == 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.deployments.conftest import UTM
from traptagger_lab.deployments import deployment_checks, import_deployments
from traptagger_lab.deployments.periods import within
from traptagger_lab.errors import ConfigurationError
from traptagger_lab.results.api import Results
from traptagger_lab.results.records import deployments as effort_deployments

VIDEO = "StationA/PBE/20251112_100312.mp4"


def test_effort_equals_camtraprs_trap_nights(camtrapr: Any, camtraps: Path) -> None:
    import_deployments(camtrapr.workspace, "C", str(camtraps), **UTM)
    effort = Results(camtrapr.workspace, "C").effort
    assert effort.attrs["effort_source"] == "deployments"
    trap_days = effort.sum(axis=1).to_dict()
    assert trap_days["StationA"] == 42.0  # camtrapR test-surveyReport.R (without problems)
    assert trap_days["StationC"] == 37.5  # camtrapR test-surveyReport.R (WITH problems)
    # StationB, 3 Apr - 16 May: 44 calendar days, the first and last half (counted by hand)
    assert trap_days["StationB"] == 43.0
    c = effort.loc["StationC"]
    assert c[pd.Timestamp("2009-05-11").date()] == 1.0
    assert (c[[pd.Timestamp(f"2009-05-{d}").date() for d in range(12, 18)]] == 0).all()
    assert effort.loc["StationA", pd.Timestamp("2009-04-02").date()] == 0.5
    assert pd.isna(effort.loc["StationA", pd.Timestamp("2009-05-15").date()])


def _midnight(tmp_path: Path) -> Path:
    """camtrapR's camtraps_date_time_char_midnight (test_cameraOperation.R): setup at 12:00,
    retrieval at 15:00, the problem 06:00-15:00, StationA's setup at 00:00:00."""
    table = tmp_path / "midnight.csv"
    table.write_text(
        "Station,Setup_date,Retrieval_date,Problem1_from,Problem1_to\n"
        "StationA,2009-04-02 00:00:00,2009-05-14 15:00:00,,\n"
        "StationB,2009-04-03 12:00:00,2009-05-16 15:00:00,,\n"
        "StationC,2009-04-04 12:00:00,2009-05-17 15:00:00,2009-05-12 06:00:00,"
        "2009-05-17 15:00:00\n"
    )
    return table


def _first_day(lab: Any, table: Path) -> float:
    report = import_deployments(lab.workspace, "C", str(table))
    assert report.imported == 3
    effort = Results(lab.workspace, "C").effort
    return float(effort.loc["StationA", pd.Timestamp("2009-04-02").date()])


def test_a_setup_at_midnight_as_camtrapr(camtrapr: Any, tmp_path: Path) -> None:
    """camtrapR test_cameraOperation.R, "setting time to 00:00:00 works": camop[1, 1] == 1."""
    assert _first_day(camtrapr, _midnight(tmp_path)) == 1.0


def test_the_stray_video_is_flagged_and_out_of_effort(camtrapr: Any, camtraps: Path) -> None:
    workspace = camtrapr.workspace
    # without deployments: effort from photo days, the far-off video left out by default
    photos = Results(workspace, "C").effort
    assert photos.attrs["effort_source"] == "photos"
    assert photos.sum(axis=1)["StationA"] == 27.0  # 10 Apr - 7 May 2009, ends half
    assert max(photos.columns) == pd.Timestamp("2009-05-14").date()  # StationB's last photo
    kept = Results(workspace, "C", outside_deployments="keep").effort
    assert kept.sum(axis=1)["StationA"] > 6000  # what the video did before (issue 20)
    found = deployment_checks(workspace, "C")
    assert found[["kind", "station", "file"]].values.tolist() == [
        ["far_from_camera", "StationA", VIDEO]
    ]
    assert found["timestamp"].iloc[0].year == 2025
    assert "days from the camera's other photos (2009-04-10 to 2009-05-07)" in found["detail"][0]
    counts = camtrapr.status_counts("C")
    assert counts["deployments"] == 0
    assert counts["deployment_checks"]["far_from_camera"] == 1
    # with deployments: the video is outside StationA's, and its effort is camtrapR's
    import_deployments(workspace, "C", str(camtraps), **UTM)
    found = deployment_checks(workspace, "C")
    assert found[["kind", "file"]].values.tolist() == [
        ["far_from_camera", VIDEO],
        ["outside_deployment", VIDEO],
    ]
    assert found["detail"][1] == "after retrieval (2009-05-14 23:59)"
    for outside in ("exclude", "keep"):
        effort = Results(workspace, "C", outside_deployments=outside).effort
        assert effort.sum(axis=1)["StationA"] == 42.0
    status = camtrapr.status("C")["value"]
    assert status["deployments"] == 3
    assert status["deployment_checks.outside_deployment"] == 1
    assert status["deployment_checks.span_mismatch"] == 0


def test_records_outside_deployments_are_found(camtrapr: Any, camtraps: Path) -> None:
    """The rule Results applies to records: the video's record lies in no deployment."""
    for source in ("photos", "deployments"):
        if source == "deployments":
            import_deployments(camtrapr.workspace, "C", str(camtraps), **UTM)
        records = Results(camtrapr.workspace, "C", 0, outside_deployments="keep").records
        inside = within(records, Results(camtrapr.workspace, "C", 0).effort_inputs[0])
        assert records.loc[~inside, "FileName"].tolist() == ["20251112_100312.mp4"], source


def test_results_leave_records_outside_deployments_out(camtrapr: Any, camtraps: Path) -> None:
    import_deployments(camtrapr.workspace, "C", str(camtraps), **UTM)
    files = Results(camtrapr.workspace, "C", min_delta_minutes=0).records["FileName"]
    assert not files.str.endswith(".mp4").any()
    kept = Results(camtrapr.workspace, "C", 0, outside_deployments="keep").records["FileName"]
    assert kept.str.endswith(".mp4").sum() == 1


def test_effort_inputs_say_their_source(camtrapr: Any, camtraps: Path) -> None:
    deployments, problems = effort_deployments(camtrapr.workspace, "C")
    assert deployments.attrs["source"] == problems.attrs["source"] == "photos"
    assert deployments["Camera"].tolist() == ["StationA", "StationB", "StationC"]
    import_deployments(camtrapr.workspace, "C", str(camtraps), **UTM)
    deployments, problems = effort_deployments(camtrapr.workspace, "C")
    assert deployments.attrs["source"] == "deployments"
    assert deployments["setup"].tolist()[0] == pd.Timestamp("2009-04-02 12:00")  # camtrapR noon
    assert problems[["Station", "start", "end"]].values.tolist() == [
        ["StationC", pd.Timestamp("2009-05-12"), pd.Timestamp("2009-05-17 12:00")]
    ]
    with pytest.raises(ConfigurationError, match="outside_deployments='drop'"):
        Results(camtrapr.workspace, "C", outside_deployments="drop")


def test_span_checks(camtrapr: Any, tmp_path: Path) -> None:
    table = tmp_path / "spans.csv"
    table.write_text(
        "Station,Setup_date,Retrieval_date\n"
        "StationA,2009-04-15,2009-06-30\n"  # photos from 10 Apr; none after 7 May
        "StationB,2010-01-01,2010-02-01\n"  # no photo at all
    )
    import_deployments(camtrapr.workspace, "C", str(table))
    found = deployment_checks(camtrapr.workspace, "C")
    kinds = found.groupby("kind").size().to_dict()
    assert kinds == {
        "far_from_camera": 1,
        "outside_deployment": 2 + 23,  # StationA 10 Apr (two files) and every StationB photo
        "no_deployment": 1,  # StationC
        "span_mismatch": 3,
    }
    spans = found[found["kind"] == "span_mismatch"].set_index("station")["detail"]
    assert "no photos between setup 2010-01-01 and retrieval 2010-02-01" in spans["StationB"]
    assert any("deployed from 2009-04-15 to 2009-06-30" in d for d in spans[["StationA"]])
    assert any("no photos for 54 days before retrieval" in d for d in spans[["StationA"]])
