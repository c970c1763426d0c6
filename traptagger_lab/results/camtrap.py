"""Record tables, camera operation and detection histories in the layouts camtrapR users know.

The pure functions (:func:`independent_records`, :func:`operation_matrix`,
:func:`history_matrix`) work on DataFrames; :func:`record_table`,
:func:`camera_operation` and :func:`detection_history` read them from a workspace.
Conventions follow camtrapR (Niedballa et al. 2016): a record is one image
of a species; records of the same species at the same station (or camera)
closer than ``min_delta_minutes`` are not independent; setup and retrieval
days count as half days of effort; occasions without effort are NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from traptagger_lab.ingest.videos import file_of

if TYPE_CHECKING:
    pass

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
]
COMPARED_TO = ("last_record", "last_independent_record")


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
    """camtrapR's temporal independence filter, on records with ``Station``,
    (``Camera`` when ``by='camera'``), ``Species`` and ``DateTimeOriginal``.

    A record is kept when it is at least ``min_delta_minutes`` after the
    previous record of its species at its station (``last_record``) or after
    the previous *kept* one (``last_independent_record``); the first is always
    kept. ``delta.time.*`` is then the time since the previous kept record
    (0 for the first). Records at the same station, species and second are
    duplicates and are kept once when ``remove_duplicates``. With ``per_individual``
    records of each ``Individual`` are independent of other individuals' (camtrapR's
    recordTableIndividual).

    A record may stand for a whole sequence of photos of its species (a
    ``DateTimeLast`` later than its ``DateTimeOriginal``, from
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
    limit = pd.Timedelta(minutes=min_delta_minutes)
    table = records.assign(**{c: "" for c in ("Directory", "FileName") if c not in records.columns})
    if "DateTimeLast" in table.columns:
        table = _photos_where_needed(table, keys, limit, compared_to, by, expand)
    table = table.sort_values([*keys, "DateTimeOriginal"], kind="stable")
    if remove_duplicates:
        table = table.drop_duplicates([*keys, "DateTimeOriginal"])
    if compared_to == "last_record":
        last = table["DateTimeLast"] if "DateTimeLast" in table.columns else None
        ends = table["DateTimeOriginal"] if last is None else last.fillna(table["DateTimeOriginal"])
        previous = ends.groupby([table[k] for k in keys], sort=False, dropna=False).shift()
        keep = previous.isna() | (table["DateTimeOriginal"] - previous >= limit)
        out = table[keep.to_numpy()].copy()
    else:
        kept: list[int] = []
        for _, group in table.groupby(keys, sort=False, dropna=False):
            anchor = None
            for index, moment in zip(group.index, group["DateTimeOriginal"].tolist(), strict=True):
                if anchor is None or moment - anchor >= limit:
                    kept.append(index)
                    anchor = moment
        out = table.loc[kept].copy()
    previous = out.groupby(keys, sort=False, dropna=False)["DateTimeOriginal"].shift()
    seconds = (out["DateTimeOriginal"] - previous).dt.total_seconds().fillna(0)
    out["delta.time.secs"] = seconds
    out["delta.time.mins"] = (seconds / 60).round(1)
    out["delta.time.hours"] = (seconds / 3600).round(1)
    out["delta.time.days"] = (seconds / 86400).round(1)
    out["Date"] = out["DateTimeOriginal"].dt.strftime("%Y-%m-%d")
    out["Time"] = out["DateTimeOriginal"].dt.strftime("%H:%M:%S")
    columns = RECORD_COLUMNS if by == "site" else ["Station", "Camera", *RECORD_COLUMNS[1:]]
    if per_individual:
        columns = [
            *columns[: columns.index("Species") + 1],
            "Individual",
            *columns[columns.index("Species") + 1 :],
        ]
    helpers = {"DateTimeLast", "Images", "cluster_id"}
    extra = [c for c in out.columns if c not in columns and c not in helpers]
    return out[columns + extra].reset_index(drop=True)


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


def operation_matrix(
    deployments: pd.DataFrame, outages: pd.DataFrame | None = None, half_days: bool = True
) -> pd.DataFrame:
    """Effort per station and day: 1 operating, 0.5 setup/retrieval day (``half_days``),
    the operating share of a day with an outage, NaN not deployed.

    ``deployments``: Station, setup, retrieval (datetimes or dates), one row per
    camera (several cameras at a station add up). ``outages``: Station, start, end.
    """
    if deployments.empty:
        return pd.DataFrame()
    setup = pd.to_datetime(deployments["setup"]).dt.normalize()
    retrieval = pd.to_datetime(deployments["retrieval"]).dt.normalize()
    days = pd.date_range(setup.min(), retrieval.max(), freq="D")
    stations = sorted(deployments["Station"].unique())
    effort = pd.DataFrame(np.nan, index=stations, columns=days.date)
    for station, first, last in zip(deployments["Station"], setup, retrieval, strict=True):
        span = pd.date_range(first, last, freq="D").date
        values = np.ones(len(span))
        if half_days and len(span) > 1:
            values[0] = values[-1] = 0.5
        current = effort.loc[station, span].fillna(0).to_numpy()
        effort.loc[station, span] = current + values
    for station, start, end in (
        outages[["Station", "start", "end"]].itertuples(index=False)
        if outages is not None and not outages.empty
        else []
    ):
        start = pd.Timestamp(start)
        end = (
            pd.Timestamp(end)
            if end is not None and not pd.isna(end)
            else pd.Timestamp(days[-1]) + pd.Timedelta(days=1)
        )
        for day in pd.date_range(start.normalize(), end.normalize(), freq="D"):
            if day.date() not in effort.columns or np.isnan(effort.loc[station, day.date()]):
                continue
            lost = (min(end, day + pd.Timedelta(days=1)) - max(start, day)) / pd.Timedelta(days=1)
            effort.loc[station, day.date()] = max(0.0, effort.loc[station, day.date()] - lost)
    effort.index.name = "Station"
    return effort


def history_matrix(
    records: pd.DataFrame,
    effort: pd.DataFrame,
    species: str,
    occasion_length: int = 7,
    day1: str = "station",
    include_effort: bool = False,
    min_active_days: float = 0,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Detection history of one species: stations x occasions, 1/0, NaN without effort.

    ``day1='station'`` starts each station's occasions on its own setup day
    (camtrapR's default); ``'survey'`` on the first day of the survey. An
    occasion is NaN when its effort is no more than ``min_active_days``.
    With ``include_effort`` also returns the effort (days) per occasion.
    """
    if day1 not in ("station", "survey"):
        raise ValueError(f"day1={day1!r}: use 'station' or 'survey'")
    if occasion_length < 1:
        raise ValueError("occasion_length must be at least one day")
    days = pd.to_datetime(pd.Series(effort.columns))
    start = days.min()
    detections = records[records["Species"] == species]
    detected_days = {
        (station, pd.Timestamp(moment).normalize())
        for station, moment in zip(
            detections["Station"], detections["DateTimeOriginal"], strict=True
        )
    }
    n_occasions = 0
    rows_h, rows_e = {}, {}
    for station, row in effort.iterrows():
        active = row.to_numpy(dtype=float)
        first = days[~np.isnan(active)].min() if day1 == "station" else start
        offset = int((first - start).days)
        span = active[offset:]
        occasions = int(np.ceil(len(span) / occasion_length))
        hist, eff = [], []
        for occasion in range(occasions):
            window = span[occasion * occasion_length : (occasion + 1) * occasion_length]
            spent = float(np.nansum(window))
            eff.append(spent if spent > min_active_days else np.nan)
            window_days = days[
                offset + occasion * occasion_length : offset + (occasion + 1) * occasion_length
            ]
            seen = any((station, day) in detected_days for day in window_days)
            hist.append(np.nan if spent <= min_active_days else float(seen))
        rows_h[station], rows_e[station] = hist, eff
        n_occasions = max(n_occasions, occasions)
    columns = [f"o{i + 1}" for i in range(n_occasions)]

    def frame(rows: dict[Any, list[float]]) -> pd.DataFrame:
        table = pd.DataFrame(
            [r + [np.nan] * (n_occasions - len(r)) for r in rows.values()],
            index=list(rows),
            columns=columns,
        )
        table.index.name = "Station"
        return table

    history = frame(rows_h)
    return (history, frame(rows_e)) if include_effort else history


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
