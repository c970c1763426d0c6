"""Our batched MegaDetector inference: the pure core, one batch of images in, boxes out.

It reproduces megadetector's PyTorch path in its default ("classic") mode:
letterbox to 1280 px on the long side padded to a multiple of 64 (value 114),
RGB scaled to 0-1, per-class NMS at IoU 0.45, at most 300 boxes per image,
boxes mapped back to the original image and normalised to ``x, y, w, h``.
The differences are speed: images are decoded and letterboxed in parallel
(DataLoader workers), every same-shaped image of a batch goes through the
network at once, fp16 on CUDA, and NMS runs once per batch
(``torchvision.ops.batched_nms``) instead of once per image and class.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import numpy as np

from traptagger_lab.detect.mdjson import MdDetection

IMAGE_SIZE = 1280
STRIDE = 64
PAD_VALUE = 114
NMS_IOU = 0.45
MAX_DETECTIONS = 300


@dataclass(frozen=True)
class Letterboxed:
    """One image ready for the network, and what is needed to map boxes back."""

    key: Any
    pixels: np.ndarray  # HxWx3 uint8, RGB, letterboxed
    original_size: tuple[int, int]  # (height, width)


@dataclass(frozen=True)
class Box:
    """A detection in MegaDetector terms: category 1 animal, 2 person, 3 vehicle."""

    category: int
    score: float
    x: float
    y: float
    w: float
    h: float


def md_detection(box: Box) -> MdDetection:
    """A box as an entry of MegaDetector's batch-output format."""
    return MdDetection(str(box.category), box.score, (box.x, box.y, box.w, box.h))


def load_rgb(data: bytes) -> np.ndarray:
    """Decode image bytes to an RGB array, applying EXIF rotation (as megadetector does).

    Raises:
        OSError: if the bytes are not a readable image.
    """
    from PIL import Image, ImageOps

    from traptagger_lab.ingest.jpeg import BrokenJpegError, NotJpegError, parse_jpeg

    try:  # megadetector switches on Pillow's LOAD_TRUNCATED_IMAGES: check the file ourselves
        if not parse_jpeg(data).ends_properly:
            raise OSError("image file is truncated (no end-of-image marker)")
    except NotJpegError:
        pass  # not a JPEG: Pillow decides
    except BrokenJpegError as exc:
        raise OSError(f"damaged JPEG: {exc}") from exc
    with Image.open(BytesIO(data)) as opened:
        upright = ImageOps.exif_transpose(opened)
        return np.asarray(upright.convert("RGB"))


def letterbox(
    key: Any, rgb: np.ndarray, image_size: int = IMAGE_SIZE, stride: int = STRIDE
) -> Letterboxed:
    """Resize so the long side is ``image_size`` and pad to a multiple of ``stride``."""
    import cv2

    height, width = rgb.shape[:2]
    ratio = min(image_size / height, image_size / width)
    new_w, new_h = round(width * ratio), round(height * ratio)
    pad_w = ((image_size - new_w) % stride) / 2
    pad_h = ((image_size - new_h) % stride) / 2
    if (width, height) != (new_w, new_h):
        rgb = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = round(pad_h - 0.1), round(pad_h + 0.1)
    left, right = round(pad_w - 0.1), round(pad_w + 0.1)
    padded = cv2.copyMakeBorder(
        rgb, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3
    )
    return Letterboxed(key, padded, (height, width))


def _to_boxes(
    rows: Any, letterboxed_shape: tuple[int, int], original: tuple[int, int]
) -> list[Box]:
    """Map ``[x1, y1, x2, y2, score, class]`` rows from network pixels to normalised boxes."""
    import torch

    if len(rows) == 0:
        return []
    net_h, net_w = letterboxed_shape
    height, width = original
    gain = min(net_h / height, net_w / width)
    pad_x, pad_y = (net_w - width * gain) / 2, (net_h - height * gain) / 2
    xyxy = rows[:, :4].clone()
    xyxy[:, [0, 2]] = ((xyxy[:, [0, 2]] - pad_x) / gain).clamp(0, width)
    xyxy[:, [1, 3]] = ((xyxy[:, [1, 3]] - pad_y) / gain).clamp(0, height)
    xyxy = xyxy.round()
    scale = torch.tensor([width, height, width, height], dtype=xyxy.dtype, device=xyxy.device)
    normalised = (xyxy / scale).tolist()
    return [
        Box(int(cls) + 1, float(score), x1, y1, x2 - x1, y2 - y1)
        for (x1, y1, x2, y2), score, cls in zip(
            normalised, rows[:, 4].tolist(), rows[:, 5].tolist(), strict=True
        )
    ]


def batched_nms(
    pred: Any, threshold: float, iou: float = NMS_IOU, max_det: int = MAX_DETECTIONS
) -> list[Any]:
    """NMS for a whole batch in one call: per image, per class, best ``max_det`` kept.

    Args:
        pred: (batch, anchors, 5 + classes) network output: cx, cy, w, h, objectness, class scores.
        threshold: Minimum objectness and minimum objectness x class score.

    Returns:
        One (n, 6) tensor per image: x1, y1, x2, y2, score, class index.
    """
    import torch
    import torchvision

    image_index, anchor = torch.nonzero(pred[..., 4] > threshold, as_tuple=True)
    candidates = pred[image_index, anchor]
    class_scores = candidates[:, 5:] * candidates[:, 4:5]
    score, cls = class_scores.max(1)
    keep = score > threshold
    candidates, score, cls, image_index = (
        candidates[keep],
        score[keep],
        cls[keep],
        image_index[keep],
    )
    half = candidates[:, 2:4] / 2
    xyxy = torch.cat([candidates[:, :2] - half, candidates[:, :2] + half], 1)
    groups = image_index * pred.shape[2] + cls
    kept = torchvision.ops.batched_nms(xyxy.float(), score.float(), groups, iou)
    rows = torch.cat([xyxy[kept], score[kept, None], cls[kept, None].to(xyxy.dtype)], 1).float()
    owners = image_index[kept]
    out = []
    for index in range(pred.shape[0]):
        mine = rows[owners == index]
        mine = mine[mine[:, 4].argsort(descending=True)][:max_det]
        out.append(mine)
    return out


def detect_batch(
    model: Any, images: Sequence[Letterboxed], threshold: float, device: str = "cpu"
) -> dict[Any, list[Box]]:
    """Run the network on letterboxed images (grouped by shape) and return boxes per key."""
    import torch

    half = device.startswith("cuda")
    by_shape: dict[tuple[int, ...], list[Letterboxed]] = defaultdict(list)
    for item in images:
        by_shape[item.pixels.shape].append(item)
    results: dict[Any, list[Box]] = {}
    for shape, group in by_shape.items():
        stacked = torch.from_numpy(np.stack([g.pixels for g in group])).to(device)
        batch = stacked.permute(0, 3, 1, 2).contiguous()
        batch = batch.half() if half else batch.float()
        batch /= 255.0
        with torch.inference_mode():
            pred = model(batch)[0]
        for item, rows in zip(group, batched_nms(pred, threshold), strict=True):
            results[item.key] = _to_boxes(rows, (shape[0], shape[1]), item.original_size)
    return results
