"""Sunrise, sunset and "sun time" (times of day anchored on sunrise and sunset).

Sunrise and sunset follow NOAA's solar calculator equations (the ones
maptools::sunriset uses, which the R package overlap calls): the sun's centre
0.833 degrees below the horizon. ``sun_time`` maps sunrise to pi/2 and sunset
to 3*pi/2, linearly in between and around (overlap::sunTime; Nouvellet et al.
2012), so activity at dawn lines up across a season or a latitude range.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]


def _julian_century(days: FloatArray) -> FloatArray:
    """Julian centuries since J2000 of Julian days."""
    return (days - 2451545.0) / 36525.0


def _sun(century: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(declination in radians, equation of time in minutes) at Julian centuries."""
    mean_long = np.radians((280.46646 + century * (36000.76983 + century * 0.0003032)) % 360)
    anomaly = np.radians(357.52911 + century * (35999.05029 - 0.0001537 * century))
    eccentricity = 0.016708634 - century * (0.000042037 + 0.0000001267 * century)
    centre = np.radians(
        np.sin(anomaly) * (1.914602 - century * (0.004817 + 0.000014 * century))
        + np.sin(2 * anomaly) * (0.019993 - 0.000101 * century)
        + np.sin(3 * anomaly) * 0.000289
    )
    omega = np.radians(125.04 - 1934.136 * century)
    apparent = mean_long + centre - np.radians(0.00569 + 0.00478 * np.sin(omega))
    seconds = 21.448 - century * (46.815 + century * (0.00059 - century * 0.001813))
    obliquity = np.radians(23 + (26 + seconds / 60) / 60 + 0.00256 * np.cos(omega))
    declination = np.arcsin(np.sin(obliquity) * np.sin(apparent))
    y = np.tan(obliquity / 2) ** 2
    equation = 4 * np.degrees(
        y * np.sin(2 * mean_long)
        - 2 * eccentricity * np.sin(anomaly)
        + 4 * eccentricity * y * np.sin(anomaly) * np.cos(2 * mean_long)
        - 0.5 * y**2 * np.sin(4 * mean_long)
        - 1.25 * eccentricity**2 * np.sin(2 * anomaly)
    )
    return declination, equation


def sunrise_sunset(
    dates: pd.DatetimeIndex | pd.Series | list[object],
    latitude: float,
    longitude: float,
    utc_offset: float,
) -> tuple[FloatArray, FloatArray]:
    """Sunrise and sunset as fractions of the local day (0-1) on each date, at a place
    (degrees, east positive) whose clocks run ``utc_offset`` hours ahead of UTC.
    Polar day/night gives NaN."""
    moments = pd.DatetimeIndex(pd.to_datetime(dates)).normalize()
    # Julian day at local noon, then the solar position there
    noon = moments.to_julian_date().to_numpy() + 0.5 - utc_offset / 24
    declination, equation = _sun(_julian_century(noon))
    lat = np.radians(latitude)
    cos_hour = np.cos(np.radians(90.833)) / (np.cos(lat) * np.cos(declination)) - np.tan(
        lat
    ) * np.tan(declination)
    with np.errstate(invalid="ignore"):
        hour_angle = np.degrees(np.arccos(cos_hour))  # NaN where the sun never sets or rises
    solar_noon = 720 - 4 * longitude - equation + utc_offset * 60  # minutes
    return (solar_noon - 4 * hour_angle) / 1440, (solar_noon + 4 * hour_angle) / 1440


def sun_time(clock: npt.ArrayLike, sunrise: npt.ArrayLike, sunset: npt.ArrayLike) -> FloatArray:
    """Clock times (radians) as sun times: sunrise -> pi/2, sunset -> 3*pi/2, linear in each
    of night-before-dawn, day and evening. ``sunrise``/``sunset`` as fractions of a day."""
    t = np.asarray(clock, dtype=float)
    rise = np.asarray(sunrise, dtype=float) * 2 * np.pi
    set_ = np.asarray(sunset, dtype=float) * 2 * np.pi
    before = t * (np.pi / 2) / rise
    day = np.pi / 2 + (t - rise) * np.pi / (set_ - rise)
    after = 3 * np.pi / 2 + (t - set_) * (np.pi / 2) / (2 * np.pi - set_)
    return np.where(t < rise, before, np.where(t <= set_, day, after))
