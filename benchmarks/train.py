"""Does training learn, and how fast: a classifier trained on a generated survey's crops.

    python benchmarks/train.py [--sites 12] [--bursts 10] [--arch resnet18] [--epochs 8]
                               [--image-size 96] [--device auto]

The sample generator's photos (five species drawn in their own colours and
sizes, day and infrared night shots) and their true boxes, given as a LILA-style
CSV, become a training set split by site; a randomly initialised network is
trained on it. Printed: crops per second of training, and test accuracy next
to the baseline of always answering the most common training class.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=12)
    parser.add_argument("--bursts", type=int, default=10)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from traptagger_lab.lab import open_lab
    from traptagger_lab.sample import SampleSpec, make_sample_survey, truth_labels

    scratch = Path(tempfile.mkdtemp(prefix="tt-train-bench-"))
    spec = SampleSpec(
        sites=tuple((f"Site{i:02d}", ("CamA",)) for i in range(args.sites)),
        bursts_per_camera=args.bursts,
        width=640,
        height=480,
        broken_files=False,
        video=False,
    )
    survey = make_sample_survey(scratch / "survey", spec)
    table = truth_labels(survey.root, scratch / "labels.csv")  # one row per true box

    with open_lab(workspace=str(scratch / "workspace"), dask_scheduler="sync") as lab:
        data = lab.training.crops("bench", csv=[table], size=128, detector=None)
        train_rows = data.rows("train")
        start = time.perf_counter()
        model = lab.training.train(
            data,
            "bench",
            arch=args.arch,
            image_size=args.image_size,
            epochs=args.epochs,
            patience=args.epochs,
            batch_size=32,
            num_workers=2,
            device=args.device,
            plot=False,
        )
        seconds = time.perf_counter() - start
    test = data.rows("test")
    majority = train_rows["label"].value_counts().idxmax()
    baseline = float((test["label"] == majority).mean())
    card = model.card
    accuracy = card["metrics"]["test"]["accuracy"]
    rate = card["training"]["epochs_run"] * len(train_rows) / seconds
    print(repr(data))
    print(data.balance.to_string())
    print(
        f"training: {card['training']['epochs_run']} epochs of {len(train_rows)} crops in "
        f"{seconds:.1f} s on {card['training']['device']} "
        f"({rate:.0f} crops/s, evaluation included)"
    )
    print(f"test accuracy {accuracy:.1%} vs always-{majority!r} baseline {baseline:.1%}")
    macro_f1 = card["metrics"]["test"]["macro_f1"]  # null when no class was ever right
    shown = "n/a" if macro_f1 is None else f"{macro_f1:.3f}"
    print(f"macro F1 {shown}; folder {model.path}")


if __name__ == "__main__":
    main()
