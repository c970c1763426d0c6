"""Model selection by AIC for occupancy models, like unmarked's ``fitList`` + ``modSel``.

:func:`model_selection` ranks fitted models (the dicts :func:`occupancy` and
:func:`colext` return) or fits them first from formulas: number of parameters K,
log-likelihood, AIC, its difference to the best model, Akaike weights
(exp(-ΔAIC/2), normalised) and their running sum, with each model's convergence.
As unmarked does, it refuses models fitted to different data (other sites
removed, other occasions missing): their likelihoods are not comparable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from traptagger_lab.results.colext import colext
from traptagger_lab.results.formulas import split_double_formula
from traptagger_lab.results.mle import FitSettings
from traptagger_lab.results.occupancy import occupancy

#: A fitted model (a result of ``occupancy``/``colext``), unmarked's double formula
#: ``'~ detection ~ state'``, or a mapping of formula keywords (``{"state": "~ x"}``,
#: ``{"psi": ..., "gamma": ..., "epsilon": ..., "detection": ...}``).
Model: TypeAlias = Mapping[str, Any] | str

COLUMNS = [
    "model",
    "formula",
    "K",
    "logLik",
    "AIC",
    "delta_AIC",
    "AIC_weight",
    "cumulative_weight",
    "converged",
    "n_sites",
]
_FORMULA_KEYS = {"state", "detection", "psi", "gamma", "epsilon"}


def _is_fit(model: Model) -> bool:
    return isinstance(model, Mapping) and "log_likelihood" in model


def fit_models(
    models: Mapping[str, Model] | Sequence[Model],
    y: Any = None,
    dynamic: bool | None = None,
    settings: FitSettings | None = None,
    **data: Any,
) -> dict[str, Mapping[str, Any]]:
    """Name each model and fit those given as formulas.

    Args:
        models: fits or formulas (see :data:`Model`), named by a mapping's keys or else
            by their formula (as written, for a string).
        y: the detections, for models given as formulas: a sites x occasions matrix
            (``occupancy``) or seasons (``colext``: a list of matrices or a 3-D array).
        dynamic: fit ``colext`` (True) or ``occupancy`` (False); by default ``colext``
            when a formula names gamma or epsilon, or ``y`` is a list or 3-D.
        settings: fitting thresholds, passed on.
        **data: covariates for the fitting function (``site_covs``, ``obs_covs``,
            ``yearly_site_covs``, ``n_seasons``).
    """
    named = (
        dict(models) if isinstance(models, Mapping) else {str(i): m for i, m in enumerate(models)}
    )
    fits: dict[str, Mapping[str, Any]] = {}
    for name, model in named.items():
        fit: Mapping[str, Any]
        if isinstance(model, Mapping) and _is_fit(model):
            fit = model
        else:
            if y is None:
                raise ValueError(f"model {name!r} is a formula: give the detections as y")
            formulas = _formulas(model)
            several = not isinstance(y, np.ndarray | pd.DataFrame) or np.ndim(y) == 3
            use_colext = dynamic if dynamic is not None else (
                bool({"psi", "gamma", "epsilon"} & set(formulas)) or several
            )  # fmt: skip
            function: Any = colext if use_colext else occupancy
            fit = function(y, **data, **formulas, settings=settings)
        if isinstance(models, Mapping):
            key = name
        else:
            key = model if isinstance(model, str) else str(fit["formula"])
        if key in fits:
            raise ValueError(f"two models are named {key!r}: name them in a mapping")
        fits[key] = fit
    return fits


def _formulas(model: Model) -> dict[str, str]:
    if isinstance(model, str):
        detection, state = split_double_formula(model)
        return {"state": state, "detection": detection}
    unknown = set(model) - _FORMULA_KEYS
    if unknown:
        raise ValueError(
            f"model {dict(model)!r}: {sorted(unknown)} are not formula keywords "
            f"({sorted(_FORMULA_KEYS)})"
        )
    return {str(k): str(v) for k, v in model.items()}


def nagelkerke_r2(log_likelihood: float, null_log_likelihood: float, n: int) -> float:
    """Nagelkerke's (1991) R² of a model against a null model on ``n`` sites (unmarked's
    ``nagR2``)."""
    cox_snell = 1 - np.exp(-2 / n * (log_likelihood - null_log_likelihood))
    return float(cox_snell / (1 - np.exp(2 / n * null_log_likelihood)))


def model_selection(
    models: Mapping[str, Model] | Sequence[Model],
    y: Any = None,
    null: str | None = None,
    dynamic: bool | None = None,
    settings: FitSettings | None = None,
    **data: Any,
) -> pd.DataFrame:
    """Rank models by AIC (unmarked's ``modSel(fitList(...))``).

    Args:
        models: fitted models or formulas, named by a mapping's keys or by their formula
            (see :func:`fit_models`).
        y: the detections, when models are given as formulas.
        null: name of the null model; adds Nagelkerke's ``R2`` against it.
        dynamic: fit formulas with ``colext`` (True) or ``occupancy`` (False).
        settings: fitting thresholds for models given as formulas.
        **data: covariates for fitting formulas (``site_covs``, ``obs_covs``, ...).

    Returns:
        One row per model, best first: ``model``, ``formula``, ``K`` (parameters),
        ``logLik``, ``AIC``, ``delta_AIC``, ``AIC_weight``, ``cumulative_weight``,
        ``converged``, ``n_sites`` (and ``R2`` with ``null``).

    Raises:
        ValueError: no models, or models fitted to different data.
    """
    fits = fit_models(models, y, dynamic, settings, **data)
    if not fits:
        raise ValueError("no models to compare")
    prints = {name: fit.get("data_fingerprint") for name, fit in fits.items()}
    if len(set(prints.values())) > 1:
        groups: dict[Any, list[str]] = {}
        for name, value in prints.items():
            groups.setdefault(value, []).append(name)
        raise ValueError(
            "models were fitted to different data (other sites removed or occasions missing), "
            f"so their AICs are not comparable: {list(groups.values())}"
        )
    rows = [
        {
            "model": name,
            "formula": fit["formula"],
            "K": int(fit["n_parameters"]),
            "logLik": float(fit["log_likelihood"]),
            "AIC": float(fit["aic"]),
            "converged": bool(fit["converged"]),
            "n_sites": int(fit["n_sites"]),
        }
        for name, fit in fits.items()
    ]
    table = pd.DataFrame(rows)
    table["delta_AIC"] = table["AIC"] - table["AIC"].min()
    weights = np.exp(-table["delta_AIC"] / 2)
    table["AIC_weight"] = weights / weights.sum()
    table = table.sort_values("AIC", kind="stable").reset_index(drop=True)
    table["cumulative_weight"] = table["AIC_weight"].cumsum()
    columns = list(COLUMNS)
    if null is not None:
        if null not in fits:
            raise ValueError(f"no model named {null!r} among {list(fits)}")
        base = float(fits[null]["log_likelihood"])
        table["R2"] = [
            nagelkerke_r2(ll, base, n)
            for ll, n in zip(table["logLik"], table["n_sites"], strict=True)
        ]
        columns.append("R2")
    return table[columns]
