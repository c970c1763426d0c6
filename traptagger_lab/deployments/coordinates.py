"""Projected coordinates (any EPSG) to WGS84 latitude/longitude, with pyproj.

pyproj is imported when a table has projected coordinates, not with the package.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from traptagger_lab.errors import ConfigurationError
from traptagger_lab.exports.fields import FieldError

#: Turns (x, y) in the table's CRS into (latitude, longitude).
ToLatLon = Callable[[float, float], tuple[float, float]]


def to_latlon(crs: str) -> ToLatLon:
    """A function from ``(x, y)`` in ``crs`` (``"EPSG:32650"``, ``"32650"`` or any CRS pyproj
    knows) to WGS84 ``(latitude, longitude)``; x is the easting (or longitude).

    Raises:
        ConfigurationError: if pyproj does not know the CRS.
    """
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        source = CRS.from_user_input(int(crs) if crs.strip().isdigit() else crs)
    except CRSError as exc:
        raise ConfigurationError(
            f"crs {crs!r} is not a coordinate system pyproj knows: {exc}"
        ) from None
    transformer = Transformer.from_crs(source, "EPSG:4326", always_xy=True)

    def convert(x: float, y: float) -> tuple[float, float]:
        longitude, latitude = transformer.transform(x, y)
        if not (math.isfinite(latitude) and math.isfinite(longitude)):
            raise FieldError("x", f"({x}, {y}) is outside {crs}'s area")
        return float(latitude), float(longitude)

    return convert


def check_latlon(latitude: float, longitude: float) -> tuple[float, float]:
    """Latitude and longitude within their ranges.

    Raises:
        FieldError: naming the coordinate out of range.
    """
    if not -90 <= latitude <= 90:
        raise FieldError("latitude", f"{latitude} is outside -90..90")
    if not -180 <= longitude <= 180:
        raise FieldError("longitude", f"{longitude} is outside -180..180")
    return latitude, longitude
