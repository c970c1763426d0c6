"""The classification stage: crops of relevant boxes -> species scores -> cluster suggestions.

Workers read each photo once, cut a square around every relevant animal box
(black outside the photo, as TrapTagger does) and classify the crops in one
batch; the client stores the top label per detection. Then every active
cluster gets a :class:`ClusterSuggestion`: the label with most confident
detections, whether the survey kind's rule auto-labels it, and the reason.
Re-running skips detections the classifier has already scored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from io import BytesIO
from typing import TYPE_CHECKING, Any

from pydantic import Field, InstanceOf
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from traptagger_lab.classify.aggregate import RULES, ScoredDetection, Suggestion, suggest
from traptagger_lab.classify.model import ClassifierSpec, classify_crops, load_network
from traptagger_lab.compute import gpu_resources, map_unordered
from traptagger_lab.db.engine import chunks, transaction
from traptagger_lab.db.models import (
    Classification,
    Cluster,
    ClusterSuggestion,
    Image,
    Survey,
    utcnow,
)
from traptagger_lab.detect.crops import square_crop
from traptagger_lab.detect.relevance import relevant_detections
from traptagger_lab.ingest.sources import SurveySources
from traptagger_lab.params import StageParams
from traptagger_lab.runs import finish_run, outcome, start_run
from traptagger_lab.storage import BlobStore

if TYPE_CHECKING:
    from distributed import Client

#: MegaDetector's person and vehicle boxes need no species classifier.
CATEGORY_LABELS = {2: "human", 3: "vehicle"}


class ClassifyParams(StageParams):
    """What a worker needs: the classifier and where the pictures are.

    ``spec``, ``source`` and ``store`` are objects already made (a loaded classifier
    folder, the survey's sources, the blob store), taken as they are (checked by type only).
    """

    spec: InstanceOf[ClassifierSpec] = Field(
        description="The classifier: its weights, labels, input size and class thresholds."
    )
    source: InstanceOf[SurveySources] = Field(
        description="Where the survey's pictures are (each source's root)."
    )
    store: InstanceOf[BlobStore] = Field(description="The blob store video stills are read from.")
    device: str = Field(
        default="cpu",
        description="Where the network runs: cpu or cuda (classify resolves auto first).",
    )


@dataclass(frozen=True)
class CropJob:
    """One picture and the boxes on it to classify: (detection id, x, y, w, h)."""

    path: str
    stored_key: str | None
    boxes: tuple[tuple[int, float, float, float, float], ...]
    source_id: int | None = None  # the survey source ``path`` is relative to


@lru_cache(maxsize=2)
def _network(weights: str, device: str) -> Any:
    """The loaded network, once per worker process and device."""
    return load_network(weights, device)


def classify_pictures(params: ClassifyParams, jobs: list[CropJob]) -> list[tuple[int, str, float]]:
    """Classify every box of every picture (runs on a worker); unreadable pictures are skipped."""
    from PIL import Image as PILImage

    network = _network(str(params.spec.weights), params.device)
    ids, crops = [], []
    for job in jobs:
        try:
            data = (
                params.store.get(job.stored_key)
                if job.stored_key
                else params.source.read(job.path, job.source_id)
            )
            with PILImage.open(BytesIO(data)) as opened:
                picture = opened.convert("RGB")
        except (OSError, ValueError, SyntaxError):
            continue  # detection already recorded why this picture is unreadable
        for detection_id, x, y, w, h in job.boxes:
            ids.append(detection_id)
            crops.append(square_crop(picture, x, y, w, h, pad=params.spec.crop_pad))
    labels = classify_crops(network, params.spec, crops, params.device)
    return [(d, label, score) for d, (label, score) in zip(ids, labels, strict=True)]


@dataclass
class ClassifyReport:
    """What a classification run did."""

    classifier: str
    classified: int = 0
    skipped: int = 0
    clusters: int = 0
    auto_labelled: int = 0
    labels: dict[str, int] = field(default_factory=dict)


def _pending_jobs(
    session: Session, survey: Survey, name: str, relevant: list[Any]
) -> tuple[list[CropJob], int]:
    animals = [r for r in relevant if r.category == 1]
    done: set[int] = set()
    for part in chunks([r.id for r in animals]):
        done.update(
            session.scalars(
                select(Classification.detection_id).where(
                    Classification.detection_id.in_(part), Classification.model == name
                )
            )
        )
    by_image: dict[int, list[Any]] = defaultdict(list)
    for r in animals:
        if r.id not in done:
            by_image[r.image_id].append(r)
    pictures = {}
    for part in chunks(list(by_image)):
        pictures.update(
            {
                i: (p, k if f else None, s)
                for i, p, k, f, s in session.execute(
                    select(
                        Image.id,
                        Image.path,
                        Image.compressed_key,
                        Image.is_video_frame,
                        Image.source_id,
                    ).where(Image.id.in_(part))
                )
            }
        )
    jobs = [
        CropJob(*pictures[i][:2], tuple((r.id, r.x, r.y, r.w, r.h) for r in rows), pictures[i][2])
        for i, rows in sorted(by_image.items())
    ]
    return jobs, len(done)


def _suggestions(
    session: Session,
    survey: Survey,
    name: str,
    relevant: list[Any],
    translations: Mapping[str, str | None],
    thresholds: Mapping[str, float],
) -> list[tuple[int, Suggestion]]:
    top: dict[int, tuple[str, float]] = {}
    animal_ids = [r.id for r in relevant if r.category == 1]
    for part in chunks(animal_ids):
        for detection_id, label, score in session.execute(
            select(Classification.detection_id, Classification.label, Classification.score).where(
                Classification.detection_id.in_(part), Classification.model == name
            )
        ):
            top[detection_id] = (label, score)
    cluster_of = dict(
        session.execute(
            select(Image.id, Image.cluster_id).where(
                Image.survey_id == survey.id, Image.cluster_id.is_not(None)
            )
        ).all()
    )
    per_cluster: dict[int, list[ScoredDetection]] = defaultdict(list)
    for r in relevant:
        cluster_id = cluster_of.get(r.image_id)
        if cluster_id is None:
            continue
        label, score = CATEGORY_LABELS.get(r.category, ""), 1.0
        if r.category == 1:
            if r.id not in top:
                continue
            label, score = top[r.id]
        per_cluster[cluster_id].append(ScoredDetection(r.id, label, score, r.w * r.h))
    rule = RULES.get(survey.kind, RULES["trails"])
    active = session.scalars(
        select(Cluster.id).where(Cluster.survey_id == survey.id, Cluster.active.is_(True))
    )
    fixed = {"human": 0.0, "vehicle": 0.0, **thresholds}
    return [(c, suggest(per_cluster.get(c, []), fixed, translations, rule)) for c in active]


def classify_survey(
    sessions: sessionmaker[Session],
    survey_id: int,
    params: ClassifyParams,
    client: Client | None,
    translations: Mapping[str, str | None] | None = None,
    pictures_per_task: int = 32,
) -> ClassifyReport:
    """Classify a survey's relevant animal boxes and (re)compute every cluster's suggestion."""
    spec, name = params.spec, params.spec.name
    translations = dict(translations or {})
    report = ClassifyReport(name)
    with transaction(sessions) as session:
        survey = session.get(Survey, survey_id)
        assert survey is not None
        run = start_run(
            session,
            survey_id,
            "classify",
            {
                "classifier": str(spec.weights),
                "translations": translations,
                "thresholds": spec.thresholds,
                "survey_kind": survey.kind,
            },
            model=name,
        )
        relevant = relevant_detections(session, survey)
        jobs, report.skipped = _pending_jobs(session, survey, name, relevant)
    tasks = [list(part) for part in chunks(jobs, pictures_per_task)]
    try:
        for _, results in map_unordered(
            client,
            classify_pictures,
            tasks,
            params,
            description=f"classify ({name})",
            unit="picture",
            weight=len,
            resources=gpu_resources(client),
        ):
            _store_classifications(sessions, results, name, run.id)
            report.classified += len(results)
        with transaction(sessions) as session:
            survey = session.get(Survey, survey_id)
            assert survey is not None
            suggestions = _suggestions(
                session, survey, name, relevant, translations, spec.thresholds
            )
            _store_suggestions(session, suggestions, name, run.id)
    except BaseException as exc:
        finish_run(sessions, run.id, {"classified": report.classified}, outcome(exc), repr(exc))
        raise
    report.clusters = len(suggestions)
    report.auto_labelled = sum(1 for _, s in suggestions if s.auto)
    for _, s in suggestions:
        report.labels[s.label] = report.labels.get(s.label, 0) + 1
    finish_run(sessions, run.id, {k: v for k, v in vars(report).items() if k != "classifier"})
    return report


def _store_classifications(
    sessions: sessionmaker[Session], results: list[tuple[int, str, float]], name: str, run_id: int
) -> None:
    if not results:
        return
    with transaction(sessions) as session:
        session.execute(
            insert(Classification),
            [
                {"detection_id": d, "label": label, "score": s, "model": name, "run_id": run_id}
                for d, label, s in results
            ],
        )


def _store_suggestions(
    session: Session, suggestions: list[tuple[int, Suggestion]], name: str, run_id: int
) -> None:
    """Replace the clusters' suggestions by this classifier with the new ones."""
    for part in chunks([c for c, _ in suggestions]):
        session.execute(
            delete(ClusterSuggestion).where(
                ClusterSuggestion.cluster_id.in_(part), ClusterSuggestion.model == name
            )
        )
    rows = [
        {
            "cluster_id": c,
            "run_id": run_id,
            "model": name,
            "label": s.label,
            "detections": s.detections,
            "share": s.share,
            "auto": s.auto,
            "reason": s.reason,
            "created_at": utcnow(),
        }
        for c, s in suggestions
    ]
    for part in chunks(rows):
        session.execute(insert(ClusterSuggestion), list(part))
