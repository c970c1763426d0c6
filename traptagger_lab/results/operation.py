"""camtrapR's camera operation matrix: effort per station (or camera) and day.

:func:`operation_matrix` follows camtrapR's ``cameraOperation`` (Niedballa et al.
2016, version 3): each day is the interval from ``occasion_start_time`` to the same
hour next day, and a camera's effort on it is the share of that interval between its
setup and retrieval, less its problem periods, rounded to 4 decimals.

- Deployments with a time of day (``timed``) count from setup to retrieval exactly;
  a problem runs from its ``start`` to its ``end``.
- Deployments known by date only are set up and retrieved at noon (the first and last
  day count 0.5), and a problem's ``end`` date is *inclusive*, like camtrapR's
  ``ProblemN_to``: it ends at midnight after that day, or at retrieval on the
  retrieval day; one that starts on the setup day starts at setup.
- Several cameras at a station are combined per day as camtrapR's ``byCamera =
  FALSE`` does (``cameras_independent``, ``all_cams_on``), or kept one row per camera
  (``by="camera"``, rows named ``Station__CAM_Camera``). A ``season`` column gives one
  row per station and season (``Station__SESS_season``), camtrapR's ``sessionCol``.

Cells are NaN on days a camera (or every camera of a station) was not deployed, 0 on
days it was deployed but not working.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

log = logging.getLogger(__name__)

SESSION = "__SESS_"
CAMERA = "__CAM_"
DAY = 86400
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def operation_matrix(
    deployments: pd.DataFrame,
    problems: pd.DataFrame | None = None,
    half_days: bool = True,
    *,
    by: str = "station",
    cameras_independent: bool = False,
    all_cams_on: bool = False,
    has_problems: bool = True,
    occasion_start_time: int = 0,
) -> pd.DataFrame:
    """camtrapR's camera operation matrix: rows of stations (or cameras), columns of days.

    Args:
        deployments: one row per camera and deployment: ``Station``, ``setup``,
            ``retrieval`` (datetimes), and optionally ``Camera``, ``season`` and
            ``timed`` (whether setup and retrieval carry a real time of day; without
            the column, none do: camtrapR's dates-only mode, setup and retrieval at
            noon). Without ``Camera``, each row of a station is a camera of its own.
        problems: periods a camera did not work: ``Station``, ``start``, ``end``, and
            optionally ``Camera`` (without it, the period holds for every camera of the
            station) and ``timed`` (default: that of the deployment). An ``end`` of a
            date-only period is inclusive; a missing ``end`` runs to retrieval.
            Periods are cut to their deployment.
        half_days: dates-only setup and retrieval days count half (camtrapR since 2.1);
            ``False`` counts them as whole days (camtrapR before 2.1).
        by: ``"station"`` (cameras combined) or ``"camera"`` (a row per camera).
        cameras_independent: with several cameras at a station, add their effort
            (camtrapR's ``camerasIndependent = TRUE``); else a station works when a
            camera works (dates: at most 1 per day; timed: the mean of its cameras).
        all_cams_on: a station works only while all its cameras do (``allCamsOn``).
        has_problems: subtract ``problems`` (camtrapR's ``hasProblems``).
        occasion_start_time: the hour each day starts (0-23); kept in
            ``matrix.attrs["occasion_start_time"]`` for the detection histories.

    Returns:
        Effort in days, indexed by ``Station`` (``Station__SESS_season``,
        ``Station__CAM_Camera``), one column per date from the first setup to the last
        retrieval.
    """
    if by not in ("station", "camera"):
        raise ValueError(f"by={by!r}: use 'station' or 'camera'")
    if not 0 <= occasion_start_time < 24 or int(occasion_start_time) != occasion_start_time:
        raise ValueError("occasion_start_time must be a whole hour from 0 to 23")
    if deployments.empty:
        return pd.DataFrame()
    table = _deployments(deployments)
    setup, retrieval = _edges(table, half_days, occasion_start_time)
    first = pd.Timestamp(table["setup"].min()).normalize()
    last = pd.Timestamp(table["retrieval"].max()).normalize()
    days = pd.date_range(first, last, freq="D")
    starts = _seconds(days) + occasion_start_time * 3600
    matrix = _daily(setup, retrieval - 1, starts)
    if has_problems and problems is not None and not problems.empty:
        lost = _problem_seconds(table, setup, retrieval, problems, starts)
        matrix = np.where(np.isnan(matrix), np.nan, matrix - lost)
    matrix = r_round(matrix / DAY, 4)
    if (matrix < 0).any():
        raise ValueError("negative effort: problem periods overlap their deployment wrongly")
    if by == "camera":
        frame = pd.DataFrame(matrix, index=_camera_rows(table), columns=days.date)
        frame.index.name = "Camera"
    else:
        frame = _by_station(table, matrix, days, cameras_independent, all_cams_on)
    frame.attrs["occasion_start_time"] = int(occasion_start_time)
    return frame


def r_round(values: npt.ArrayLike, digits: int) -> FloatArray:
    """Rounded as R's ``round`` (R 4): to the nearer of the two decimals around the exact
    binary value, halves to even (Python's ``round``; numpy's rounds 5.65 to 5.6)."""
    array = np.asarray(values, dtype=float)
    flat = [v if np.isnan(v) else round(v, digits) for v in array.ravel().tolist()]
    return np.asarray(flat, dtype=float).reshape(array.shape)


def _deployments(deployments: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("Station", "setup", "retrieval") if c not in deployments.columns]
    if missing:
        raise ValueError(f"deployments lack column(s) {missing}")
    table = deployments.reset_index(drop=True).copy()
    table["setup"] = pd.to_datetime(table["setup"]).astype("datetime64[ns]")
    table["retrieval"] = pd.to_datetime(table["retrieval"]).astype("datetime64[ns]")
    if table[["setup", "retrieval"]].isna().any().any():
        raise ValueError("every deployment needs a setup and a retrieval")
    if "timed" in table:
        table["timed"] = table["timed"].astype(bool)
    else:  # deployments.periods' frames carry camtrapR's times already (noon when unknown)
        table["timed"] = "setup_time_known" in table
    table["_season"] = table["season"].astype(str) if "season" in table else ""
    if "Camera" in table:
        table["_camera"] = table["Camera"].astype(str)
        table["_combine"] = True
    else:  # each row its own camera; combined only where a station has several
        table["_camera"] = table.groupby(["Station", "_season"]).cumcount().astype(str)
        table["_combine"] = table.groupby(["Station", "_season"])["Station"].transform("size") > 1
    return table


def _seconds(moments: Iterable[Any]) -> IntArray:
    values = pd.DatetimeIndex(pd.to_datetime(pd.Series(list(moments), dtype=object)))
    return np.asarray(values.as_unit("s").asi8, dtype=np.int64)


def _edges(table: pd.DataFrame, half_days: bool, start_hour: int) -> tuple[IntArray, IntArray]:
    """Setup and retrieval in seconds: as given when timed, else at noon (camtrapR; a
    second later at retrieval when days start at noon, so that day is 0, not NaN) or,
    without ``half_days``, the whole first and last days."""
    setup = _seconds(table["setup"])
    retrieval = _seconds(table["retrieval"])
    dated = ~table["timed"].to_numpy()
    setup_day = _seconds(table["setup"].dt.normalize())
    retrieval_day = _seconds(table["retrieval"].dt.normalize())
    one_day = dated & (setup_day == retrieval_day)  # camtrapR refuses these; one whole day
    if half_days:
        noon = 12 * 3600
        setup = np.where(dated, setup_day + noon, setup)
        retrieval = np.where(dated, retrieval_day + noon + int(start_hour == 12), retrieval)
    else:
        setup = np.where(dated, setup_day, setup)
        retrieval = np.where(dated, retrieval_day + DAY, retrieval)
    setup = np.where(one_day, setup_day, setup)
    retrieval = np.where(one_day, retrieval_day + DAY, retrieval)
    if (setup >= retrieval).any():  # camtrapR stops; here such a row has no day of effort
        rows = table.loc[setup >= retrieval, "Station"].tolist()
        log.warning("setup is not before retrieval at %s: no effort counted there", rows)
    return setup, retrieval


def _daily(first: IntArray, last: IntArray, starts: IntArray) -> FloatArray:
    """Seconds of the closed intervals [first, last] in each day [start, start + 1 day
    - 1 s], as lubridate measures them (camtrapR); NaN where they do not meet."""
    ends = starts + DAY - 1
    inside = np.minimum(last[:, None], ends[None, :]) - np.maximum(first[:, None], starts[None, :])
    return np.where(inside >= 0, inside, np.nan).astype(float)


def _problem_seconds(
    table: pd.DataFrame,
    setup: IntArray,
    retrieval: IntArray,
    problems: pd.DataFrame,
    starts: IntArray,
) -> FloatArray:
    """Seconds lost to problems per camera row and day; overlapping problems of a camera
    (a stored problem and a "Knocked down" outage, say) count once (camtrapR stops)."""
    missing = [c for c in ("Station", "start") if c not in problems.columns]
    if missing:
        raise ValueError(f"problems lack column(s) {missing}")
    spans: dict[int, list[tuple[int, int]]] = {}
    for problem in problems.to_dict("records"):
        if _known(problem.get("deployment_id")) and "deployment_id" in table:
            rows = table["deployment_id"] == problem["deployment_id"]
        else:
            rows = table["Station"] == problem["Station"]
            if _known(problem.get("Camera")) and "Camera" in table:
                rows &= table["Camera"].astype(str) == str(problem["Camera"])
        for row in np.flatnonzero(rows.to_numpy()):
            span = _problem_span(problem, table.loc[row], int(setup[row]), int(retrieval[row]))
            if span is not None:
                spans.setdefault(int(row), []).append(span)
    lost = np.zeros((len(table), len(starts)))
    for index, found in spans.items():
        merged: list[list[int]] = []
        for first, last in sorted(found):
            if merged and first <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        firsts, lasts = np.array([m[0] for m in merged]), np.array([m[1] for m in merged])
        lost[index] = np.nan_to_num(_daily(firsts, lasts, starts)).sum(axis=0)
    return lost


def _known(value: Any) -> bool:
    return (
        value is not None
        and not (isinstance(value, float) and np.isnan(value))
        and not (value is pd.NaT or value is pd.NA)
    )


def _problem_span(
    problem: dict[str, Any], deployment: pd.Series, setup: int, retrieval: int
) -> tuple[int, int] | None:
    """A problem as the closed interval camtrapR measures, cut to its deployment."""
    begin, end = pd.Timestamp(problem["start"]), problem.get("end")
    timed = bool(problem["timed"]) if not pd.isna(problem.get("timed", np.nan)) else None
    timed = deployment["timed"] if timed is None else timed
    last = retrieval - 1  # the deployment's last second
    if timed:  # camtrapR's ProblemN_to as given
        first = int(_seconds([begin])[0])
        to = retrieval if end is None or pd.isna(end) else int(_seconds([end])[0])
    else:  # dates: from midnight (or setup, on the setup day) to the end of the last day
        first = int(_seconds([begin.normalize()])[0])
        if begin.normalize() == deployment["setup"].normalize():
            first = setup
        to = last
        if end is not None and not pd.isna(end):
            to = min(int(_seconds([pd.Timestamp(end).normalize()])[0]) + DAY - 1, last)
    first, stop = max(first, setup), min(to - 1, last)  # lubridate's interval(from, to - 1 s)
    return (first, stop) if stop >= first else None


def _camera_rows(table: pd.DataFrame) -> list[str]:
    names = table["Station"].astype(str)
    if (table["_season"] != "").any():
        names = names + SESSION + table["_season"]
    names = names + CAMERA + table["_camera"]
    duplicated = names[names.duplicated()].tolist()
    if duplicated:
        raise ValueError(f"several deployments of one camera (give a season): {duplicated}")
    return [str(name) for name in names]


def _by_station(
    table: pd.DataFrame,
    matrix: FloatArray,
    days: pd.DatetimeIndex,
    independent: bool,
    all_on: bool,
) -> pd.DataFrame:
    rows, names = [], []
    seasons = (table["_season"] != "").any()
    for (season, station), group in table.groupby(["_season", "Station"], sort=True):
        values = matrix[group.index.to_numpy()]
        if group["_combine"].all():
            timed = bool(group["timed"].all())
            values = _combine(values, independent, all_on, timed)[None, :]
        rows.append(values[0])
        names.append(f"{station}{SESSION}{season}" if seasons else station)
    frame = pd.DataFrame(np.vstack(rows), index=names, columns=days.date)
    frame.index.name = "Station"
    return frame


def _combine(values: FloatArray, independent: bool, all_on: bool, timed: bool) -> FloatArray:
    """Per day, the effort of a station from its cameras' (camtrapR's aggregation
    functions, with R's NA rules)."""
    missing = np.isnan(values)
    every_na = missing.all(axis=0)
    any_na = missing.any(axis=0)
    total = np.nansum(values, axis=0)
    if not all_on:
        if independent:
            out = total
        elif timed:  # R's mean(na.rm = TRUE) of the cameras set up
            out = total / np.maximum((~missing).sum(axis=0), 1)
        else:
            out = np.minimum(total, 1.0)
        return np.where(every_na, np.nan, out)
    full = np.where(missing, True, values == 1).all(axis=0)  # all ones where known
    partial = (~missing & (values != 1)).any(axis=0)  # a known value below one
    count = values.shape[0]
    if timed:
        low = np.nanmin(np.where(missing, np.inf, values), axis=0)
        out = np.where(full, total if independent else 1.0, low * (count if independent else 1))
        return np.where(any_na, np.nan, out)
    out = np.where(full, total if independent else 1.0, 0.0)
    return np.where(any_na & ~partial, np.nan, out)


def parse_rows(index: Iterable[str]) -> pd.DataFrame:
    """The station, season and camera in camtrapR's row names (``Station``,
    ``Station__SESS_season``, ``Station__CAM_camera``, ``Station__SESS_s__CAM_c``); empty
    strings where absent (camtrapR's deparseCamOpRownames)."""
    rows = []
    for name in index:
        station, _, camera = str(name).partition(CAMERA)
        station, _, season = station.partition(SESSION)
        rows.append((station, season, camera))
    return pd.DataFrame(rows, columns=["station", "season", "camera"])
