"""Deployments in the database, on SQLite, MariaDB and PostgreSQL: camtrapR's camera-trap table
imported onto its sample, bad rows reported while the rest imports, re-imports replacing,
and single deployments edited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.deployments.conftest import UTM
from traptagger_lab.deployments import (
    delete_deployment,
    deployment_problems,
    deployments,
    import_deployments,
    set_deployment,
)
from traptagger_lab.errors import ConfigurationError, NotFoundError

T = pd.Timestamp


def test_camtraps_csv_onto_camtraprs_sample(camtrapr: Any, camtraps: Path) -> None:
    workspace = camtrapr.workspace
    report = import_deployments(workspace, "C", str(camtraps), **UTM)
    assert (report.format, report.imported, report.replaced) == ("camtrapR", 3, 0)
    assert report.problem_periods == 1
    assert not report.problems
    table = deployments(workspace, "C").set_index("station")
    assert list(table.index) == ["StationA", "StationB", "StationC"]
    assert table["camera"].isna().all()  # no camera column: one deployment per station
    a = table.loc["StationA"]
    assert (a["setup"], a["retrieval"]) == (T("2009-04-02"), T("2009-05-14"))
    assert not a["setup_time_known"]
    assert not a["retrieval_time_known"]
    # UTM 50N (526000, 604000) is 5.46437 N, 117.23471 E (by hand: test_readers.utm_to_latlon)
    assert (round(a["latitude"], 5), round(a["longitude"], 5)) == (5.46437, 117.23471)
    assert (a["x"], a["y"], a["crs"]) == (526000.0, 604000.0, "EPSG:32650")
    assert a["source_file"] == str(camtraps.resolve())
    assert a["source_row"] == 2
    assert table.loc["StationC", "problems"] == "2009-05-12..2009-05-17"
    problems = deployment_problems(workspace, "C")
    assert len(problems) == 1
    period = problems.iloc[0]
    assert (period["station"], period["start"], period["end"]) == (
        "StationC", T("2009-05-12"), T("2009-05-17"),
    )  # fmt: skip
    assert not period["end_time_known"]  # a date: inclusive, the whole of 17 May is lost
    again = import_deployments(workspace, "C", str(camtraps), **UTM)
    assert (again.imported, again.replaced) == (3, 3)
    assert len(deployments(workspace, "C")) == 3
    assert "3 replaced" in str(again)


def test_bad_rows_are_reported_with_file_and_row(camtrapr: Any, tmp_path: Path) -> None:
    table = tmp_path / "stations.csv"
    table.write_text(
        "Station,Setup_date,Retrieval_date,Problem1_from,Problem1_to\n"
        "StationA,02/04/2009,14/05/2009,,\n"
        "StationX,03/04/2009,16/05/2009,,\n"
        "StationB,03/04/2009,31/04/2009,,\n"
        "stationc,04/04/2009,17/05/2009,12/05/2009,17/05/2009\n"
        "StationA,10/05/2009,20/05/2009,,\n"
    )
    report = import_deployments(camtrapr.workspace, "C", str(table))
    assert report.imported == 2  # StationA, and stationc matched case-folded
    assert [p.row for p in report.problems] == [3, 4, 6]
    unknown, bad_date, overlap = (str(p) for p in report.problems)
    assert unknown == (
        f"{table}, row 3: field 'station': no station 'StationX' in survey 'C'; "
        "stations: ['StationA', 'StationB', 'StationC']"
    )
    assert bad_date.startswith(f"{table}, row 4: field 'Retrieval_date': '31/04/2009'")
    assert "overlaps the deployment of StationA in row 2" in overlap
    stored = deployments(camtrapr.workspace, "C")
    assert stored["station"].tolist() == ["StationA", "StationC"]
    assert "3 deployment(s)" not in str(report)
    assert "3 row(s) not imported" in str(report)


def test_a_camera_column_names_cameras_the_survey_has(camtrapr: Any, tmp_path: Path) -> None:
    table = tmp_path / "cameras.csv"
    table.write_text(
        "Station,Camera,Setup_date,Retrieval_date\n"
        "StationA,stationa,2009-04-02,2009-05-14\n"
        "StationB,CamZ,2009-04-03,2009-05-16\n"
    )
    report = import_deployments(camtrapr.workspace, "C", str(table), camera="Camera")
    assert report.imported == 1
    assert "no camera 'CamZ' at station 'StationB'; cameras: ['StationB']" in str(
        report.problems[0]
    )
    assert deployments(camtrapr.workspace, "C")["camera"].tolist() == ["StationA"]


def test_ambiguous_dates_import_nothing(camtrapr: Any, tmp_path: Path) -> None:
    table = tmp_path / "ambiguous.csv"
    table.write_text("Station,Setup_date,Retrieval_date\nStationA,02/04/2009,05/06/2009\n")
    with pytest.raises(Exception, match=r"row 2: Setup_date '02/04/2009' could be day/month"):
        import_deployments(camtrapr.workspace, "C", str(table))
    report = import_deployments(camtrapr.workspace, "C", str(table), date_format="%d/%m/%Y")
    assert report.imported == 1
    assert deployments(camtrapr.workspace, "C")["retrieval"].tolist() == [T("2009-06-05")]


def test_editing_one_deployment(camtrapr: Any, camtraps: Path) -> None:
    workspace = camtrapr.workspace
    import_deployments(workspace, "C", str(camtraps), **UTM)
    changed = set_deployment(
        workspace,
        "C",
        "StationA",
        setup="2009-04-02 09:15",
        problems="2009-04-20..2009-04-21 (elephant); 2009-05-01 06:00..2009-05-01 18:00",
        camera_height=0.4,
        bait="none",
        habitat="lowland dipterocarp forest",
        feature_type="trailGame",
        covariates={"canopy": 0.8},
    )
    row = deployments(workspace, "C").set_index("deployment_id").loc[changed]
    assert (row["setup"], row["setup_time_known"]) == (T("2009-04-02 09:15"), True)
    assert (row["retrieval"], row["retrieval_time_known"]) == (T("2009-05-14"), False)  # kept
    assert row["problems"] == (
        "2009-04-20..2009-04-21 (elephant); 2009-05-01 06:00:00..2009-05-01 18:00:00"
    )
    assert (row["camera_height"], row["habitat"], row["covariates"]) == (
        0.4, "lowland dipterocarp forest", {"canopy": 0.8},
    )  # fmt: skip
    assert row["latitude"] == pytest.approx(5.46437, abs=1e-5)  # not given: kept
    with pytest.raises(ConfigurationError, match="before setup"):
        set_deployment(workspace, "C", "StationA", retrieval=dt.date(2009, 3, 1))
    with pytest.raises(ConfigurationError, match=r"problem ends .* after retrieval"):
        set_deployment(workspace, "C", "StationB", problems=[("2009-05-10", "2009-05-20")])
    with pytest.raises(NotFoundError, match="no station 'StationX'"):
        set_deployment(workspace, "C", "StationX", setup="2009-04-01", retrieval="2009-04-02")
    with pytest.raises(ConfigurationError, match="overlaps the deployment of StationA"):
        set_deployment(
            workspace, "C", "StationA", "StationA", setup="2009-05-01", retrieval="2009-06-01"
        )
    later = set_deployment(
        workspace, "C", "StationA", "StationA", setup="2009-05-15", retrieval="2009-06-01"
    )
    assert len(deployments(workspace, "C")) == 4
    delete_deployment(workspace, "C", later)
    with pytest.raises(NotFoundError):
        delete_deployment(workspace, "C", later)
    assert len(deployments(workspace, "C")) == 3
