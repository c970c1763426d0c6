"""Sunrise, sunset and sun time against the R packages overlap uses and is.

- suntools (cran/suntools 1.1.0) tests/testthat/test-sun-methods.R, "sunriset() can
  calculate the sunrise": Helsinki (24.97 E, 60.17 N) on 24 December 2004, Europe/Helsinki
  (UTC+2): day_frac 0.392424945734093.
- overlap (cran/overlap 0.3.9) inst/tests/testthat/test-all.R, "sunTime gives correct
  answer": ``sunTime(simCalls$time, Dates, Coords)`` at (-3, 56), GMT, sums to 207.0542
  (rounded to 4 places). simCalls is overlap's data/simCalls.rda (100 times in radians
  and dates of 2017); the test reads it as ``../shared/data/overlap/simCalls.csv``
  (columns time, dates) and skips while that file is absent.
- overlap R/sunTime.R: sunrise maps to pi/2, sunset to 3*pi/2, the day and the night
  each linearly (the night from sunset round to the next sunrise).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from traptagger_lab.results.sun import sun_time, sunrise_sunset


def test_sunrise_as_suntools_gives_it() -> None:
    rise, set_ = sunrise_sunset(["2004-12-24"], 60.17, 24.97, 2)
    assert rise[0] == pytest.approx(0.392424945734093, rel=1.5e-8)  # testthat's tolerance
    assert 0.6 < set_[0] < 0.7  # about 15:12 local time
    polar, _ = sunrise_sunset(["2024-06-21"], 78.2, 15.6, 1)  # Svalbard: midnight sun
    assert np.isnan(polar[0])


def test_sun_time_as_overlap_gives_it(shared_data: Path) -> None:
    path = shared_data / "overlap/simCalls.csv"
    if not path.is_file():
        pytest.skip(f"overlap's simCalls not found at {path}")
    calls = pd.read_csv(path)
    rise, set_ = sunrise_sunset(calls["dates"], 56, -3, 0)
    assert round(float(sun_time(calls["time"], rise, set_).sum()), 4) == 207.0542


def test_the_night_maps_linearly_from_sunset_to_sunrise() -> None:
    rise, set_ = np.full(4, 0.2), np.full(4, 0.6)  # a 9.6-hour day, a 14.4-hour night
    clock = np.array([0.2, 0.6, 0.9, 0.0]) * 2 * np.pi
    mapped = sun_time(clock, rise, set_)
    # sunrise pi/2, sunset 3pi/2, the middle of the night (0.9) 2pi = 0; clock midnight is
    # two thirds of the night after sunset: 3pi/2 + 2pi/3, that is pi/6 (not 0)
    assert mapped == pytest.approx([np.pi / 2, 3 * np.pi / 2, 0, np.pi / 6], abs=1e-12)
    noon = sun_time([0.4 * 2 * np.pi], [0.2], [0.6])
    assert noon[0] == pytest.approx(np.pi)  # the middle of the day
