"""Records of a survey's settled labels and its deployments, read from a workspace: the inputs of
:class:`~traptagger_lab.results.api.Results`, shaped by the pure functions of
:mod:`~traptagger_lab.results.camtrap`."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from traptagger_lab.annotate.labels import BUILTIN
from traptagger_lab.annotate.settled import Selection, labels_by_sequence
from traptagger_lab.deployments.effort import effort_inputs
from traptagger_lab.ingest.videos import file_of
from traptagger_lab.results.camtrap import (
    folder_and_name,
    operation_matrix,
    per_file,
    records_from_observations,
)
from traptagger_lab.results.observations import observations, survey_images
from traptagger_lab.results.spans import labelled_sequences, per_photo_sequences, sequence_spans
from traptagger_lab.surveys import SurveyRef
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


def deployments(
    workspace: Workspace, survey: SurveyRef, outside_deployments: str = "exclude"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(deployments, problems) of a survey's effort: its stored deployments and problem
    periods, with its cameras' outages ('Knocked down' and the like) as problems, when it has
    deployments; else each camera's span of photo days, its far-off photos left out unless
    ``outside_deployments="keep"`` (see :mod:`~traptagger_lab.deployments.effort`).

    Deployments: Station, Camera (None: the whole station), setup, retrieval (times as
    camtrapR counts them: noon when only the date is known), ``setup_time_known``,
    ``retrieval_time_known``, ``deployment_id``, ``source``; problems: Station, Camera,
    start, end (inclusive), reason. Both say which source they come from in
    ``attrs["source"]``: "deployments" or "photos"."""
    return effort_inputs(workspace, survey, outside_deployments)


def camera_operation(
    workspace: Workspace, survey: SurveyRef, half_days: bool = True
) -> pd.DataFrame:
    """The camera-operation matrix of a survey (stations x days, effort in days)."""
    table, outages = deployments(workspace, survey)
    return operation_matrix(table, outages, half_days)
