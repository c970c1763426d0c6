"""Observations: each image of a task's settled clusters with the species it shows.

This is the one place that turns annotations into per-image facts; record
tables, exports and the dashboard all read it.

A label can be settled for a whole cluster (a species task) or for one box
of one image (a sighting, or labels imported per file). An image with its own
box labels gets one row per labelled box; the other images of a settled
cluster get the cluster's labels, with the detector's box when the cluster
has one species and the image one relevant box per animal. Built-in labels
(Nothing, Knocked down...) are kept and flagged, so exports can write blanks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import select

from traptagger_lab.annotate.labels import BUILTIN
from traptagger_lab.annotate.settled import (
    LabelsRef,
    Selection,
    merged_labels,
    one_selection,
)
from traptagger_lab.db.engine import chunks
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
from traptagger_lab.detect.relevance import relevant_detections
from traptagger_lab.surveys import find_survey

if TYPE_CHECKING:
    from traptagger_lab.workspace import Workspace

#: Detections that only carry a label for a whole image (imports without boxes).
IMAGE_LABEL = "image_label"

COLUMNS = [
    "image_id",
    "path",
    "site",
    "camera",
    "timestamp",
    "cluster_id",
    "width",
    "height",
    "species",
    "count",
    "builtin",
    "level",
    "detection_id",
    "x",
    "y",
    "w",
    "h",
    "score",
    "individual",
    "by_machine",
    "classified_by",
    "classified_at",
]
IMAGE_COLUMNS = ["image_id", "path", "site", "camera", "timestamp", "cluster_id", "width", "height"]


def survey_images(
    workspace: Workspace, survey_id: int, clusters: Collection[int] | None = None
) -> pd.DataFrame:
    """Every image of a survey (or of these of its clusters): id, path, site, camera,
    timestamp (clock-corrected), cluster.

    Video stills are included (their path ends in ``#t=seconds``).
    """
    query = (
        select(
            Image.id,
            Image.path,
            Site.name,
            Camera.name,
            Image.corrected_timestamp,
            Image.timestamp,
            Image.cluster_id,
            Image.width,
            Image.height,
        )
        .join(Camera, Camera.id == Image.camera_id)
        .join(Site, Site.id == Camera.site_id)
        .where(Image.survey_id == survey_id)
        .order_by(Image.id)
    )
    with workspace.sessions() as session:
        if clusters is None:
            rows = session.execute(query).all()
        else:
            rows = []
            for part in chunks(sorted(clusters)):
                rows.extend(session.execute(query.where(Image.cluster_id.in_(part))).all())
    frame = pd.DataFrame(
        [
            (i, p, s, c, corrected or taken, k, w, h)
            for i, p, s, c, corrected, taken, k, w, h in rows
        ],
        columns=IMAGE_COLUMNS,
    )
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    return frame


def _cluster_counts(workspace: Workspace, tasks: list[int]) -> dict[tuple[int, str], int]:
    """Counts people gave per cluster and label (sighting tasks), latest wins."""
    with workspace.sessions() as session:
        rows = session.execute(
            select(Annotation.cluster_id, Label.name, Annotation.count)
            .join(Label, Label.id == Annotation.label_id)
            .where(
                Annotation.task_id.in_(tasks),
                Annotation.active.is_(True),
                Annotation.detection_id.is_(None),
                Annotation.count.is_not(None),
            )
            .order_by(Annotation.id)
        ).all()
    return {(int(c), name): int(n) for c, name, n in rows if c is not None and n is not None}


def _box_labels(
    workspace: Workspace, task_id: int, individuals: dict[int, str]
) -> dict[int, list[dict[str, Any]]]:
    """Labelled boxes of a task per image id, with the individual each box shows."""
    with workspace.sessions() as session:
        rows = session.execute(
            select(
                Detection.image_id,
                Detection.id,
                Detection.status,
                Detection.x,
                Detection.y,
                Detection.w,
                Detection.h,
                Detection.score,
                Label.name,
                Annotation.count,
                Annotation.annotator,
                Annotation.created_at,
            )
            .join(Annotation, Annotation.detection_id == Detection.id)
            .join(Label, Label.id == Annotation.label_id)
            .where(
                Annotation.task_id == task_id,
                Annotation.active.is_(True),
                Label.is_tag.is_(False),
                Detection.status != "deleted",
            )
            .order_by(Detection.id)
        ).all()
    boxes: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for image_id, det_id, status, x, y, w, h, score, name, count, who, at in rows:
        whole = status == IMAGE_LABEL
        boxes[image_id].append(
            {
                "species": name,
                "count": int(count) if count is not None else 1,
                "level": "image" if whole else "box",
                "detection_id": None if whole else det_id,
                "x": None if whole else x,
                "y": None if whole else y,
                "w": None if whole else w,
                "h": None if whole else h,
                "score": None if whole else score,
                "individual": individuals.get(det_id),
                "by_machine": False,
                "classified_by": who,
                "classified_at": at,
            }
        )
    return boxes


def _individuals(workspace: Workspace, survey_id: int) -> dict[int, str]:
    """Individual name per detection, for the survey's identified animals."""
    with workspace.sessions() as session:
        rows = session.execute(
            select(IndividualDetection.detection_id, Individual.name)
            .join(Individual, Individual.id == IndividualDetection.individual_id)
            .join(Task, Task.id == Individual.task_id)
            .where(Task.survey_id == survey_id)
        ).all()
    return {int(d): str(n) for d, n in rows}


def observations(
    workspace: Workspace,
    ref: LabelsRef | Selection,
    clusters: Collection[int] | None = None,
    people_only: bool = False,
) -> pd.DataFrame:
    """One row per image and species of a survey's settled labels (see the module doc and
    :mod:`~traptagger_lab.annotate.settled`: ``ref`` is the survey, a task or tasks of
    one survey), for every image of the survey or those of ``clusters``.

    ``level`` says where the label came from: ``box`` (a labelled box),
    ``image`` (a label for the whole file, from an import), ``cluster`` (the
    cluster's labels, with the detector's box when it is unambiguous).
    """
    with workspace.sessions() as session:
        chosen = one_selection(session, ref, people_only)
        merged = merged_labels(session, chosen)
    by_cluster = {c: m.names() for c, m in merged.items()}
    images = survey_images(workspace, chosen.survey_id, clusters)
    counts = _cluster_counts(workspace, chosen.label_tasks)
    individuals = _individuals(workspace, chosen.survey_id)
    boxes: dict[int, list[dict[str, Any]]] = {}
    for task_id in chosen.label_tasks:  # a later pass's boxes of a photo replace earlier ones
        boxes.update(_box_labels(workspace, task_id, individuals))
    builtin = {b.lower() for b in BUILTIN}
    single = {c for c, labels in by_cluster.items() if len(labels) == 1}
    detector_boxes: dict[int, list[Any]] = defaultdict(list)
    wanted = images.loc[images["cluster_id"].isin(single), "image_id"].tolist()
    with workspace.sessions() as session:
        survey = find_survey(session, chosen.survey_id)
        for part in chunks(wanted):
            for d in relevant_detections(session, survey, part):
                if d.category == 1:
                    detector_boxes[d.image_id].append(d)
    rows: list[dict[str, Any]] = []
    for image in images.itertuples(index=False):
        base = {c: getattr(image, c) for c in IMAGE_COLUMNS}
        own = boxes.get(image.image_id)
        if own:
            rows.extend({**base, **box} for box in own)
            continue
        settled = merged.get(image.cluster_id)  # NaN (no cluster) finds nothing
        if settled is None or not settled.labels:
            continue
        labels = settled.names()
        how = [
            {
                "by_machine": label.by_machine,
                "classified_by": label.classified_by,
                "classified_at": label.how.at,
            }
            for label in settled.labels
        ]
        found = detector_boxes.get(image.image_id, [])
        if image.cluster_id in single and found and labels[0].lower() not in builtin:
            for d in found:
                rows.append(
                    {
                        **base,
                        **how[0],
                        "species": labels[0],
                        "count": 1,
                        "level": "cluster",
                        "detection_id": d.id,
                        "x": d.x,
                        "y": d.y,
                        "w": d.w,
                        "h": d.h,
                        "score": d.score,
                        "individual": individuals.get(d.id),
                    }
                )
            continue
        for species, provenance in zip(labels, how, strict=True):
            rows.append(
                {
                    **base,
                    **provenance,
                    "species": species,
                    "count": counts.get((int(image.cluster_id), species), 1),
                    "level": "cluster",
                }
            )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["builtin"] = frame["species"].str.lower().isin(builtin)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    return frame
