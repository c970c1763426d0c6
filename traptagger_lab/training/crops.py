"""Cutting training crops on Dask workers: one read per photo, resumable, existing crops skipped.

A crop's key depends only on where it comes from (data set, site, photo, box),
never on its label, so a run that stopped half way, or a new label spec,
reuses every crop already written.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from io import BytesIO
from typing import TYPE_CHECKING, Any

from pydantic import Field, InstanceOf

from traptagger_lab.compute import gpu_resources, map_unordered
from traptagger_lab.db.engine import chunks
from traptagger_lab.detect.crops import square_crop
from traptagger_lab.detect.registry import DetectorSpec
from traptagger_lab.ingest.discover import Source
from traptagger_lab.ingest.sources import SurveySources
from traptagger_lab.params import StageParams
from traptagger_lab.storage import BlobStore
from traptagger_lab.training.sources import Box, Example, Problem

if TYPE_CHECKING:
    from distributed import Client

WRITTEN, EXISTS = "written", "exists"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "_"


def crop_key(example: Example, size: int = 256, pad: float = 0.0) -> str:
    """Where the example's crop lives under the data set folder (stable across runs; crops
    of another size or padding live in another folder)."""
    box = tuple(round(v, 5) for v in example.box or ())
    what = f"{example.dataset}|{example.root}|{example.image}|{example.stored_key}|{box}"
    digest = hashlib.sha1(what.encode()).hexdigest()[:12]
    stem = _slug(posixpath.splitext(posixpath.basename(example.image))[0])
    folder = crop_folder(size, pad)
    return f"{folder}/{_slug(example.dataset)}/{_slug(example.site)}/{stem}_{digest}.jpg"


def crop_folder(size: int, pad: float) -> str:
    """The folder of crops of one size and padding."""
    return f"crops/{size}px" + (f"-pad{pad:g}" if pad else "")


class CropParams(StageParams):
    """What a worker needs: where crops go, where stills are, and the crop geometry.

    ``out`` and ``store`` are blob stores already made, taken as they are (checked by type
    only).
    """

    out: InstanceOf[BlobStore] = Field(description="The training set's folder crops go to.")
    store: InstanceOf[BlobStore] = Field(description="The blob store video stills are read from.")
    options: dict[str, dict[str, Any]] = Field(
        description='fsspec options per protocol, to read photos with ("" for local files).'
    )
    size: int = Field(default=256, ge=16, description="Side of each square crop (pixels).")
    pad: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Margin added on each side of a box (share of its long side, 0-1).",
    )
    quality: int = Field(default=90, ge=1, le=100, description="JPEG quality of the crops (1-100).")


@dataclass(frozen=True)
class PhotoCrops:
    """One photo and the crops to cut from it: ``(key, box, box in pixels)``."""

    root: str
    image: str
    stored_key: str | None
    crops: tuple[tuple[str, Box, bool], ...]


def protocol(url: str) -> str:
    """``s3`` for ``s3://...``; empty for a local path."""
    return url.split("://", 1)[0] if "://" in url else ""


def photo_source(root: str, image: str, options: dict[str, dict[str, Any]]) -> tuple[Source, str]:
    """A source and the relative path to read a photo through (full paths and URLs too)."""
    if root:
        return Source(root, options.get(protocol(root), {})), image
    folder, name = posixpath.split(image)
    return Source(folder or ".", options.get(protocol(image), {})), name


def read_photo(params: CropParams, photo: PhotoCrops) -> bytes:
    """The photo's bytes: a video still from the store, else from its source."""
    if photo.stored_key:
        return params.store.get(photo.stored_key)
    source, relative = photo_source(photo.root, photo.image, params.options)
    return source.read(relative)


def normalised(box: Box, pixels: bool, width: int, height: int) -> Box:
    """A box as shares of the photo (COCO boxes come in pixels)."""
    if not pixels:
        return box
    return (box[0] / width, box[1] / height, box[2] / width, box[3] / height)


def draft_reduction(boxes: Sequence[Box], width: int, height: int, size: int) -> int:
    """The largest JPEG decode reduction (1, 2, 4 or 8) that leaves every square crop at
    least ``size`` pixels wide, so it is only ever scaled down."""
    if not boxes:
        return 1
    smallest = min(max(w * width, h * height) for _, _, w, h in boxes)
    reduction = 1
    while reduction < 8 and smallest / (reduction * 2) >= size:
        reduction *= 2
    return reduction


