"""Loading MegaDetector models with megadetector's own code (formats, compatibility fixes)."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def _quietly() -> contextlib.AbstractContextManager[Any]:
    """megadetector and YOLOv5 print progress chatter; keep it out of our output."""
    return contextlib.redirect_stdout(io.StringIO())


def yolov5_model_class() -> Any:
    """YOLOv5's ``Model`` class, imported the way megadetector sets up YOLOv5 imports."""
    from megadetector.detection import pytorch_detector

    with _quietly():
        pytorch_detector._initialize_yolo_imports("yolov5")
        from yolov5.models.yolo import Model
    return Model


def load_yolov5(path: str | Path, device: str = "cpu") -> Any:
    """Load a MegaDetector-format YOLOv5 checkpoint as megadetector does (float32, fused, eval).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
    """
    from megadetector.detection import pytorch_detector

    model_path = Path(path)
    if not model_path.is_file():
        raise FileNotFoundError(f"no model file at {model_path}")
    with _quietly():
        pytorch_detector._initialize_yolo_imports_for_model(str(model_path))
        model = pytorch_detector.PTDetector._load_model(str(model_path), device=device)
    return model.to(device)


@dataclass(frozen=True)
class DetectorInfo:
    """What the weight file says about itself: the inference library, input size and stride."""

    model_type: str
    image_size: int
    stride: int


def describe(path: str | Path) -> DetectorInfo:
    """Model type (``yolov5``, ``yolov9``, ``ultralytics``) and input size, as MD reads them."""
    from megadetector.detection import pytorch_detector

    with _quietly():
        model_type = pytorch_detector._get_model_type_for_model(str(path))
        metadata = pytorch_detector.read_metadata_from_megadetector_model_file(str(path)) or {}
    image_size = int(metadata.get("image_size", 1280))
    return DetectorInfo(model_type, image_size, 64 if image_size == 1280 else 32)


def load_megadetector(path: str | Path, device: str = "cpu") -> Any:
    """megadetector's own detector object (for architectures our fast path does not cover)."""
    from megadetector.detection import pytorch_detector

    options = {"force_cpu": device == "cpu"}
    with _quietly():
        return pytorch_detector.PTDetector(str(path), detector_options=options)
