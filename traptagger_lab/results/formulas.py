"""Model formulas of the occupancy models, and the covariates and design matrices they use.

unmarked writes a model part as an R formula; we read its additive subset:
covariate names joined by ``+`` (``'~ habitat + height'``), ``1`` for the intercept
(always included) and ``offset(name)`` (a covariate with its coefficient fixed at
1, as unmarked's offsets). A numeric covariate gives one column; a text,
categorical or boolean covariate is a factor, coded as R's treatment contrasts:
one column per level but the first, named covariate and level
(``habitatgrassland``, ``baitTRUE``), with a categorical's own level order, else
levels sorted.

Covariates come per site (a DataFrame indexed by station, or a mapping of
columns), per site and season, or per site and occasion; :func:`site_covariates`
and :func:`matrix_covariates` line them up with the stations of a detection
history and say which station or covariate is missing. :func:`station_covariates`
turns a deployments table (several deployments per station) into one row per
station.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from traptagger_lab.errors import NotFoundError

_NAME = r"[A-Za-z_.][A-Za-z0-9_.]*"
_OFFSET = re.compile(rf"offset\(\s*({_NAME})\s*\)")

#: Covariates as given: a DataFrame (one column each) or a mapping of name -> values.
CovariateInput: TypeAlias = pd.DataFrame | Mapping[str, Any]


@dataclass(frozen=True)
class Formula:
    """One additive model formula, read: covariate terms and offsets in written order, and
    whether it has an intercept (``'~ 0 + x'`` and ``'~ x - 1'`` have none, as in R)."""

    text: str
    terms: tuple[str, ...]
    offsets: tuple[str, ...]
    intercept: bool = True

    @property
    def covariates(self) -> tuple[str, ...]:
        """Every covariate the formula names (terms, then offsets)."""
        return self.terms + self.offsets


def parse_formula(text: str) -> Formula:
    """Read ``'~1'``, ``'~ x + y'``, ``'~ x + offset(z)'`` or ``'~ 0 + x'`` (the intercept
    is implied unless ``0`` or ``- 1`` removes it).

    Raises:
        ValueError: for anything but covariate names, ``1``, ``0``, ``- 1`` and
            ``offset(name)``.
    """
    body = text.strip()
    if not body.startswith("~") or "~" in body[1:]:
        raise ValueError(f"formula {text!r}: write it as '~1' or '~ x + y'")
    body, removed = re.subn(r"-\s*1(?![\w.])", "", body[1:])
    intercept = removed == 0
    terms: list[str] = []
    offsets: list[str] = []
    for raw in body.split("+"):
        term = raw.strip()
        if term in ("", "1"):
            continue
        if term == "0":
            intercept = False
        elif offset := _OFFSET.fullmatch(term):
            offsets.append(offset.group(1))
        elif re.fullmatch(_NAME, term):
            if term not in terms:
                terms.append(term)
        else:
            raise ValueError(
                f"formula {text!r}: only additive covariate names and offset(name), not {term!r}"
            )
    return Formula(text.strip(), tuple(terms), tuple(offsets), intercept)


def split_double_formula(text: str) -> tuple[str, str]:
    """unmarked's ``occu`` formula ``'~ detection ~ state'`` as its two one-sided parts."""
    parts = text.strip().split("~")
    if len(parts) != 3 or parts[0].strip():
        raise ValueError(f"formula {text!r}: write it as '~ detection ~ state', e.g. '~1 ~ x'")
    return "~" + (parts[1].strip() or "1"), "~" + (parts[2].strip() or "1")


@dataclass(frozen=True)
class Covariate:
    """One covariate's values: numbers (NaN missing), or a factor's level codes (-1 missing)."""

    values: NDArray[Any]
    levels: tuple[str, ...] | None = None

    @property
    def missing(self) -> NDArray[np.bool_]:
        """Where the value is missing."""
        if self.levels is None:
            return np.asarray(np.isnan(self.values), dtype=bool)
        return np.asarray(self.values < 0, dtype=bool)


