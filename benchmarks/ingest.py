"""Ingest throughput: our pipeline vs a naive loop, on the same full-size photos, in one run.

    python benchmarks/ingest.py [--images 240] [--workers 2]

The photos are the ten real 2048x1440 Reconyx JPEGs of the Camtrap DP example
(../shared/data), each copied N/10 times with a small mark so every copy has
distinct pixels (otherwise ingest would rightly skip them as duplicates). Without
the shared data the generated sample survey at 2048x1440 is used.

Naive baseline (one process, the obvious code): read the file, decode it fully
with PIL, resize to 800 px wide and to a thumbnail, write both, md5 of the file,
EXIF through PIL. Ours: ``lab.ingest`` on a Dask LocalCluster into a fresh SQLite
workspace, which also writes every database row.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import shutil
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
SHARED_MEDIA = REPO.parent / "shared/data/camtrap-dp/example/media"


def make_photos(root: Path, count: int) -> list[Path]:
    """``count`` distinct full-size camera-trap JPEGs with EXIF under root/SITE/CAM/."""
    sources = sorted(SHARED_MEDIA.glob("*.JPG"))
    paths: list[Path] = []
    if not sources:
        from traptagger_lab.sample import SampleSpec, make_sample_survey

        made = make_sample_survey(
            root,
            SampleSpec(bursts_per_camera=max(1, count // 16), width=2048, height=1440,
                       broken_files=False, video=False),
        )  # fmt: skip
        return [root / p for p in made.photos][:count]
    originals = [(Image.open(p), p.read_bytes()) for p in sources]
    for index in range(count):
        image, _raw = originals[index % len(originals)]
        marked = image.copy()
        ImageDraw.Draw(marked).rectangle(
            [8 + index % 97 * 4, 8, 20 + index % 97 * 4, 20], fill=(index % 255, 0, 0)
        )
        site, camera = f"Site{index % 4:02d}", f"Cam{index % 2}"
        path = root / site / camera / f"IMG_{index:05d}.JPG"
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = BytesIO()
        marked.save(buffer, "JPEG", quality=92, exif=image.info.get("exif", b""))
        path.write_bytes(buffer.getvalue())
        paths.append(path)
    return paths


def naive_ingest(paths: list[Path], out: Path) -> float:
    """The obvious single-process loop; returns seconds."""
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for index, path in enumerate(paths):
        data = path.read_bytes()
        digest = hashlib.md5(data).hexdigest()
        with Image.open(BytesIO(data)) as image:
            exif = image.getexif()
            _ = exif.get_ifd(0x8769).get(0x9003), exif.get(0x010F)
            rgb = image.convert("RGB")
        compressed = rgb.resize(
            (800, round(rgb.height * 800 / rgb.width)), Image.Resampling.LANCZOS
        )
        thumbnail = compressed.resize(
            (240, round(compressed.height * 240 / 800)), Image.Resampling.LANCZOS
        )
        compressed.save(out / f"{index}-{digest}.jpg", quality=85)
        thumbnail.save(out / f"{index}-{digest}-t.jpg", quality=85)
    return time.perf_counter() - start


def our_ingest(source: Path, workspace: Path, workers: int) -> tuple[float, float, int]:
    """Our pipeline on a LocalCluster; returns (seconds, cluster start seconds, images)."""
    from distributed import Client, LocalCluster

    from traptagger_lab.lab import open_lab

    started = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None,
                           silence_logs=logging.WARNING)  # fmt: skip
    client = Client(cluster)
    boot = time.perf_counter() - started
    try:
        with open_lab(str(workspace), client=client) as lab:
            start = time.perf_counter()
            report = lab.ingest(str(source), survey="bench")
            seconds = time.perf_counter() - start
        return seconds, boot, report.images
    finally:
        client.close()
        cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=240)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="tt-bench-"))
    try:
        print(f"making {args.images} full-size photos ...", file=sys.stderr)
        paths = make_photos(scratch / "photos", args.images)
        megapixels = Image.open(paths[0]).size
        naive = naive_ingest(paths, scratch / "naive-out")
        ours, boot, imported = our_ingest(scratch / "photos", scratch / "workspace", args.workers)
        assert imported == len(paths), f"ingest imported {imported} of {len(paths)}"
        naive_rate, our_rate = len(paths) / naive, len(paths) / ours
        print(f"photos: {len(paths)} of {megapixels[0]}x{megapixels[1]}")
        print(f"naive baseline (1 process):        {naive_rate:7.1f} images/s")
        print(f"traptagger ingest ({args.workers} workers):     {our_rate:7.1f} images/s "
              f"(LocalCluster start {boot:.1f} s, not included)")  # fmt: skip
        print(f"ratio: {our_rate / naive_rate:.2f}x")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
