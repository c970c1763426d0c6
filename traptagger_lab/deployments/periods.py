"""Deployments as periods (pure): the inputs of the camera-operation matrix, and which photos
or records fall inside a deployment.

Effort follows camtrapR's ``cameraOperation``: a setup or retrieval given as a date alone
is taken as made at noon (so those days count half); a problem period given as dates runs
from 00:00 of its first day (the setup time, when that is the setup day) to the end of its
last day (``Problem_to`` is inclusive), and never past retrieval. The frames handed to
:func:`~traptagger_lab.results.camtrap.operation_matrix` have ``Station``, ``Camera`` (None
for a whole station), ``setup``, ``retrieval`` (datetimes with their time of day) and
``Station``, ``Camera``, ``start``, ``end`` (datetimes, the end inclusive).

Whether a photo is inside a deployment is decided by whole days where a time is unknown:
from 00:00 of the setup day to the end of the retrieval day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NOON = pd.Timedelta(hours=12)
#: The end of a day, inclusive (camtrapR adds one day less a second to a date ``Problem_to``).
DAY_END = pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
DEPLOYMENT_COLUMNS = [
    "Station", "Camera", "setup", "retrieval", "setup_time_known", "retrieval_time_known",
    "deployment_id", "source",
]  # fmt: skip
PROBLEM_COLUMNS = ["Station", "Camera", "start", "end", "reason"]


def _effort_time(when: pd.Series, known: pd.Series) -> pd.Series:
    when = pd.to_datetime(when)
    return when.where(known.astype(bool), when.dt.normalize() + NOON)


def effort_deployments(stored: pd.DataFrame, source: str = "deployments") -> pd.DataFrame:
    """Deployments (``station``, ``camera``, ``setup``, ``retrieval``, ``*_time_known``,
    ``deployment_id``) as camera-operation input: a time unknown becomes noon."""
    frame = pd.DataFrame(
        {
            "Station": stored["station"].astype(object),
            "Camera": stored["camera"].astype(object).where(stored["camera"].notna(), None),
            "setup": _effort_time(stored["setup"], stored["setup_time_known"]),
            "retrieval": _effort_time(stored["retrieval"], stored["retrieval_time_known"]),
            "setup_time_known": stored["setup_time_known"].astype(bool),
            "retrieval_time_known": stored["retrieval_time_known"].astype(bool),
            "deployment_id": stored["deployment_id"],
            "source": source,
        }
    )
    return frame.reset_index(drop=True).reindex(columns=DEPLOYMENT_COLUMNS)


def effort_problems(stored: pd.DataFrame, deployments: pd.DataFrame) -> pd.DataFrame:
    """Problem periods (``deployment_id``, ``start``, ``end``, ``*_time_known``, ``reason``)
    of :func:`effort_deployments`' deployments, as camtrapR counts them (with the
    ``deployment_id`` of each)."""
    if stored.empty:
        return pd.DataFrame(columns=[*PROBLEM_COLUMNS, "deployment_id"])
    merged = stored.merge(
        deployments[["deployment_id", "Station", "Camera", "setup", "retrieval"]],
        on="deployment_id",
    )
    start = pd.to_datetime(merged["start"])
    end = pd.to_datetime(merged["end"])
    on_setup_day = ~merged["start_time_known"].astype(bool) & (
        start.dt.normalize() == merged["setup"].dt.normalize()
    )
    start = start.where(~on_setup_day, merged["setup"])
    whole_day = ~merged["end_time_known"].astype(bool)
    end = end.where(~whole_day, end.dt.normalize() + DAY_END)
    end = end.where(~whole_day | (end <= merged["retrieval"]), merged["retrieval"])
    return pd.DataFrame(
        {
            "Station": merged["Station"],
            "Camera": merged["Camera"],
            "start": start,
            "end": end,
            "reason": merged["reason"],
            "deployment_id": merged["deployment_id"],
        }
    )


def outage_problems(outages: pd.DataFrame, deployments: pd.DataFrame) -> pd.DataFrame:
    """Camera outages (``Station``, ``Camera``, ``start``, ``end`` None while open, ``reason``:
    "Knocked down" and the like) as problem periods of the deployments that hold them: the
    camera is None where its station's deployment is station-wide, an open end is the
    deployment's retrieval; an outage outside every deployment is left out."""
    rows = []
    for station, camera, start, end, reason in outages[PROBLEM_COLUMNS].itertuples(index=False):
        same = deployments[deployments["Station"] == station]
        same = same[same["Camera"].isna() | (same["Camera"] == camera)]
        if same.empty:
            continue
        wide = bool(same["Camera"].isna().any())
        close = same["retrieval"].max() if end is None or pd.isna(end) else pd.Timestamp(end)
        rows.append((station, None if wide else camera, pd.Timestamp(start), close, reason))
    found = pd.DataFrame(rows, columns=PROBLEM_COLUMNS)
    found["Camera"] = found["Camera"].astype(object).where(found["Camera"].notna(), None)
    return found


