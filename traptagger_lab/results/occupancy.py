"""Occupancy: naive occupancy, and the single-season model of MacKenzie et al. (2002).

``occupancy`` fits psi (a site is occupied) and p (an occupied site's species
is detected on an occasion) by maximum likelihood, with logit-linear models on
site covariates (psi) and site or observation covariates (p), like unmarked's
``occu(~detection ~state)``. Occasions without effort are NaN in ``y`` and
leave the likelihood, as in unmarked; sites missing a state covariate are
removed (and reported), and occasions missing an observation covariate drop out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats


def naive_occupancy(y: ArrayLike) -> float:
    """Share of sites (with any effort) where the species was detected at least once."""
    history = np.asarray(y, dtype=float)
    surveyed = ~np.all(np.isnan(history), axis=1)
    detected = np.nansum(history, axis=1) > 0
    return float(detected[surveyed].mean()) if surveyed.any() else float("nan")


def _terms(formula: str) -> list[str]:
    """Covariate names of an additive formula ``'~1'``, ``'~ x + y'`` (intercept implied)."""
    body = formula.strip()
    if not body.startswith("~"):
        raise ValueError(f"formula {formula!r}: write it as '~1' or '~ x + y'")
    names = [t.strip() for t in body[1:].split("+") if t.strip()]
    terms = [t for t in names if t != "1"]
    for term in terms:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", term):
            raise ValueError(f"formula {formula!r}: only additive covariate names, not {term!r}")
    return terms


def _design(
    terms: list[str], columns: Mapping[str, NDArray[np.float64]], shape: tuple[int, ...], what: str
) -> NDArray[np.float64]:
    """Intercept plus one column per term, each broadcast to ``shape``."""
    missing = [t for t in terms if t not in columns]
    if missing:
        raise ValueError(f"{what} formula names {missing}, not among covariates {sorted(columns)}")
    layers = [np.ones(shape)] + [np.broadcast_to(columns[t], shape) for t in terms]
    return np.stack(layers, axis=-1).astype(float)


def _hessian(function: Any, x: NDArray[np.float64], step: float = 1e-4) -> NDArray[np.float64]:
    """Central-difference Hessian of a scalar function."""
    k = len(x)
    hessian = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * step, np.eye(k)[j] * step
            value = (
                function(x + ei + ej)
                - function(x + ei - ej)
                - function(x - ei + ej)
                + function(x - ei - ej)
            ) / (4 * step * step)
            hessian[i, j] = hessian[j, i] = value
    return hessian


def occupancy(
    y: ArrayLike,
    site_covs: pd.DataFrame | Mapping[str, ArrayLike] | None = None,
    obs_covs: Mapping[str, ArrayLike] | None = None,
    state: str = "~1",
    detection: str = "~1",
    conf: float = 0.95,
) -> dict[str, Any]:
    """Fit the single-season occupancy model; estimates with standard errors and CIs.

    Args:
        y: sites x occasions, 1 detected, 0 not, NaN no effort.
        site_covs: one value per site for each covariate (a DataFrame or a mapping).
        obs_covs: covariate name -> sites x occasions array.
        state: formula for psi, e.g. ``'~ forest + elevation'``.
        detection: formula for p; may name site or observation covariates.

    Returns:
        ``state_coef`` and ``detection_coef`` (logit scale, intercept first, in
        formula order) with ``state_se``/``detection_se``, ``psi`` and ``p``
        (per site, and per site x occasion) with ``*_lower``/``*_upper``,
        ``psi_mean``/``p_mean``, ``log_likelihood``, ``aic``, ``n_sites``,
        ``sites_removed``, ``naive_occupancy`` and ``converged``.
    """
    history = np.asarray(y, dtype=float)
    if history.ndim != 2:
        raise ValueError("y must be a sites x occasions matrix")
    n_sites = history.shape[0]
    if not np.isin(history[~np.isnan(history)], (0, 1)).all():
        raise ValueError("y may hold only 0, 1 and NaN (no effort)")
    site_columns = {}
    for name, values in (dict(site_covs) if site_covs is not None else {}).items():
        column = np.asarray(values, dtype=float).ravel()
        if len(column) != n_sites:
            raise ValueError(f"site_covs[{name!r}] has {len(column)} rows for {n_sites} sites")
        site_columns[str(name)] = column
    obs_columns = {}
    for name, values in (obs_covs or {}).items():
        matrix = np.asarray(values, dtype=float)
        if matrix.shape != history.shape:
            raise ValueError(f"obs_covs[{name!r}] is {matrix.shape}, y is {history.shape}")
        obs_columns[name] = matrix

    state_terms, detection_terms = _terms(state), _terms(detection)
    x_state = _design(state_terms, site_columns, (n_sites,), "state")
    det_columns = {**{k: v[:, None] for k, v in site_columns.items()}, **obs_columns}
    x_det = _design(detection_terms, det_columns, history.shape, "detection")

    removed = np.isnan(x_state).any(axis=1)
    observed = ~np.isnan(history) & ~np.isnan(x_det).any(axis=-1)
    keep = ~removed & observed.any(axis=1)
    ys, xs, xd, obs = history[keep], x_state[keep], np.nan_to_num(x_det[keep]), observed[keep]
    ys = np.where(obs, ys, 0.0)
    detected = (ys * obs).sum(axis=1) > 0
    k_state = xs.shape[1]

    def negative_log_likelihood(theta: NDArray[np.float64]) -> float:
        psi = special.expit(xs @ theta[:k_state])
        p = special.expit(xd @ theta[k_state:])
        log_p, log_q = np.log(np.clip(p, 1e-300, 1)), np.log(np.clip(1 - p, 1e-300, 1))
        per_occasion = np.where(obs, ys * log_p + (1 - ys) * log_q, 0.0)
        if_occupied = np.exp(per_occasion.sum(axis=1))
        likelihood = psi * if_occupied + (1 - psi) * (~detected)
        return float(-np.log(np.clip(likelihood, 1e-300, None)).sum())

    start = np.zeros(k_state + xd.shape[-1])
    fit = optimize.minimize(negative_log_likelihood, start, method="BFGS", options={"gtol": 1e-7})
    theta = fit.x
    try:
        covariance = np.linalg.inv(_hessian(negative_log_likelihood, theta))
        se = np.sqrt(np.where(np.diag(covariance) >= 0, np.diag(covariance), np.nan))
    except np.linalg.LinAlgError:
        covariance = np.full((len(theta), len(theta)), np.nan)
        se = np.full(len(theta), np.nan)
    z = stats.norm.ppf((1 + conf) / 2)

    def predict(design: NDArray[np.float64], part: slice) -> tuple[Any, Any, Any]:
        eta = design @ theta[part]
        cov = covariance[part, part]
        var = np.einsum("...i,ij,...j->...", design, cov, design)
        half = z * np.sqrt(np.maximum(var, 0))
        return special.expit(eta), special.expit(eta - half), special.expit(eta + half)

    psi, psi_low, psi_high = predict(np.nan_to_num(x_state), slice(0, k_state))
    p, p_low, p_high = predict(np.nan_to_num(x_det), slice(k_state, None))
    psi = np.where(removed, np.nan, psi)
    log_likelihood = -fit.fun
    return {
        "state_coef": dict(
            zip(["(Intercept)", *state_terms], theta[:k_state].tolist(), strict=True)
        ),
        "detection_coef": dict(
            zip(["(Intercept)", *detection_terms], theta[k_state:].tolist(), strict=True)
        ),
        "state_se": dict(zip(["(Intercept)", *state_terms], se[:k_state].tolist(), strict=True)),
        "detection_se": dict(
            zip(["(Intercept)", *detection_terms], se[k_state:].tolist(), strict=True)
        ),
        "psi": psi,
        "psi_lower": np.where(removed, np.nan, psi_low),
        "psi_upper": np.where(removed, np.nan, psi_high),
        "p": p,
        "p_lower": p_low,
        "p_upper": p_high,
        "psi_mean": float(np.nanmean(psi)),
        "p_mean": float(np.mean(p[observed])) if observed.any() else float("nan"),
        "log_likelihood": float(log_likelihood),
        "aic": float(2 * len(theta) - 2 * log_likelihood),
        "n_sites": int(keep.sum()),
        "sites_removed": [int(i) for i in np.flatnonzero(removed)],
        "naive_occupancy": naive_occupancy(history),
        "converged": bool(fit.success),
        "covariance": covariance,
    }
