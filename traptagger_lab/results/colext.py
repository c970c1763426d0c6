"""Multi-season (dynamic) occupancy: colonisation and extinction (MacKenzie et al. 2003).

A site is occupied in the first season with probability psi; between seasons an
empty site is colonised with probability gamma and an occupied one goes extinct
with probability epsilon; in each season an occupied site's species is detected
on an occasion with probability p (sites are closed within a season). Like
unmarked's ``colext(psiformula, gammaformula, epsilonformula, pformula)``, each
part is logit-linear: psi on site covariates, gamma and epsilon on site and
season ("yearly site") covariates of the season they leave, p also on
observation covariates. The likelihood is the forward algorithm of the hidden
Markov chain of occupancy; its exact gradient comes from the forward-backward
posteriors, which also give each site's smoothed occupancy per season.

Missing data as in unmarked: occasions without effort are NaN in ``y``; a season
without any effort carries no detection information; sites without any effort,
or missing a site covariate that psi, gamma or epsilon uses, are removed (and
reported); an occasion missing an observation covariate drops out; a season
covariate missing where a transition needs it is an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from traptagger_lab.errors import NotFoundError
from traptagger_lab.results.formulas import (
    Covariate,
    CovariateInput,
    Design,
    Formula,
    design,
    matrix_covariates,
    parse_formula,
    site_covariates,
)
from traptagger_lab.results.mle import FitSettings, maximise, pinned
from traptagger_lab.results.occupancy import (
    coefficient_name,
    detection_matrix,
    fingerprint,
    fit_summary,
    naive_occupancy,
    part_results,
)

#: The model parts, in unmarked's coefficient order.
PARTS = ("psi", "gamma", "epsilon", "p")


Seasons: TypeAlias = (
    Sequence[ArrayLike | pd.DataFrame] | Mapping[Any, ArrayLike | pd.DataFrame] | ArrayLike
)


def seasons_array(
    y: Seasons, n_seasons: int | None = None
) -> tuple[NDArray[np.float64], list[Any] | None]:
    """Detections as sites x seasons x occasions (NaN padding a shorter season), and the
    station names when the seasons are DataFrames (their union, in order of appearance).

    ``y`` is a list of per-season sites x occasions matrices (or a mapping of season
    name to matrix), a 3-D array, or unmarked's wide sites x (seasons * occasions)
    matrix with ``n_seasons``.
    """
    if isinstance(y, Mapping):
        y = list(y.values())
    if isinstance(y, Sequence) and not isinstance(y, str | bytes):
        seasons = list(y)
        if seasons and all(isinstance(s, pd.DataFrame) for s in seasons):
            stations = list(dict.fromkeys(s for frame in seasons for s in frame.index))
            matrices = [
                detection_matrix(frame.reindex(stations), f"season {t + 1}")
                for t, frame in enumerate(seasons)
            ]
            return _stack(matrices), stations
        if seasons and not isinstance(seasons[0], int | float):
            return _stack(
                [detection_matrix(s, f"season {t + 1}") for t, s in enumerate(seasons)]
            ), None
    array = np.asarray(y, dtype=float)
    if array.ndim == 2 and n_seasons:
        if array.shape[1] % n_seasons:
            raise ValueError(f"{array.shape[1]} occasions do not split into {n_seasons} seasons")
        array = array.reshape(array.shape[0], n_seasons, -1)
    if array.ndim != 3:
        raise ValueError(
            "y: give a list of per-season sites x occasions matrices, a sites x seasons x "
            "occasions array, or a wide sites x (seasons * occasions) matrix with n_seasons"
        )
    for t in range(array.shape[1]):
        detection_matrix(array[:, t], f"season {t + 1}")
    return array, None


def _stack(matrices: list[NDArray[np.float64]]) -> NDArray[np.float64]:
    sites = {m.shape[0] for m in matrices}
    if len(sites) != 1:
        raise ValueError(f"every season needs the same sites; the seasons have {sorted(sites)}")
    width = max(m.shape[1] for m in matrices)
    padded = [
        np.pad(m, ((0, 0), (0, width - m.shape[1])), constant_values=np.nan) for m in matrices
    ]
    return np.stack(padded, axis=1)


def _observation_covariates(
    covs: Mapping[str, Any] | None, history: NDArray[np.float64], stations: list[Any] | None
) -> dict[str, Covariate]:
    """Observation covariates as sites x seasons x occasions, from the layouts y takes; a
    per-season table by station needs a row for each station with effort that season."""
    shape = history.shape
    arrays: dict[str, Any] = {}
    for name, values in (covs or {}).items():
        if isinstance(values, Mapping):
            values = list(values.values())
        if isinstance(values, Sequence) and not isinstance(values, str | bytes | pd.DataFrame):
            seasons = []
            for t, season in enumerate(values):
                if isinstance(season, pd.DataFrame) and stations is not None:
                    active = [s for s, row in zip(stations, history[:, t], strict=True)
                              if not np.isnan(row).all()]  # fmt: skip
                    absent = [str(s) for s in active if s not in season.index]
                    if absent:
                        raise NotFoundError(
                            f"observation covariate {name!r}, season {t + 1}: no row for "
                            f"station(s) {absent}"
                        )
                    season = season.reindex(stations)
                matrix = np.asarray(season, dtype=object)
                width = shape[2] - matrix.shape[1]
                seasons.append(np.pad(matrix, ((0, 0), (0, width)), constant_values=np.nan))
            arrays[name] = np.stack(seasons, axis=1)
        else:
            array = np.asarray(values)
            wide = array.shape == (shape[0], shape[1] * shape[2])
            arrays[name] = array.reshape(shape) if wide else array
    return matrix_covariates(arrays, shape, None, "observation covariate")


def _forward_backward(
    log_psi: NDArray[np.float64],
    log_phi: NDArray[np.float64],
    log_emission: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Log-likelihood per site, posterior state probabilities (sites x seasons x state)
    and posterior transitions (sites x transitions x from x to), all in log space.

    ``log_psi`` is sites x state (0 empty, 1 occupied), ``log_phi`` sites x transitions
    x from x to, ``log_emission`` sites x seasons x state.
    """
    n_seasons = log_emission.shape[1]
    alpha = np.empty_like(log_emission)
    beta = np.zeros_like(log_emission)
    alpha[:, 0] = log_psi + log_emission[:, 0]
    for t in range(1, n_seasons):
        moved = special.logsumexp(alpha[:, t - 1, :, None] + log_phi[:, t - 1], axis=1)
        alpha[:, t] = moved + log_emission[:, t]
    for t in range(n_seasons - 2, -1, -1):
        ahead = log_emission[:, t + 1] + beta[:, t + 1]
        beta[:, t] = special.logsumexp(log_phi[:, t] + ahead[:, None, :], axis=2)
    log_site = special.logsumexp(alpha[:, -1], axis=1)
    posterior = np.exp(alpha + beta - log_site[:, None, None])
    ahead = log_emission[:, 1:] + beta[:, 1:]
    pairs = np.exp(
        alpha[:, :-1, :, None] + log_phi + ahead[:, :, None, :] - log_site[:, None, None, None]
    )
    return log_site, posterior, pairs


