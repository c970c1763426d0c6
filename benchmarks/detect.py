"""Detection throughput: our batched pipeline vs megadetector's stock batch script, one run.

    python benchmarks/detect.py [--arch yolov5n6] [--images 24] [--batch-size 8] [--device auto]

Both run the same random-weight MegaDetector-family checkpoint (``yolov5x6`` is
the real MDv5 architecture, 140 M parameters; ``yolov5n6`` suits a CPU) on the
same full-size photos (the Camtrap DP Reconyx images, made distinct). The stock
baseline is ``load_and_run_detector_batch`` with its defaults (one image at a
time). Ours is ``detect_images``: threaded decode/letterbox ahead of the network,
batches, fp16 on CUDA, one batched NMS per batch. Model loading is taken out of both figures.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import make_photos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", default="yolov5n6")
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    from megadetector.detection.run_detector import load_detector
    from megadetector.detection.run_detector_batch import load_and_run_detector_batch

    from traptagger_lab.detect.registry import DetectorSpec
    from traptagger_lab.detect.run import DetectParams, ImageJob, detect_images, pick_device
    from traptagger_lab.detect.testing import build_random_detector
    from traptagger_lab.ingest.discover import Source
    from traptagger_lab.ingest.sources import SurveySources
    from traptagger_lab.storage import BlobStore

    scratch = Path(tempfile.mkdtemp(prefix="tt-detect-bench-"))
    try:
        photos = make_photos(scratch / "photos", args.images)
        weights = build_random_detector(scratch / f"{args.arch}.pt", args.arch)
        device = pick_device(args.device)
        files = [str(p) for p in photos]

        start = time.perf_counter()
        load_detector(str(weights))  # how long its model load takes, to take it out below
        stock_load = time.perf_counter() - start
        start = time.perf_counter()
        theirs = load_and_run_detector_batch(
            str(weights), files, confidence_threshold=0.05, quiet=True
        )
        stock_seconds = time.perf_counter() - start - stock_load
        assert len(theirs) == len(files)

        params = DetectParams(
            spec=DetectorSpec(args.arch, weights),
            source=SurveySources.of(Source(str(scratch / "photos"), {})),
            store=BlobStore(str(scratch / "blobs")),
            device=device,
            batch_size=args.batch_size,
        )
        jobs = [ImageJob(i, str(p.relative_to(scratch / "photos"))) for i, p in enumerate(photos)]
        loaded = time.perf_counter()
        detect_images(params, jobs[:1])  # load the model and warm up, timed apart
        load_seconds = time.perf_counter() - loaded
        start = time.perf_counter()
        ours = detect_images(params, jobs)
        our_seconds = time.perf_counter() - start
        assert not [r for r in ours if r.failure]

        stock_rate, our_rate = len(files) / stock_seconds, len(files) / our_seconds
        print(f"device: {device}; architecture: {args.arch}; photos: {len(files)} of 2048x1440")
        print(f"megadetector load_and_run_detector_batch: {stock_rate:7.2f} images/s "
              f"(its model load, {stock_load:.1f} s, taken out)")  # fmt: skip
        print(f"traptagger detect_images (batch {args.batch_size}):   {our_rate:7.2f} images/s "
              f"(model load + warm-up {load_seconds:.1f} s, not included)")  # fmt: skip
        print(f"ratio: {our_rate / stock_rate:.2f}x")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
