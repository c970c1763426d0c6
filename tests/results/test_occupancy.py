"""Single-season occupancy, checked against unmarked's test values and exact optima.

unmarked reference: biodiverse/unmarked tests/testthat/test_occu.R at commit 5db350f
(2025-08-29), compared as testthat's ``expect_equivalent`` does (R's ``all.equal``:
mean relative difference) at unmarked's tolerance. Its covariate data set (5 sites, 2
occasions) has exactly one detection at every site, so psi has no interior maximum (psi
= 1 fits best; unmarked's optim stops on that ridge at psi(Int) = 8.59) and p's
maximum-likelihood estimate does not depend on psi: it is the logistic regression of y
on the detection covariates, computed here by Newton's method (``_logistic``). Where
unmarked's printed p coefficients are not that optimum (optim stops on a relative
change of the likelihood), the test says by how much. Values that depend on psi
(fitted values, residuals) are checked with psi fixed at unmarked's own estimate, as a
state offset without intercept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray
from scipy import optimize, special

from tests.results.r_reference import all_equal_difference, expect_equivalent
from traptagger_lab.errors import NotFoundError
from traptagger_lab.results.mle import FitSettings
from traptagger_lab.results.occupancy import naive_occupancy, occupancy

# y <- matrix(rep(0:1,10)[1:10],5,2) fills by column; obsCovs rows are site-major
Y = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1], dtype=float).reshape(2, 5).T
X = np.array([0, 2, 3, 4, 1], dtype=float)
O1 = np.arange(1, 11, dtype=float).reshape(5, 2)
O2 = (np.exp(np.arange(-5, 5, dtype=float)) / 10).reshape(5, 2)


def _logistic(
    y: NDArray[np.float64], columns: list[NDArray[np.float64]], offset: Any = 0.0
) -> NDArray[np.float64]:
    """Maximum-likelihood logistic regression by Newton's method (NaN rows left out)."""
    design = np.stack([np.ones(y.size), *(c.ravel() for c in columns)], axis=1)
    response = y.ravel()
    shift = np.broadcast_to(offset, y.shape).ravel()
    keep = ~np.isnan(design).any(axis=1) & ~np.isnan(response)
    design, response, shift = design[keep], response[keep], shift[keep]
    beta = np.zeros(design.shape[1])
    for _ in range(100):
        p = special.expit(design @ beta + shift)
        information = design.T @ ((p * (1 - p))[:, None] * design)
        beta = beta + np.linalg.solve(information, design.T @ (response - p))
    return beta


def _fixed_psi(eta: NDArray[np.float64], **kwargs: Any) -> dict[str, Any]:
    """A fit with psi fixed at logit ``eta`` per site (offset, no intercept)."""
    covs = {"x": kwargs.pop("x", X), "eta": eta}
    return occupancy(
        Y, covs, {"o1": O1, "o2": kwargs.pop("o2", O2)}, state="~0 + offset(eta)", **kwargs
    )


def test_simple_models_match_unmarked() -> None:
    # test_occu.R, "occu can fit simple models": every occasion a detection ->
    # backTransform(fm['state']) and ['det'] == 1 (default tolerance, 1.5e-8)
    fit = occupancy(np.ones((5, 2)))
    expect_equivalent(fit["psi"], np.ones(5))
    expect_equivalent(fit["p"], np.ones((5, 2)))
    assert not fit["converged"]  # psi = 1 and p = 1: no interior maximum
    assert (
        "boundary estimate: psi = 1 at every site, p = 1 at every occasion"
        in (fit["convergence_reason"])
    )
    # no detection at all -> psi and p == 0, tolerance = 1e-4
    fit = occupancy(np.zeros((5, 2)))
    expect_equivalent(fit["psi"], np.zeros(5), 1e-4)
    expect_equivalent(fit["p"], np.zeros((5, 2)), 1e-4)
    assert not fit["converged"]


