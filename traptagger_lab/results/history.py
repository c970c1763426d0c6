"""camtrapR's detection histories: stations x occasions for one species, with effort.

:func:`history_matrix` follows camtrapR's ``detectionHistory`` on a camera operation
matrix from :func:`~traptagger_lab.results.operation.operation_matrix`:

- ``day1="station"``: each station's occasions start on its own setup day, and there
  are as many occasions as the longest-running station needs (not the survey's);
  ``"survey"``: every station starts on the survey's first day; a date
  (``"2009-05-01"``): every station starts then, and earlier records are left out.
- An occasion's effort is the sum of its days' effort; NaN when none of its days had a
  camera set up, or all had effort 0. Without ``include_effort`` an occasion is NaN as
  soon as one of its days was not fully covered (no camera, or effort 0) and the last
  occasion is NaN when it is shorter than ``occasion_length``; so records in
  incomplete occasions are lost, as camtrapR warns. ``min_active_days`` replaces both
  rules: an occasion is NaN when its effort is below it.
- A record falls in occasion ``ceil((time - start of first occasion) / occasion
  length)`` (camtrapR's arithmetic: a record at exactly midnight closing an occasion
  counts in that occasion; one at the very start counts in the first).
- ``scale_effort`` centres and scales the effort (R's ``scale``), the centre and scale
  in ``effort.attrs["effort_scaling"]``; zero-effort occasions then stay in the history.

:func:`season_histories` gives one history per season (camtrapR's multi-season
``detectionHistory``, as ``unmarkedMultFrame`` wants it) from an operation matrix with
seasons, or from a list of date ranges.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from traptagger_lab.results.operation import CAMERA, SESSION, parse_rows

log = logging.getLogger(__name__)
FloatArray = npt.NDArray[np.float64]
History: TypeAlias = pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]
DateLike: TypeAlias = str | pd.Timestamp | Any
DAY = pd.Timedelta(days=1)


def history_matrix(
    records: pd.DataFrame,
    effort: pd.DataFrame,
    species: str,
    occasion_length: int = 7,
    day1: str = "station",
    include_effort: bool = False,
    min_active_days: float | None = None,
    *,
    scale_effort: bool = False,
    output: str = "binary",
) -> History:
    """Detection history of one species: rows of ``effort`` x occasions ``o1, o2...``.

    Args:
        records: the record table (``Station``, ``Species``, ``DateTimeOriginal``; and
            ``Camera`` when ``effort`` has a row per camera).
        effort: a camera operation matrix (:func:`operation_matrix`).
        species: the species.
        occasion_length: days per occasion.
        day1: ``"station"``, ``"survey"`` or a date (see the module).
        include_effort: also return the effort per occasion (camtrapR's
            ``includeEffort``; it keeps incomplete occasions in the history).
        min_active_days: occasions with less effort are NaN (``minActiveDaysPerOccasion``).
        scale_effort: return the effort centred and scaled (``scaleEffort``).
        output: ``"binary"`` (1/0) or ``"count"`` (records per occasion).

    Returns:
        The history, or (history, effort) with ``include_effort``; NaN where an
        occasion had no effort.
    """
    history, spent = _history(
        records, effort, species, occasion_length, day1, include_effort, min_active_days,
        scale_effort, output,
    )  # fmt: skip
    return (history, spent) if include_effort else history


def season_histories(
    records: pd.DataFrame,
    effort: pd.DataFrame,
    species: str,
    occasion_length: int = 7,
    day1: str = "station",
    include_effort: bool = False,
    min_active_days: float | None = None,
    *,
    seasons: Sequence[tuple[DateLike, DateLike]]
    | Mapping[str, tuple[DateLike, DateLike]]
    | None = None,
    scale_effort: bool = False,
    output: str = "binary",
) -> dict[str, History]:
    """One detection history per season, each with every station of any season (NaN
    rows where a station was not surveyed) and the same occasions: camtrapR's
    ``detectionHistory`` with ``unmarkedMultFrameInput = TRUE``, split by season
    (``pd.concat(..., axis=1)`` of the values gives unmarked's wide matrix).

    Seasons come from ``effort``'s rows (``Station__SESS_season``, from deployments with
    a ``season`` column) or from ``seasons``: date ranges (first and last day,
    inclusive), as a list (seasons named 1, 2...) or a mapping of names to ranges.
    Other arguments as :func:`history_matrix`.
    """
    if seasons is not None:
        effort = _split_seasons(effort, seasons)
    rows = parse_rows(effort.index)
    if (rows["season"] == "").all():
        raise ValueError("effort has no seasons: give seasons=[(first, last), ...]")
    history, spent = _history(
        records, effort, species, occasion_length, day1, include_effort, min_active_days,
        scale_effort, output,
    )  # fmt: skip
    stations = list(dict.fromkeys(rows["station"]))
    result: dict[str, History] = {}
    for season in dict.fromkeys(rows["season"]):
        mine = (rows["season"] == season).to_numpy()

        def part(table: pd.DataFrame, mine: Any = mine) -> pd.DataFrame:
            frame = table[mine].set_axis(rows.loc[mine, "station"].tolist())
            return frame.reindex(stations).rename_axis("Station")

        result[season] = (part(history), part(spent)) if include_effort else part(history)
    return result


def _split_seasons(
    effort: pd.DataFrame,
    seasons: Sequence[tuple[DateLike, DateLike]] | Mapping[str, tuple[DateLike, DateLike]],
) -> pd.DataFrame:
    named = dict(seasons) if isinstance(seasons, Mapping) else {
        str(i + 1): span for i, span in enumerate(seasons)
    }  # fmt: skip
    days = pd.to_datetime(pd.Series(effort.columns))
    parts = []
    for name, (first, last) in named.items():
        inside = ((days >= pd.Timestamp(first)) & (days <= pd.Timestamp(last))).to_numpy()
        part = effort.where(np.broadcast_to(inside, effort.shape))
        part = part[part.notna().any(axis=1)]
        part.index = [f"{station}{SESSION}{name}" for station in part.index]
        parts.append(part)
    out = pd.concat(parts)
    out.attrs = dict(effort.attrs)
    return out


def _history(
    records: pd.DataFrame,
    effort: pd.DataFrame,
    species: str,
    length: int,
    day1: str,
    include_effort: bool,
    min_active: float | None,
    scale: bool,
    output: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    if length < 1:
        raise ValueError("occasion_length must be a positive number of days")
    if length > effort.shape[1]:
        raise ValueError("occasion_length must be smaller than the days of the camera operation")
    if output not in ("binary", "count"):
        raise ValueError(f"output={output!r}: use 'binary' or 'count'")
    if min_active is not None and min_active > length:
        raise ValueError("min_active_days must not exceed occasion_length")
    hour = pd.Timedelta(hours=int(effort.attrs.get("occasion_start_time", 0)))
    days = pd.DatetimeIndex(pd.to_datetime(pd.Series(effort.columns)))
    camop = effort.to_numpy(dtype=float)
    known = ~np.isnan(camop)
    if not known.any():
        raise ValueError("the camera operation matrix has no day with a camera")
    present = known.any(axis=1)  # rows without any day: their history is all NaN
    first = np.where(present, known.argmax(axis=1), int(known.any(axis=0).argmax()))
    last = np.where(present, camop.shape[1] - 1 - known[:, ::-1].argmax(axis=1), first)
    starts = _starts(day1, days[first], days[last][present], hour)
    ends = days[last] + DAY - pd.Timedelta(seconds=1)  # end of each row's retrieval day
    if day1 == "station":
        width = int((last - first).max()) + 1
        worked = np.full((len(camop), width), np.nan)
        for row, (a, b) in enumerate(zip(first, last, strict=True)):
            worked[row, : b - a + 1] = camop[row, a : b + 1]
    else:
        day = days.to_numpy()
        keep = day >= starts.min().normalize().to_datetime64()
        before = day[None, :] < starts.normalize().to_numpy()[:, None]
        worked = np.where(before, np.nan, camop)[:, keep]
    spent = _occasion_effort(worked, length, include_effort, min_active)
    history = np.where(np.isnan(spent), np.nan, 0.0)
    occasion = _occasions(records, species, effort.index, days, camop, starts, ends, length)
    for (row, column), count in occasion.items():
        if column < history.shape[1] and not np.isnan(history[row, column]):
            history[row, column] = 1.0 if output == "binary" else float(count)
    blank = np.isnan(worked) if length == 1 else np.isnan(spent)
    history[blank] = np.nan
    if not scale:
        history[(worked if length == 1 else spent) == 0] = np.nan
    columns = [f"o{i + 1}" for i in range(spent.shape[1])]
    spent_frame = pd.DataFrame(spent, index=effort.index, columns=columns)
    if scale:
        spent_frame = _scaled(spent_frame, length)
    history_frame = pd.DataFrame(history, index=effort.index, columns=columns)
    return history_frame, spent_frame


def _starts(
    day1: str, setup: pd.DatetimeIndex, retrieval: pd.DatetimeIndex, hour: pd.Timedelta
) -> pd.DatetimeIndex:
    """When each row's first occasion begins (``setup``: each row's first day;
    ``retrieval``: the last days of the rows with any)."""
    if day1 == "station":
        return setup + hour
    if day1 == "survey":
        return pd.DatetimeIndex([setup.min()] * len(setup)) + hour
    try:
        start = pd.Timestamp(day1).normalize()
    except ValueError as error:
        raise ValueError(f"day1={day1!r}: use 'station', 'survey' or a date") from error
    if start < setup.min():
        raise ValueError(
            f"day1 ({start.date()}) is before the first station's setup date ({setup.min().date()})"
        )
    if start > retrieval.max():
        raise ValueError(
            f"day1 ({start.date()}) is after the last station's retrieval date "
            f"({retrieval.max().date()})"
        )
    return pd.DatetimeIndex([start] * len(setup)) + hour


def _occasion_effort(
    worked: FloatArray, length: int, include_effort: bool, min_active: float | None
) -> FloatArray:
    """camtrapR's calculateTrappingEffort: effort per row and occasion."""
    if length == 1:  # the days themselves (camtrapR applies no other rule here)
        return worked.copy()
    count = int(np.ceil(worked.shape[1] / length))
    spent = np.full((worked.shape[0], count), np.nan)
    for occasion in range(count):
        window = worked[:, occasion * length : (occasion + 1) * length]
        missing = np.isnan(window)
        total = np.nansum(window, axis=1)
        empty = missing.all(axis=1) | np.where(missing, True, window == 0).all(axis=1)
        value = np.where(empty, np.nan, total)
        if min_active is not None:
            value = np.where(total < min_active, np.nan, value)
        elif not include_effort:
            gaps = missing.any(axis=1) | (window == 0).any(axis=1)
            value = np.where(gaps | (window.shape[1] < length), np.nan, value)
        spent[:, occasion] = value
    return spent


