"""Which detections count: active, and scoring above the survey's or the model's threshold.

One rule for every stage and screen (classification, the annotation widgets,
later results): the survey's own ``detection_threshold`` when set, else the
detecting model's typical threshold from ``models.json`` (0.2 for unknown sources).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from traptagger_lab.db.engine import chunks
from traptagger_lab.db.models import Detection, Image, Survey
from traptagger_lab.detect.registry import DEFAULT_TYPICAL, known_models


def relevance_threshold(survey: Survey, source_model: str) -> float:
    """Score above which a detection is relevant: the survey's own, else the model's typical."""
    own = (survey.settings or {}).get("detection_threshold")
    if own is not None:
        return float(own)
    return float(known_models().get(source_model.upper(), {}).get("typical", DEFAULT_TYPICAL))


def relevant_detections(
    session: Session, survey: Survey, image_ids: Sequence[int] | None = None
) -> list[Any]:
    """Active, relevant detections of the survey (or of the given images of it).

    Rows have ``id, image_id, category, score, source, x, y, w, h``.
    """
    columns = (
        Detection.id,
        Detection.image_id,
        Detection.category,
        Detection.score,
        Detection.source,
        Detection.x,
        Detection.y,
        Detection.w,
        Detection.h,
    )
    base = (
        select(*columns)
        .join(Image, Image.id == Detection.image_id)
        .where(Image.survey_id == survey.id, Detection.status == "active")
    )
    if image_ids is None:
        rows = list(session.execute(base).all())
    else:
        rows = []
        for part in chunks(list(image_ids)):
            rows.extend(session.execute(base.where(Detection.image_id.in_(part))).all())
    return [r for r in rows if r.score >= relevance_threshold(survey, r.source)]
