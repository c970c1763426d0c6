"""The inputs of a survey's effort: its deployments and problem periods when it has
deployments, else each camera's photo span; and which of the two it is.

A survey with deployments: the stored deployments and their problem periods, plus the
cameras' outages ("Knocked down" annotations) as problems (see
:mod:`~traptagger_lab.deployments.periods` for camtrapR's rules). A survey without: one
deployment per camera from its first to its last photo day, each taken as a date alone
(the first and last day count half, as before there were deployments), with the camera's
far-off photos (see :mod:`~traptagger_lab.deployments.checks`) left out unless
``outside_deployments="keep"``.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from traptagger_lab.db.models import Camera, CameraOutage, Site
from traptagger_lab.deployments import periods
from traptagger_lab.deployments.checks import CheckParams, camera_days, photo_spans
from traptagger_lab.deployments.store import stored
from traptagger_lab.errors import ConfigurationError
from traptagger_lab.surveys import SurveyRef, find_survey
from traptagger_lab.workspace import Workspace

#: What results do with photos outside deployments (and far-off photos without them).
OUTSIDE = ("exclude", "keep")
SOURCES = ("deployments", "photos")


def check_outside(outside_deployments: str) -> str:
    """The value of ``outside_deployments``, or a clear error."""
    if outside_deployments not in OUTSIDE:
        raise ConfigurationError(
            f"outside_deployments={outside_deployments!r}: use one of {OUTSIDE}"
        )
    return outside_deployments


def outages(session: Session, survey_id: int) -> pd.DataFrame:
    """The cameras' outages: Station, Camera, start, end (None while open), reason."""
    rows = session.execute(
        select(Site.name, Camera.name, CameraOutage.start, CameraOutage.end, CameraOutage.reason)
        .join(Camera, Camera.id == CameraOutage.camera_id)
        .join(Site, Site.id == Camera.site_id)
        .where(Site.survey_id == survey_id)
        .order_by(CameraOutage.start)
    ).all()
    return pd.DataFrame(rows, columns=periods.PROBLEM_COLUMNS)


def span_deployments(spans: pd.DataFrame) -> pd.DataFrame:
    """Photo spans (``station``, ``camera``, ``first``, ``last``) as deployments from the first
    to the last photo day, times unknown."""
    spans = spans.dropna(subset=["first", "last"])
    return periods.effort_deployments(
        pd.DataFrame(
            {
                "station": spans["station"],
                "camera": spans["camera"],
                "setup": spans["first"].dt.normalize(),
                "setup_time_known": False,
                "retrieval": spans["last"].dt.normalize(),
                "retrieval_time_known": False,
                "deployment_id": None,
            }
        ),
        source="photos",
    )


def effort_inputs(
    workspace: Workspace,
    survey: SurveyRef,
    outside_deployments: str = "exclude",
    params: CheckParams | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(deployments, problems) of a survey's effort (see the module doc), both with
    ``attrs["source"]`` "deployments" or "photos" (and the deployments a ``source``
    column)."""
    check_outside(outside_deployments)
    with workspace.sessions() as session:
        target = find_survey(session, survey)
        saved, saved_problems = stored(session, target.id)
        found = outages(session, target.id)
        days = camera_days(session, target.id) if saved.empty else None
    if days is None:
        deployments = periods.effort_deployments(saved)
        problems = periods.effort_problems(saved_problems, deployments)
        source = "deployments"
    else:
        robust = outside_deployments == "exclude"
        deployments = span_deployments(photo_spans(days, params or CheckParams(), robust))
        problems = pd.DataFrame(columns=periods.PROBLEM_COLUMNS)
        source = "photos"
    extra = periods.outage_problems(found, deployments)
    if not extra.empty:
        problems = extra if problems.empty else pd.concat([problems, extra], ignore_index=True)
    problems = problems.reset_index(drop=True)
    deployments.attrs["source"] = problems.attrs["source"] = source
    return deployments, problems
