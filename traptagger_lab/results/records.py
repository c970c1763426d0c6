"""Records of a survey's settled labels and its deployments, read from a workspace: the inputs of
:class:`~traptagger_lab.results.api.Results`, shaped by the pure functions of
:mod:`~traptagger_lab.results.camtrap`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from traptagger_lab.annotate.labels import BUILTIN
from traptagger_lab.annotate.settled import Selection, labels_by_sequence
from traptagger_lab.db.models import Camera, CameraOutage, Image, Site
from traptagger_lab.ingest.videos import file_of
from traptagger_lab.results.camtrap import (
    folder_and_name,
    operation_matrix,
    per_file,
    records_from_observations,
)
from traptagger_lab.results.observations import observations, survey_images
from traptagger_lab.results.spans import labelled_sequences, per_photo_sequences, sequence_spans
from traptagger_lab.surveys import SurveyRef, find_survey
from traptagger_lab.workspace import Workspace


def photo_records(
    workspace: Workspace,
    chosen: Selection,
    clusters: Iterable[int] | None = None,
    exclude: Iterable[str] = (),
) -> pd.DataFrame:
    """Records per file (see :func:`records_from_observations`) of the settled labels,
    for the whole survey or only ``clusters``."""
    wanted = None if clusters is None else sorted({int(c) for c in clusters})
    return records_from_observations(observations(workspace, chosen, wanted), exclude)


def sequence_photos(
    workspace: Workspace, chosen: Selection, clusters: Iterable[int]
) -> pd.DataFrame:
    """The photos of sequences labelled as a whole, as records without their species
    (the sequence's record has it): Station, Camera, DateTimeOriginal, Directory,
    FileName, cluster_id. A video is one record, at its first still."""
    images = survey_images(workspace, chosen.survey_id, sorted({int(c) for c in clusters}))
    return per_file(images, ["cluster_id"])


def species_records(
    workspace: Workspace, chosen: Selection, exclude: Iterable[str] = ()
) -> pd.DataFrame:
    """The records of the settled labels (:mod:`~traptagger_lab.annotate.settled`; built-in
    labels such as Nothing left out):
    Station, Camera, Species, Individual, DateTimeOriginal, Directory, FileName, cluster_id.

    A sequence labelled as a whole is one row per camera and species, read from the
    database in aggregate (:mod:`~traptagger_lab.results.spans`): DateTimeOriginal and
    the file are its first photo's, ``DateTimeLast`` its last photo's time, ``Images``
    its number of photos. Sequences whose photos carry labels of their own or show
    identified animals give one row per file and species, with no ``DateTimeLast``.
    :func:`independent_records` gives the same table from either.
    """
    tasks = chosen.task_ids
    per_photo = per_photo_sequences(workspace, chosen.survey_id, tasks)
    spans = sequence_spans(workspace, chosen.survey_id, tasks)
    spans = spans[~spans["cluster_id"].isin(per_photo)]
    with workspace.sessions() as session:
        settled = labels_by_sequence(session, chosen, labelled_sequences(tasks))
    labels = pd.DataFrame(
        [(c, name) for c, names in settled.items() for name in names],
        columns=["cluster_id", "Species"],
    )
    skip = {e.lower() for e in exclude} | {b.lower() for b in BUILTIN}
    labels = labels[~labels["Species"].str.lower().isin(skip)]
    spans = spans.merge(labels, on="cluster_id")
    directory, name = folder_and_name(spans["path"].map(file_of))
    whole = pd.DataFrame(
        {
            "Station": spans["site"],
            "Camera": spans["camera"],
            "Species": spans["Species"],
            "Individual": None,
            "DateTimeOriginal": spans["first"],
            "Directory": directory,
            "FileName": name,
            "cluster_id": spans["cluster_id"],
            "DateTimeLast": spans["last"],
            "Images": spans["images"],
        }
    )
    photos = photo_records(workspace, chosen, per_photo, exclude) if per_photo else None
    if photos is None or photos.empty:
        return whole.reset_index(drop=True)
    return pd.concat([whole, photos], ignore_index=True)


def deployments(workspace: Workspace, survey: SurveyRef) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(deployments, outages) of a survey's cameras: setup and retrieval from each camera's
    first and last image, outages from 'Knocked down' and the like."""
    with workspace.sessions() as session:
        target = find_survey(session, survey)

        def edge(how: Any) -> Any:  # one look into ix_image_camera_time per camera
            return (
                select(how(Image.corrected_timestamp))
                .where(Image.camera_id == Camera.id)
                .scalar_subquery()
            )

        spans = session.execute(
            select(Site.name, Camera.id, edge(func.min), edge(func.max))
            .join(Site, Site.id == Camera.site_id)
            .where(Site.survey_id == target.id)
        ).all()
        outages = session.execute(
            select(Site.name, CameraOutage.start, CameraOutage.end)
            .join(Camera, Camera.id == CameraOutage.camera_id)
            .join(Site, Site.id == Camera.site_id)
            .where(Site.survey_id == target.id)
        ).all()
    table = pd.DataFrame(
        [(s, first, last) for s, _, first, last in spans if first is not None],
        columns=["Station", "setup", "retrieval"],
    )
    return table, pd.DataFrame(outages, columns=["Station", "start", "end"])


def camera_operation(
    workspace: Workspace, survey: SurveyRef, half_days: bool = True
) -> pd.DataFrame:
    """The camera-operation matrix of a survey (stations x days, effort in days)."""
    table, outages = deployments(workspace, survey)
    return operation_matrix(table, outages, half_days)