def _occasions(
    records: pd.DataFrame,
    species: str,
    index: pd.Index,
    days: pd.DatetimeIndex,
    camop: FloatArray,
    starts: pd.DatetimeIndex,
    ends: pd.DatetimeIndex,
    length: int,
) -> dict[tuple[int, int], int]:
    """(row, occasion column) -> records of the species there."""
    rows = parse_rows(index)
    found = records[records["Species"] == species]
    moments = pd.to_datetime(found["DateTimeOriginal"])
    keys = found["Station"].astype(str)
    names = rows["station"]
    if (rows["camera"] != "").any():
        if "Camera" not in found.columns:
            raise ValueError("a camera operation matrix by camera needs records with Camera")
        keys = keys + CAMERA + found["Camera"].astype(str)
        names = names + CAMERA + rows["camera"]
    position = {name: np.flatnonzero((names == name).to_numpy()) for name in set(names)}
    column = {day: i for i, day in enumerate(days)}
    counts: dict[tuple[int, int], int] = {}
    early = late = 0
    for name, moment in zip(keys, moments, strict=True):
        candidates = [int(r) for r in position.get(name, [])]
        day = column.get(moment.normalize())
        if len(candidates) > 1:  # seasons: the row whose camera ran that day
            candidates = [r for r in candidates if day is not None and not np.isnan(camop[r, day])]
        for row in candidates[:1]:
            if moment < starts[row] or moment > ends[row]:  # camtrapR drops them
                early, late = early + (moment < starts[row]), late + (moment > ends[row])
                continue
            seconds = (moment - starts[row]).total_seconds()
            occasion = max(1, int(np.ceil(seconds / (length * 86400))))
            counts[int(row), occasion - 1] = counts.get((int(row), occasion - 1), 0) + 1
    if early:
        log.warning(
            "%d records (out of %d) were removed because they were taken before day1",
            early, len(found),
        )  # fmt: skip
    if late:
        log.warning("%d records (out of %d) were taken after retrieval", late, len(found))
    return counts


def _scaled(spent: pd.DataFrame, length: int) -> pd.DataFrame:
    """R's ``scale`` of all occasions' effort together (mean 0, sd 1 with n - 1)."""
    if length == 1:
        raise ValueError("effort cannot be scaled when occasions are one day long")
    values = spent.to_numpy(dtype=float)
    known = values[~np.isnan(values)]
    if len(np.unique(known)) < 2:
        raise ValueError("every occasion has the same effort: it cannot be scaled")
    center, scale = float(known.mean()), float(known.std(ddof=1))
    out = (spent - center) / scale
    out.attrs["effort_scaling"] = {"center": center, "scale": scale}
    return out