def bounds(deployments: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(first, last) moment each deployment covers: whole days where a time is unknown."""
    setup = pd.to_datetime(deployments["setup"])
    retrieval = pd.to_datetime(deployments["retrieval"])
    first = setup.where(deployments["setup_time_known"].astype(bool), setup.dt.normalize())
    last_day = retrieval.dt.normalize() + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    last = retrieval.where(deployments["retrieval_time_known"].astype(bool), last_day)
    return first, last


def _matches(
    items: pd.DataFrame, station: str, camera: str, moment: str, deployments: pd.DataFrame
) -> pd.DataFrame:
    """Each (item, deployment) pair where the item lies in the deployment: ``position`` is
    the item's row number, ``deployment`` the deployment's."""
    first, last = bounds(deployments)
    periods = pd.DataFrame(
        {
            "_station": deployments["Station"].to_numpy(),
            "_camera": deployments["Camera"].to_numpy(),
            "_first": first.to_numpy(),
            "_last": last.to_numpy(),
            "deployment": np.arange(len(deployments)),
        }
    )
    left = pd.DataFrame(
        {
            "_station": items[station].to_numpy(),
            "_item_camera": items[camera].to_numpy(),
            "_moment": pd.to_datetime(items[moment]).to_numpy(),
            "position": np.arange(len(items)),
        }
    )
    pairs = left.merge(periods, on="_station")
    inside = (
        (pairs["_camera"].isna() | (pairs["_camera"] == pairs["_item_camera"]))
        & (pairs["_moment"] >= pairs["_first"])
        & (pairs["_moment"] <= pairs["_last"])
    )
    return pairs.loc[inside, ["position", "deployment"]]


def within(
    items: pd.DataFrame,
    deployments: pd.DataFrame,
    station: str = "Station",
    camera: str = "Camera",
    moment: str = "DateTimeOriginal",
) -> np.ndarray:
    """Whether each row of ``items`` (records or photos) lies in a deployment of its station
    and camera (a station-wide deployment holds every camera of its station)."""
    keep = np.zeros(len(items), dtype=bool)
    if len(items) and len(deployments):
        keep[_matches(items, station, camera, moment, deployments)["position"].to_numpy()] = True
    return keep


def deployment_of(
    items: pd.DataFrame,
    deployments: pd.DataFrame,
    station: str = "site",
    camera: str = "camera",
    moment: str = "timestamp",
) -> np.ndarray:
    """The row number (in ``deployments``) of the deployment each item lies in; -1 for none."""
    found = np.full(len(items), -1)
    if len(items) and len(deployments):
        pairs = _matches(items, station, camera, moment, deployments).drop_duplicates("position")
        found[pairs["position"].to_numpy()] = pairs["deployment"].to_numpy()
    return found