def cut_crops(params: CropParams, photos: Sequence[PhotoCrops]) -> list[tuple[str, str]]:
    """Cut and store the crops of each photo (runs on a worker).

    Returns ``(key, status)`` per crop: ``written``, or the reason it failed.
    """
    from PIL import Image as PILImage

    done: list[tuple[str, str]] = []
    for photo in photos:
        todo = photo.crops
        try:
            with PILImage.open(BytesIO(read_photo(params, photo))) as opened:
                width, height = opened.size
                boxes = [normalised(box, pixels, width, height) for _, box, pixels in todo]
                reduce = draft_reduction(boxes, width, height, params.size)
                if reduce > 1:  # decode JPEGs at 1/2, 1/4 or 1/8 scale: crops keep their size
                    opened.draft("RGB", (-(-width // reduce), -(-height // reduce)))
                picture = opened.convert("RGB")
        except FileNotFoundError:
            done.extend((key, "photo not found") for key, _, _ in todo)
            continue
        except (OSError, ValueError, SyntaxError) as exc:
            done.extend((key, f"cannot read photo: {exc}") for key, _, _ in todo)
            continue
        for (key, _, _), (x, y, w, h) in zip(todo, boxes, strict=True):
            crop = square_crop(picture, x, y, w, h, pad=params.pad)
            crop = crop.resize((params.size, params.size), PILImage.Resampling.BILINEAR)
            buffer = BytesIO()
            crop.save(buffer, "JPEG", quality=params.quality)
            params.out.put(key, buffer.getvalue())
            done.append((key, WRITTEN))
    return done


def group_by_photo(
    examples: Sequence[Example], size: int, pad: float
) -> tuple[list[PhotoCrops], dict[str, Example]]:
    """Photos to read once each, and which example each crop key belongs to."""
    per_photo: dict[tuple[str, str, str | None], dict[str, tuple[str, Box, bool]]] = defaultdict(
        dict
    )
    owner: dict[str, Example] = {}
    for example in examples:
        assert example.box is not None
        key = crop_key(example, size, pad)
        owner.setdefault(key, example)
        per_photo[example.photo][key] = (key, example.box, example.pixels)
    photos = [
        PhotoCrops(root, image, stored, tuple(crops.values()))
        for (root, image, stored), crops in per_photo.items()
    ]
    return photos, owner


def cut_all(
    params: CropParams,
    examples: Sequence[Example],
    client: Client | None,
    photos_per_task: int = 16,
) -> tuple[dict[str, str], dict[str, Example]]:
    """Cut every example's crop on the cluster (or here, without a client), with progress.

    Returns the status of every crop key and the example each key came from.
    """
    photos, owner = group_by_photo(examples, params.size, params.pad)
    there = set(
        params.out.keys(crop_folder(params.size, params.pad))
    )  # one listing, not a look per crop
    status: dict[str, str] = {key: EXISTS for key in owner if key in there}
    photos = [
        replace(p, crops=tuple(c for c in p.crops if c[0] not in there))
        for p in photos
        if any(c[0] not in there for c in p.crops)
    ]
    tasks = [list(part) for part in chunks(photos, photos_per_task)]
    for _, results in map_unordered(
        client,
        cut_crops,
        tasks,
        params,
        description="crops",
        unit="photo",
        weight=len,
    ):
        status.update(results)
    return status, owner


# -- detection first, where boxes are missing ------------------------------------------


@dataclass(frozen=True)
class DetectFirst:
    """The detector to find boxes with, and the score an animal box needs."""

    spec: DetectorSpec
    threshold: float
    device: str = "auto"
    batch_size: int = 8


def detect_missing(
    examples: Sequence[Example],
    detector: DetectFirst | None,
    store: BlobStore,
    options: dict[str, dict[str, Any]],
    client: Client | None,
    photos_per_task: int = 32,
) -> tuple[list[Example], list[Problem]]:
    """One example per animal box the detector finds on each photo that has a label but no box."""
    from traptagger_lab.detect.run import DetectParams, ImageJob, detect_images

    if not examples:
        return [], []
    if detector is None:
        return [], [Problem(e.origin, "no box, and no detector to find one") for e in examples]
    by_source: dict[str, list[tuple[int, Example, str]]] = defaultdict(list)
    for number, example in enumerate(examples):
        source, relative = photo_source(example.root, example.image, options)
        by_source[source.url].append((number, example, relative))
    found: list[Example] = []
    problems: list[Problem] = []
    for url, items in by_source.items():
        params = DetectParams(
            spec=detector.spec,
            source=SurveySources.of(Source(url, options.get(protocol(url), {}))),
            store=store,
            device=detector.device,
            batch_size=detector.batch_size,
        )
        jobs = [
            ImageJob(number, relative, example.stored_key) for number, example, relative in items
        ]
        tasks = [list(part) for part in chunks(jobs, photos_per_task)]
        for _, results in map_unordered(
            client,
            detect_images,
            tasks,
            params,
            description=f"detect ({detector.spec.name})",
            unit="photo",
            weight=len,
            resources=gpu_resources(client),
        ):
            for result in results:
                example = examples[result.image_id]
                if result.failure:
                    problems.append(Problem(example.origin, result.failure))
                    continue
                boxes = [
                    b for b in result.boxes if b.category == 1 and b.score >= detector.threshold
                ]
                if not boxes:
                    problems.append(Problem(example.origin, "the detector found no animal"))
                found.extend(replace(example, box=(b.x, b.y, b.w, b.h)) for b in boxes)
    return found, problems
