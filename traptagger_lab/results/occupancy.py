"""Occupancy: naive occupancy, and the single-season model of MacKenzie et al. (2002).

``occupancy`` fits psi (a site is occupied) and p (an occupied site's species
is detected on an occasion) by maximum likelihood, with logit-linear models on
site covariates (psi) and site or observation covariates (p), like unmarked's
``occu(~detection ~state)`` (formulas: :mod:`~traptagger_lab.results.formulas`).
Occasions without effort are NaN in ``y`` and leave the likelihood, as in
unmarked; sites missing a state covariate are removed (and reported), and
occasions missing an observation covariate drop out. Convergence is judged from
the gradient and Hessian at the estimate (:mod:`~traptagger_lab.results.mle`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from traptagger_lab.results.formulas import (
    CovariateInput,
    Design,
    design,
    matrix_covariates,
    parse_formula,
    site_covariates,
)
from traptagger_lab.results.mle import Estimates, FitSettings, maximise, pinned, predict


def naive_occupancy(y: ArrayLike) -> float:
    """Share of sites (with any effort) where the species was detected at least once."""
    history = np.asarray(y, dtype=float)
    surveyed = ~np.all(np.isnan(history), axis=1)
    detected = np.nansum(history, axis=1) > 0
    return float(detected[surveyed].mean()) if surveyed.any() else float("nan")


def detection_matrix(y: ArrayLike | pd.DataFrame, what: str = "y") -> NDArray[np.float64]:
    """A checked detection history: 1 detected, 0 not, NaN no effort (counts become 1)."""
    history = np.asarray(y, dtype=float)
    if history.ndim != 2:
        raise ValueError(f"{what} must be a sites x occasions matrix")
    seen = history[~np.isnan(history)]
    if (seen < 0).any() or (seen != np.round(seen)).any():
        raise ValueError(f"{what} may hold only 0, 1 and NaN (no effort)")
    if (seen > 1).any():
        raise ValueError(f"{what} may hold only 0, 1 and NaN (no effort); counts are not taken")
    return history


def fingerprint(*arrays: NDArray[Any]) -> str:
    """A short digest of the data a model saw, so that models fitted to different data
    are never compared (unmarked's fitList refuses them too)."""
    digest = hashlib.sha1(usedforsecurity=False)
    for array in arrays:
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array, dtype=float).tobytes())
    return digest.hexdigest()[:16]


def coefficient_name(part: str, name: str) -> str:
    """``psi(Intercept)``, ``p(o1)``: one model part's coefficient in the flat listing."""
    return f"{part}{name}" if name == "(Intercept)" else f"{part}({name})"


def fit_summary(estimates: Estimates) -> dict[str, Any]:
    """The entries every occupancy fit shares: flat coefficients and SEs, likelihood,
    AIC and the convergence diagnosis."""
    k = len(estimates.theta)
    return {
        "coefficients": dict(zip(estimates.names, estimates.theta.tolist(), strict=True)),
        "coefficient_se": dict(zip(estimates.names, estimates.se.tolist(), strict=True)),
        "covariance": estimates.covariance,
        "log_likelihood": estimates.log_likelihood,
        "n_parameters": k,
        "aic": 2 * k - 2 * estimates.log_likelihood,
        "converged": estimates.converged,
        "convergence_reason": estimates.convergence_reason,
        "gradient_norm": estimates.gradient_norm,
        "hessian_ok": estimates.hessian_ok,
        "condition_number": estimates.condition_number,
        "boundary": list(estimates.boundary),
        "optimiser_message": estimates.optimiser_message,
    }


