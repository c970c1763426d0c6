"""Sunrise, sunset and "sun time" (times of day anchored on sunrise and sunset).

Sunrise and sunset are suntools::sunriset's (the NOAA solar calculator equations with
one refinement at the first estimate's time; maptools::sunriset before it), which
overlap::sunTime calls: the sun's centre 0.833 degrees below the horizon.
:func:`sun_time` is overlap::sunTime (Nouvellet et al. 2012): sunrise maps to pi/2 and
sunset to 3*pi/2, the day linearly between them and the night, from sunset to the next
sunrise, linearly from 3*pi/2 round to pi/2, so activity at dawn lines up across a
season or a latitude range.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]
TWO_PI = 2 * np.pi


def _julian_day(moments: pd.DatetimeIndex) -> FloatArray:
    """Julian day at 0h UT of each date (suntools' .julianD)."""
    year = moments.year.to_numpy().astype(float)
    month = moments.month.to_numpy().astype(float)
    day = moments.day.to_numpy().astype(float)
    early = month <= 2
    year = np.where(early, year - 1, year)
    month = np.where(early, month + 12, month)
    a = np.floor(year / 100)
    b = 2 - a + np.floor(a / 4)
    julian: FloatArray = np.floor(365.25 * (year + 4716)) + np.floor(30.6001 * (month + 1))
    out: FloatArray = julian + day + b - 1524.5
    return out


def _sun(century: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(declination in degrees, equation of time in minutes) at Julian centuries since
    J2000, as suntools computes them."""
    mean_long = 280.46646 + century * (36000.76983 + 0.0003032 * century)
    mean_long = np.where((mean_long > 360) | (mean_long < 0), mean_long % 360, mean_long)
    anomaly = 357.52911 + century * (35999.05029 - 1.537e-4 * century)
    eccentricity = 0.016708634 - century * (4.2037e-5 + 1.267e-7 * century)
    m = np.radians(anomaly)
    centre = (
        np.sin(m) * (1.914602 - century * (4.817e-3 + 1.4e-5 * century))
        + np.sin(2 * m) * (1.9993e-2 - 1.01e-4 * century)
        + np.sin(3 * m) * 2.89e-4
    )
    omega = np.radians(125.04 - 1934.136 * century)
    apparent = mean_long + centre - 0.00569 - 0.00478 * np.sin(omega)
    seconds = 21.448 - century * (46.815 + century * (5.9e-4 - century * 0.001813))
    obliquity = 23 + (26 + seconds / 60) / 60 + 0.00256 * np.cos(omega)
    sine = np.sin(np.radians(obliquity)) * np.sin(np.radians(apparent))
    declination = np.degrees(np.arcsin(sine))
    y = np.tan(np.radians(obliquity) / 2) ** 2
    l0 = np.radians(mean_long)
    equation = 4 * np.degrees(
        y * np.sin(2 * l0)
        - 2 * eccentricity * np.sin(m)
        + 4 * eccentricity * y * np.sin(m) * np.cos(2 * l0)
        - 0.5 * y * y * np.sin(4 * l0)
        - 1.25 * eccentricity * eccentricity * np.sin(2 * m)
    )
    return declination, equation


def _utc_minutes(julian: FloatArray, west: float, latitude: float, sign: int) -> FloatArray:
    """Minutes after 0h UT of sunrise (``sign`` 1) or sunset (-1): suntools' .sunrisetUTC,
    a first estimate and one refinement at its time; NaN where the sun does not cross."""
    lat = np.radians(latitude)
    century = (julian - 2451545) / 36525
    minutes = np.zeros_like(julian)
    for step in range(2):
        declination, equation = _sun(century)
        dec = np.radians(declination)
        horizon = np.cos(np.radians(90.833)) / (np.cos(lat) * np.cos(dec))
        cos_hour = horizon - np.tan(lat) * np.tan(dec)
        cos_hour = np.where(np.abs(cos_hour) >= 1, np.nan, cos_hour)
        hour_angle = sign * np.degrees(np.arccos(cos_hour))
        minutes = 720 + 4 * (west - hour_angle) - equation
        if step == 0:
            century = (century * 36525 + 2451545 + minutes / 1440 - 2451545) / 36525
    return minutes


def sunrise_sunset(
    dates: pd.DatetimeIndex | pd.Series | list[object],
    latitude: float,
    longitude: float,
    utc_offset: float,
) -> tuple[FloatArray, FloatArray]:
    """Sunrise and sunset as fractions of the local day (0-1) on each date, at a place
    (degrees, east positive) whose clocks run ``utc_offset`` hours ahead of UTC, exactly
    as suntools::sunriset gives them (its day_frac). Polar day/night gives NaN."""
    moments = pd.DatetimeIndex(pd.to_datetime(dates))
    julian = _julian_day(moments)
    west = -float(longitude)
    latitude = float(np.clip(latitude, -89.8, 89.8))
    rise = _utc_minutes(julian, west, latitude, 1)
    set_ = _utc_minutes(julian, west, latitude, -1)
    return (rise + 60 * utc_offset) / 1440, (set_ + 60 * utc_offset) / 1440


def sun_time(clock: npt.ArrayLike, sunrise: npt.ArrayLike, sunset: npt.ArrayLike) -> FloatArray:
    """Clock times (radians) as sun times, as overlap::sunTime: from sunrise (pi/2) to
    sunset (3*pi/2) linearly over the day, and from sunset round to the next sunrise
    linearly over the night. ``sunrise``/``sunset`` as fractions of a day, per time."""
    t = np.asarray(clock, dtype=float)
    rise = np.asarray(sunrise, dtype=float) * TWO_PI
    set_ = np.asarray(sunset, dtype=float) * TWO_PI
    day = (t > rise) & (t < set_)
    start = np.where(day, rise, set_)
    length = set_ - rise
    span = np.where(day, length, TWO_PI - length)
    since = (t - start + TWO_PI) % TWO_PI
    out: FloatArray = (np.where(day, np.pi / 2, 3 * np.pi / 2) + since / span * np.pi) % TWO_PI
    return out
