"""The detection stage: images of a survey -> boxes in the database, on Dask, resumable.

Workers read each photo (the original from the survey source; for video stills
the stored copy), decode and letterbox in a thread pool while the network runs
on the previous batch, and return boxes; the client writes one transaction per
batch. Every image gets a :class:`DetectionPass` row (done, or failed with the
reason), so a re-run does only what is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import Field, InstanceOf
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from traptagger_lab.compute import gpu_resources, map_unordered
from traptagger_lab.db.engine import chunks, transaction
from traptagger_lab.db.models import Detection, DetectionPass, Image, utcnow
from traptagger_lab.detect.infer import Box, Letterboxed, detect_batch, letterbox, load_rgb
from traptagger_lab.detect.model import DetectorInfo
from traptagger_lab.detect.registry import DetectorSpec
from traptagger_lab.ingest.sources import SurveySources
from traptagger_lab.params import StageParams
from traptagger_lab.runs import finish_run, outcome, start_run
from traptagger_lab.storage import BlobStore

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)


class DetectParams(StageParams):
    """What a worker needs: the detector, where pictures are, and how to batch them.

    ``spec``, ``source`` and ``store`` are objects already made (a resolved detector, the
    survey's sources, the blob store), taken as they are (checked by type only).
    """

    spec: InstanceOf[DetectorSpec] = Field(
        description="The resolved detector: its name, weights file and thresholds."
    )
    source: InstanceOf[SurveySources] = Field(
        description="Where the survey's pictures are (each source's root)."
    )
    store: InstanceOf[BlobStore] = Field(description="The blob store video stills are read from.")
    device: str = Field(
        default="auto",
        description="Where the network runs: auto (a GPU when there is one), cpu or cuda.",
    )
    batch_size: int = Field(default=8, ge=1, description="Images per forward pass (images).")
    readers: int = Field(
        default=4,
        ge=1,
        description="Threads decoding and letterboxing pictures beside the network (threads).",
    )


@dataclass(frozen=True)
class ImageJob:
    """One image to detect on: its id, and where its pixels are."""

    image_id: int
    path: str
    stored_key: str | None = None  # video stills are read from the store
    source_id: int | None = None  # the survey source ``path`` is relative to


@dataclass(frozen=True)
class ImageResult:
    """Boxes found on one image, or why there are none."""

    image_id: int
    boxes: tuple[Box, ...] = ()
    failure: str | None = None


def pick_device(requested: str = "auto") -> str:
    """``cuda`` when a GPU is there (for ``auto``), else ``cpu``."""
    if requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@lru_cache(maxsize=2)
def _model(weights: str, device: str) -> tuple[Any, DetectorInfo]:
    """The loaded detector and its description, once per worker process and device.

    YOLOv5-family weights (MDv5a/b) run through our batched path; the other
    architectures megadetector supports run through megadetector's own detector.
    """
    from traptagger_lab.detect.model import describe, load_megadetector, load_yolov5

    info = describe(weights)
    if info.model_type != "yolov5":
        return load_megadetector(weights, device), info
    model = load_yolov5(weights, device)
    return (model.half() if device.startswith("cuda") else model), info


def _prepare(params: DetectParams, job: ImageJob, info: DetectorInfo) -> Letterboxed | ImageResult:
    try:
        data = (
            params.store.get(job.stored_key)
            if job.stored_key
            else params.source.read(job.path, job.source_id)
        )
        rgb = load_rgb(data)
    except (OSError, ValueError, SyntaxError) as exc:
        return ImageResult(job.image_id, failure=f"cannot read image: {exc}")
    if info.model_type != "yolov5":  # megadetector's own path letterboxes for itself
        return Letterboxed(job.image_id, rgb, rgb.shape[:2])
    return letterbox(job.image_id, rgb, info.image_size, info.stride)


def megadetector_boxes(
    detector: Any, images: Sequence[Letterboxed], threshold: float
) -> dict[Any, list[Box]]:
    """Boxes from megadetector's own detector, given the original (not letterboxed) pixels."""
    results = detector.generate_detections_one_batch(
        [i.pixels for i in images],
        image_id=[str(i.key) for i in images],
        detection_threshold=threshold,
    )
    return {
        item.key: [
            Box(int(d["category"]), float(d["conf"]), *d["bbox"])
            for d in result.get("detections") or []
        ]
        for item, result in zip(images, results, strict=True)
    }


def _prepared_batches(
    params: DetectParams, jobs: Sequence[ImageJob], info: DetectorInfo
) -> Iterator[list[Letterboxed | ImageResult]]:
    """Decode/letterbox ahead in threads (cv2 and Pillow release the GIL) while the network runs."""
    with ThreadPoolExecutor(max_workers=params.readers) as pool:
        pending = [pool.submit(_prepare, params, job, info) for job in jobs]
        for start in range(0, len(pending), params.batch_size):
            yield [f.result() for f in pending[start : start + params.batch_size]]


def detect_images(params: DetectParams, jobs: list[ImageJob]) -> list[ImageResult]:
    """Detect on a list of images (runs on a Dask worker); one bad image never stops the rest."""
    device = pick_device(params.device)
    model, info = _model(str(params.spec.weights), device)
    results: list[ImageResult] = []
    for batch in _prepared_batches(params, jobs, info):
        ready = [item for item in batch if isinstance(item, Letterboxed)]
        results.extend(item for item in batch if isinstance(item, ImageResult))
        if not ready:
            continue
        try:
            if info.model_type == "yolov5":
                found = detect_batch(model, ready, params.spec.conservative, device)
            else:
                found = megadetector_boxes(model, ready, params.spec.conservative)
        except RuntimeError as exc:  # e.g. out of GPU memory on a huge panorama
            results.extend(ImageResult(i.key, failure=f"inference failed: {exc}") for i in ready)
            continue
        results.extend(ImageResult(i.key, tuple(found[i.key])) for i in ready)
    return results


@dataclass
class DetectReport:
    """What a detection run did."""

    survey: str
    model: str
    run_id: int
    images: int = 0
    skipped: int = 0
    detections: int = 0
    failed: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers for JSON and the processing-run record."""
        return {
            "model": self.model,
            "images": self.images,
            "skipped": self.skipped,
            "detections": self.detections,
            "failed": len(self.failed),
        }


def pending_jobs(session: Session, survey_id: int, model: str) -> tuple[list[ImageJob], int]:
    """Images of the survey with no successful pass of ``model``, and how many are done."""
    done = set(
        session.scalars(
            select(DetectionPass.image_id)
            .join(Image, Image.id == DetectionPass.image_id)
            .where(
                Image.survey_id == survey_id,
                DetectionPass.model == model,
                DetectionPass.status == "done",
            )
        )
    )
    rows = session.execute(
        select(Image.id, Image.path, Image.is_video_frame, Image.compressed_key, Image.source_id)
        .where(Image.survey_id == survey_id)
        .order_by(Image.id)
    ).all()
    jobs = [
        ImageJob(image_id, path, key if frame else None, source)
        for image_id, path, frame, key, source in rows
        if image_id not in done
    ]
    return jobs, len(done)


def write_results(
    session: Session, results: Sequence[ImageResult], model: str, run_id: int | None
) -> int:
    """Store one batch: boxes, and a pass per image (replacing failed passes). Returns boxes."""
    ids = [r.image_id for r in results]
    for part in chunks(ids):
        session.execute(
            delete(DetectionPass).where(
                DetectionPass.image_id.in_(part), DetectionPass.model == model
            )
        )
        session.execute(
            delete(Detection).where(Detection.image_id.in_(part), Detection.source == model)
        )
    boxes = [
        {
            "image_id": r.image_id,
            "run_id": run_id,
            "category": b.category,
            "score": b.score,
            "x": b.x,
            "y": b.y,
            "w": b.w,
            "h": b.h,
            "source": model,
            "status": "active",
        }
        for r in results
        for b in r.boxes
    ]
    if boxes:
        session.execute(insert(Detection), boxes)
    session.execute(
        insert(DetectionPass),
        [
            {
                "image_id": r.image_id,
                "run_id": run_id,
                "model": model,
                "status": "failed" if r.failure else "done",
                "failure": r.failure,
                "detections": len(r.boxes),
                "created_at": utcnow(),
            }
            for r in results
        ],
    )
    return len(boxes)


def detect_survey(
    sessions: sessionmaker[Session],
    survey_id: int,
    survey_name: str,
    params: DetectParams,
    client: Client | None,
    images_per_task: int = 32,
) -> DetectReport:
    """Detect on every image of a survey that the model has not seen yet."""
    with transaction(sessions) as session:
        run = start_run(
            session,
            survey_id,
            "detect",
            {
                "model": params.spec.name,
                "weights": str(params.spec.weights),
                "stored_threshold": params.spec.conservative,
                "relevance_threshold": params.spec.typical,
                "batch_size": params.batch_size,
                "device": params.device,
            },
            model=params.spec.name,
        )
        jobs, done = pending_jobs(session, survey_id, params.spec.name)
    report = DetectReport(survey_name, params.spec.name, run.id, skipped=done)
    tasks = [list(part) for part in chunks(jobs, images_per_task)]
    try:
        for _, results in map_unordered(
            client,
            detect_images,
            tasks,
            params,
            description=f"detect {survey_name} ({params.spec.name})",
            unit="image",
            weight=len,
            resources=gpu_resources(client),
        ):
            with transaction(sessions) as session:
                report.detections += write_results(session, results, params.spec.name, run.id)
            report.images += len(results)
            report.failed.update({str(r.image_id): r.failure for r in results if r.failure})
    except BaseException as exc:
        finish_run(sessions, run.id, report.as_dict(), outcome(exc), repr(exc))
        raise
    finish_run(sessions, run.id, report.as_dict())
    return report