def _level_name(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    return str(value)


def as_covariate(values: Any, name: str) -> Covariate:
    """Numbers as a numeric covariate; text, categories or booleans as a factor."""
    if isinstance(values, pd.DataFrame):
        values = values.to_numpy()
    if isinstance(values, pd.Series | pd.Index):
        values = values.array
    if isinstance(values, pd.Categorical | pd.arrays.Categorical):
        codes = np.asarray(values.codes, dtype=int)
        return Covariate(codes, tuple(_level_name(c) for c in values.categories))
    array = np.asarray(values)
    if array.dtype.kind in "iuf":
        return Covariate(array.astype(float))
    if array.dtype.kind == "b":
        return Covariate(array.astype(int), ("FALSE", "TRUE"))
    if array.dtype.kind not in "OUS":
        raise ValueError(f"covariate {name!r}: values of type {array.dtype} are not supported")
    flat = array.ravel()
    present = ~pd.isna(flat)
    kept = flat[present]
    if len(kept) and all(isinstance(v, bool | np.bool_) for v in kept):  # booleans with gaps
        levels: tuple[str, ...] = ("FALSE", "TRUE")
    elif len(kept) and all(isinstance(v, int | float | np.number) for v in kept):
        return Covariate(pd.to_numeric(flat, errors="coerce").astype(float).reshape(array.shape))
    else:
        levels = tuple(sorted({_level_name(v) for v in kept}))
    lookup = {level: code for code, level in enumerate(levels)}
    codes = np.array(
        [lookup[_level_name(v)] if p else -1 for v, p in zip(flat, present, strict=True)]
    )
    return Covariate(codes.reshape(array.shape), levels)


def _check_index(index: pd.Index, what: str) -> None:
    duplicated = sorted({str(s) for s in index[index.duplicated()]})
    if duplicated:
        raise ValueError(f"{what} has several rows for station(s) {duplicated}: one row each")


def _aligned(frame: pd.DataFrame, stations: Sequence[Any] | None, n_sites: int, what: str) -> Any:
    """``frame`` with one row per station, in the history's order (by index when named)."""
    if stations is None:
        if len(frame) != n_sites:
            raise ValueError(f"{what} has {len(frame)} rows for {n_sites} sites")
        return frame
    _check_index(frame.index, what)
    missing = [s for s in stations if s not in frame.index]
    if missing:
        raise NotFoundError(f"{what} have no row for station(s) {[str(s) for s in missing]}")
    return frame.loc[list(stations)]


def site_covariates(
    covs: CovariateInput | None, n_sites: int, stations: Sequence[Any] | None = None
) -> dict[str, Covariate]:
    """One value per site for each covariate, in the history's site order.

    A DataFrame (or Series in a mapping) is lined up by its index when ``stations``
    (the history's station names) are known; otherwise rows are taken in order.

    Raises:
        NotFoundError: naming the stations that have no row.
        ValueError: for a station with several rows, or a column of the wrong length.
    """
    if covs is None:
        return {}
    if isinstance(covs, pd.DataFrame):
        frame = _aligned(covs, stations, n_sites, "site covariates")
        return {str(name): as_covariate(frame[name], str(name)) for name in frame.columns}
    columns = {}
    for name, values in covs.items():
        if isinstance(values, pd.Series) and stations is not None:
            values = _aligned(values.to_frame(), stations, n_sites, f"site covariate {name!r}")
            values = values.iloc[:, 0]
        column = as_covariate(values, str(name))
        if column.values.ndim != 1 or len(column.values) != n_sites:
            raise ValueError(
                f"site covariate {name!r} has {column.values.size} values for {n_sites} sites"
            )
        columns[str(name)] = column
    return columns


def matrix_covariates(
    covs: Mapping[str, Any] | None,
    shape: tuple[int, ...],
    stations: Sequence[Any] | None = None,
    what: str = "observation covariate",
) -> dict[str, Covariate]:
    """Covariates with one value per site and occasion (or season): ``shape`` arrays.

    A DataFrame value (stations x occasions) is lined up by its index when ``stations``
    are known.
    """
    columns = {}
    for name, values in (covs or {}).items():
        if isinstance(values, pd.DataFrame):
            values = _aligned(values, stations, shape[0], f"{what} {name!r}")
        column = as_covariate(values, str(name))
        if column.values.shape != shape:
            raise ValueError(f"{what} {name!r} is {column.values.shape}, expected {shape}")
        columns[str(name)] = column
    return columns


@dataclass(frozen=True)
class Design:
    """A design matrix (``shape + (k,)``, NaN where a covariate is missing), its column
    names (``(Intercept)`` first unless the formula has none) and the offset (``shape``)."""

    matrix: NDArray[np.float64]
    names: tuple[str, ...]
    offset: NDArray[np.float64]

    @property
    def missing(self) -> NDArray[np.bool_]:
        """Where any column or the offset is missing (``shape``)."""
        return np.asarray(np.isnan(self.matrix).any(axis=-1) | np.isnan(self.offset))


def design(
    formula: Formula, covariates: Mapping[str, Covariate], shape: tuple[int, ...], part: str
) -> Design:
    """The design of one model part: intercept, then each term's columns, broadcast to
    ``shape`` (a site covariate is given as ``(n, 1)`` or ``(n, 1, 1)`` to spread).

    Raises:
        NotFoundError: naming the covariates the formula uses that are not given.
    """
    missing = [name for name in formula.covariates if name not in covariates]
    if missing:
        raise NotFoundError(
            f"{part} formula {formula.text!r} names {missing}, not among the covariates "
            f"{part} may use: {sorted(covariates)}"
        )
    layers = [np.ones(shape)] if formula.intercept else []
    names = ["(Intercept)"] if formula.intercept else []
    for term in formula.terms:
        covariate = covariates[term]
        values = np.broadcast_to(covariate.values, shape)
        if covariate.levels is None:
            layers.append(values.astype(float))
            names.append(term)
            continue
        absent = values < 0
        for code, level in enumerate(covariate.levels[1:], start=1):
            layers.append(np.where(absent, np.nan, (values == code).astype(float)))
            names.append(f"{term}{level}")
    offset = np.zeros(shape)
    for name in formula.offsets:
        covariate = covariates[name]
        if covariate.levels is not None:
            raise ValueError(f"offset({name}) must be numeric, not a factor")
        offset = offset + np.broadcast_to(covariate.values, shape)
    matrix = np.stack(layers, axis=-1) if layers else np.zeros((*shape, 0))
    return Design(matrix, tuple(names), offset)


def station_covariates(
    table: pd.DataFrame, columns: Sequence[str] | None = None, station: str = "Station"
) -> pd.DataFrame:
    """One row per station from a table with one row per deployment (or camera).

    A numeric covariate is averaged over the station's rows; any other must agree
    within a station. The result is indexed by station, ready as ``site_covs``.

    Args:
        table: deployments, with a ``station`` column (or indexed by station).
        columns: the covariates to keep (default: every column but ``station``).
        station: the column naming the station (camtrapR's ``Station`` by default).

    Raises:
        NotFoundError: naming a column the table lacks.
        ValueError: naming the station and covariate whose rows disagree.
    """
    frame = table.reset_index() if station not in table.columns else table
    wanted = list(columns) if columns is not None else [c for c in frame if c != station]
    absent = [c for c in [station, *wanted] if c not in frame.columns]
    if absent:
        raise NotFoundError(f"the table has no column(s) {absent}; it has {list(frame.columns)}")
    rows = {}
    for name, group in frame.groupby(station, sort=False):
        row = {}
        for column in wanted:
            values = group[column]
            if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
                row[column] = values.mean()
                continue
            distinct = values.dropna().unique()
            if len(distinct) > 1:
                raise ValueError(
                    f"station {name!r} has different values of {column!r}: {list(distinct)}"
                )
            row[column] = distinct[0] if len(distinct) else None
        rows[name] = row
    result = pd.DataFrame.from_dict(rows, orient="index", columns=wanted)
    for column in wanted:  # keep categories and booleans as they were
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            result[column] = pd.Categorical(result[column], dtype=frame[column].dtype)
    return result.rename_axis(station)
