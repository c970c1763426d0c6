"""Settled labels on camtrapR's sample: what results count, the old way beside the new.

    python benchmarks/settled_labels.py [--data ../shared/data] [--database sqlite|URL]

camtrapR's ``sample_images_species_dir`` is ingested and clustered; every photo gets one
animal box; a random-weight classifier (real TorchScript format, never downloaded)
suggests a species per sequence and the trails rule auto-labels the sure ones. People
then label the rest in a species task (``exclude_auto``) from the species folders, with
MNE and TRA given as "Ungulate" and told apart in a sublabel task.

Printed, for the same workspace: the baseline (as before settled labels: the species
task alone, and the two tasks' records added up) and the settled labels (the AI's
accepted labels and both passes merged).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from traptagger_lab.classify.testing import build_random_classifier
from traptagger_lab.lab import open_lab

COARSE = {"MNE": "Ungulate", "TRA": "Ungulate"}


def _truth(lab: Any) -> dict[int, str]:
    """Each sequence's species from its photos' folder (camtrapR's species directories)."""
    images = lab.images("C", include_failures=False).dropna(subset=["cluster_id"])
    folder = images["path"].str.split("/").str[-2]
    return {int(c): str(f) for c, f in zip(images["cluster_id"], folder, strict=True)}


def _label(lab: Any, task: Any, answer: dict[int, str], who: str) -> int:
    done = 0
    while (job := lab.annotate.next_job(task, who, size=20)) is not None:
        for cluster in job.clusters:
            lab.annotate.submit(job, cluster, labels=[answer[cluster]])
            done += 1
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).parents[1] / ".." / "shared" / "data"))
    parser.add_argument("--database", default="sqlite")
    args = parser.parse_args()
    root = Path(args.data) / "camtrapR" / "pictures" / "sample_images_species_dir"
    with tempfile.TemporaryDirectory() as folder:
        settings: dict[str, Any] = {"workspace": folder, "dask_scheduler": "sync"}
        if args.database != "sqlite":
            settings["database_url"] = args.database
        lab = open_lab(**settings)
        lab.ingest(str(root), survey="C", site_pattern="folder:1", camera_pattern="folder:1")
        lab.sequences("C")
        truth = _truth(lab)
        species = sorted(set(truth.values()))
        photos = lab.images("C", include_failures=False)
        box = {"category": "1", "conf": 0.9, "bbox": [0.3, 0.3, 0.4, 0.4]}
        md = {"info": {"detector": "MDV5A"}, "images": [
            {"file": p, "detections": [box]} for p in photos["path"] if "#t=" not in p
        ]}  # fmt: skip
        (Path(folder) / "md.json").write_text(json.dumps(md))
        lab.import_detections("C", str(Path(folder) / "md.json"))
        classifier = build_random_classifier(
            Path(folder) / "random", species, arch="mobilenet_v3_small", image_size=96,
            thresholds={s: 0.0 if i % 2 else 0.9 for i, s in enumerate(species)},
        )  # fmt: skip
        lab.classify("C", str(classifier), device="cpu")
        accepted = lab.accept_suggestions("C")
        print(accepted)

        coarse = {c: COARSE.get(s, s) for c, s in truth.items()}
        task = lab.tasks.create(
            "C", "species", labels=sorted({*coarse.values(), *species}), exclude_auto=True
        )
        by_people = _label(lab, task, coarse, "ann")
        refine = lab.tasks.create(
            "C", "ungulates", labels=["MNE", "TRA"], kind="sublabel", refine=(task, "Ungulate")
        )
        refined = _label(lab, refine, truth, "bob")
        sequences = len(set(truth))
        print(f"{sequences} sequences; the AI settled {accepted.labelled}, people {by_people} "
              f"(then {refined} Ungulate sequences told apart)")  # fmt: skip

        def count(results: Any) -> tuple[int, int]:
            records = results.records
            return records["cluster_id"].nunique(), len(results.record_table())

        each = [len(lab.tasks.final_labels(t)) for t in (task, refine)]  # per task, unmerged
        rows: list[tuple[str, int, int | None]] = [
            ("baseline: the species task's sequences (AI labels dropped)", each[0], None),
            ("baseline: species + sublabel tasks added up", sum(each), None),
        ]
        rows.append(("settled: survey, every pass merged", *count(lab.results("C", 0))))
        rows.append(("settled: people only", *count(lab.results("C", 0, people_only=True))))
        table = pd.DataFrame(rows, columns=["what", "sequences", "records (minDelta 0)"])
        print(table.to_string(index=False))
        species_now = lab.results("C", 0).record_table()["Species"].value_counts()
        print("species in the record table:", species_now.to_dict())
        lab.close()


if __name__ == "__main__":
    main()
