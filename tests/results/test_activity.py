"""Activity densities and overlap, checked against the R package overlap's own values.

Reference values are from overlap's test suite (cran/overlap,
inst/tests/testthat/test-all.R, version 0.3.x), computed in R on the package's
``simulatedData`` (tigerObs, pigObs: ../shared/data/overlap/) and ``kerinci``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from traptagger_lab.results import activity, activity_density, overlap, overlap_ci
from traptagger_lab.results.activity import bandwidth, density_fit


@pytest.fixture
def tiger_pig(shared_data: Path) -> tuple[np.ndarray, np.ndarray]:
    tiger = pd.read_csv(shared_data / "overlap/tigerObs.csv")["tigerObs"].to_numpy()
    pig = pd.read_csv(shared_data / "overlap/pigObs.csv")["pigObs"].to_numpy()
    return tiger, pig


def test_bandwidth_and_density_match_overlap(tiger_pig: tuple[np.ndarray, np.ndarray]) -> None:
    tiger, pig = tiger_pig
    # overlap: getBandWidth(tigerObs) 29.90645, getBandWidth(pigObs) 10.42065
    assert bandwidth(tiger) == pytest.approx(29.90645, rel=1e-6)
    assert bandwidth(pig) == pytest.approx(10.42065, rel=1e-6)
    grid = [0, np.pi / 2, np.pi, 3 * np.pi / 2, 2 * np.pi]
    # overlap: densityFit(tigerObs, c(0, pi/2, pi, 3*pi/2, 2*pi), 30)
    expected = [0.02440435, 0.44522913, 0.02179983, 0.50513539, 0.02440435]
    assert density_fit(tiger, grid, 30) == pytest.approx(expected, rel=1e-6)
    # overlap: densityFit(pigObs, ..., 10)
    expected = [7.877244e-06, 4.522317e-02, 4.622752e-01, 1.216268e-01, 7.877244e-06]
    assert density_fit(pig, grid, 10) == pytest.approx(expected, rel=1e-5)


def test_overlap_estimates_match_overlap(tiger_pig: tuple[np.ndarray, np.ndarray]) -> None:
    tiger, pig = tiger_pig
    # overlap: round(overlapEst(tigerObs, pigObs), 6) == c(0.290862, 0.269201, 0.227500)
    found = overlap(tiger, pig)
    assert [round(found[k], 6) for k in ("Dhat1", "Dhat4", "Dhat5")] == [0.290862, 0.269201, 0.2275]
    # overlapEst(tigerObs, pigObs, adjust=c(1.2, 1.5, 1)) == c(0.315068, 0.288488, 0.237500)
    found = overlap(tiger, pig, adjust=(1.2, 1.5, 1))
    assert [round(found[k], 6) for k in ("Dhat1", "Dhat4", "Dhat5")] == [0.315068, 0.288488, 0.2375]
    # adjust=c(NA, 1, NA): only Dhat4
    found = overlap(tiger, pig, adjust=(None, 1, None))
    assert np.isnan(found["Dhat1"]) and round(found["Dhat4"], 6) == 0.269201  # noqa: PT018


def test_kerinci_overlap_is_symmetric_and_bounded(shared_data: Path) -> None:
    kerinci = pd.read_csv(shared_data / "overlap/kerinci.csv")
    # overlap's test suite: 1,098 records, sum(Time) 540.68, 8 species
    assert len(kerinci) == 1098
    assert kerinci["Time"].sum() == pytest.approx(540.68)
    times = kerinci["Time"] * 2 * np.pi
    zone2 = kerinci["Zone"] == 2
    tiger = times[zone2 & (kerinci["Sps"] == "tiger")]
    macaque = times[zone2 & (kerinci["Sps"] == "macaque")]
    forward, backward = overlap(tiger, macaque), overlap(macaque, tiger)
    assert forward["Dhat1"] == pytest.approx(backward["Dhat1"])
    assert forward["Dhat4"] == pytest.approx(backward["Dhat4"])
    assert 0 < forward["Dhat4"] < 1
    same = overlap(tiger, tiger)
    assert same["Dhat4"] == pytest.approx(1.0)


def test_activity_density_integrates_to_one_and_bootstrap_brackets(
    tiger_pig: tuple[np.ndarray, np.ndarray],
) -> None:
    tiger, pig = tiger_pig
    curve = activity_density(pig, n_grid=1024)
    width = curve["radians"].iloc[1] - curve["radians"].iloc[0]
    assert float(curve["density"].sum() * width) == pytest.approx(1.0, abs=0.01)
    assert curve["hour"].iloc[-1] == pytest.approx(24.0)
    ci = overlap_ci(tiger, pig, n_boot=200, seed=7)
    assert ci["lower"] < ci["estimate"] < ci["upper"]
    assert ci["upper"] - ci["lower"] < 0.3
    assert overlap_ci(tiger, pig, n_boot=200, seed=7) == ci  # a seed makes it repeatable


def test_bad_times_are_refused() -> None:
    with pytest.raises(ValueError, match="radians"):
        overlap([1.0, 2.0, 9.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="missing"):
        activity_density([1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="1 different"):
        activity_density([2.0, 2.0, 2.0])


def test_big_samples_are_binned_without_changing_the_density() -> None:
    rng = np.random.default_rng(3)
    times = (rng.vonmises(np.pi, 2.0, 5 * activity.BINS) % (2 * np.pi)).round(4)
    grid = np.linspace(0, 2 * np.pi, 64)
    binned = activity.density_fit(times, grid, 5.0)
    exact = np.concatenate([activity.density_fit(part, grid, 5.0) for part in np.split(times, 5)])
    exact = exact.reshape(5, -1).mean(axis=0)  # five exact fits of a fifth each
    assert len(times) > 4 * activity.BINS
    np.testing.assert_allclose(binned, exact, rtol=1e-4)
