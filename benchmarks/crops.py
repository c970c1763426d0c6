"""Training-crop throughput: ``lab.training``'s cropper on a Dask LocalCluster vs a plain loop.

    python benchmarks/crops.py [--photos 200] [--boxes 2] [--workers 2] [--size 256]

Both cut the same square crops (``boxes`` per photo, normalised boxes spread
over the frame) from the same full-size photos (the Camtrap DP Reconyx images,
2048x1440, made distinct) and write them as JPEG files. The baseline is the
loop a user would write: for each crop, open its photo, cut, resize, save.
Ours is ``training.crops.cut_all``: crops grouped by photo (each photo read and
decoded once), existing crops skipped, tasks spread over the cluster's worker
processes. The same code without a cluster is reported too. Cluster start-up is
taken out of the figure; each run writes into an empty folder.
"""

from __future__ import annotations

import argparse
import logging
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import make_photos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--boxes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()

    from distributed import Client, LocalCluster
    from PIL import Image

    from traptagger_lab.detect.crops import square_crop
    from traptagger_lab.storage import BlobStore
    from traptagger_lab.training.crops import CropParams, crop_key, cut_all
    from traptagger_lab.training.sources import Example

    scratch = Path(tempfile.mkdtemp(prefix="tt-crops-bench-"))
    try:
        root = scratch / "photos"
        photos = make_photos(root, args.photos)
        rng = random.Random(0)
        examples = [
            Example(
                "bench",
                path.parent.parent.name,
                str(root),
                str(path.relative_to(root)),
                "animal",
                f"{path.name} box {b}",
                (rng.uniform(0, 0.7), rng.uniform(0.2, 0.7), rng.uniform(0.05, 0.3), 0.2),
            )
            for path in photos
            for b in range(args.boxes)
        ]
        crops = len(examples)

        def params(folder: str) -> CropParams:
            return CropParams(
                out=BlobStore(str(scratch / folder)),
                store=BlobStore(str(scratch / "store")),
                options={},
                size=args.size,
            )

        start = time.perf_counter()
        out = scratch / "loop"
        for example in examples:  # the baseline: one crop at a time
            assert example.box is not None
            with Image.open(root / example.image) as opened:
                crop = square_crop(opened.convert("RGB"), *example.box, pad=0.0)
            target = out / crop_key(example, args.size)
            target.parent.mkdir(parents=True, exist_ok=True)
            crop.resize((args.size, args.size)).save(target, "JPEG", quality=90)
        loop_seconds = time.perf_counter() - start

        start = time.perf_counter()
        status, _ = cut_all(params("here"), examples, None)
        here_seconds = time.perf_counter() - start
        assert len(status) == crops

        with (
            LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.WARNING,
            ) as cluster,
            Client(cluster) as client,
        ):
            client.run(lambda: __import__("traptagger_lab.training.crops"))  # warm imports
            start = time.perf_counter()
            status, _ = cut_all(params("cluster"), examples, client)
            cluster_seconds = time.perf_counter() - start
            assert len(status) == crops
            start = time.perf_counter()
            again, _ = cut_all(params("cluster"), examples, client)
            resume_seconds = time.perf_counter() - start
            assert set(again.values()) == {"exists"}

        print(f"{len(photos)} photos, {crops} crops of {args.size} px")
        print(f"baseline, plain loop:           {crops / loop_seconds:7.1f} crops/s")
        print(f"ours, no cluster:               {crops / here_seconds:7.1f} crops/s")
        print(
            f"ours, LocalCluster {args.workers} workers:   {crops / cluster_seconds:7.1f} crops/s "
            f"({loop_seconds / cluster_seconds:.1f}x the baseline)"
        )
        print(f"re-run, every crop there:       {crops / resume_seconds:7.1f} crops/s checked")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
