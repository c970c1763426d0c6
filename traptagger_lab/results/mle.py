"""Maximum-likelihood fitting shared by the occupancy models, and its diagnosis.

A model gives its negative log-likelihood and that function's gradient (both
exact); :func:`maximise` minimises it with BFGS, then judges the result itself
instead of trusting the optimiser's success flag (BFGS stops with "precision
loss" on fits that have converged): a fit has converged when the gradient at
the estimate is small, the Hessian there (central differences of the exact
gradient) is positive definite and well conditioned, and no coefficient ran off
to a boundary (a probability of 0 or 1, where the likelihood keeps rising along
a ridge and standard errors mean nothing). The thresholds are :class:`FitSettings`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydantic import Field
from scipy import optimize, special, stats

from traptagger_lab.params import StageParams

#: A model's negative log-likelihood and its gradient at one coefficient vector.
Objective = Callable[[NDArray[np.float64]], tuple[float, NDArray[np.float64]]]


class FitSettings(StageParams):
    """How the occupancy models are fitted, and when a fit counts as converged."""

    gradient_tolerance: float = Field(
        default=1e-3,
        gt=0,
        description="Converged only if no component of the negative log-likelihood's "
        "gradient at the estimate exceeds this in absolute value (log-likelihood per logit "
        "unit).",
    )
    max_condition: float = Field(
        default=1e9,
        gt=1,
        description="Largest ratio of the Hessian's largest to smallest eigenvalue for it to "
        "count as well conditioned; beyond it some combination of coefficients is not "
        "identified by the data (ratio).",
    )
    boundary_logit: float = Field(
        default=12.0,
        gt=0,
        description="A model part (psi, p, colonisation, extinction) whose fitted logit is "
        "beyond this in absolute value at every site, occasion or season is a boundary "
        "estimate: a probability within about 6e-6 of 0 or 1 everywhere, where the "
        "likelihood has no interior maximum (logit units).",
    )
    max_iterations: int = Field(
        default=2000, ge=1, description="Most BFGS iterations (iterations)."
    )
    optimiser_tolerance: float = Field(
        default=1e-8,
        gt=0,
        description="BFGS's own stopping rule: the gradient's largest component (log-"
        "likelihood per logit unit); smaller than gradient_tolerance so that BFGS goes on "
        "past the point the diagnosis asks for.",
    )
    hessian_step: float = Field(
        default=1e-5,
        gt=0,
        le=0.1,
        description="Relative step of the central differences of the gradient that give the "
        "Hessian (logit units, times max(1, |coefficient|)).",
    )


@dataclass(frozen=True)
class Estimates:
    """The result of :func:`maximise`: coefficients (logit scale), their covariance (NaN
    when the Hessian is not positive definite) and how well the fit converged."""

    names: tuple[str, ...]
    theta: NDArray[np.float64]
    covariance: NDArray[np.float64]
    log_likelihood: float
    gradient_norm: float
    hessian_ok: bool
    condition_number: float
    boundary: tuple[str, ...]
    converged: bool
    convergence_reason: str
    optimiser_message: str
    iterations: int

    @property
    def se(self) -> NDArray[np.float64]:
        """Standard errors: root of the covariance diagonal (NaN where not available)."""
        diagonal = np.diag(self.covariance)
        return np.sqrt(np.where(diagonal >= 0, diagonal, np.nan))


def hessian(objective: Objective, theta: NDArray[np.float64], step: float) -> NDArray[np.float64]:
    """Central differences of the exact gradient, made symmetric."""
    k = len(theta)
    result = np.zeros((k, k))
    for i in range(k):
        h = step * max(1.0, abs(theta[i]))
        shift = np.zeros(k)
        shift[i] = h
        result[:, i] = (objective(theta + shift)[1] - objective(theta - shift)[1]) / (2 * h)
    return (result + result.T) / 2


def _judge(
    hess: NDArray[np.float64], settings: FitSettings
) -> tuple[bool, float, NDArray[np.float64], str]:
    """Whether the Hessian is positive definite and well conditioned, its condition
    number, the covariance (its inverse when positive definite) and what is wrong."""
    k = len(hess)
    if k == 0:
        return True, 1.0, np.zeros((0, 0)), ""
    nan = np.full((k, k), np.nan)
    if not np.isfinite(hess).all():
        return False, float("nan"), nan, "the Hessian is not finite"
    eigenvalues = np.linalg.eigvalsh(hess)
    smallest, largest = float(eigenvalues[0]), float(eigenvalues[-1])
    if smallest <= 0:
        reason = f"the Hessian is singular or not positive definite (eigenvalue {smallest:.2g})"
        return False, float("inf"), nan, reason
    condition = largest / smallest
    covariance: NDArray[np.float64] = np.linalg.inv(hess).astype(float)
    if condition > settings.max_condition:
        reason = (
            f"the Hessian is ill-conditioned (condition number {condition:.2g} > "
            f"{settings.max_condition:.2g}): some coefficients are not identified"
        )
        return False, condition, covariance, reason
    return True, condition, covariance, ""


def pinned(part: str, eta: NDArray[np.float64], where: str, settings: FitSettings) -> list[str]:
    """``['psi = 1 at every site']`` when a part's fitted logits ``eta`` (NaN ignored) are
    all beyond ``settings.boundary_logit``; else nothing."""
    values = eta[~np.isnan(eta)]
    limit = settings.boundary_logit
    if not len(values) or not (np.abs(values) > limit).all():
        return []
    value = "1" if (values > limit).all() else "0" if (values < -limit).all() else "0 or 1"
    return [f"{part} = {value} at every {where}"]


Boundary = Callable[[NDArray[np.float64]], list[str]]


def maximise(
    objective: Objective,
    names: Sequence[str],
    settings: FitSettings | None = None,
    boundary: Boundary | None = None,
    start: NDArray[np.float64] | None = None,
) -> Estimates:
    """Minimise ``objective`` (a negative log-likelihood and its gradient) from ``start``
    (zeros by default) and diagnose the estimate (see the module's docstring).

    Args:
        objective: the negative log-likelihood and its gradient.
        names: the coefficients' names, in order.
        settings: thresholds; :class:`FitSettings` defaults when not given.
        boundary: says which model parts sit at a boundary for given coefficients
            (see :func:`pinned`).
        start: starting coefficients.
    """
    settings = settings or FitSettings()
    x0 = np.zeros(len(names)) if start is None else np.asarray(start, dtype=float)
    if len(x0):
        fit = optimize.minimize(
            objective,
            x0,
            jac=True,
            method="BFGS",
            options={"gtol": settings.optimiser_tolerance, "maxiter": settings.max_iterations},
        )
        theta, message, iterations = np.asarray(fit.x, dtype=float), str(fit.message), fit.nit
    else:  # every coefficient fixed (offsets only): nothing to optimise
        theta, message, iterations = x0, "nothing to estimate", 0
    value, gradient = objective(theta)
    gradient_norm = float(np.max(np.abs(gradient))) if len(gradient) else 0.0
    hess = hessian(objective, theta, settings.hessian_step)
    hessian_ok, condition, covariance, hessian_problem = _judge(hess, settings)
    at_boundary = tuple(boundary(theta)) if boundary is not None else ()
    problems = []
    if not np.isfinite(value):
        problems.append("the log-likelihood is not finite at the estimate")
    if not gradient_norm <= settings.gradient_tolerance:
        problems.append(
            f"gradient {gradient_norm:.2g} > {settings.gradient_tolerance:.2g} "
            f"(optimiser: {message})"
        )
    if at_boundary:
        problems.append("boundary estimate: " + ", ".join(at_boundary))
    if hessian_problem:
        problems.append(hessian_problem)
    converged = not problems
    reason = (
        f"converged: gradient {gradient_norm:.2g}, Hessian positive definite "
        f"(condition number {condition:.3g})"
        if converged
        else "not converged: " + "; ".join(problems)
    )
    return Estimates(
        names=tuple(names),
        theta=theta,
        covariance=covariance,
        log_likelihood=float(-value),
        gradient_norm=gradient_norm,
        hessian_ok=hessian_ok,
        condition_number=condition,
        boundary=at_boundary,
        converged=converged,
        convergence_reason=reason,
        optimiser_message=message,
        iterations=int(iterations),
    )


def predict(
    matrix: NDArray[np.float64],
    offset: NDArray[np.float64],
    theta: NDArray[np.float64],
    covariance: NDArray[np.float64],
    conf: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """A probability from a design (``shape + (k,)``) and coefficients, with its
    ``conf`` interval (Wald, on the logit scale, back-transformed)."""
    eta = matrix @ theta + offset
    variance = np.einsum("...i,ij,...j->...", matrix, covariance, matrix)
    half = stats.norm.ppf((1 + conf) / 2) * np.sqrt(np.maximum(variance, 0))
    return special.expit(eta), special.expit(eta - half), special.expit(eta + half)
