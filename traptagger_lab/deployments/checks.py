"""Checks of photos against deployments that warn and never change anything.

Kinds of finding (:func:`deployment_checks`, one row each):

``far_from_camera``
    A photo far in time from the rest of its camera's photos (a clock reset, a stray
    file): robustly, on the camera's distinct photo days, a day beyond Tukey's far-out
    fences (the first and third quartile -/+ ``iqr_factor`` interquartile ranges, the
    range taken as at least one day) that is also more than ``min_gap_days`` from the
    nearest day inside them. Cameras with fewer than ``min_days`` photo days are not
    judged. camtrapR's sample: StationA's video of 2025 among photos of April-May 2009.
``outside_deployment``
    A photo before its deployment's setup, after its retrieval, or between two of its
    deployments (dates alone count whole days).
``no_deployment``
    A camera with photos that no deployment covers, in a survey that has deployments
    (one row per camera).
``span_mismatch``
    A deployment whose camera's photos (far-off ones aside) run past its setup or
    retrieval, that has no photo at all, or whose photos begin ``idle_days`` after setup
    or end ``idle_days`` before retrieval outside its problem periods (did the camera stop
    early?).

Results leave out photos outside deployments by default (and, in surveys without
deployments, far-off photos, whose camera's effort they would stretch); see
:mod:`~traptagger_lab.deployments.effort`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd
from pydantic import Field
from sqlalchemy import func, not_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from traptagger_lab.db.models import Camera, Image, Site
from traptagger_lab.deployments import periods
from traptagger_lab.deployments.store import stored
from traptagger_lab.ingest.videos import file_of
from traptagger_lab.params import StageParams
from traptagger_lab.surveys import SurveyRef, find_survey
from traptagger_lab.workspace import Workspace

KINDS = ("far_from_camera", "outside_deployment", "no_deployment", "span_mismatch")
COLUMNS = ["kind", "station", "camera", "file", "timestamp", "detail"]
DAY = pd.Timedelta(days=1)


class CheckParams(StageParams):
    """When a photo is far from its camera's others, and when a deployment's photos disagree
    with its dates."""

    iqr_factor: float = Field(
        default=3.0,
        gt=0,
        description="Interquartile ranges of a camera's photo days beyond its quartiles "
        "that a day must lie to be far off (Tukey's far-out fence is 3).",
    )
    min_gap_days: float = Field(
        default=60.0,
        ge=0,
        description="Days a far-off day must also be from the nearest of the camera's "
        "other photo days (days).",
    )
    min_days: int = Field(
        default=4,
        ge=3,
        description="Distinct photo days a camera needs before any of its photos is "
        "judged far off (days).",
    )
    idle_days: float = Field(
        default=30.0,
        ge=0,
        description="Days without photos after setup or before retrieval, outside problem "
        "periods, after which a deployment is reported (days).",
    )


def far_off_days(days: Iterable[dt.date], params: CheckParams) -> set[dt.date]:
    """The days (of one camera's distinct photo days) that are far from the others (see the
    module doc)."""
    unique = sorted(set(days))
    if len(unique) < params.min_days:
        return set()
    ordinals = np.array([d.toordinal() for d in unique], dtype=float)
    q1, q3 = np.percentile(ordinals, [25, 75])
    spread = params.iqr_factor * max(q3 - q1, 1.0)
    inside = ordinals[(ordinals >= q1 - spread) & (ordinals <= q3 + spread)]
    far = set()
    for day, ordinal in zip(unique, ordinals, strict=True):
        if q1 - spread <= ordinal <= q3 + spread:
            continue
        if np.abs(inside - ordinal).min() > params.min_gap_days:
            far.add(day)
    return far


def camera_days(session: Session, survey_id: int) -> pd.DataFrame:
    """Per camera and photo day: photos, first and last (clock-corrected) time. One pass over
    the camera/time index, whatever the survey's size."""
    moment = Image.corrected_timestamp
    day = func.date(moment)
    rows = session.execute(
        select(
            Image.camera_id,
            Site.name,
            Camera.name,
            day,
            func.count(),
            func.min(moment),
            func.max(moment),
        )
        .join(Camera, Camera.id == Image.camera_id)
        .join(Site, Site.id == Camera.site_id)
        .where(Image.survey_id == survey_id, moment.is_not(None))
        .group_by(Image.camera_id, Site.name, Camera.name, day)
    ).all()
    frame = pd.DataFrame(
        rows, columns=["camera_id", "station", "camera", "day", "photos", "first", "last"]
    )
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    for column in ("first", "last"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def photo_spans(days: pd.DataFrame, params: CheckParams, robust: bool = True) -> pd.DataFrame:
    """Per camera: ``station``, ``camera``, ``first`` and ``last`` photo time, ``far`` (its
    far-off days, left out of the span when ``robust``)."""
    rows = []
    for (camera_id, station, camera), group in days.groupby(
        ["camera_id", "station", "camera"], sort=True
    ):
        far = far_off_days(group["day"], params)
        kept = group[~group["day"].isin(far)] if robust else group
        rows.append((camera_id, station, camera, kept["first"].min(), kept["last"].max(), far))
    return pd.DataFrame(rows, columns=["camera_id", "station", "camera", "first", "last", "far"])


def _photos(
    session: Session, camera_id: int, *conditions: ColumnElement[bool]
) -> list[tuple[str, dt.datetime]]:
    """(file, time) of a camera's photos that meet the conditions, one per file (a video
    at its first still), in time order."""
    found = session.execute(
        select(Image.path, Image.corrected_timestamp)
        .where(Image.camera_id == camera_id, Image.corrected_timestamp.is_not(None), *conditions)
        .order_by(Image.corrected_timestamp)
    ).all()
    seen: dict[str, dt.datetime] = {}
    for path, moment in found:
        if moment is not None:
            seen.setdefault(file_of(path), moment)
    return sorted(seen.items(), key=lambda item: item[1])


def _far_rows(session: Session, spans: pd.DataFrame) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for span in spans.itertuples():
        for day in sorted(span.far):
            start = dt.datetime.combine(day, dt.time())
            moment = Image.corrected_timestamp
            for file, when in _photos(
                session, span.camera_id, moment >= start, moment < start + dt.timedelta(days=1)
            ):
                gap = min(abs((when - span.first).days), abs((when - span.last).days))
                rows.append(
                    (
                        "far_from_camera", span.station, span.camera, file, when,
                        f"{gap} days from the camera's other photos "
                        f"({span.first:%Y-%m-%d} to {span.last:%Y-%m-%d})",
                    )
                )  # fmt: skip
    return rows


def _where(first: pd.Timestamp, last: pd.Timestamp, moment: dt.datetime) -> str:
    if moment < first:
        return f"before setup ({first:%Y-%m-%d %H:%M})"
    if moment > last:
        return f"after retrieval ({last:%Y-%m-%d %H:%M})"
    return "between two deployments"


def _outside_rows(
    session: Session, spans: pd.DataFrame, deployments: pd.DataFrame
) -> list[tuple[object, ...]]:
    """Photos outside every deployment of their camera; cameras with none."""
    rows: list[tuple[object, ...]] = []
    first, last = periods.bounds(deployments)
    moment = Image.corrected_timestamp
    for span in spans.itertuples():
        mine = (deployments["Station"] == span.station) & (
            deployments["Camera"].isna() | (deployments["Camera"] == span.camera)
        )
        if not mine.any():
            rows.append(
                (
                    "no_deployment", span.station, span.camera, None, span.first,
                    f"photos from {span.first:%Y-%m-%d} to {span.last:%Y-%m-%d} and no "
                    "deployment covers this camera",
                )
            )  # fmt: skip
            continue
        inside = or_(*(moment.between(a, b) for a, b in zip(first[mine], last[mine], strict=True)))
        for file, when in _photos(session, span.camera_id, not_(inside)):
            where = _where(first[mine].min(), last[mine].max(), when)
            rows.append(("outside_deployment", span.station, span.camera, file, when, where))
    return rows


def _uncovered_days(start: pd.Timestamp, end: pd.Timestamp, problems: pd.DataFrame) -> float:
    """Days from ``start`` to ``end`` that no problem period covers."""
    total = max(float((end - start) / DAY), 0.0)
    for a, b in zip(problems["start"], problems["end"], strict=True):
        overlap = float((min(end, b) - max(start, a)) / DAY)
        total -= max(overlap, 0.0)
    return total


def _span_rows(
    session: Session,
    spans: pd.DataFrame,
    deployments: pd.DataFrame,
    problems: pd.DataFrame,
    params: CheckParams,
) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    first, last = periods.bounds(deployments)
    for index, deployment in deployments.iterrows():
        a, b = first[index], last[index]
        held = spans[spans["station"] == deployment["Station"]]
        if deployment["Camera"] is not None and not pd.isna(deployment["Camera"]):
            held = held[held["camera"] == deployment["Camera"]]
        label = deployment["Camera"] if isinstance(deployment["Camera"], str) else None
        seen = held[(held["last"] >= a) & (held["first"] <= b)]
        if held.empty or seen.empty:
            rows.append(
                ("span_mismatch", deployment["Station"], label, None, a,
                 f"no photos between setup {a:%Y-%m-%d} and retrieval {b:%Y-%m-%d}")
            )  # fmt: skip
            continue
        early, late = held["first"].min(), held["last"].max()
        if early < a or late > b:
            rows.append(
                ("span_mismatch", deployment["Station"], label, None, early,
                 f"photos from {early:%Y-%m-%d} to {late:%Y-%m-%d} (far-off ones aside) but "
                 f"deployed from {a:%Y-%m-%d} to {b:%Y-%m-%d}: wrong dates, or the clock?")
            )  # fmt: skip
        mine = problems[problems["deployment_id"] == deployment["deployment_id"]]
        gaps = (
            ("after setup", a, max(seen["first"].min(), a)),
            ("before retrieval", min(seen["last"].max(), b), b),
        )
        for where, start, end in gaps:
            idle = _uncovered_days(start, end, mine)
            if idle > params.idle_days:
                rows.append(
                    ("span_mismatch", deployment["Station"], label, None, start,
                     f"no photos for {idle:.0f} days {where}, outside problem periods: did "
                     "the camera stop? (add a problem period)")
                )  # fmt: skip
    return rows


def deployment_checks(
    workspace: Workspace, survey: SurveyRef, params: CheckParams | None = None
) -> pd.DataFrame:
    """What in a survey's photos disagrees with its deployments, one finding per row: kind
    (see the module doc), station, camera, file, timestamp and detail. Nothing is changed;
    results leave photos outside deployments out by default."""
    params = params or CheckParams()
    with workspace.sessions() as session:
        target = find_survey(session, survey)
        spans = photo_spans(camera_days(session, target.id), params)
        rows = _far_rows(session, spans)
        saved, saved_problems = stored(session, target.id)
        if not saved.empty:
            deployments = periods.effort_deployments(saved)
            problems = periods.effort_problems(saved_problems, deployments)
            rows += _outside_rows(session, spans, deployments)
            rows += _span_rows(session, spans, deployments, problems, params)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    order = frame["kind"].map({k: n for n, k in enumerate(KINDS)})
    frame = frame.assign(_order=order).sort_values(
        ["_order", "station", "camera", "timestamp"], kind="stable", na_position="first"
    )
    return frame.drop(columns="_order").reset_index(drop=True)


def check_counts(found: pd.DataFrame) -> dict[str, int]:
    """How many findings of each kind (every kind, 0 when none)."""
    counts = found["kind"].value_counts()
    return {kind: int(counts.get(kind, 0)) for kind in KINDS}
