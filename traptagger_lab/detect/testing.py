"""Random-weight MegaDetector twins for tests and benchmarks (never download real weights).

``build_random_detector(path, arch="yolov5x6")`` writes a checkpoint with the real
MDv5 architecture (about 140 M parameters); ``yolov5n6``/``yolov5s6`` are small
enough for CPU tests. The file has the layout of a MegaDetector ``.pt`` file
(``{'model': model.half(), 'epoch': -1}``), so megadetector's own loader and ours
both load it.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from traptagger_lab.detect.architectures import p6_config

OBJECTNESS_SHIFT = 4.0


def _calibrate_batch_norm(model: Any, seed: int) -> None:
    """Set BatchNorm statistics from a few random images, so outputs depend on the input.

    With default statistics a random deep network answers (almost) the same boxes
    for every image, which would make comparisons between pipelines meaningless.
    """
    import numpy as np
    import torch

    from traptagger_lab.sample import _background

    rng = np.random.default_rng(seed)
    scenes = np.stack([np.asarray(_background(rng, 1280, 960)) for _ in range(4)])
    batch = torch.from_numpy(scenes).permute(0, 3, 1, 2).float() / 255.0
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the calibration batches
    model.train()
    with torch.no_grad():  # camera-trap-like scenes at inference size: statistics that fit photos
        for start in range(0, len(batch), 2):
            model(batch[start : start + 2])
    for norm in norms:
        norm.momentum = 0.03
    # Lower the objectness prior so that a few dozen boxes per image pass 0.05, as with
    # real weights on real photos, rather than hundreds of near-certain ones.
    detect = model.model[-1]
    with torch.no_grad():
        for conv in detect.m:
            conv.bias.view(detect.na, -1)[:, 4] -= OBJECTNESS_SHIFT


@contextlib.contextmanager
def _logging_off() -> Iterator[None]:
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def build_random_detector(path: str | Path, arch: str = "yolov5n6", seed: int = 0) -> Path:
    """Write a random-weight YOLOv5 P6 detector (3 classes) to ``path``; returns the path.

    Args:
        path: Where to write the ``.pt`` file.
        arch: ``yolov5n6``, ``yolov5s6``, ``yolov5m6``, ``yolov5l6`` or ``yolov5x6`` (MDv5).
        seed: Random seed: the same seed gives the same weights.
    """
    import torch

    from traptagger_lab.detect.model import yolov5_model_class

    model_class = yolov5_model_class()
    torch.manual_seed(seed)
    with contextlib.redirect_stdout(io.StringIO()), _logging_off():  # YOLOv5 logs its layers
        model = model_class(p6_config(arch), ch=3, nc=3)
    model.names = ["animal", "person", "vehicle"]
    _calibrate_batch_norm(model, seed)
    model.eval()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.half(), "epoch": -1}, target)
    return target
