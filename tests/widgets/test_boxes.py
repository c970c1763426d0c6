"""SightingEditor: move, delete and add boxes with species; the database keeps both versions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from traptagger_lab.db.models import Annotation, Detection, Label
from traptagger_lab.errors import NotFoundError
from traptagger_lab.sample import SampleSurvey


def test_correct_boxes(sample_survey: SampleSurvey, lab_factory: Any, tmp_path: Path) -> None:
    from traptagger_lab.widgets.boxes import BoxEditor as SightingEditor

    lab = lab_factory()
    lab.ingest(str(sample_survey.root), survey="S")
    lab.sequences("S")
    boxes = [
        {"category": "1", "conf": 0.9, "bbox": [0.1, 0.5, 0.2, 0.2]},
        {"category": "1", "conf": 0.8, "bbox": [0.6, 0.5, 0.2, 0.2]},
        {"category": "1", "conf": 0.1, "bbox": [0.4, 0.1, 0.1, 0.1]},  # not relevant: not shown
    ]
    (tmp_path / "md.json").write_text(
        json.dumps(
            {
                "info": {"detector": "MDV5A"},
                "images": [{"file": p, "detections": boxes} for p in sample_survey.photos],
            }
        )
    )
    lab.import_detections("S", str(tmp_path / "md.json"))
    task = lab.tasks.create("S", "boxes", labels=["Impala", "Zebra"], kind="sighting")
    table = lab.images("S", include_failures=False)
    cluster = int(table[table.path == sample_survey.photos[0]].cluster_id.iloc[0])

    editor = SightingEditor(lab, task, "ann", cluster)
    assert len(editor.editor.bboxes) == 2
    first, _second = editor.editor.bboxes
    editor.editor.bboxes = [
        {**first, "x": first["x"] + 10, "label": "Zebra"},  # moved, and a zebra
        {"x": 300, "y": 100, "width": 50, "height": 40, "label": "Impala"},  # a missed animal
    ]  # the second box was a false detection: deleted
    editor.save()
    image_id = next(iter(editor.saved))
    assert editor.saved[image_id] == {"Zebra": 1, "Impala": 1}
    with lab.sessions() as session:
        rows = session.scalars(select(Detection).where(Detection.image_id == image_id)).all()
        by_status = sorted((r.status, r.source) for r in rows)
        assert by_status == [
            ("active", "MDV5A"),
            ("active", "user:ann"),
            ("active", "user:ann"),
            ("deleted", "MDV5A"),
            ("deleted", "MDV5A"),
        ]
        labels = dict(session.execute(select(Label.id, Label.name)).all())
        per_box = sorted(
            labels[a.label_id]
            for a in session.scalars(select(Annotation).where(Annotation.detection_id.is_not(None)))
        )
        assert per_box == ["Impala", "Zebra"]
    editor.editor.bboxes = [{**first, "label": "Unicorn"}]
    with pytest.raises(NotFoundError, match="unknown label"):
        editor.save()


def test_sighting_task_in_the_app(sample_survey: SampleSurvey, lab_factory: Any) -> None:
    from traptagger_lab.widgets.app import annotation_app
    from traptagger_lab.widgets.boxes import SightingJobs

    lab = lab_factory()
    lab.ingest(str(sample_survey.root), survey="S")
    lab.sequences("S")
    task = lab.tasks.create("S", "count", labels=["Impala"], kind="sighting")
    app = annotation_app(lab, "ann", job_size=2)
    app.children[1].children[1].click()
    jobs = app.children[1]
    assert isinstance(jobs, SightingJobs)
    first = jobs.job.clusters[0]
    editor = jobs.children[1]
    for _ in editor.photos:  # two impala on every photo of the first sequence
        editor.editor.bboxes = [
            {"x": 10, "y": 10, "width": 40, "height": 30, "label": "Impala"},
            {"x": 100, "y": 10, "width": 40, "height": 30, "label": "Impala"},
        ]
        editor.save()
    assert jobs.position == 1
    with lab.sessions() as session:
        row = session.scalars(
            select(Annotation).where(
                Annotation.cluster_id == first, Annotation.detection_id.is_(None)
            )
        ).one()
        assert row.count == 2
    assert lab.tasks.progress(task)["complete"] == 1
