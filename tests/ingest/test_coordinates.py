"""Site coordinates from CSV and KML: common spellings, bad rows reported with their row number."""

from __future__ import annotations

from pathlib import Path

import pytest

from traptagger_lab.errors import InputFileError
from traptagger_lab.ingest.coordinates import read_coordinates

KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
  <Placemark><name>Site01</name><Point><coordinates>31.5,-24.0,410</coordinates></Point></Placemark>
  <Placemark><name>Site02</name><Point><coordinates>31.54,-24.05</coordinates></Point></Placemark>
  <Placemark><name>Broken</name><Point><coordinates>abc</coordinates></Point></Placemark>
</Document></kml>"""


def test_csv_with_common_spellings_and_a_bad_row() -> None:
    text = (
        "Station,Lat,Lng,Elevation\nSite01,-24.0,31.5,410\nSite02,-95,31.5,\nSite03,-24.1,31.6,\n"
    )
    table = read_coordinates(text.encode(), "sites.csv")
    assert [(c.site, c.latitude, c.longitude, c.altitude) for c in table.coordinates] == [
        ("Site01", -24.0, 31.5, 410.0),
        ("Site03", -24.1, 31.6, None),
    ]
    assert len(table.problems) == 1
    assert table.problems[0].row == 3
    assert "sites.csv, row 3" in str(table.problems[0])


def test_kml() -> None:
    table = read_coordinates(KML.encode(), "sites.kml")
    assert [(c.site, c.latitude, c.longitude, c.altitude) for c in table.coordinates] == [
        ("Site01", -24.0, 31.5, 410.0),
        ("Site02", -24.05, 31.54, None),
    ]
    assert "Broken" in str(table.problems[0])


def test_camtrapr_station_table_in_utm_is_refused_clearly(shared_data: Path) -> None:
    path = shared_data / "camtrapR/camtraps.csv"
    with pytest.raises(
        InputFileError, match=r"camtraps.csv, row 1: missing column\(s\) latitude, longitude"
    ):
        read_coordinates(path.read_bytes(), str(path.name))


def test_not_xml() -> None:
    with pytest.raises(InputFileError, match="not a KML"):
        read_coordinates(b"<kml><oops", "x.kml")
