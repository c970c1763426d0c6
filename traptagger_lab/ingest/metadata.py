"""Capture time, GPS position and camera make/model from EXIF, with fallbacks.

The capture time comes from the first usable of: EXIF DateTimeOriginal,
DateTimeDigitized, IFD0 DateTime, then a date-time written in the file name
(``StationA__2009-04-21__00-40-00(1).JPG``, ``20210531082538-RCNX0031.JPG``).
Clock-reset values such as ``0000:00:00 00:00:00`` or far-future years are
reported as invalid rather than used.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

from PIL import Image

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_MAKE, _MODEL, _DATETIME = 0x010F, 0x0110, 0x0132
_ORIGINAL, _DIGITIZED = 0x9003, 0x9004
_SUBSEC_ORIGINAL, _SUBSEC_DIGITIZED = 0x9291, 0x9292

EARLIEST_YEAR = 1990

_FILENAME_TIME = re.compile(
    r"(?<!\d)(?P<Y>(?:19|20)\d\d)[-_.:]?(?P<m>[01]\d)[-_.:]?(?P<d>[0-3]\d)"
    r"(?:[ T_-]+|__)?(?P<H>[0-2]\d)[-_.:h]?(?P<M>[0-5]\d)[-_.:m]?(?P<S>[0-5]\d)(?!\d)"
)


@dataclass(frozen=True)
class CaptureTime:
    """A capture time and where it came from; ``value`` is None when there is none."""

    value: dt.datetime | None
    source: str


@dataclass(frozen=True)
class PhotoMetadata:
    """What the EXIF block says about a photo."""

    time: CaptureTime
    latitude: float | None = None
    longitude: float | None = None
    altitude: float | None = None
    make: str | None = None
    model: str | None = None
    #: Values kept whole where their column holds less (``{"make": ...}``), or None.
    extra: dict[str, Any] | None = None


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    text = value.replace("\x00", "").strip()
    return text or None


def parse_exif_datetime(
    text: str, subsec: str | None = None, now: dt.datetime | None = None
) -> dt.datetime:
    """Parse an EXIF ``YYYY:MM:DD HH:MM:SS`` value (lenient about separators).

    Raises:
        ValueError: with the reason, if the text is no plausible capture time.
    """
    match = re.fullmatch(
        r"\s*(\d{4})[:/-](\d{1,2})[:/-](\d{1,2})[ T]+(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?.*",
        text,
    )
    if not match:
        raise ValueError(f"unreadable date {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = match.group(7) or (subsec or "").strip()
    micro = int((fraction + "000000")[:6]) if fraction.isdigit() else 0
    value = dt.datetime(year, month, day, hour, minute, second, micro)  # may raise ValueError
    check_plausible(value, now)
    return value


def check_plausible(value: dt.datetime, now: dt.datetime | None = None) -> None:
    """Raise ValueError if ``value`` is before 1990 or more than a day in the future."""
    latest = (now or dt.datetime.now()) + dt.timedelta(days=1)
    if value.year < EARLIEST_YEAR or value > latest:
        raise ValueError(f"implausible date {value.isoformat(sep=' ')}")


def time_from_filename(path: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """A date-time written in the file name (or its folder names), if there is one."""
    for part in reversed(path.split("/")):
        for match in _FILENAME_TIME.finditer(part):
            try:
                year, month, day, hour, minute, second = (int(match.group(k)) for k in "YmdHMS")
                value = dt.datetime(year, month, day, hour, minute, second)
                check_plausible(value, now)
            except ValueError:
                continue
            return value
    return None


def _ratio(value: object) -> float:
    if isinstance(value, tuple) and len(value) == 2:
        num, den = value
        return float(num) / float(den) if den else 0.0
    return float(value)  # type: ignore[arg-type]  # IFDRational and numbers


def _gps(gps: dict[int, object]) -> tuple[float | None, float | None, float | None]:
    try:
        lat_ref, lat, lon_ref, lon = gps.get(1), gps.get(2), gps.get(3), gps.get(4)
        latitude = longitude = altitude = None
        if isinstance(lat, tuple) and isinstance(lon, tuple) and len(lat) == 3 and len(lon) == 3:
            latitude = sum(_ratio(v) / 60**i for i, v in enumerate(lat))
            longitude = sum(_ratio(v) / 60**i for i, v in enumerate(lon))
            if _text(lat_ref) == "S":
                latitude = -latitude
            if _text(lon_ref) == "W":
                longitude = -longitude
            if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
                latitude = longitude = None
        if 6 in gps:
            altitude = _ratio(gps[6]) * (-1 if gps.get(5) in (1, b"\x01") else 1)
        return latitude, longitude, altitude
    except (TypeError, ValueError, ZeroDivisionError):
        return None, None, None


def read_metadata(
    exif_block: bytes | None, path: str, now: dt.datetime | None = None
) -> PhotoMetadata:
    """Capture time, GPS and camera from an APP1 EXIF block (as found by ``parse_jpeg``).

    Never raises on bad metadata: the problem is described in ``time.source``.
    """
    ifd0: dict[int, object] = {}
    sub: dict[int, object] = {}
    gps: dict[int, object] = {}
    if exif_block:
        exif = Image.Exif()
        try:
            exif.load(exif_block)
            ifd0 = dict(exif)
            sub = dict(exif.get_ifd(_EXIF_IFD))
            gps = dict(exif.get_ifd(_GPS_IFD))
        except (SyntaxError, ValueError, TypeError, KeyError, OSError, IndexError):
            ifd0, sub, gps = {}, {}, {}
    candidates = [
        ("exif_original", sub.get(_ORIGINAL), sub.get(_SUBSEC_ORIGINAL)),
        ("exif_digitized", sub.get(_DIGITIZED), sub.get(_SUBSEC_DIGITIZED)),
        ("exif_datetime", ifd0.get(_DATETIME), None),
    ]
    problems: list[str] = []
    time = None
    for source, raw, subsec in candidates:
        text = _text(raw)
        if text is None:
            continue
        try:
            time = CaptureTime(parse_exif_datetime(text, _text(subsec), now), source)
            break
        except ValueError as exc:
            problems.append(f"{source}: {exc}")
    if time is None:
        from_name = time_from_filename(path, now)
        if from_name is not None:
            time = CaptureTime(from_name, "filename")
        elif problems:
            time = CaptureTime(None, "invalid: " + "; ".join(problems))
        else:
            time = CaptureTime(None, "missing")
    latitude, longitude, altitude = (_finite(v) for v in _gps(gps))
    make, model = _text(ifd0.get(_MAKE)), _text(ifd0.get(_MODEL))
    whole = {"make": make, "model": model, "timestamp_source": time.source}
    extra = {k: v for k, v in whole.items() if v is not None and len(v) > _LIMITS[k]}
    return PhotoMetadata(
        time=CaptureTime(time.value, time.source[: _LIMITS["timestamp_source"]]),
        latitude=latitude,
        longitude=longitude,
        altitude=altitude,
        make=_fitted(make),
        model=_fitted(model),
        extra=extra or None,
    )


#: The longest camera make or model kept (the database's column; longer ones are cut,
#: and kept whole in ``image.metadata_extra``).
TEXT_LIMIT = 100
_LIMITS = {"make": TEXT_LIMIT, "model": TEXT_LIMIT, "timestamp_source": 64}


def _finite(value: float | None) -> float | None:
    """None for NaN and infinities (a GPS field of 0/0), which no database stores."""
    return value if value is not None and math.isfinite(value) else None


def _fitted(text: str | None) -> str | None:
    """``text`` cut to :data:`TEXT_LIMIT` characters (an EXIF field may hold anything)."""
    return None if text is None else text[:TEXT_LIMIT]


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinity (anywhere inside lists and dicts) as None:
    JSON has no such numbers, and MariaDB and PostgreSQL refuse them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