def part_results(
    key: str, part: str, built: Design, where: slice, estimates: Estimates, conf: float
) -> dict[str, Any]:
    """One model part's coefficients (``{key}_coef``) and SEs (``{key}_se``) by covariate,
    and its fitted probability (``{part}``) with ``conf`` intervals (NaN where a covariate
    is missing)."""
    theta, se = estimates.theta[where], estimates.se[where]
    estimate, lower, upper = predict(
        np.nan_to_num(built.matrix),
        np.nan_to_num(built.offset),
        theta,
        estimates.covariance[where, where],
        conf,
    )
    return {
        f"{key}_coef": dict(zip(built.names, theta.tolist(), strict=True)),
        f"{key}_se": dict(zip(built.names, se.tolist(), strict=True)),
        part: np.where(built.missing, np.nan, estimate),
        f"{part}_lower": np.where(built.missing, np.nan, lower),
        f"{part}_upper": np.where(built.missing, np.nan, upper),
    }


def _conditional(
    history: NDArray[np.float64],
    observed: NDArray[np.bool_],
    psi: NDArray[np.float64],
    p: NDArray[np.float64],
) -> NDArray[np.float64]:
    """P(occupied | the site's detections) (unmarked's ``ranef``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p, log_q = np.log(np.clip(p, 1e-300, 1)), np.log(np.clip(1 - p, 1e-300, 1))
    log_if_occupied = np.where(observed, history * log_p + (1 - history) * log_q, 0.0)
    if_occupied = psi * np.exp(log_if_occupied.sum(axis=1))
    never = ~(np.nan_to_num(history) * observed).any(axis=1)
    result: NDArray[np.float64] = if_occupied / (if_occupied + (1 - psi) * never)
    return result


def _single_season_objective(
    xs: NDArray[np.float64],
    offset_state: NDArray[np.float64],
    xd: NDArray[np.float64],
    offset_detection: NDArray[np.float64],
    ys: NDArray[np.float64],
    observed: NDArray[np.bool_],
) -> Any:
    """Negative log-likelihood of MacKenzie et al. (2002) and its exact gradient: with
    w = P(occupied | y), d logL/d eta_psi = w - psi and d logL/d eta_p = w (y - p)."""
    k_state = xs.shape[1]
    never = ~(ys * observed).any(axis=1)

    def objective(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        eta_psi = xs @ theta[:k_state] + offset_state
        eta_p = xd @ theta[k_state:] + offset_detection
        log_p, log_q = special.log_expit(eta_p), special.log_expit(-eta_p)
        log_if_occupied = np.where(observed, ys * log_p + (1 - ys) * log_q, 0.0).sum(axis=1)
        occupied = special.log_expit(eta_psi) + log_if_occupied
        empty = np.where(never, special.log_expit(-eta_psi), -np.inf)
        log_site = np.logaddexp(occupied, empty)
        weight = np.exp(occupied - log_site)
        d_state = weight - special.expit(eta_psi)
        d_detection = np.where(observed, weight[:, None] * (ys - special.expit(eta_p)), 0.0)
        gradient = np.concatenate([xs.T @ d_state, np.einsum("ijk,ij->k", xd, d_detection)])
        return float(-log_site.sum()), -gradient

    return objective


def occupancy(
    y: ArrayLike | pd.DataFrame,
    site_covs: CovariateInput | None = None,
    obs_covs: Mapping[str, Any] | None = None,
    state: str = "~1",
    detection: str = "~1",
    conf: float = 0.95,
    settings: FitSettings | None = None,
) -> dict[str, Any]:
    """Fit the single-season occupancy model; estimates with standard errors and CIs.

    Args:
        y: sites x occasions, 1 detected, 0 not, NaN no effort; a DataFrame indexed by
            station lines covariates up by station.
        site_covs: one value per site for each covariate: a DataFrame (indexed by station
            when ``y`` is a DataFrame) or a mapping. Text, categorical and boolean columns
            are factors.
        obs_covs: covariate name -> sites x occasions array (or DataFrame by station).
        state: formula for psi, e.g. ``'~ habitat + height'``.
        detection: formula for p; may name site or observation covariates.
        conf: level of the intervals.
        settings: optimiser and convergence thresholds (:class:`FitSettings`).

    Returns:
        ``state_coef`` and ``detection_coef`` (logit scale, intercept first, in
        formula order) with ``state_se``/``detection_se``; the same flat in
        ``coefficients``/``coefficient_se`` (``psi(Intercept)``, ``p(o1)``); ``psi``
        and ``p`` (per site, and per site x occasion) with ``*_lower``/``*_upper``,
        ``psi_mean``/``p_mean``, ``fitted`` (psi * p), ``psi_conditional`` (P(occupied
        | detection history), unmarked's ``ranef``), ``log_likelihood``,
        ``n_parameters``, ``aic``, ``n_sites``, ``sites_removed``, ``naive_occupancy``,
        and the convergence diagnosis: ``converged``, ``convergence_reason``,
        ``gradient_norm``, ``hessian_ok``, ``condition_number``, ``boundary``.

    Raises:
        NotFoundError: a formula names a covariate not given, or a station has no row.
        ValueError: malformed ``y``, formula or covariates.
    """
    stations = list(y.index) if isinstance(y, pd.DataFrame) else None
    history = detection_matrix(y)
    n_sites = history.shape[0]
    site_columns = site_covariates(site_covs, n_sites, stations)
    obs_columns = matrix_covariates(obs_covs, history.shape, stations)
    state_formula, detection_formula = parse_formula(state), parse_formula(detection)
    x_state = design(state_formula, site_columns, (n_sites,), "state")
    spread = {name: type(c)(c.values[:, None], c.levels) for name, c in site_columns.items()}
    x_det = design(detection_formula, {**spread, **obs_columns}, history.shape, "detection")

    removed = x_state.missing
    observed = ~np.isnan(history) & ~x_det.missing
    keep = ~removed & observed.any(axis=1)
    if not keep.any():
        raise ValueError("no site has both effort and the covariates the formulas use")
    obs = observed[keep]
    ys = np.where(obs, history[keep], 0.0)
    xd = np.nan_to_num(x_det.matrix[keep])
    objective = _single_season_objective(
        x_state.matrix[keep], x_state.offset[keep], xd, np.nan_to_num(x_det.offset[keep]), ys, obs
    )
    k_state = len(x_state.names)
    settings = settings or FitSettings()
    names = [coefficient_name("psi", n) for n in x_state.names]
    names += [coefficient_name("p", n) for n in x_det.names]

    def boundary(theta: NDArray[np.float64]) -> list[str]:
        eta_psi = x_state.matrix[keep] @ theta[:k_state] + x_state.offset[keep]
        eta_p = np.where(obs, xd @ theta[k_state:] + x_det.offset[keep], np.nan)
        return pinned("psi", eta_psi, "site", settings) + pinned("p", eta_p, "occasion", settings)

    estimates = maximise(objective, names, settings, boundary)
    state_part = part_results("state", "psi", x_state, slice(0, k_state), estimates, conf)
    det_part = part_results("detection", "p", x_det, slice(k_state, None), estimates, conf)
    psi, p = state_part["psi"], det_part["p"]
    result: dict[str, Any] = {
        "model": "occu",
        "formula": f"{detection_formula.text} {state_formula.text}",
        **state_part,
        **det_part,
        "psi_mean": float(np.nanmean(psi)) if (~removed).any() else float("nan"),
        "p_mean": float(np.mean(p[observed])) if observed.any() else float("nan"),
        "fitted": psi[:, None] * p,
        "psi_conditional": np.where(keep, _conditional(history, observed, psi, p), np.nan),
        "n_sites": int(keep.sum()),
        "sites_removed": [int(i) for i in np.flatnonzero(removed)],
        "naive_occupancy": naive_occupancy(history),
        "data_fingerprint": fingerprint(np.where(observed, history, -1.0), keep),
        **fit_summary(estimates),
    }
    if stations is not None:
        result["stations"] = stations
    return result
