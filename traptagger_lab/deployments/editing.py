"""Edit one deployment (what the notebook's table editor and the CLI call): set its times,
problem periods, coordinates and other fields, add a new one, or remove one.

Times are ISO text (``2009-04-02`` for a date alone, whose effort counts as camtrapR's half
days; ``2009-04-02 12:00`` with a time), dates, or datetimes. Problem periods are text
(``2009-05-12..2009-05-17 (flooded); ...``, as :func:`~traptagger_lab.deployments.store.
deployments` shows them) or ``(start, end[, reason])`` tuples. A value that breaks a rule
of deployments (retrieval before setup, a problem outside the deployment, an overlap with
another deployment of the camera) is refused and nothing is changed.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import pandas as pd
from sqlalchemy import select

from traptagger_lab.db.engine import transaction
from traptagger_lab.db.models import Deployment
from traptagger_lab.deployments.dates import Moment, iso_moment
from traptagger_lab.deployments.rows import ProblemRow, check_periods, parse_problems
from traptagger_lab.deployments.store import (
    LIMITS,
    Place,
    effort_span,
    locate,
    moments,
    places,
    stored_periods,
    write_problems,
)
from traptagger_lab.errors import ConfigurationError, NotFoundError
from traptagger_lab.exports.fields import FieldError
from traptagger_lab.surveys import SurveyRef, find_survey
from traptagger_lab.workspace import Workspace


class Keep(enum.Enum):
    """The value of a field left as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP
DateInput: TypeAlias = str | dt.date | dt.datetime | pd.Timestamp
ProblemsInput: TypeAlias = (
    str | Sequence[tuple[DateInput, DateInput] | tuple[DateInput, DateInput, str]]
)


def as_moment(value: DateInput, field: str) -> Moment:
    """A time as a :class:`Moment`: a datetime (time known), a date (a date alone), or ISO
    text.

    Raises:
        FieldError: for text that is not an ISO date.
    """
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return Moment(value, True)
    if isinstance(value, dt.date):
        return Moment(dt.datetime.combine(value, dt.time()), False)
    return iso_moment(str(value), field)


def as_problems(value: ProblemsInput) -> tuple[ProblemRow, ...]:
    """Problem periods from text or ``(start, end[, reason])`` tuples."""
    if isinstance(value, str):
        return parse_problems(value)
    return tuple(
        ProblemRow(
            as_moment(p[0], "problems"),
            as_moment(p[1], "problems"),
            str(p[2]) if len(p) > 2 else "",
        )
        for p in value
    )


def _target(
    session: Any, survey_id: int, place: Place, deployment_id: int | None
) -> Deployment | None:
    """The deployment to change: the one named, else the only one at the place (None: a new
    one)."""
    if deployment_id is not None:
        found = session.get(Deployment, deployment_id)
        if found is None or found.survey_id != survey_id:
            raise NotFoundError(f"no deployment {deployment_id} in this survey")
        return found  # type: ignore[no-any-return]
    same = [
        d
        for d in session.scalars(
            select(Deployment).where(
                Deployment.survey_id == survey_id, Deployment.site_id == place.site_id
            )
        )
        if d.camera_id == place.camera_id
    ]
    if len(same) > 1:
        raise ConfigurationError(
            f"{place.station} has {len(same)} deployments: name one with deployment_id "
            f"(one of {sorted(d.id for d in same)})"
        )
    return same[0] if same else None


