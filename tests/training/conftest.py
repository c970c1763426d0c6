"""Training test assets: a sample survey with six sites, labelled from its own truth file."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from traptagger_lab.sample import SPECIES, SampleSpec, SampleSurvey, make_sample_survey

#: Six one-camera sites so that train, val and test each get whole sites.
TRAINING_SPEC = SampleSpec(
    sites=tuple((f"Site{i:02d}", ("CamA",)) for i in range(1, 7)),
    bursts_per_camera=5,
    width=480,
    height=360,
    seed=5,
    broken_files=False,
    video=False,
)


@pytest.fixture(scope="session")
def training_survey(tmp_path_factory: pytest.TempPathFactory) -> SampleSurvey:
    """Generated photos (read-only) with ``sample_truth.csv`` giving species and boxes."""
    return make_sample_survey(tmp_path_factory.mktemp("training") / "survey", TRAINING_SPEC)


def truth(survey: SampleSurvey) -> list[dict[str, Any]]:
    """The truth rows, boxes parsed."""
    with (survey.root / "sample_truth.csv").open() as handle:
        return [{**row, "boxes": json.loads(row["boxes"])} for row in csv.DictReader(handle)]


def labelled_lab(lab: Any, survey: SampleSurvey, tmp_path: Path) -> Any:
    """Ingest the survey, store its true boxes as MDv5a detections, and label every
    cluster with its true species in a species task; returns the task."""
    lab.ingest(str(survey.root), survey="S")
    lab.sequences("S")
    rows = truth(survey)
    images = [
        {
            "file": row["path"],
            "detections": [{"category": "1", "conf": 0.9, "bbox": box} for box in row["boxes"]],
        }
        for row in rows
    ]
    md = tmp_path / "truth_md.json"
    md.write_text(json.dumps({"info": {"detector": "MDV5A"}, "images": images}))
    lab.import_detections("S", str(md))
    species_of = {row["path"]: row["species"] for row in rows}
    table = lab.images("S", include_failures=False)
    by_cluster = {
        int(c): {species_of[p] for p in group["path"]} for c, group in table.groupby("cluster_id")
    }
    labels = [s.capitalize() for s in sorted(SPECIES)]
    task = lab.tasks.create("S", "species", labels=labels)
    while (job := lab.annotate.next_job(task, "ann", size=20)) is not None:
        for cluster in job.clusters:
            seen = by_cluster[cluster] - {"none"}
            chosen = [s.capitalize() for s in sorted(seen)] or ["Nothing"]
            lab.annotate.submit(job, cluster, labels=chosen)
    return task
