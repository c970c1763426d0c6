"""The classification verbs as ``Lab`` offers them: classify a survey's animals and read
each sequence's AI suggestion."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import select

from traptagger_lab.db.models import Cluster, ClusterSuggestion, Site
from traptagger_lab.errors import ConfigurationError
from traptagger_lab.ingest.api import sources
from traptagger_lab.surveys import SurveyRef, get_survey
from traptagger_lab.workspace import Workspace

if TYPE_CHECKING:
    from distributed import Client

if TYPE_CHECKING:  # torch loads when a classifier runs
    from traptagger_lab.classify.run import ClassifyReport


def classify(
    workspace: Workspace,
    survey: SurveyRef,
    classifier: str | None = None,
    translations: dict[str, str | None] | None = None,
    device: str = "auto",
    client: Client | None = None,
) -> ClassifyReport:
    """Classify the survey's relevant animal boxes and suggest a label for every cluster.

    Args:
        survey: Survey name, id or object.
        classifier: A classifier folder (``classifier.pt``/``model.pt`` + ``label_index.json``),
            or the name of a classifier registered with ``lab.training.register``;
            default: the survey's registered classifier.
        translations: Classifier label -> task label (None drops it),
            e.g. ``{"gazelle_thomsons": "Gazelle"}``.
        device: ``auto`` (GPU when present), ``cpu`` or ``cuda``.
        client: A Dask client to use instead of the workspace's own.

    Returns:
        A :class:`~traptagger_lab.classify.run.ClassifyReport`; suggestions are in
        :func:`cluster_suggestions`.
    """
    from traptagger_lab.classify.model import load_spec
    from traptagger_lab.classify.run import ClassifyParams, classify_survey
    from traptagger_lab.detect.run import pick_device
    from traptagger_lab.training.api import Training

    row = get_survey(workspace, survey)
    chosen = classifier or (row.settings or {}).get("classifier")
    if not chosen:
        raise ConfigurationError(
            f"survey {row.name!r} has no registered classifier: give a classifier folder "
            "or register one (lab.training.register)"
        )
    folder = Path(chosen).expanduser()
    if not folder.is_dir():
        folder = Training(workspace).local_folder(chosen)
    params = ClassifyParams(
        spec=load_spec(folder),
        source=sources(workspace, row.id),
        store=workspace.store,
        device=pick_device(device),
    )
    compute = client if client is not None else workspace.client
    return classify_survey(workspace.sessions, row.id, params, compute, translations)


def cluster_suggestions(workspace: Workspace, survey: SurveyRef) -> pd.DataFrame:
    """Each cluster's AI suggestion: label, supporting detections, share, auto-label and why."""
    row = get_survey(workspace, survey)
    query = (
        select(
            ClusterSuggestion.cluster_id,
            Site.name.label("site"),
            Cluster.start,
            ClusterSuggestion.model,
            ClusterSuggestion.label,
            ClusterSuggestion.detections,
            ClusterSuggestion.share,
            ClusterSuggestion.auto,
            ClusterSuggestion.reason,
        )
        .join(Cluster, Cluster.id == ClusterSuggestion.cluster_id)
        .join(Site, Site.id == Cluster.site_id)
        .where(Cluster.survey_id == row.id, Cluster.active.is_(True))
        .order_by(Cluster.start, ClusterSuggestion.cluster_id)
    )
    with workspace.sessions() as session:
        return pd.DataFrame(session.execute(query).mappings().all())
