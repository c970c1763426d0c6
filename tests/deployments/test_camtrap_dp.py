"""Camtrap DP deployments out and back in: one deployment per camera with real start and end,
and an export imported again gives the same start and end per camera (and the same
effort)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tests.deployments.conftest import PICTURES, UTM
from traptagger_lab.deployments import deployments, import_deployments
from traptagger_lab.results.api import Results

COLUMNS = ["deploymentID", "cameraID", "deploymentStart", "deploymentEnd"]


def _export(lab: Any, survey: str, folder: Path) -> pd.DataFrame:
    lab.export(survey, "camtrap-dp", str(folder), utc_offset="+08:00")
    return pd.read_csv(folder / "deployments.csv")


def test_camtrap_dp_round_trip(
    camtrapr: Any, camtraps: Path, shared_data: Path, tmp_path: Path
) -> None:
    workspace = camtrapr.workspace
    import_deployments(workspace, "C", str(camtraps), **UTM)
    first = _export(camtrapr, "C", tmp_path / "first")
    assert first[COLUMNS].values.tolist() == [
        ["StationA/StationA", "StationA", "2009-04-02T00:00:00+08:00", "2009-05-14T23:59:59+08:00"],
        ["StationB/StationB", "StationB", "2009-04-03T00:00:00+08:00", "2009-05-16T23:59:59+08:00"],
        ["StationC/StationC", "StationC", "2009-04-04T00:00:00+08:00", "2009-05-17T23:59:59+08:00"],
    ]
    assert first["latitude"].round(5).tolist()[0] == 5.46437
    assert first["deploymentComments"].tolist()[2] == (
        "setup time unknown | retrieval time unknown | problems: 2009-05-12..2009-05-17"
    )
    media = pd.read_csv(tmp_path / "first/media.csv")
    assert len(media) == 68  # the sample's photos; the 2025 video is outside StationA's
    assert set(media["deploymentID"]) == set(first["deploymentID"])
    # the same photos as another survey, its deployments from the export
    camtrapr.ingest(
        str(shared_data / PICTURES), survey="D", site_pattern="folder:1", camera_pattern="folder:1"
    )
    camtrapr.import_labels("D", "folders")
    report = import_deployments(workspace, "D", str(tmp_path / "first"))
    assert (report.format, report.imported, report.problem_periods) == ("camtrap-dp", 3, 1)
    again = _export(camtrapr, "D", tmp_path / "again")
    assert again[COLUMNS].values.tolist() == first[COLUMNS].values.tolist()
    assert again["deploymentComments"].tolist() == first["deploymentComments"].tolist()
    stored = deployments(workspace, "D")
    assert stored["camera"].tolist() == ["StationA", "StationB", "StationC"]  # cameraID matched
    fields = ["setup", "setup_time_known", "retrieval", "retrieval_time_known", "problems"]
    original = deployments(workspace, "C")
    assert stored[fields].values.tolist() == original[fields].values.tolist()
    trap_days = Results(workspace, "D").effort.sum(axis=1).to_dict()
    assert trap_days == {"StationA": 42.0, "StationB": 43.0, "StationC": 37.5}


def test_without_deployments_each_camera_spans_its_photos(camtrapr: Any, tmp_path: Path) -> None:
    camtrapr.import_site_coordinates("C", str(_sites(tmp_path)))
    table = _export(camtrapr, "C", tmp_path / "spans")
    assert table[COLUMNS].values.tolist() == [
        ["StationA/StationA", "StationA", "2009-04-10T05:07:00+08:00", "2009-05-07T17:11:00+08:00"],
        ["StationB/StationB", "StationB", "2009-04-05T00:11:00+08:00", "2009-05-14T02:11:00+08:00"],
        ["StationC/StationC", "StationC", "2009-04-06T03:00:00+08:00", "2009-05-12T02:34:00+08:00"],
    ]  # StationA's far-off video of 2025 is not its end
    assert table["deploymentComments"].isna().all()


def _sites(tmp_path: Path) -> Path:
    path = tmp_path / "sites.csv"
    path.write_text(
        "site,latitude,longitude\nStationA,5.46,117.23\nStationB,5.48,117.21\nStationC,5.49,117.23\n"
    )
    return path
