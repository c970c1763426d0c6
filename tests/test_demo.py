"""The demo: the sample's stand-in detections, and a survey taken through every stage."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from traptagger_lab.demo import SAMPLE_DETECTIONS_NOTE, TASKS, build_demo
from traptagger_lab.lab import open_lab
from traptagger_lab.sample import SampleSurvey, sample_detections


def _iou(a: list[float], b: list[float]) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    w = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    h = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = w * h
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_sample_detections_look_like_a_detectors(
    sample_survey: SampleSurvey, tmp_path: Path
) -> None:
    first = sample_detections(sample_survey.root, tmp_path / "md.json")
    again = sample_detections(sample_survey.root, tmp_path / "again.json")
    assert first.read_text() == again.read_text()  # deterministic
    document = json.loads(first.read_text())
    assert "not a model's" in document["info"]["comment"]
    with (sample_survey.root / "sample_truth.csv").open() as handle:
        truth = {row["path"]: json.loads(row["boxes"]) for row in csv.DictReader(handle)}
    assert {entry["file"] for entry in document["images"]} == set(truth)
    animals = found = false_boxes = 0
    confidences = []
    for entry in document["images"]:
        boxes = truth[entry["file"]]
        animals += len(boxes)
        for detection in entry["detections"]:
            confidences.append(detection["conf"])
            best = max((_iou(detection["bbox"], box) for box in boxes), default=0.0)
            if best > 0.6:
                found += 1
            else:
                false_boxes += 1
    assert 0.8 * animals <= found < animals  # a few misses
    assert false_boxes >= 1
    assert min(confidences) >= 0.05
    assert max(confidences) <= 0.98
    assert len({round(c, 2) for c in confidences}) > 10  # spread, not one value


@pytest.mark.slow
@pytest.mark.training
def test_demo_takes_the_sample_through_every_stage(tmp_path: Path) -> None:
    summary = build_demo(tmp_path / "demo", dask_scheduler="sync")
    assert summary["ingest"]["images"] > 150
    assert summary["description"] == SAMPLE_DETECTIONS_NOTE  # no weights on test machines
    assert "imported sample detections" in summary["detection"]
    assert "classified=" in summary["classification"]
    tasks = summary["tasks"]
    assert set(tasks) == set(TASKS)
    assert tasks["Species"] == summary["clusters"]
    assert tasks["AI check"] > 0
    assert tasks["Empty review"] > 0
    assert sum(summary["records"].values()) > 0
    with open_lab(str(tmp_path / "demo"), dask_scheduler="sync") as lab:
        assert lab.surveys["description"].tolist() == [SAMPLE_DETECTIONS_NOTE]
        assert lab.training.classifiers()["name"].tolist() == ["demo-sample"]
        suggested = lab.cluster_suggestions("Demo survey")["label"].str.lower()
        assert tasks["AI check"] == (~suggested.isin(["nothing", "unknown"])).sum()
        assert tasks["Empty review"] == (suggested == "nothing").sum()  # no animal box at all
        progress = lab.tasks.progress(lab.tasks.get("Species", "Demo survey"))
        assert 0 < progress["complete"] < progress["clusters"]  # some left for annotators
    again = build_demo(tmp_path / "demo", dask_scheduler="sync")
    assert again["ingest"]["images"] == 0  # nothing new to import
    assert again["tasks"] == tasks
    assert again["records"] == summary["records"]
    assert again["seconds"]["classifier"] < summary["seconds"]["classifier"]  # not retrained