def test_covariate_model_matches_unmarked() -> None:
    fit = occupancy(Y, {"x": X}, {"o1": O1, "o2": O2}, state="~x", detection="~o1 + o2")
    assert list(fit["detection_coef"]) == ["(Intercept)", "o1", "o2"]
    assert list(fit["coefficients"]) == [
        "psi(Intercept)",
        "psi(x)",
        "p(Intercept)",
        "p(o1)",
        "p(o2)",
    ]
    ours = list(fit["detection_coef"].values())
    assert ours == pytest.approx(_logistic(Y, [O1, O2]), abs=1e-6)
    # test_occu.R, "occu can fit models with covariates": coef(det) ==
    # c(0.44457, -0.14706, 0.44103), tol=1e-4; unmarked's optim stopped at a gradient of
    # 8e-5, 1.2e-4 (mean relative) from the optimum.
    assert all_equal_difference([0.44457, -0.14706, 0.44103], ours, 1e-4) < 1.3e-4
    # expect_error(backTransform(occ)): psi is 1 at every site; our fit says why
    assert np.all(fit["psi"] > 0.9999)
    assert not fit["converged"]
    assert "psi = 1 at every site" in fit["convergence_reason"]
    assert fit["gradient_norm"] < 1e-6  # small gradient alone does not make convergence

    at_unmarked = _fixed_psi(8.590737 + 2.472220 * X, detection="~o1 + o2")
    assert at_unmarked["converged"], at_unmarked["convergence_reason"]
    det = np.array(list(at_unmarked["detection_coef"].values()))
    # linearComb(fm, type='det', c(1, 0.3, -0.3)) == 0.2681477, tol=1e-4: unmarked's
    # value is that of its own p coefficients above, 2.0e-4 (relative) from the optimum's;
    # its backTransform == 0.5666381, tol=1e-4
    assert all_equal_difference(0.2681477, det @ [1, 0.3, -0.3], 1e-4) < 2.1e-4
    expect_equivalent(special.expit(det @ [1, 0.3, -0.3]), 0.5666381, 1e-4)
    # fitted(fm) == c(0.5738, 0.5014, 0.4318, 0.38581, 0.50171, 0.53764, 0.46563,
    # 0.40283, 0.39986, 0.79928) (by column), tol=1e-5: psi * p with unmarked's p, which
    # is 1.5e-5 (mean relative) from p at the optimum
    fitted = [0.5738, 0.5014, 0.4318, 0.38581, 0.50171, 0.53764, 0.46563, 0.40283, 0.39986,
              0.79928]  # fmt: skip
    assert all_equal_difference(fitted, at_unmarked["fitted"].T.ravel(), 1e-5) < 1.6e-5
    # residuals(fm)[1, 1] == -0.57380, tol=1e-4 (y - fitted)
    expect_equivalent(Y[0, 0] - at_unmarked["fitted"][0, 0], -0.57380, 1e-4)
    # gp <- getP(fm); gp[1:2, 1:2] == c(0.5739, 0.5014, 0.5377, 0.4656) (by column), 1e-4
    expect_equivalent(at_unmarked["p"][:2, :2].T.ravel(), [0.5739, 0.5014, 0.5377, 0.4656], 1e-4)
    # r <- ranef(fm); bup(r) == c(1, 1, 1, 1, 1): every site had a detection
    expect_equivalent(fit["psi_conditional"], np.ones(5))


def test_no_detections_with_covariates_leave_no_covariance_like_unmarked() -> None:
    # test_occu.R, "occu can fit models with covariates": y all 0 -> a warning, and the
    # state and detection covMat are all NA
    fit = occupancy(
        np.zeros((5, 2)), {"x": X}, {"o1": O1, "o2": O2}, state="~x", detection="~o1 + o2"
    )
    assert np.isnan(fit["covariance"]).all()
    assert np.isnan(list(fit["coefficient_se"].values())).all()
    assert not fit["converged"] and not fit["hessian_ok"]  # noqa: PT018
    # expect_error(occu(~ o1 + o2 ~ fake)), expect_error(occu(~ o1 + fake ~ o1))
    with pytest.raises(NotFoundError, match=r"state formula '~ fake' names \['fake'\]"):
        occupancy(Y, {"x": X}, {"o1": O1, "o2": O2}, state="~ fake", detection="~o1 + o2")
    with pytest.raises(NotFoundError, match=r"state formula '~ o1' names \['o1'\].*\['x'\]"):
        occupancy(Y, {"x": X}, {"o1": O1, "o2": O2}, state="~ o1", detection="~o1 + fake")
    with pytest.raises(NotFoundError, match=r"detection formula .* names \['fake'\]"):
        occupancy(Y, {"x": X}, {"o1": O1, "o2": O2}, detection="~o1 + fake")


