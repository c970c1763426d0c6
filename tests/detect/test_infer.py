"""Our batched inference gives megadetector's own boxes, on the same weights and images."""

from __future__ import annotations

from pathlib import Path

import pytest

from traptagger_lab.sample import SampleSurvey


def _iou(a: list[float], b: list[float]) -> float:
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    w = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    h = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = w * h
    union = a[2] * a[3] + b[2] * b[3] - inter
    if union <= 0:  # degenerate (zero-area) boxes: compare corners instead
        return 1.0 if max(abs(x - y) for x, y in zip(a, b, strict=True)) < 2e-3 else 0.0
    return inter / union


def _unmatched(theirs: list[dict], ours: list[dict]) -> list[dict]:
    """MD's boxes with no box of ours of the same class, IoU >= 0.95 and score within 0.02."""
    free = list(ours)
    missing = []
    for det in sorted(theirs, key=lambda d: -d["conf"]):
        match = next(
            (
                o
                for o in free
                if o["category"] == det["category"]
                and abs(o["conf"] - det["conf"]) <= 0.02
                and _iou(o["bbox"], det["bbox"]) >= 0.95
            ),
            None,
        )
        if match is None:
            missing.append(det)
        else:
            free.remove(match)
    return missing


@pytest.mark.slow
def test_same_boxes_as_megadetector(
    random_detector: Path, sample_survey: SampleSurvey, shared_data: Path
) -> None:
    from megadetector.detection.run_detector_batch import load_and_run_detector_batch

    from traptagger_lab.detect.infer import detect_batch, letterbox, load_rgb, md_detection
    from traptagger_lab.detect.model import load_yolov5

    files = [str(sample_survey.root / p) for p in sample_survey.photos[:12:2]]
    files += [str(p) for p in sorted((shared_data / "camtrap-dp/example/media").glob("*.JPG"))[:3]]
    theirs = load_and_run_detector_batch(
        str(random_detector), files, confidence_threshold=0.05, quiet=True
    )
    model = load_yolov5(random_detector)
    images = [letterbox(f, load_rgb(Path(f).read_bytes())) for f in files]
    ours = detect_batch(model, images, threshold=0.05)

    compared = 0
    for result in theirs:
        detections = result["detections"]
        if len(detections) >= 300:
            continue  # saturated: ties at the 300-box cut make the kept set arbitrary
        mine = [md_detection(box).as_json() for box in ours[result["file"]]]
        assert len(mine) == len(detections), result["file"]
        assert _unmatched(detections, mine) == [], result["file"]
        compared += len(detections)
    assert compared >= 10, "too few boxes to compare: the random model is too quiet"


@pytest.mark.slow
def test_megadetector_fallback_path_agrees(
    random_detector: Path, sample_survey: SampleSurvey
) -> None:
    """Architectures our fast path does not cover go through megadetector's detector object."""
    from traptagger_lab.detect.infer import (
        Letterboxed,
        detect_batch,
        letterbox,
        load_rgb,
        md_detection,
    )
    from traptagger_lab.detect.model import describe, load_megadetector, load_yolov5
    from traptagger_lab.detect.run import megadetector_boxes

    info = describe(random_detector)
    assert (info.model_type, info.image_size, info.stride) == ("yolov5", 1280, 64)
    files = [sample_survey.root / p for p in sample_survey.photos[1:7:2]]
    rgbs = {str(f): load_rgb(f.read_bytes()) for f in files}
    theirs = megadetector_boxes(
        load_megadetector(random_detector),
        [Letterboxed(k, v, (v.shape[0], v.shape[1])) for k, v in rgbs.items()],
        0.05,
    )
    ours = detect_batch(
        load_yolov5(random_detector), [letterbox(k, v) for k, v in rgbs.items()], 0.05
    )
    compared = 0
    for key, boxes in theirs.items():
        mine = [md_detection(b).as_json() for b in ours[key]]
        assert _unmatched([md_detection(b).as_json() for b in boxes], mine) == []
        compared += len(boxes)
    assert compared > 0