class _Data:
    """The kept sites' detections and designs, and the coefficient slices of each part."""

    def __init__(self, y: NDArray[np.float64], designs: dict[str, Design], keep: NDArray[np.bool_]):
        self.x = {part: np.nan_to_num(d.matrix[keep]) for part, d in designs.items()}
        self.offset = {part: np.nan_to_num(d.offset[keep]) for part, d in designs.items()}
        self.observed = ~np.isnan(y[keep]) & ~designs["p"].missing[keep]
        self.y = np.where(self.observed, y[keep], 0.0)
        self.detected = (self.y * self.observed).any(axis=2)
        sizes = [len(designs[part].names) for part in PARTS]
        ends = np.cumsum(sizes)
        self.slices = {
            part: slice(int(end - size), int(end))
            for part, size, end in zip(PARTS, sizes, ends, strict=True)
        }

    def eta(self, part: str, theta: NDArray[np.float64]) -> NDArray[np.float64]:
        """One part's linear predictor (logit scale) at the kept sites."""
        result: NDArray[np.float64] = self.x[part] @ theta[self.slices[part]] + self.offset[part]
        return result

    def chain(self, theta: NDArray[np.float64]) -> tuple[Any, ...]:
        """Initial, transition and emission log-probabilities, and the probabilities."""
        eta = {part: self.eta(part, theta) for part in PARTS}
        log_psi = np.stack([special.log_expit(-eta["psi"]), special.log_expit(eta["psi"])], axis=1)
        g, e = eta["gamma"], eta["epsilon"]
        log_phi = np.stack(
            [
                np.stack([special.log_expit(-g), special.log_expit(g)], axis=-1),
                np.stack([special.log_expit(e), special.log_expit(-e)], axis=-1),
            ],
            axis=-2,
        )
        log_p, log_q = special.log_expit(eta["p"]), special.log_expit(-eta["p"])
        occupied = np.where(self.observed, self.y * log_p + (1 - self.y) * log_q, 0.0).sum(axis=2)
        empty = np.where(self.detected, -np.inf, 0.0)
        log_emission = np.stack([empty, occupied], axis=-1)
        probabilities = {part: special.expit(value) for part, value in eta.items()}
        return log_psi, log_phi, log_emission, probabilities

    def objective(self, theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        """Negative log-likelihood and its exact gradient (posterior expected counts)."""
        log_psi, log_phi, log_emission, prob = self.chain(theta)
        log_site, posterior, pairs = _forward_backward(log_psi, log_phi, log_emission)
        scores = {
            "psi": posterior[:, 0, 1] - prob["psi"],
            "gamma": pairs[..., 0, 1] - prob["gamma"] * posterior[:, :-1, 0],
            "epsilon": pairs[..., 1, 0] - prob["epsilon"] * posterior[:, :-1, 1],
            "p": np.where(self.observed, posterior[:, :, 1, None] * (self.y - prob["p"]), 0.0),
        }
        gradient = np.zeros(len(theta))
        for part, score in scores.items():
            x = self.x[part]
            gradient[self.slices[part]] = x.reshape(-1, x.shape[-1]).T @ score.ravel()
        return float(-log_site.sum()), -gradient


def _designs(
    formulas: dict[str, Formula],
    site: dict[str, Covariate],
    yearly: dict[str, Covariate],
    obs: dict[str, Covariate],
    shape: tuple[int, int, int],
) -> dict[str, Design]:
    """The four parts' designs; which covariates each part may use is unmarked's rule."""
    m, t, _ = shape

    def spread(columns: dict[str, Covariate], extra: int) -> dict[str, Covariate]:
        return {
            n: Covariate(c.values.reshape(c.values.shape + (1,) * extra), c.levels)
            for n, c in columns.items()
        }

    leaving = {n: Covariate(c.values[:, :-1], c.levels) for n, c in yearly.items()}
    return {
        "psi": design(formulas["psi"], site, (m,), "psi"),
        "gamma": design(formulas["gamma"], {**spread(site, 1), **leaving}, (m, t - 1), "gamma"),
        "epsilon": design(
            formulas["epsilon"], {**spread(site, 1), **leaving}, (m, t - 1), "epsilon"
        ),
        "p": design(formulas["p"], {**spread(site, 2), **spread(yearly, 1), **obs}, shape, "p"),
    }


def _removed_sites(
    y: NDArray[np.float64],
    formulas: dict[str, Formula],
    site: dict[str, Covariate],
    designs: dict[str, Design],
    stations: list[Any] | None,
) -> NDArray[np.bool_]:
    """Sites without effort or missing a site covariate of psi, gamma or epsilon; an error
    for a season covariate missing where a kept site's transition needs it."""
    removed = np.asarray(np.isnan(y).all(axis=(1, 2)), dtype=bool)
    for part in ("psi", "gamma", "epsilon"):
        for name in formulas[part].covariates:
            if name in site:
                removed |= site[name].missing
    for part in ("gamma", "epsilon"):
        gaps = designs[part].missing & ~removed[:, None]
        if gaps.any():
            i, t = np.argwhere(gaps)[0]
            where = stations[i] if stations is not None else int(i)
            raise ValueError(
                f"{part} formula {formulas[part].text!r}: a season covariate is missing at "
                f"site {where!r}, season {t + 1}, which the transition to season {t + 2} needs"
            )
    return removed


def colext(
    y: Seasons,
    site_covs: CovariateInput | None = None,
    yearly_site_covs: Mapping[str, Any] | None = None,
    obs_covs: Mapping[str, Any] | None = None,
    psi: str = "~1",
    gamma: str = "~1",
    epsilon: str = "~1",
    detection: str = "~1",
    n_seasons: int | None = None,
    conf: float = 0.95,
    settings: FitSettings | None = None,
) -> dict[str, Any]:
    """Fit the dynamic occupancy model of MacKenzie et al. (2003) by maximum likelihood.

    Args:
        y: detections per season: a list of sites x occasions matrices (1, 0, NaN for no
            effort; DataFrames indexed by station are lined up by station, a station
            missing from a season has no effort there) or a mapping of season name to
            matrix (``season_histories``), a sites x seasons x occasions array, or
            unmarked's wide sites x (seasons * occasions) matrix with ``n_seasons``.
        site_covs: one value per site (DataFrame indexed by station, or a mapping);
            any part may use them.
        yearly_site_covs: name -> sites x seasons values (array or DataFrame by station);
            gamma and epsilon use the value of the season they leave, p its own season's.
        obs_covs: name -> sites x seasons x occasions values (or the wide layout, or
            per-season matrices as a list or mapping, as ``y``); p only.
        psi, gamma, epsilon, detection: formulas of the four parts (``'~ habitat'``).
        n_seasons: seasons of a wide ``y`` (unmarked's ``numPrimary``).
        conf: level of the intervals.
        settings: optimiser and convergence thresholds.

    Returns:
        ``psi_coef``, ``gamma_coef``, ``epsilon_coef``, ``detection_coef`` (logit scale)
        with ``*_se``; flat ``coefficients``/``coefficient_se`` in unmarked's order
        (``psi(Intercept)``, ``gamma(Intercept)``, ``epsilon(...)``, ``p(...)``); ``psi``
        (per site), ``gamma`` and ``epsilon`` (per site and transition), ``p`` (site x
        season x occasion) with ``*_lower``/``*_upper``; ``projected`` (sites x seasons,
        occupancy implied by psi, gamma and epsilon) and ``smoothed`` (given each site's
        detections) with their means over sites; ``fitted`` (projected * p);
        ``naive_occupancy`` per season; ``log_likelihood``, ``n_parameters``, ``aic``,
        ``n_sites``, ``sites_removed``, ``stations`` and ``seasons`` (names, when given)
        and the convergence diagnosis (``converged``,
        ``convergence_reason``, ``gradient_norm``, ``hessian_ok``, ...).

    Raises:
        NotFoundError: a formula names a covariate not given, or a station has no row.
        ValueError: malformed ``y``, formulas or covariates.
    """
    settings = settings or FitSettings()
    history, stations = seasons_array(y, n_seasons)
    m, t, j = history.shape
    shape = (m, t, j)
    if t < 2:
        raise ValueError("colext needs at least two seasons")
    site = site_covariates(site_covs, m, stations)
    yearly = matrix_covariates(yearly_site_covs, (m, t), stations, "season covariate")
    obs = _observation_covariates(obs_covs, history, stations)
    text = dict(zip(PARTS, (psi, gamma, epsilon, detection), strict=True))
    formulas = {part: parse_formula(formula) for part, formula in text.items()}
    designs = _designs(formulas, site, yearly, obs, shape)
    removed = _removed_sites(history, formulas, site, designs, stations)
    observed = ~np.isnan(history) & ~designs["p"].missing
    keep = ~removed & observed.any(axis=(1, 2))
    if not keep.any():
        raise ValueError("no site has both effort and the covariates the formulas use")
    data = _Data(history, designs, keep)
    names = [coefficient_name(part, n) for part in PARTS for n in designs[part].names]

    def boundary(theta: NDArray[np.float64]) -> list[str]:
        eta_p = np.where(data.observed, data.eta("p", theta), np.nan)
        return (
            pinned("psi", data.eta("psi", theta), "site", settings)
            + pinned("gamma", data.eta("gamma", theta), "transition", settings)
            + pinned("epsilon", data.eta("epsilon", theta), "transition", settings)
            + pinned("p", eta_p, "occasion", settings)
        )

    estimates = maximise(data.objective, names, settings, boundary)
    result: dict[str, Any] = {"model": "colext", "formula": " ".join(text.values())}
    for part, key in zip(PARTS, ("psi", "gamma", "epsilon", "detection"), strict=True):
        result.update(part_results(key, part, designs[part], data.slices[part], estimates, conf))
    result.update(_occupancy_by_season(result, data, estimates.theta, keep))
    detected = np.where(np.isnan(history).all(axis=2), np.nan, np.nansum(history, axis=2) > 0)
    result.update(
        {
            "n_seasons": t,
            "n_sites": int(keep.sum()),
            "sites_removed": [int(i) for i in np.flatnonzero(~keep)],
            "naive_occupancy": [naive_occupancy(detected[:, [s]]) for s in range(t)],
            "data_fingerprint": fingerprint(np.where(observed, history, -1.0), keep),
            **fit_summary(estimates),
        }
    )
    if isinstance(y, Mapping):
        result["seasons"] = list(y)
    if stations is not None:
        result["stations"] = stations
    return result


def _occupancy_by_season(
    result: dict[str, Any], data: _Data, theta: NDArray[np.float64], keep: NDArray[np.bool_]
) -> dict[str, Any]:
    """Occupancy per site and season of the fitted sites (NaN for the others): projected
    (psi carried forward by gamma and epsilon), conditional on that season's detections
    (unmarked's ``ranef``) and smoothed (given all the site's detections)."""
    psi, gamma, epsilon = result["psi"][keep], result["gamma"][keep], result["epsilon"][keep]
    columns = [psi]
    for t in range(gamma.shape[1]):
        columns.append(columns[-1] * (1 - epsilon[:, t]) + (1 - columns[-1]) * gamma[:, t])
    log_psi, log_phi, log_emission, _ = data.chain(theta)
    projected = np.stack(columns, axis=1)
    with np.errstate(divide="ignore"):
        prior = np.log(np.stack([1 - projected, projected], axis=-1))
    conditional = np.exp(
        prior + log_emission - special.logsumexp(prior + log_emission, axis=-1)[..., None]
    )
    smoothed = _forward_backward(log_psi, log_phi, log_emission)[1]
    tables = {}
    for name, values in (
        ("projected", projected),
        ("psi_conditional", conditional[..., 1]),
        ("smoothed", smoothed[..., 1]),
    ):
        table = np.full((len(keep), projected.shape[1]), np.nan)
        table[keep] = values
        tables[name] = table
        if name != "psi_conditional":
            tables[f"{name}_mean"] = values.mean(axis=0)
    tables["fitted"] = tables["projected"][:, :, None] * result["p"]
    return tables
