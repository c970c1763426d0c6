"""One deployment per camera and period, as Camtrap DP wants them: from the survey's stored
deployments (a station-wide one gives each camera of its station its own), else from each
camera's photo span with its far-off photos left out (see
:mod:`~traptagger_lab.deployments.checks`).

Each has a ``deploymentID`` of ``SITE/CAMERA`` (``SITE/CAMERA#2``... where a camera has
several periods; ``SITE`` alone for a station deployment with no camera that took photos),
and the ``Station``/``Camera``/``setup``/``retrieval``/``*_time_known`` columns that
:func:`~traptagger_lab.deployments.periods.deployment_of` matches photos with.
"""

from __future__ import annotations

import logging

import pandas as pd
from sqlalchemy import select

from traptagger_lab.db.models import Camera, Site
from traptagger_lab.deployments import periods
from traptagger_lab.deployments.checks import CheckParams, camera_days, photo_spans
from traptagger_lab.deployments.store import stored
from traptagger_lab.workspace import Workspace

log = logging.getLogger(__name__)

COLUMNS = [
    "deploymentID", "Station", "Camera", "setup", "retrieval", "setup_time_known",
    "retrieval_time_known", "latitude", "longitude", "camera_height", "bait", "habitat",
    "feature_type", "problems", "source",
]  # fmt: skip


def _from_stored(
    saved: pd.DataFrame, problems: pd.DataFrame, cameras: pd.DataFrame
) -> pd.DataFrame:
    rows = []
    for deployment in saved.to_dict("records"):
        if deployment["camera"] is not None and not pd.isna(deployment["camera"]):
            held = [deployment["camera"]]
        else:
            held = cameras.loc[cameras["station"] == deployment["station"], "camera"].tolist()
        periods_of = problems[problems["deployment_id"] == deployment["deployment_id"]]
        for camera in held or [None]:
            rows.append(
                {
                    **deployment,
                    "Station": deployment["station"],
                    "Camera": camera,
                    "problems": periods_of,
                    "source": "deployments",
                }
            )
    return pd.DataFrame(rows)


def _from_photos(spans: pd.DataFrame) -> pd.DataFrame:
    spans = spans.dropna(subset=["first", "last"])
    return pd.DataFrame(
        {
            "Station": spans["station"],
            "Camera": spans["camera"],
            "setup": spans["first"],
            "retrieval": spans["last"],
            "setup_time_known": True,
            "retrieval_time_known": True,
            "problems": [problems_none() for _ in range(len(spans))],
            "source": "photos",
        }
    )


def problems_none() -> pd.DataFrame:
    """No problem periods (the shape :func:`camera_deployments` gives them in)."""
    return pd.DataFrame(columns=["start", "start_time_known", "end", "end_time_known", "reason"])


def _names(table: pd.DataFrame) -> pd.Series:
    """``SITE/CAMERA``, numbered where a camera has several periods; ``SITE`` alone without
    a camera."""
    table = table.sort_values(["Station", "Camera", "setup"], kind="stable", na_position="first")
    base = table["Station"].astype(str) + table["Camera"].map(
        lambda c: "" if c is None or pd.isna(c) else f"/{c}"
    )
    count = base.map(base.value_counts())
    number = base.groupby(base).cumcount() + 1
    return (base + ("#" + number.astype(str)).where(count > 1, "")).reindex(table.index)


def camera_deployments(
    workspace: Workspace, survey_id: int, params: CheckParams | None = None
) -> pd.DataFrame:
    """The survey's deployments, one per camera and period (see the module doc and
    :data:`COLUMNS`; ``problems`` holds each one's problem periods as a DataFrame)."""
    with workspace.sessions() as session:
        saved, saved_problems = stored(session, survey_id)
        cameras = pd.DataFrame(
            session.execute(
                select(Site.name, Camera.name)
                .join(Camera, Camera.site_id == Site.id)
                .where(Site.survey_id == survey_id)
            ).all(),
            columns=["station", "camera"],
        )
        days = camera_days(session, survey_id) if saved.empty else None
    if days is None:
        table = _from_stored(saved, saved_problems, cameras)
    else:
        table = _from_photos(photo_spans(days, params or CheckParams()))
    if table.empty:
        return pd.DataFrame(columns=COLUMNS)
    table = table.reset_index(drop=True).reindex(columns=COLUMNS)
    table["deploymentID"] = _names(table)
    return table.sort_values("deploymentID", kind="stable").reset_index(drop=True)


def in_deployments(frame: pd.DataFrame, deployments: pd.DataFrame, what: str) -> pd.DataFrame:
    """The rows of ``frame`` (photos or observations: ``site``, ``camera``, ``timestamp``)
    that lie in a deployment, their ``camera`` renamed so that ``site/camera`` is the
    deployment's ID; the others are left out, and counted in a warning."""
    where = periods.deployment_of(frame, deployments)
    inside = where >= 0
    if (~inside).any():
        log.warning(
            "%d %s outside every deployment left out (see deployment_checks)",
            int((~inside).sum()),
            what,
        )
    names = deployments["deploymentID"].to_numpy()[where[inside]]
    kept = frame[inside].copy()
    kept["camera"] = [
        name.removeprefix(f"{site}/") for name, site in zip(names, kept["site"], strict=True)
    ]
    return kept