def test_missing_values_are_handled_like_unmarked() -> None:
    x = X.copy()
    x[2] = np.nan
    fit = occupancy(Y, {"x": x}, {"o1": O1, "o2": O2}, state="~x", detection="~o1 + o2")
    # test_occu.R, "occu handles NAs": fm@sitesRemoved == 3 (1-based)
    assert fit["sites_removed"] == [2]
    assert fit["n_sites"] == 4
    kept = np.array([True, True, False, True, True])
    ours = list(fit["detection_coef"].values())
    assert ours == pytest.approx(_logistic(Y[kept], [O1[kept], O2[kept]]), abs=1e-6)
    # coef(fm)[3:5] == c(0.66243, -0.22862, 0.58192), tol=1e-5: unmarked's optim stopped
    # 1.6e-3 (mean relative) from the optimum
    assert all_equal_difference([0.66243, -0.22862, 0.58192], ours, 1e-5) < 1.7e-3
    assert np.isnan(fit["psi"][2])
    assert np.isnan(fit["fitted"][2]).all()  # ft[3, ] all NA (missing site cov)

    o2 = O2.copy()
    o2[4, 1] = np.nan  # obsCovs[10, 2] <- NA
    fit = occupancy(Y, {"x": x}, {"o1": O1, "o2": o2}, state="~x", detection="~o1 + o2")
    assert fit["sites_removed"] == [2]
    ours = list(fit["detection_coef"].values())
    assert ours == pytest.approx(_logistic(Y[kept], [O1[kept], o2[kept]]), abs=1e-6)
    # coef(fm)[3:5] == c(-1.42471, 0.67011, -8.44608), tol=1e-5: 1.3e-4 from the optimum
    assert all_equal_difference([-1.42471, 0.67011, -8.44608], ours, 1e-5) < 1.3e-4
    assert np.isnan(fit["fitted"][4, 1]) and np.isnan(fit["p"][4, 1])  # noqa: PT018
    assert not np.isnan(fit["p"][2]).any()  # gp[3, ] not NA: p needs no site covariate


def test_offsets_match_unmarked() -> None:
    # test_occu.R, "occu handles offsets": occu(~ o1 + o2 ~ offset(x)): coef ==
    # c(9.74361, 0.44327, -0.14683, 0.44085), tol=1e-5 (psi on its ridge again); unmarked's
    # p coefficients are 1.8e-3 (mean relative) from the optimum
    fit = occupancy(Y, {"x": X}, {"o1": O1, "o2": O2}, state="~ offset(x)", detection="~o1 + o2")
    assert list(fit["state_coef"]) == ["(Intercept)"]
    ours = list(fit["detection_coef"].values())
    assert ours == pytest.approx(_logistic(Y, [O1, O2]), abs=1e-6)
    assert all_equal_difference([0.44327, -0.14683, 0.44085], ours, 1e-5) < 1.8e-3
    # occu(~ o1 + offset(o2) ~ offset(x)): coef == c(8.59459, 0.97574, -0.3096), tol=1e-5;
    # 3.4e-3 from the optimum
    fit = occupancy(
        Y, {"x": X}, {"o1": O1, "o2": O2}, state="~ offset(x)", detection="~o1 + offset(o2)"
    )
    ours = list(fit["detection_coef"].values())
    assert ours == pytest.approx(_logistic(Y, [O1], offset=O2), abs=1e-6)
    assert all_equal_difference([0.97574, -0.3096], ours, 1e-5) < 3.5e-3


def test_intercept_model_matches_the_closed_form_mle(shared_data: Path) -> None:
    """With psi and p constant and no missing occasions the MLE has a closed form:
    p solves J p / (1 - (1-p)^J) = detections per detected site (the zero-truncated
    binomial), and psi = naive occupancy / (1 - (1-p)^J) (MacKenzie et al. 2002)."""
    y = pd.read_csv(shared_data / "unmarked/MesoCarnivores_coyote.csv").to_numpy(dtype=float)
    assert y.shape == (1437, 3)
    detected = y.sum(axis=1) > 0
    per_detected_site = y[detected].sum() / detected.sum()
    j = y.shape[1]
    p = optimize.brentq(lambda q: j * q / (1 - (1 - q) ** j) - per_detected_site, 1e-6, 1 - 1e-9)
    psi = detected.mean() / (1 - (1 - p) ** j)

    fit = occupancy(y)
    assert fit["p_mean"] == pytest.approx(p, rel=1e-8)
    assert fit["psi_mean"] == pytest.approx(psi, rel=1e-8)
    assert fit["naive_occupancy"] == pytest.approx(detected.mean())
    assert fit["state_se"]["(Intercept)"] > 0 and fit["detection_se"]["(Intercept)"] > 0  # noqa: PT018
    assert fit["psi_lower"][0] < psi < fit["psi_upper"][0]
    assert fit["aic"] == pytest.approx(2 * 2 - 2 * fit["log_likelihood"])
    assert fit["converged"] and fit["hessian_ok"] and fit["gradient_norm"] < 1e-6  # noqa: PT018


