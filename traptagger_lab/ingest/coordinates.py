"""Site coordinates from a CSV table or a KML file (as exported by Google Earth or a GPS)."""

from __future__ import annotations

import csv
import io
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from traptagger_lab.errors import InputFileError

_SITE = ("site", "name", "station", "trapgroup", "tag", "site_name", "locationname")
_LAT = ("latitude", "lat", "y")
_LON = ("longitude", "lon", "lng", "long", "x")
_ALT = ("altitude", "alt", "elevation")


@dataclass(frozen=True)
class SiteCoordinate:
    """A site's position (WGS84 degrees, metres)."""

    site: str
    latitude: float
    longitude: float
    altitude: float | None = None


@dataclass(frozen=True)
class CoordinateTable:
    """Coordinates read from a file, and the rows that could not be used."""

    coordinates: list[SiteCoordinate]
    problems: list[InputFileError]


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    return next((lowered.index(n) for n in names if n in lowered), None)


def _position(site: str, lat: str, lon: str, alt: str | None) -> SiteCoordinate:
    latitude, longitude = float(lat), float(lon)
    if not (-90 <= latitude <= 90) or not (-180 <= longitude <= 180):
        raise ValueError(f"latitude {latitude} / longitude {longitude} out of range")
    altitude = float(alt) if alt not in (None, "") else None
    if any(math.isnan(v) for v in (latitude, longitude)):
        raise ValueError("coordinate is NaN")
    return SiteCoordinate(site, latitude, longitude, altitude)


def read_csv(text: str, name: str) -> CoordinateTable:
    """Parse a CSV with site, latitude, longitude[, altitude] columns (common spellings accepted).

    Raises:
        InputFileError: if the header lacks a site, latitude or longitude column.
    """
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows:
        raise InputFileError(name, "the file is empty")
    header = rows[0]
    site_col, lat_col, lon_col = (_column(header, n) for n in (_SITE, _LAT, _LON))
    alt_col = _column(header, _ALT)
    missing = [
        n
        for n, c in (("site", site_col), ("latitude", lat_col), ("longitude", lon_col))
        if c is None
    ]
    if missing:
        raise InputFileError(name, f"missing column(s) {', '.join(missing)}; found {header}", row=1)
    assert site_col is not None
    assert lat_col is not None
    assert lon_col is not None
    found, problems = [], []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            alt = row[alt_col].strip() if alt_col is not None and alt_col < len(row) else None
            found.append(_position(row[site_col].strip(), row[lat_col], row[lon_col], alt))
        except (ValueError, IndexError) as exc:
            problems.append(InputFileError(name, f"bad coordinates: {exc}", row=number))
    return CoordinateTable(found, problems)


def read_kml(text: str, name: str) -> CoordinateTable:
    """Parse the Placemarks (name + Point) of a KML document.

    Raises:
        InputFileError: if the text is not XML.
    """
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise InputFileError(name, f"not a KML/XML document: {exc}") from exc
    found, problems = [], []
    for number, placemark in enumerate(root.iter(), start=1):
        if not placemark.tag.endswith("Placemark"):
            continue
        label = next((e.text for e in placemark.iter() if e.tag.endswith("name")), None)
        coords = next((e.text for e in placemark.iter() if e.tag.endswith("coordinates")), None)
        try:
            if not label or not coords:
                raise ValueError("Placemark without a name or Point coordinates")
            parts = coords.strip().split()[0].split(",")
            found.append(
                _position(label.strip(), parts[1], parts[0], parts[2] if len(parts) > 2 else None)
            )
        except (ValueError, IndexError) as exc:
            problems.append(InputFileError(name, f"Placemark {label or number}: {exc}"))
    return CoordinateTable(found, problems)


def read_coordinates(data: bytes, name: str) -> CoordinateTable:
    """Read a ``.kml`` or ``.csv`` coordinate file (chosen by the name, then by content)."""
    text = data.decode("utf-8-sig", errors="replace")
    if name.lower().endswith(".kml") or text.lstrip().startswith("<"):
        return read_kml(text, name)
    return read_csv(text, name)
