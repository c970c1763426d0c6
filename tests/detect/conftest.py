"""Detection test assets: a small random-weight MegaDetector twin (needs the detect extra)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def random_detector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A YOLOv5n6 P6 detector with random (BatchNorm-calibrated) weights, in MD's file layout."""
    pytest.importorskip("torch", reason="detection needs the detect extra (make test installs it)")
    pytest.importorskip("megadetector")
    from traptagger_lab.detect.testing import build_random_detector

    # Seed 2 gives a model that is neither silent nor saturated on the sample photos
    # (random networks are chaotic; other seeds answer 0 or 300 boxes everywhere).
    path = tmp_path_factory.mktemp("models") / "md_random_n6.pt"
    return build_random_detector(path, "yolov5n6", seed=2)
