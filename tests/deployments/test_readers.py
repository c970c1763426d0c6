"""The station-table readers on their own: camtrapR's camera-trap table (its sample's
camtraps.csv and broken copies) and Camtrap DP's deployments.csv (the official example)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from tests.deployments.conftest import UTM
from traptagger_lab.deployments.camtrap_dp import comments, read_camtrap_dp
from traptagger_lab.deployments.camtrapr import read_camtrapr
from traptagger_lab.deployments.dates import Moment
from traptagger_lab.deployments.rows import ProblemRow, format_problems, parse_problems
from traptagger_lab.errors import ConfigurationError, InputFileError


def utm_to_latlon(easting: float, northing: float, zone: int) -> tuple[float, float]:
    """Inverse transverse Mercator on WGS84, northern hemisphere, by hand (Snyder 1987, Map
    Projections: A Working Manual, USGS PP 1395, eqs. 8-17 to 8-25): to check pyproj."""
    a, f, k0 = 6378137.0, 1 / 298.257223563, 0.9996
    e2 = f * (2 - f)
    ep2 = e2 / (1 - e2)
    x = easting - 500000.0
    mu = northing / k0 / (a * (1 - e2 / 4 - 3 * e2**2 / 64 - 5 * e2**3 / 256))
    e1 = (1 - math.sqrt(1 - e2)) / (1 + math.sqrt(1 - e2))
    phi1 = (
        mu
        + (3 * e1 / 2 - 27 * e1**3 / 32) * math.sin(2 * mu)
        + (21 * e1**2 / 16 - 55 * e1**4 / 32) * math.sin(4 * mu)
        + (151 * e1**3 / 96) * math.sin(6 * mu)
        + (1097 * e1**4 / 512) * math.sin(8 * mu)
    )
    c1 = ep2 * math.cos(phi1) ** 2
    t1 = math.tan(phi1) ** 2
    n1 = a / math.sqrt(1 - e2 * math.sin(phi1) ** 2)
    r1 = a * (1 - e2) / (1 - e2 * math.sin(phi1) ** 2) ** 1.5
    d = x / (n1 * k0)
    lat = phi1 - (n1 * math.tan(phi1) / r1) * (
        d**2 / 2
        - (5 + 3 * t1 + 10 * c1 - 4 * c1**2 - 9 * ep2) * d**4 / 24
        + (61 + 90 * t1 + 298 * c1 + 45 * t1**2 - 252 * ep2 - 3 * c1**2) * d**6 / 720
    )
    lon = (
        d
        - (1 + 2 * t1 + c1) * d**3 / 6
        + (5 - 2 * c1 + 28 * t1 - 3 * c1**2 + 8 * ep2 + 24 * t1**2) * d**5 / 120
    ) / math.cos(phi1)
    return math.degrees(lat), zone * 6 - 183 + math.degrees(lon)


def test_camtraps_csv(camtraps: Path) -> None:
    rows, problems = read_camtrapr(camtraps.read_text(), "camtraps.csv", **UTM)
    assert not problems
    assert [r.station for r in rows] == ["StationA", "StationB", "StationC"]
    a = rows[0]
    assert (a.row, a.camera) == (2, None)
    assert a.setup == Moment(dt.datetime(2009, 4, 2), time_known=False)
    assert a.retrieval == Moment(dt.datetime(2009, 5, 14), time_known=False)
    assert (a.x, a.y, a.crs) == (526000.0, 604000.0, "EPSG:32650")
    # StationA at UTM 50N (526000, 604000): by hand 5.46437 N, 117.23471 E (Sabah, Borneo)
    lat, lon = utm_to_latlon(526000, 604000, zone=50)
    assert (round(lat, 5), round(lon, 5)) == (5.46437, 117.23471)
    assert a.latitude == pytest.approx(lat, abs=1e-6)
    assert a.longitude == pytest.approx(lon, abs=1e-6)
    assert a.covariates == {}  # every column was used
    c = rows[2]
    assert c.problems == (
        ProblemRow(
            Moment(dt.datetime(2009, 5, 12), False), Moment(dt.datetime(2009, 5, 17), False)
        ),
    )


def test_bad_rows_are_reported_by_row_and_the_rest_read(tmp_path: Path) -> None:
    table = (
        "Station,Camera,Setup_date,Retrieval_date,Problem1_from,Problem1_to,"
        "Problem2_from,Problem2_to,Problem2_reason,habitat,elevation\n"
        "StationA,c1,02/04/2009,14/05/2009,,,,,,forest,120\n"
        "StationB,c1,03/04/2009,31/02/2009,,,,,,,\n"
        "StationC,c1,04/04/2009,17/05/2009,12/05/2009,,,,,,\n"
        "StationC,c2,04/04/2009,17/05/2009,06/04/2009,07/04/2009,12/05/2009,18/05/2009,x,,\n"
        "StationD,c1,14/05/2009,02/04/2009,,,,,,,\n"
        ",c1,02/04/2009,14/05/2009,,,,,,,\n"
        "StationE,c1,01/04/2009,20/05/2009,02/04/2009,03/04/2009,10/05/2009,11/05/2009,rain,,\n"
    )
    rows, problems = read_camtrapr(table, "t.csv", camera="Camera")
    assert [(r.station, r.camera) for r in rows] == [("StationA", "c1"), ("StationE", "c1")]
    assert rows[0].habitat == "forest"
    assert rows[0].covariates == {"elevation": 120}
    assert [p.reason for p in rows[1].problems] == ["", "rain"]
    assert [p.row for p in problems] == [3, 4, 5, 6, 7]
    text = [str(p) for p in problems]
    assert text[0].startswith("t.csv, row 3: field 'Retrieval_date': '31/02/2009' is not a date")
    assert "Problem1 has one end and not the other" in text[1]
    assert "StationC: problem ends (2009-05-18) after retrieval" in text[2]
    assert "is before setup" in text[3]
    assert "field 'Station' is empty" in text[4]


def test_whole_table_errors(camtraps: Path) -> None:
    text = camtraps.read_text()
    with pytest.raises(InputFileError, match=r"no column 'Setup' \(setup\)"):
        read_camtrapr(text, "camtraps.csv", setup="Setup")
    with pytest.raises(InputFileError, match="Problem1 needs both"):
        read_camtrapr("Station,Setup_date,Retrieval_date,Problem1_from\n", "t.csv")
    with pytest.raises(ConfigurationError, match="x, y and crs together"):
        read_camtrapr(text, "camtraps.csv", x="utm_x", y="utm_y")
    with pytest.raises(ConfigurationError, match="not a coordinate system"):
        read_camtrapr(text, "camtraps.csv", x="utm_x", y="utm_y", crs="EPSG:999999")


def test_camtrap_dp_example(shared_data: Path) -> None:
    example = shared_data / "camtrap-dp/example/deployments.csv"
    rows, problems = read_camtrap_dp(example.read_text(), "deployments.csv")
    assert not problems
    first = rows[0]  # 00a2c20d,e254a13c,B_HS_val 2_processiepark,51.496,4.774,...
    assert (first.name, first.station, first.camera) == (
        "00a2c20d",
        "B_HS_val 2_processiepark",
        "320",
    )
    assert first.setup == Moment(dt.datetime(2020, 5, 30, 4, 57, 37))  # local time kept
    assert first.retrieval == Moment(dt.datetime(2020, 7, 1, 11, 41, 41))
    assert (first.latitude, first.longitude, first.camera_height) == (51.496, 4.774, 1.3)
    assert (first.bait, first.feature_type) == ("false", "trailGame")
    assert first.covariates["cameraModel"] == "Reconyx-HF2X"
    assert first.covariates["coordinateUncertainty"] == 187
    # in UTC the same deployment starts two hours earlier
    utc, _ = read_camtrap_dp(example.read_text(), "deployments.csv", utc_offset="+00:00")
    assert utc[0].setup.when == dt.datetime(2020, 5, 30, 2, 57, 37)


def test_camtrap_dp_comments_carry_what_it_has_no_field_for() -> None:
    setup = Moment(dt.datetime(2009, 4, 4), False)
    retrieval = Moment(dt.datetime(2009, 5, 17), False)
    flooded = (ProblemRow(Moment(dt.datetime(2009, 5, 12), False), retrieval, "flooded"),)
    note = comments(setup, retrieval, flooded, "checked twice")
    assert note == (
        "checked twice | setup time unknown | retrieval time unknown | "
        "problems: 2009-05-12..2009-05-17 (flooded)"
    )
    table = (
        "deploymentID,locationName,deploymentStart,deploymentEnd,deploymentComments\n"
        f"d1,StationC,2009-04-04T00:00:00+08:00,2009-05-17T23:59:59+08:00,{note}\n"
    )
    rows, problems = read_camtrap_dp(table, "deployments.csv")
    assert not problems
    assert (rows[0].setup, rows[0].retrieval, rows[0].problems) == (setup, retrieval, flooded)
    assert rows[0].covariates["deploymentComments"] == "checked twice"
    assert parse_problems(format_problems(flooded)) == flooded
