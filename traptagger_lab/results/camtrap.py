"""Record tables, camera operation and detection histories in the layouts camtrapR users know.

The pure functions (:func:`independent_records`, :func:`operation_matrix`,
:func:`history_matrix`) work on DataFrames; :class:`~traptagger_lab.results.api.Results`
reads their inputs from a workspace. Conventions follow camtrapR (Niedballa et al. 2016;
its ``recordTable`` and ``assessTemporalIndependence``): a record is one image of a
species; records of the same species at the same station (or camera) closer than
``min_delta_minutes`` are not independent. Camera operation and detection histories
live in :mod:`~traptagger_lab.results.operation` and :mod:`~traptagger_lab.results.history`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from traptagger_lab.ingest.videos import file_of
from traptagger_lab.results.history import history_matrix, season_histories
from traptagger_lab.results.operation import operation_matrix, r_round

__all__ = [
    "COMPARED_TO",
    "RECORD_COLUMNS",
    "history_matrix",
    "independent_records",
    "operation_matrix",
    "season_histories",
]

log = logging.getLogger(__name__)

RECORD_COLUMNS = [
    "Station",
    "Species",
    "DateTimeOriginal",
    "Date",
    "Time",
    "delta.time.secs",
    "delta.time.mins",
    "delta.time.hours",
    "delta.time.days",
    "Directory",
    "FileName",
    "n_images",
]
COMPARED_TO = ("last_record", "last_independent_record")
IntArray = npt.NDArray[np.int64]


# -- pure -----------------------------------------------------------------------------------


def independent_records(
    records: pd.DataFrame,
    min_delta_minutes: float = 60,
    compared_to: str = "last_record",
    by: str = "site",
    remove_duplicates: bool = True,
    per_individual: bool = False,
    expand: Callable[[list[int]], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """camtrapR's record table: the independent records of ``records`` (``Station``,
    ``Camera`` when ``by='camera'``, ``Species``, ``DateTimeOriginal``).

    As camtrapR's assessTemporalIndependence: a record is independent when it is the
    first of its species at its station (or camera, ``by='camera'``), or at least
    ``min_delta_minutes`` after the latest *earlier* record of its species there
    (``last_record``) or the latest earlier independent one (``last_independent_record``).
    Earlier means strictly earlier: records of the same second are compared with what
    came before that second, never with each other. ``delta.time.*`` is that gap (0 for
    a first record), in seconds, then minutes, hours and days each rounded to 0.1 from
    the one before. ``n_images`` counts the images of the event: the record's and those
    after it up to the next independent record of its species there (with camtrapR's
    quirk of also counting earlier images of the same second).

    ``remove_duplicates`` (camtrapR's removeDuplicateRecords) keeps one record per
    station (camera), species and second; camtrapR turns it on whenever
    ``min_delta_minutes`` is above 0, and so does this function (with a warning).
    With ``per_individual`` records of each ``Individual`` are independent of other
    individuals' (camtrapR's recordTableIndividual).

    A record may stand for a whole sequence of photos of its species (a
    ``DateTimeLast`` later than its ``DateTimeOriginal`` and ``Images`` photos, from
    :func:`species_records`): the result is the same as with a record per photo.
    Only its first photo can be kept, unless the sequence is at least
    ``min_delta_minutes`` long, overlaps another of its station and species, or
    (for ``last_independent_record``) starts within ``min_delta_minutes`` of the
    previous record; those few are replaced by their photos' records from
    ``expand(cluster_ids)`` (each photo once, with Station and Camera; the species
    comes from the sequence's record).
    """
    if compared_to not in COMPARED_TO:
        raise ValueError(f"compared_to={compared_to!r}: use one of {COMPARED_TO}")
    if by not in ("site", "camera"):
        raise ValueError(f"by={by!r}: use 'site' or 'camera'")
    keys = ["Station", "Camera", "Species"] if by == "camera" else ["Station", "Species"]
    if per_individual:
        keys.append("Individual")
    missing = [c for c in [*keys, "DateTimeOriginal"] if c not in records.columns]
    if missing:
        raise ValueError(f"records lack column(s) {missing}")
    if min_delta_minutes > 0 and not remove_duplicates:
        log.warning("min_delta_minutes is above 0: duplicate records are removed (as camtrapR)")
        remove_duplicates = True
    limit = pd.Timedelta(minutes=min_delta_minutes)
    table = records.assign(**{c: "" for c in ("Directory", "FileName") if c not in records.columns})
    if "DateTimeLast" in table.columns:
        table = _photos_where_needed(table, keys, limit, compared_to, by, expand)
    table = table.sort_values([*keys, "DateTimeOriginal"], kind="stable")
    if remove_duplicates:
        table = table.drop_duplicates([*keys, "DateTimeOriginal"])
    table = table.reset_index(drop=True)
    kept, seconds, images = _independence(table, keys, limit, compared_to)
    out = table[kept].copy()
    out["delta.time.secs"] = r_round(seconds[kept], 0)
    out["delta.time.mins"] = r_round(out["delta.time.secs"] / 60, 1)
    out["delta.time.hours"] = r_round(out["delta.time.mins"] / 60, 1)
    out["delta.time.days"] = r_round(out["delta.time.hours"] / 24, 1)
    out["n_images"] = images[kept]
    out["Date"] = out["DateTimeOriginal"].dt.strftime("%Y-%m-%d")
    out["Time"] = out["DateTimeOriginal"].dt.strftime("%H:%M:%S")
    if by == "camera":  # camtrapR's order: station, species, time (then camera)
        out = out.sort_values(["Station", "Species", "DateTimeOriginal", "Camera"], kind="stable")
    columns = RECORD_COLUMNS if by == "site" else ["Station", "Camera", *RECORD_COLUMNS[1:]]
    if per_individual:
        columns = [
            *columns[: columns.index("Species") + 1],
            "Individual",
            *columns[columns.index("Species") + 1 :],
        ]
    helpers = {"DateTimeLast", "Images", "cluster_id"}
    extra = [c for c in out.columns if c not in columns and c not in helpers]
    columns = [*columns[:-1], *extra, "n_images"]  # camtrapR: n_images after the metadata
    return out[columns].reset_index(drop=True)


def _independence(
    table: pd.DataFrame, keys: list[str], limit: pd.Timedelta, compared_to: str
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64], IntArray]:
    """Per row of ``table`` (sorted by ``keys`` and time): independent or not, seconds to
    the record it was compared with, and the images of its event."""
    count = len(table)
    if not count:
        return np.zeros(0, bool), np.zeros(0), np.zeros(0, np.int64)
    first = table["DateTimeOriginal"].to_numpy("datetime64[ns]").astype(np.int64)
    end = first
    if "DateTimeLast" in table.columns:
        last = table["DateTimeLast"].fillna(table["DateTimeOriginal"])
        end = last.to_numpy("datetime64[ns]").astype(np.int64)
    group = table.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    position = np.arange(count)
    starts_group = np.r_[True, group[1:] != group[:-1]]
    group_start = np.maximum.accumulate(np.where(starts_group, position, 0))
    same_second = np.r_[True, starts_group[1:] | (first[1:] != first[:-1])]
    second_start = np.maximum.accumulate(np.where(same_second, position, 0))
    limit_ns = limit.value
    if compared_to == "last_record":
        reach = pd.Series(end).groupby(group).cummax().to_numpy()
        earlier = second_start > group_start
        previous = reach[np.maximum(second_start - 1, 0)]
        gap = np.where(earlier, first - previous, 0)
        kept = ~earlier | (gap >= limit_ns)
    else:
        kept, gap = _against_independent(first, group_start, limit_ns)
    weight = np.ones(count, np.int64)
    if "Images" in table.columns:
        weight = table["Images"].fillna(1).to_numpy(np.int64)
    total = np.r_[0, np.cumsum(weight)]
    group_end = np.r_[position[1:][starts_group[1:]], count]
    end_of = group_end[np.cumsum(starts_group) - 1]
    independent = np.r_[np.flatnonzero(kept), count]
    upcoming = independent[np.searchsorted(independent, position, side="right")]
    following = np.minimum(upcoming, end_of)  # the next independent row of the group
    images = total[following] - total[second_start]
    return kept, gap / 1e9, images


def _against_independent(
    first: IntArray, group_start: IntArray, limit: int
) -> tuple[npt.NDArray[np.bool_], IntArray]:
    """``last_independent_record``: each record against the latest strictly earlier
    independent record of its group."""
    kept = np.zeros(len(first), bool)
    gap = np.zeros(len(first), np.int64)
    latest: int | None = None  # time of the latest independent record
    before: int | None = None  # the latest independent record before that time
    for row, moment in enumerate(first.tolist()):
        if group_start[row] == row:
            latest = before = None
        reference = latest if latest is not None and moment > latest else before
        if reference is None:
            kept[row] = True
        else:
            gap[row] = moment - reference
            kept[row] = gap[row] >= limit
        if kept[row] and (latest is None or moment > latest):
            before, latest = latest, moment
    return kept, gap


def _photos_where_needed(
    table: pd.DataFrame,
    keys: list[str],
    limit: pd.Timedelta,
    compared_to: str,
    by: str,
    expand: Callable[[list[int]], pd.DataFrame] | None,
) -> pd.DataFrame:
    """Sequence records whose photos could be independent records themselves, replaced
    by the photos' records (see :func:`independent_records`)."""
    if by == "site":
        table = _merge_cameras(table, table["DateTimeLast"].notna())
    table = table.sort_values([*keys, "DateTimeOriginal"], kind="stable")
    spans = table["DateTimeLast"].notna()
    first = table["DateTimeOriginal"]
    last = table["DateTimeLast"].where(spans, first)
    by_key = [table[k] for k in keys]
    reach = last.groupby(by_key, sort=False, dropna=False).cummax()
    before = reach.groupby(by_key, sort=False, dropna=False).shift()
    overlap = (first < before).fillna(False)
    crowded = overlap.groupby(by_key, sort=False, dropna=False).transform("any")
    need = spans & ((last - first >= limit) | crowded)
    if compared_to == "last_independent_record":
        need |= spans & (last > first) & (first - before < limit).fillna(False)
    if not need.any():
        return table
    if expand is None:
        raise ValueError("sequence records need expand() to read their photos")
    wanted = table.loc[need, ["cluster_id", *keys]].drop_duplicates()
    photos = expand(sorted({int(c) for c in wanted["cluster_id"]}))
    photos = photos.merge(wanted, on=["cluster_id", *[k for k in keys if k in photos.columns]])
    photos = photos[[c for c in table.columns if c in photos.columns]]
    return pd.concat([table[~need], photos], ignore_index=True)


def _merge_cameras(table: pd.DataFrame, spans: pd.Series) -> pd.DataFrame:
    """One sequence record per station instead of per camera (``by='site'``)."""
    parts = table[spans].sort_values("DateTimeOriginal", kind="stable")
    keys = ["cluster_id", "Station", "Species"]
    merged = parts.groupby(keys, sort=False, dropna=False, as_index=False).agg(
        {
            **{c: "first" for c in parts.columns if c not in [*keys, "DateTimeLast", "Images"]},
            "DateTimeLast": "max",
            "Images": "sum",
        }
    )
    return pd.concat([table[~spans], merged], ignore_index=True)


def diversity_table(counts: pd.DataFrame) -> pd.DataFrame:
    """Richness, Shannon H', Simpson 1-D and evenness per row of a site x species count table,
    and ``all`` for the pooled counts."""
    pooled = pd.concat([counts, counts.sum().to_frame("all").T])
    rows = []
    for name, values in pooled.iterrows():
        n = values.to_numpy(dtype=float)
        n = n[n > 0]
        share = n / n.sum() if n.sum() else n
        shannon = 0.0 - float((share * np.log(share)).sum()) if len(n) else 0.0  # no -0.0
        rows.append(
            {
                "site": name,
                "records": float(n.sum()),
                "richness": len(n),
                "shannon": shannon,
                "simpson": float(1 - (share**2).sum()) if len(n) else 0.0,
                "evenness": shannon / np.log(len(n)) if len(n) > 1 else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("site")


def accumulation(records: pd.DataFrame, permutations: int = 100, seed: Any = None) -> pd.DataFrame:
    """Species accumulation over sampling days (random order of days, ``permutations`` times):
    mean and 2.5/97.5% quantiles of species found after each number of days."""
    days = records["DateTimeOriginal"].dt.normalize()
    by_day = records.groupby(days)["Species"].apply(set).tolist()
    rng = np.random.default_rng(seed)
    curves = np.zeros((permutations, len(by_day)))
    for run in range(permutations):
        seen: set[str] = set()
        for step, index in enumerate(rng.permutation(len(by_day))):
            seen |= by_day[index]
            curves[run, step] = len(seen)
    return pd.DataFrame(
        {
            "days": np.arange(1, len(by_day) + 1),
            "species": curves.mean(axis=0),
            "lower": np.quantile(curves, 0.025, axis=0),
            "upper": np.quantile(curves, 0.975, axis=0),
        }
    )


def folder_and_name(paths: pd.Series) -> tuple[pd.Series, pd.Series]:
    if not len(paths):  # .str on an empty series of no known type fails
        return paths.astype(object), paths.astype(object)
    parts = paths.astype(object).str.rpartition("/")
    return parts[0], parts[2]


def per_file(rows: pd.DataFrame, once_per: list[str], **more: str) -> pd.DataFrame:
    """Records of rows with ``site``, ``camera``, ``timestamp``, ``path`` and ``cluster_id``:
    one per file and ``once_per`` (a video is one record, at its first still), rows without a
    capture time left out; ``more`` columns (name=source) come after Station and Camera."""
    rows = rows.dropna(subset=["timestamp"]).sort_values("timestamp", kind="stable")
    rows = rows.assign(file=rows["path"].map(file_of))
    rows = rows.drop_duplicates(["file", *once_per])
    directory, name = folder_and_name(rows["file"])
    return pd.DataFrame(
        {
            "Station": rows["site"],
            "Camera": rows["camera"],
            **{column: rows[source] for column, source in more.items()},
            "DateTimeOriginal": rows["timestamp"].astype("datetime64[ns]"),
            "Directory": directory,
            "FileName": name,
            "cluster_id": rows["cluster_id"],
        }
    ).reset_index(drop=True)


def records_from_observations(seen: pd.DataFrame, exclude: Iterable[str] = ()) -> pd.DataFrame:
    """One record per file and species (and individual) from :func:`observations` rows:
    Station, Camera, Species, Individual, DateTimeOriginal, Directory, FileName, cluster_id.
    Built-in labels such as Nothing are left out; a video is one record, at its first still."""
    skip = {e.lower() for e in exclude}
    seen = seen[~seen["builtin"] & ~seen["species"].str.lower().isin(skip)]
    return per_file(seen, ["species", "individual"], Species="species", Individual="individual")


def capture_history(
    records: pd.DataFrame, effort: pd.DataFrame, occasion_length: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Capture histories of individuals for capture-recapture: (individuals x occasions
    0/1 matrix, secr-style table of Session, ID, Occasion, Detector). Occasions are
    ``occasion_length`` days from the first day of effort."""
    if occasion_length < 1:
        raise ValueError("occasion_length must be at least one day")
    start = pd.Timestamp(min(effort.columns))
    days = (pd.to_datetime(records["DateTimeOriginal"]).dt.normalize() - start).dt.days
    occasion = days // occasion_length + 1
    n_occasions = int(np.ceil(len(effort.columns) / occasion_length))
    table = pd.DataFrame(
        {
            "Session": 1,
            "ID": records["Individual"].astype(str).to_numpy(),
            "Occasion": occasion.to_numpy(),
            "Detector": records["Station"].to_numpy(),
        }
    ).drop_duplicates()
    matrix = (
        pd.crosstab(table["ID"], table["Occasion"])
        .reindex(columns=range(1, n_occasions + 1), fill_value=0)
        .clip(upper=1)
    )
    matrix.columns = [f"o{c}" for c in matrix.columns]
    return matrix, table.sort_values(["ID", "Occasion"]).reset_index(drop=True)
