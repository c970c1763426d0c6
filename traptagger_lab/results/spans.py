"""Records per sequence, aggregated in the database: what lets results scale.

A survey of a million photos has a few hundred thousand sequences (clusters),
and a species label settled for a sequence holds for each of its photos. So
instead of reading every photo, the database gives one row per sequence and
camera: its first and last capture time, its number of photos and its first
photo's path. :func:`~traptagger_lab.results.camtrap.independent_records`
turns these spans into exactly the records per photo would give, and asks for
the photos of the few spans it cannot decide alone (see its docstring).

Sequences where photos differ from each other (a labelled box, an identified
animal) are left to the per-photo observations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from traptagger_lab.annotate.labels import BUILTIN
from traptagger_lab.db.models import (
    Annotation,
    Camera,
    Detection,
    Image,
    Individual,
    IndividualDetection,
    Label,
    Site,
    Task,
)

if TYPE_CHECKING:
    from traptagger_lab.workspace import Workspace

SPAN_COLUMNS = ["cluster_id", "site", "camera", "first", "last", "images", "path"]


def labelled_sequences(tasks: list[int]) -> Select[Any]:
    """A query of the sequences someone gave a species (not a built-in label) in ``tasks``."""
    return (
        select(Annotation.cluster_id)
        .join(Label, Label.id == Annotation.label_id)
        .where(
            Annotation.task_id.in_(tasks),
            Annotation.active.is_(True),
            Annotation.cluster_id.is_not(None),
            Label.is_tag.is_(False),
            func.lower(Label.name).not_in([b.lower() for b in BUILTIN]),
        )
        .distinct()
    )


def sequence_spans(workspace: Workspace, survey_id: int, tasks: list[int]) -> pd.DataFrame:
    """One row per sequence and camera of the survey with a species (not built-in) label
    in ``tasks`` (a selection's :attr:`~traptagger_lab.annotate.settled.Selection.task_ids`):
    cluster_id, site, camera, first and last capture time, images, first photo's path.

    The database ranks each sequence's photos from the index on (cluster, camera,
    corrected time) alone and reads only the first photo's row. Photos without a
    capture time are left out (they have no place in a record table).
    """
    part = (Image.cluster_id, Image.camera_id)
    ranked = (
        select(
            Image.id,
            Image.cluster_id,
            Image.camera_id,
            Image.corrected_timestamp.label("first"),
            func.max(Image.corrected_timestamp).over(partition_by=part).label("last"),
            func.count().over(partition_by=part).label("images"),
            func.row_number()
            .over(partition_by=part, order_by=(Image.corrected_timestamp, Image.id))
            .label("rank"),
        )
        .where(
            Image.cluster_id.in_(labelled_sequences(tasks)),
            Image.corrected_timestamp.is_not(None),
        )
        .subquery()
    )
    photo = aliased(Image)
    query = (
        select(
            ranked.c.cluster_id,
            ranked.c.camera_id,
            ranked.c.first,
            ranked.c.last,
            ranked.c.images,
            photo.path,
        )
        .join(photo, photo.id == ranked.c.id)
        .where(ranked.c.rank == 1)
    )
    with workspace.sessions() as session:
        rows = session.execute(query).all()
        names = session.execute(
            select(Camera.id, Site.name, Camera.name)
            .join(Site, Site.id == Camera.site_id)
            .where(Site.survey_id == survey_id)
        ).all()
    columns = ["cluster_id", "camera_id", "first", "last", "images", "path"]
    frame = pd.DataFrame(rows, columns=columns)
    cameras = pd.DataFrame(names, columns=["camera_id", "site", "camera"])
    frame = frame.merge(cameras, on="camera_id", how="left")
    frame["first"] = pd.to_datetime(frame["first"]).astype("datetime64[ns]")
    frame["last"] = pd.to_datetime(frame["last"]).astype("datetime64[ns]")
    return frame[SPAN_COLUMNS]


def per_photo_sequences(workspace: Workspace, survey_id: int, tasks: list[int]) -> set[int]:
    """Sequences whose photos carry their own labels (boxes, imports per file) in ``tasks``
    or show identified animals of the survey: their records come from the per-photo
    observations."""
    with workspace.sessions() as session:
        boxed = session.scalars(
            select(Image.cluster_id)
            .join(Detection, Detection.image_id == Image.id)
            .join(Annotation, Annotation.detection_id == Detection.id)
            .where(Annotation.task_id.in_(tasks), Annotation.active.is_(True))
            .distinct()
        ).all()
        identified = session.scalars(
            select(Image.cluster_id)
            .join(Detection, Detection.image_id == Image.id)
            .join(IndividualDetection, IndividualDetection.detection_id == Detection.id)
            .join(Individual, Individual.id == IndividualDetection.individual_id)
            .join(Task, Task.id == Individual.task_id)
            .where(Task.survey_id == survey_id)
            .distinct()
        ).all()
    return {int(c) for c in [*boxed, *identified] if c is not None}
