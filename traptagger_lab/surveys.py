"""The survey catalogue every stage looks things up in: a survey by name or id, a camera by
``SITE/CAMERA``, the sites table, a survey's settings."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from traptagger_lab.db.models import Camera, Image, Site, Survey
from traptagger_lab.errors import NotFoundError
from traptagger_lab.workspace import Workspace

#: How callers name a survey: its name, its id, or the row itself.
SurveyRef = str | int | Survey


def find_survey(session: Session, ref: SurveyRef) -> Survey:
    """A survey by name, id or object.

    Raises:
        NotFoundError: if there is no such survey (the message lists the surveys).
    """
    if isinstance(ref, Survey):
        return ref
    found = session.scalar(
        select(Survey).where(Survey.id == ref if isinstance(ref, int) else Survey.name == ref)
    )
    if found is None:
        names = list(session.scalars(select(Survey.name).order_by(Survey.name)))
        raise NotFoundError(f"no survey {ref!r}; surveys: {names or 'none yet'}")
    return found


def find_camera(session: Session, survey: Survey, camera: str) -> Camera:
    """A camera by ``"SITE/CAMERA"``, or by camera name when that is unique in the survey.

    Raises:
        NotFoundError: if no camera (or more than one) matches (the message lists them).
    """
    site_name, _, camera_name = camera.rpartition("/")
    query = (
        select(Camera, Site.name)
        .join(Site, Site.id == Camera.site_id)
        .where(Site.survey_id == survey.id, Camera.name == camera_name)
    )
    if site_name:
        query = query.where(Site.name == site_name)
    found = session.execute(query).all()
    if len(found) == 1:
        camera_row: Camera = found[0][0]
        return camera_row
    everything = session.execute(
        select(Site.name, Camera.name)
        .join(Camera, Camera.site_id == Site.id)
        .where(Site.survey_id == survey.id)
        .order_by(Site.name, Camera.name)
    ).all()
    options = [f"{s}/{c}" for s, c in everything]
    problem = "is ambiguous" if found else "does not exist"
    raise NotFoundError(f"camera {camera!r} {problem} in {survey.name!r}; cameras: {options}")


def sites_frame(session: Session, survey_id: int) -> pd.DataFrame:
    """Sites with coordinates, camera and image counts, and first and last photo time."""
    query = (
        select(
            Site.name.label("site"),
            Site.latitude,
            Site.longitude,
            Site.altitude,
            func.count(func.distinct(Camera.id)).label("cameras"),
            func.count(Image.id).label("images"),
            func.min(Image.corrected_timestamp).label("first"),
            func.max(Image.corrected_timestamp).label("last"),
        )
        .join(Camera, Camera.site_id == Site.id, isouter=True)
        .join(Image, Image.camera_id == Camera.id, isouter=True)
        .where(Site.survey_id == survey_id)
        .group_by(Site.id, Site.name, Site.latitude, Site.longitude, Site.altitude)
        .order_by(Site.name)
    )
    return pd.DataFrame(session.execute(query).mappings().all())


def set_setting(session: Session, survey_id: int, key: str, value: Any) -> None:
    """Store one of the survey's settings (None removes it)."""
    stored = session.get(Survey, survey_id)
    if stored is None:
        raise NotFoundError(f"no survey with id {survey_id}")
    settings = dict(stored.settings or {})
    settings.pop(key, None)
    if value is not None:
        settings[key] = value
    stored.settings = settings


def get_survey(workspace: Workspace, ref: SurveyRef) -> Survey:
    """A survey by name, id or object, read in a session of its own (see :func:`find_survey`)."""
    with workspace.sessions() as session:
        return find_survey(session, ref)


def survey_names(session: Session) -> list[str]:
    """Every survey's name, in name order."""
    return list(session.scalars(select(Survey.name).order_by(Survey.name)))


def create_survey(
    workspace: Workspace, /, name: str, description: str = "", **fields: Any
) -> Survey:
    """Create a survey (or return the existing one of that name, also when another process
    made it a moment ago)."""
    from sqlalchemy.exc import IntegrityError

    from traptagger_lab.db.engine import transaction

    try:
        with transaction(workspace.sessions) as session:
            found = session.scalar(select(Survey).where(Survey.name == name))
            if found is not None:
                return found
            survey = Survey(name=name, description=description, settings={}, **fields)
            session.add(survey)
    except IntegrityError:  # made by another process between our read and our write
        return get_survey(workspace, name)
    return survey


def set_survey_setting(workspace: Workspace, survey: SurveyRef, key: str, value: Any) -> None:
    """Store one of the survey's settings (None removes it)."""
    from traptagger_lab.db.engine import transaction

    with transaction(workspace.sessions) as session:
        set_setting(session, find_survey(session, survey).id, key, value)


def set_description(workspace: Workspace, survey: SurveyRef, description: str) -> None:
    """Replace the survey's description (shown with the survey: where its data came from)."""
    from traptagger_lab.db.engine import transaction

    with transaction(workspace.sessions) as session:
        found = find_survey(session, survey)
        stored = session.get(Survey, found.id)
        assert stored is not None
        stored.description = description


def camera_of(workspace: Workspace, survey: SurveyRef, camera: str) -> Camera:
    """A camera by ``"SITE/CAMERA"``, or by camera name when that is unique in the survey.

    Raises:
        NotFoundError: if no camera (or more than one) matches.
    """
    with workspace.sessions() as session:
        return find_camera(session, find_survey(session, survey), camera)


def sites(workspace: Workspace, survey: SurveyRef) -> pd.DataFrame:
    """Sites with coordinates, camera and image counts, and first and last photo time."""
    with workspace.sessions() as session:
        return sites_frame(session, find_survey(session, survey).id)


def shared_surveys(workspace: Workspace) -> pd.DataFrame:
    """Surveys other organisations share with this one: organisation, survey, mode
    (open one with :meth:`~traptagger_lab.lab.Lab.open_shared`)."""
    rows = [
        {"organisation": s.organisation, "survey": s.survey, "mode": s.mode}
        for s in workspace.settings.shared_surveys
    ]
    return pd.DataFrame(rows, columns=["organisation", "survey", "mode"])