def set_deployment(
    workspace: Workspace,
    survey: SurveyRef,
    station: str,
    camera: str | None = None,
    *,
    deployment_id: int | None = None,
    setup: DateInput | Keep = KEEP,
    retrieval: DateInput | Keep = KEEP,
    problems: ProblemsInput | Keep = KEEP,
    latitude: float | Keep | None = KEEP,
    longitude: float | Keep | None = KEEP,
    camera_height: float | Keep | None = KEEP,
    bait: str | Keep | None = KEEP,
    habitat: str | Keep | None = KEEP,
    feature_type: str | Keep | None = KEEP,
    covariates: Mapping[str, Any] | Keep = KEEP,
) -> int:
    """Set the fields given of the deployment of ``station`` (and ``camera``; None: the whole
    station), or of ``deployment_id`` (which then moves to ``station``/``camera``), or add
    one (``setup`` and ``retrieval`` needed). Fields not given stay as they are; None
    clears one. ``problems`` replaces the problem periods. Returns the deployment's id.

    Raises:
        NotFoundError: for a station, camera or deployment the survey does not have.
        ConfigurationError: for a value that breaks a rule of deployments (nothing changes).
    """
    fields = {
        "latitude": latitude, "longitude": longitude, "camera_height": camera_height,
        "bait": bait, "habitat": habitat, "feature_type": feature_type,
    }  # fmt: skip
    try:
        with transaction(workspace.sessions) as session:
            target = find_survey(session, survey)
            sites, cameras = places(session, target.id)
            place = locate(station, camera, sites, cameras, target.name)
            row = _target(session, target.id, place, deployment_id)
            if row is None and (isinstance(setup, Keep) or isinstance(retrieval, Keep)):
                raise ConfigurationError(f"a new deployment at {station} needs setup and retrieval")
            old = moments(row) if row is not None else None
            first = as_moment(setup, "setup") if not isinstance(setup, Keep) else old[0]  # type: ignore[index]
            last = as_moment(retrieval, "retrieval") if not isinstance(retrieval, Keep) else old[1]  # type: ignore[index]
            periods = _periods(session, row, problems)
            check_periods(first, last, periods, place.station)
            _check_overlap(session, target.id, row, place, first, last)
            if row is None:
                row = Deployment(survey_id=target.id, covariates={})
                session.add(row)
            row.site_id, row.camera_id = place.site_id, place.camera_id
            row.setup, row.setup_time_known = first.when, first.time_known
            row.retrieval, row.retrieval_time_known = last.when, last.time_known
            for name, value in fields.items():
                if not isinstance(value, Keep):
                    _check_length(name, value)
                    setattr(row, name, value)
            if not isinstance(covariates, Keep):
                row.covariates = dict(covariates)
            session.flush()
            write_problems(session, row.id, periods)
            return row.id
    except FieldError as problem:
        kind = NotFoundError if problem.field in ("station", "camera") else ConfigurationError
        raise kind(f"{problem.field}: {problem.reason}") from None


def _periods(
    session: Any, row: Deployment | None, problems: ProblemsInput | Keep
) -> tuple[ProblemRow, ...]:
    if not isinstance(problems, Keep):
        return as_problems(problems)
    if row is None:
        return ()
    from traptagger_lab.db.models import DeploymentProblem

    stored = session.scalars(
        select(DeploymentProblem).where(DeploymentProblem.deployment_id == row.id)
    )
    return tuple(
        ProblemRow(Moment(p.start, p.start_time_known), Moment(p.end, p.end_time_known), p.reason)
        for p in stored
    )


def _check_length(name: str, value: Any) -> None:
    limit = LIMITS.get(name)
    if limit is not None and isinstance(value, str) and len(value) > limit:
        raise FieldError(name, f"is {len(value)} characters long; at most {limit}")


def _check_overlap(
    session: Any,
    survey_id: int,
    row: Deployment | None,
    place: Place,
    setup: Moment,
    retrieval: Moment,
) -> None:
    start, end = effort_span(setup, retrieval)
    for other, s, e, label in stored_periods(session, survey_id, but=row.id if row else None):
        same = other.camera_id is None or place.camera_id is None
        camera = same or other.camera_id == place.camera_id
        if other.site_id == place.site_id and camera and s < end and start < e:
            raise FieldError("setup", f"the period overlaps the deployment of {label}")


def delete_deployment(workspace: Workspace, survey: SurveyRef, deployment_id: int) -> None:
    """Remove one deployment of a survey (and its problem periods).

    Raises:
        NotFoundError: if the survey has no such deployment.
    """
    with transaction(workspace.sessions) as session:
        target = find_survey(session, survey)
        found = session.get(Deployment, deployment_id)
        if found is None or found.survey_id != target.id:
            raise NotFoundError(f"no deployment {deployment_id} in survey {target.name!r}")
        session.delete(found)