def test_convergence_is_judged_by_gradient_and_hessian(shared_data: Path) -> None:
    """Issue 20: fits that converged were reported as not converged because BFGS ended
    with 'precision loss'. The bobcat model below ends that way and has converged."""
    y = pd.read_csv(shared_data / "unmarked/MesoCarnivores_bobcat.csv").to_numpy(dtype=float)
    covs = pd.read_csv(shared_data / "unmarked/MesoCarnivores_sitecovs.csv")
    state, detection = "~ Dist_5km + HDens_5km", "~ Trail"
    fit = occupancy(y, covs, state=state, detection=detection)
    assert "precision loss" in fit["optimiser_message"]
    assert fit["converged"], fit["convergence_reason"]
    assert fit["gradient_norm"] < 1e-3 and fit["hessian_ok"]  # noqa: PT018
    assert fit["convergence_reason"].startswith("converged: gradient")
    # stopped early: the gradient is large, and the fit says so
    early = occupancy(
        y, covs, state=state, detection=detection, settings=FitSettings(max_iterations=2)
    )
    assert not early["converged"]
    assert "gradient" in early["convergence_reason"] and early["gradient_norm"] > 1e-3  # noqa: PT018


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
    assert naive_occupancy(np.array([[np.nan, np.nan], [0, 1], [0, 0]])) == 0.5


def test_covariates_by_station_with_factors() -> None:
    """Site covariates as deployments give them: a DataFrame indexed by station, with a
    text column (a factor, coded as R's treatment contrasts) and a number."""
    stations = ["A", "B", "C", "D", "E"]
    history = pd.DataFrame(Y, index=stations)
    covs = pd.DataFrame(
        {"habitat": ["forest", "grass", "forest", "grass", "scrub"], "height": X + 0.5},
        index=["E", "D", "C", "B", "A"],
    ).loc[["C", "A", "E", "B", "D"]]
    fit = occupancy(history, covs, state="~1", detection="~ habitat + height")
    assert list(fit["detection_coef"]) == ["(Intercept)", "habitatgrass", "habitatscrub", "height"]
    assert fit["stations"] == stations
    by_position = occupancy(
        Y,
        {"habitat": ["scrub", "grass", "forest", "grass", "forest"], "height": X[::-1] + 0.5},
        detection="~ habitat + height",
    )
    assert fit["coefficients"] == pytest.approx(by_position["coefficients"])
    categorical = covs.assign(habitat=pd.Categorical(covs["habitat"], ["scrub", "grass", "forest"]))
    fit = occupancy(history, categorical, detection="~ habitat")
    assert list(fit["detection_coef"]) == ["(Intercept)", "habitatgrass", "habitatforest"]
    with pytest.raises(
        NotFoundError, match=r"site covariates have no row for station\(s\) \['B'\]"
    ):
        occupancy(history, covs.drop("B"), state="~ height")
    with pytest.raises(ValueError, match=r"several rows for station\(s\) \['A'\]"):
        occupancy(history, pd.concat([covs, covs.loc[["A"]]]), state="~ height")
    with pytest.raises(NotFoundError, match=r"names \['elevation'\].*\['habitat', 'height'\]"):
        occupancy(history, covs, state="~ elevation")


def test_bad_input_gets_clear_errors() -> None:
    with pytest.raises(ValueError, match="only 0, 1 and NaN"):
        occupancy([[0, 2], [1, 0]])
    with pytest.raises(NotFoundError, match="not among the covariates"):
        occupancy(Y, {"x": X}, state="~ elevation")
    with pytest.raises(ValueError, match=r"site covariate 'x' has 2 values for 5 sites"):
        occupancy(Y, {"x": [1.0, 2.0]})
    with pytest.raises(ValueError, match="additive covariate names"):
        occupancy(Y, {"x": X}, state="~ x * x")
    with pytest.raises(ValueError, match="no site has both effort and the covariates"):
        occupancy(Y, {"x": np.full(5, np.nan)}, state="~ x")
    # nothing to estimate: psi and p fixed by offsets alone
    fixed = occupancy(Y, {"a": X}, {"b": O1}, state="~0 + offset(a)", detection="~0 + offset(b)")
    assert fixed["n_parameters"] == 0 and fixed["converged"]  # noqa: PT018
