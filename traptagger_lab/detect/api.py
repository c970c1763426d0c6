"""The detection verbs as ``Lab`` offers them: run MegaDetector, import its JSON, the
survey's threshold, filters (masks, static groups, tiny boxes) and their review."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import pandas as pd

from traptagger_lab.db.engine import transaction
from traptagger_lab.errors import ConfigurationError, InputFileError
from traptagger_lab.ingest.api import sources
from traptagger_lab.surveys import SurveyRef, camera_of, get_survey, set_survey_setting
from traptagger_lab.workspace import Workspace

if TYPE_CHECKING:
    from distributed import Client

if TYPE_CHECKING:  # the stage's modules load when a verb runs (torch, Dask...)
    from traptagger_lab.detect.exchange import ImportReport
    from traptagger_lab.detect.filters import FilterReport
    from traptagger_lab.detect.run import DetectReport

log = logging.getLogger(__name__)


def detect(
    workspace: Workspace,
    survey: SurveyRef,
    model: str | None = None,
    device: str = "auto",
    batch_size: int = 8,
    client: Client | None = None,
) -> DetectReport:
    """Run a MegaDetector model over every image of the survey it has not seen yet.

    Args:
        survey: Survey name, id or object.
        model: A known name (``MDV5A``, ``MDV5B``, ``MDV1000-REDWOOD``) or a ``.pt`` path;
            default ``TRAPTAGGER_DETECTOR``.
        device: ``auto`` (GPU when present), ``cpu`` or ``cuda``.
        batch_size: Images per forward pass.
        client: A Dask client to use instead of the workspace's own.

    Returns:
        A :class:`~traptagger_lab.detect.run.DetectReport`.
    """
    from traptagger_lab.detect.registry import resolve
    from traptagger_lab.detect.run import DetectParams, detect_survey

    row = get_survey(workspace, survey)
    settings = workspace.settings
    params = DetectParams(
        spec=resolve(model or settings.detector, settings.model_dir),
        source=sources(workspace, row.id),
        store=workspace.store,
        device=device,
        batch_size=batch_size,
    )
    chosen = client if client is not None else workspace.client
    return detect_survey(workspace.sessions, row.id, row.name, params, chosen)


def import_detections(
    workspace: Workspace, survey: SurveyRef, path: str, model: str | None = None
) -> ImportReport:
    """Store detections from a MegaDetector batch-output JSON instead of running detection.

    Returns:
        An :class:`~traptagger_lab.detect.exchange.ImportReport`: unknown files and the
        detections left out (each named with its reason) are listed.
    """
    from fsspec.core import url_to_fs

    from traptagger_lab.detect.exchange import md_to_survey

    row = get_survey(workspace, survey)
    fs, fs_path = url_to_fs(path, **workspace.settings.fsspec_options(path))
    try:
        document = json.loads(fs.cat_file(fs_path))
    except json.JSONDecodeError as exc:
        raise InputFileError(path, f"not JSON: {exc}") from exc
    with transaction(workspace.sessions) as session:
        report = md_to_survey(session, row.id, document, path, model)
    for unknown in report.unknown_files[:20]:
        log.warning("%s: %s is not an image of survey %r", path, unknown, row.name)
    for problem in report.problems[:20]:
        log.warning("%s", problem)
    return report


def set_detection_threshold(
    workspace: Workspace, survey: SurveyRef, threshold: float | None
) -> None:
    """Score above which this survey's detections count as relevant (None: the model's own).

    MDv5a's typical threshold is 0.2 and MDv5b's 0.1 (``detect/models.json``);
    small or distant species often need less.
    """
    if threshold is not None and not 0 < threshold < 1:
        raise ConfigurationError(f"a detection threshold is between 0 and 1, not {threshold}")
    set_survey_setting(workspace, survey, "detection_threshold", threshold)


def filter_detections(
    workspace: Workspace, /, survey: SurveyRef, hide_small: float | None = None, **static: Any
) -> FilterReport:
    """Masks, the static-detection filter and (optionally) tiny-box hiding, per camera.

    Args:
        survey: Survey name, id or object.
        hide_small: Hide boxes under this share of the frame (e.g. 0.0025); None keeps them.
        **static: :class:`~traptagger_lab.detect.static.StaticParams` fields
            (``min_count``, ``min_share``, ``linger_s``, IoU thresholds...).
    """
    from traptagger_lab.detect.filters import filter_survey
    from traptagger_lab.detect.static import StaticParams

    row = get_survey(workspace, survey)
    return filter_survey(workspace.sessions, row.id, StaticParams(**static), hide_small)


def static_groups(workspace: Workspace, survey: SurveyRef) -> pd.DataFrame:
    """Static groups found on the survey's cameras, with their review status."""
    from traptagger_lab.detect.filters import static_groups_frame

    row = get_survey(workspace, survey)
    with workspace.sessions() as session:
        frame: pd.DataFrame = static_groups_frame(session, row.id)
    return frame


def review_static_group(
    workspace: Workspace, group_id: int, accept: bool, reviewer: str = ""
) -> None:
    """Accept a static group (boxes stay hidden) or reject it (they are real animals)."""
    from traptagger_lab.detect.filters import review_group

    with transaction(workspace.sessions) as session:
        review_group(session, group_id, accept, reviewer)


def static_group_crops(workspace: Workspace, group_id: int, limit: int = 12) -> list[bytes]:
    """JPEG crops of a static group's boxes, best first (on the compressed copies)."""
    from traptagger_lab.detect.crops import crop_jpeg
    from traptagger_lab.detect.filters import static_group_boxes

    with workspace.sessions() as session:
        boxes = static_group_boxes(session, group_id, limit)
    return [crop_jpeg(workspace.store.get(key), x, y, w, h) for key, x, y, w, h in boxes]


def add_mask(
    workspace: Workspace,
    survey: SurveyRef,
    camera: str,
    polygon: list[list[float]],
    created_by: str = "",
) -> int:
    """Add an exclusion polygon (normalised ``[[x, y], ...]``) to a camera; returns its id.

    Boxes wholly inside it become ``masked`` at the next ``filter_detections``.
    """
    from traptagger_lab.db.models import Mask

    if len(polygon) < 3 or any(len(p) != 2 or not all(0 <= v <= 1 for v in p) for p in polygon):
        raise ConfigurationError("a mask needs at least 3 [x, y] points with values in 0-1")
    target = camera_of(workspace, survey, camera)
    with transaction(workspace.sessions) as session:
        mask = Mask(camera_id=target.id, polygon=[list(p) for p in polygon], created_by=created_by)
        session.add(mask)
    return mask.id
