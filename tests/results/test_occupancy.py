"""Single-season occupancy, checked against unmarked's values and the closed-form MLE.

unmarked references: biodiverse/unmarked tests/testthat/test_occu.R ("occu can
fit models with covariates" and "occu handles NAs"). There psi sits on a flat
ridge (every site occupied): unmarked's optim stops at state coefficients near
(8.6, 2.5), any larger values fit as well, so the state part is checked as
psi ~ 1 and the detection coefficients to unmarked's tolerance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from traptagger_lab.results import naive_occupancy, occupancy

# R: y <- matrix(rep(0:1,10)[1:10],5,2) fills by column; obsCovs rows are site-major
Y = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1], dtype=float).reshape(2, 5).T
X = np.array([0, 2, 3, 4, 1], dtype=float)
O1 = np.arange(1, 11, dtype=float).reshape(5, 2)
O2 = (np.exp(np.arange(-5, 5, dtype=float)) / 10).reshape(5, 2)


def test_covariate_model_matches_unmarked() -> None:
    fit = occupancy(Y, {"x": X}, {"o1": O1, "o2": O2}, state="~x", detection="~o1 + o2")
    # unmarked: coef(det) == c(0.44457, -0.14706, 0.44103), tolerance 1e-4
    assert list(fit["detection_coef"]) == ["(Intercept)", "o1", "o2"]
    assert list(fit["detection_coef"].values()) == pytest.approx(
        [0.44457, -0.14706, 0.44103], rel=1e-3
    )
    assert list(fit["state_coef"]) == ["(Intercept)", "x"]
    assert np.all(fit["psi"] > 0.9999)  # unmarked: backTransform(occ.lc) == 1
    # unmarked: fitted(fm)[, 1] = psi * p = 0.5738, 0.5014, 0.4318, 0.38581, 0.50171
    assert fit["p"][:, 0] == pytest.approx([0.5738, 0.5014, 0.4318, 0.38581, 0.50171], rel=1e-3)


def test_sites_missing_a_state_covariate_are_removed_like_unmarked() -> None:
    x = X.copy()
    x[2] = np.nan
    fit = occupancy(Y, {"x": x}, {"o1": O1, "o2": O2}, state="~x", detection="~o1 + o2")
    assert fit["sites_removed"] == [2]  # unmarked: fm@sitesRemoved == 3 (1-based)
    assert fit["n_sites"] == 4
    # unmarked: coef(fm)[3:5] == c(0.66243, -0.22862, 0.58192); unmarked stopped on the psi
    # ridge at psi = 0.9998, not 1, which moves p by 0.2%
    assert list(fit["detection_coef"].values()) == pytest.approx(
        [0.66243, -0.22862, 0.58192], rel=5e-3
    )
    assert np.isnan(fit["psi"][2])


def test_intercept_model_matches_the_closed_form_mle(shared_data: Path) -> None:
    """With psi and p constant and no missing occasions the MLE has a closed form:
    p solves J p / (1 - (1-p)^J) = detections per detected site (the zero-truncated
    binomial), and psi = naive occupancy / (1 - (1-p)^J) (MacKenzie et al. 2002)."""
    from scipy import optimize

    y = pd.read_csv(shared_data / "unmarked/MesoCarnivores_coyote.csv").to_numpy(dtype=float)
    assert y.shape == (1437, 3)
    detected = y.sum(axis=1) > 0
    per_detected_site = y[detected].sum() / detected.sum()
    j = y.shape[1]
    p = optimize.brentq(lambda q: j * q / (1 - (1 - q) ** j) - per_detected_site, 1e-6, 1 - 1e-9)
    psi = detected.mean() / (1 - (1 - p) ** j)

    fit = occupancy(y)
    assert fit["p_mean"] == pytest.approx(p, rel=1e-4)
    assert fit["psi_mean"] == pytest.approx(psi, rel=1e-4)
    assert fit["naive_occupancy"] == pytest.approx(detected.mean())
    assert fit["state_se"]["(Intercept)"] > 0 and fit["detection_se"]["(Intercept)"] > 0  # noqa: PT018
    assert fit["psi_lower"][0] < psi < fit["psi_upper"][0]
    assert fit["aic"] == pytest.approx(2 * 2 - 2 * fit["log_likelihood"])


def test_site_covariates_and_missing_effort(shared_data: Path) -> None:
    y = pd.read_csv(shared_data / "unmarked/MesoCarnivores_bobcat.csv").to_numpy(dtype=float)
    covs = pd.read_csv(shared_data / "unmarked/MesoCarnivores_sitecovs.csv")
    covs["Dist_5km"] = (covs["Dist_5km"] - covs["Dist_5km"].mean()) / covs["Dist_5km"].std()
    null = occupancy(y)
    full = occupancy(y, covs, state="~ Dist_5km", detection="~ Trail")
    assert full["log_likelihood"] > null["log_likelihood"]  # nested model fits at least as well
    assert full["aic"] != null["aic"]
    y[:5, 1] = np.nan  # occasions without effort leave the likelihood
    assert occupancy(y)["n_sites"] == 1437
    assert naive_occupancy([[np.nan, np.nan], [0, 1], [0, 0]]) == 0.5


def test_bad_input_gets_clear_errors() -> None:
    with pytest.raises(ValueError, match="only 0, 1 and NaN"):
        occupancy([[0, 2], [1, 0]])
    with pytest.raises(ValueError, match="not among covariates"):
        occupancy(Y, {"x": X}, state="~ elevation")
    with pytest.raises(ValueError, match=r"site_covs\['x'\] has 2 rows for 5 sites"):
        occupancy(Y, {"x": [1.0, 2.0]})
    with pytest.raises(ValueError, match="additive covariate names"):
        occupancy(Y, {"x": X}, state="~ x * x")
