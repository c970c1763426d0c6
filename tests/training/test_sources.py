"""Training sets from external data: a LILA-style CSV and COCO Camera Traps JSON, cropped on a
Dask LocalCluster, with detection first where only image-level labels are given."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.training.conftest import TRAINING_SPEC, truth
from traptagger_lab.errors import InputFileError
from traptagger_lab.sample import SampleSurvey
from traptagger_lab.training.sources import from_coco, from_csv

pytestmark = [pytest.mark.training, pytest.mark.slow]


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["path", "species", "site", "x", "y", "w", "h"])
        writer.writeheader()
        writer.writerows(rows)


def test_csv_rows_that_cannot_be_used_are_reported_by_row(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    _write_csv(
        path,
        [
            {
                "path": "a.jpg",
                "species": "Zebra",
                "site": "S1",
                "x": 0.1,
                "y": 0.1,
                "w": 0.2,
                "h": 0.2,
            },
            {"path": "b.jpg", "species": "", "site": "S1"},
            {
                "path": "c.jpg",
                "species": "Zebra",
                "site": "S1",
                "x": 1.5,
                "y": 0,
                "w": 0.1,
                "h": 0.1,
            },
            {"path": "/abs/d.jpg", "species": "Impala", "site": "S2"},
        ],
    )
    examples, problems = from_csv(path, image_root="s3://bucket/photos")
    assert [(p.origin, p.reason) for p in problems] == [
        (f"{path}, row 3", "empty label"),
        (f"{path}, row 4", "bad box: box [1.5, 0.0, 0.1, 0.1] is not normalised x, y, w, h in 0-1"),
    ]
    assert [(e.root, e.image, e.box) for e in examples] == [
        ("s3://bucket/photos", "a.jpg", (0.1, 0.1, 0.2, 0.2)),
        ("", "/abs/d.jpg", None),  # no box: the detector will look
    ]
    (tmp_path / "no_site.csv").write_text("path,species\na.jpg,Zebra\n")
    with pytest.raises(InputFileError, match=r"no_site\.csv: no site column"):
        from_csv(tmp_path / "no_site.csv")
    with pytest.raises(InputFileError, match="no such file"):
        from_csv(tmp_path / "missing.csv")
    (tmp_path / "bad.json").write_text('{"images": []}')
    with pytest.raises(InputFileError, match="needs images, annotations and categories"):
        from_coco(tmp_path / "bad.json")


@pytest.mark.dask
def test_csv_and_coco_sets_with_detection_first(
    training_survey: SampleSurvey,
    lab_factory: Any,
    dask_client: Any,
    random_detector: Path,
    tmp_path: Path,
) -> None:
    rows = [r for r in truth(training_survey) if r["boxes"]]
    width, height = TRAINING_SPEC.width, TRAINING_SPEC.height
    boxed = rows[:12]
    csv_rows = [
        {
            "path": r["path"],
            "species": r["species"],
            "site": r["site"],
            **dict(zip("xywh", b, strict=True)),
        }
        for r in boxed
        for b in r["boxes"][:1]
    ]
    csv_rows.append({"path": "Site01/CamA/MISSING.JPG", "species": "zebra", "site": "Site01",
                     "x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2})  # fmt: skip
    csv_path = tmp_path / "external.csv"
    _write_csv(csv_path, csv_rows)

    image_level = rows[12:16]
    coco = {
        "info": {"description": "coco-set"},
        "images": [
            {
                "id": i,
                "file_name": r["path"],
                "location": r["site"],
                "width": width,
                "height": height,
            }
            for i, r in enumerate(boxed + image_level)
        ],
        "categories": [
            {"id": 1, "name": "Impala"},
            {"id": 2, "name": "empty"},
            {"id": 3, "name": "x"},
        ]
        + [
            {"id": 10 + i, "name": s}
            for i, s in enumerate(["zebra", "warthog", "elephant", "hyaena"])
        ],
        "annotations": [],
    }
    category = {c["name"].lower(): c["id"] for c in coco["categories"]}
    for i, r in enumerate(boxed):
        x, y, w, h = r["boxes"][0]
        coco["annotations"].append(
            {
                "id": f"b{i}",
                "image_id": i,
                "category_id": category[r["species"]],
                "bbox": [x * width, y * height, w * width, h * height],
            }
        )
    for i, r in enumerate(image_level, start=len(boxed)):
        coco["annotations"].append(
            {"id": f"i{i}", "image_id": i, "category_id": category[r["species"]]}
        )
    coco["annotations"].append({"id": "bad", "image_id": 999, "category_id": 1})
    coco_path = tmp_path / "coco.json"
    coco_path.write_text(json.dumps(coco))

    lab = lab_factory()
    data = lab.training.crops(
        "external",
        csv=[csv_path],
        coco=[coco_path],
        image_root=str(training_survey.root),
        size=48,
        detector=str(random_detector),
        detection_threshold=0.05,
        client=dask_client,
        split={"train": 0.5, "val": 0.25, "test": 0.25},
    )
    problems = dict(zip(data.problems["origin"], data.problems["reason"], strict=True))
    assert problems[f"{csv_path}, row {len(csv_rows) + 1}"] == "photo not found"
    assert problems[f"{coco_path}, annotation bad"] == "unknown image_id 999"
    from_csv_set = data.table[data.table["survey"] == "external"]
    assert len(from_csv_set) == len(boxed)
    from_coco_boxes = data.table[
        (data.table["survey"] == "coco-set") & data.table["origin"].str.contains("annotation b")
    ]
    assert len(from_coco_boxes) == len(boxed)
    # a COCO box in pixels crops what the same box, normalised, crops from the CSV
    for one, other in zip(  # noqa: B905 (same length, asserted above)
        from_csv_set.sort_values("image")["crop"], from_coco_boxes.sort_values("image")["crop"]
    ):
        a = np.asarray(Image.open(io.BytesIO(data.store.get(one))), dtype=float)
        b = np.asarray(Image.open(io.BytesIO(data.store.get(other))), dtype=float)
        assert np.abs(a - b).mean() < 3
    # every image-level label became crops of the detector's boxes, or a reason why not
    detected = 0
    for i in range(len(boxed), len(boxed) + len(image_level)):
        origin = f"{coco_path}, annotation i{i}"
        crops = data.table[data.table["origin"] == origin]
        assert len(crops) or problems.get(origin) == "the detector found no animal"
        assert crops[["x", "y", "w", "h"]].notna().all().all()
        detected += len(crops)
    assert detected > 0  # (the random detector answers a dozen low-score boxes a photo)
    # sites of the two data sets are different places: split as data set/site
    keys = data.table["survey"] + "/" + data.table["site"]
    assert (data.table.groupby(keys)["split"].nunique() == 1).all()
    assert data.table["split"].isin(["train", "val", "test"]).all()


@pytest.mark.s3
@pytest.mark.dask
def test_a_set_in_s3_trains_on_a_worker_and_registers_there(
    training_survey: SampleSurvey,
    lab_factory: Any,
    dask_client: Any,
    s3_server: str,
    s3_bucket: str,
    tmp_path: Path,
) -> None:
    import boto3

    from traptagger_lab.classify.model import load_spec

    rows = [
        {
            "path": r["path"],
            "species": r["species"],
            "site": r["site"],
            **dict(zip("xywh", b, strict=True)),
        }
        for r in truth(training_survey)
        for b in r["boxes"]
    ]
    csv_path = tmp_path / "all.csv"
    _write_csv(csv_path, rows)
    # workers get credentials from the settings (they may have started before AWS_* were set)
    lab = lab_factory(
        storage_url=f"s3://{s3_bucket}/org",
        s3_endpoint_url=s3_server,
        storage_options={"key": "testing", "secret": "testing"},
        model_dir=str(tmp_path / "models"),
    )
    data = lab.training.crops(
        "in-s3", csv=[csv_path], image_root=str(training_survey.root), size=64, client=dask_client
    )
    assert data.path == f"s3://{s3_bucket}/org/training/in-s3"
    assert len(data.table) == len(rows)
    model = lab.training.train(
        "in-s3", "s3-model", on="cluster", client=dask_client, epochs=1, plot=False, device="cpu",
        arch="mobilenet_v3_small", image_size=64, batch_size=16, num_workers=0,
    )  # fmt: skip
    assert model.card["data"]["training_set"] == data.path
    lab.training.register(model)
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket=s3_bucket, Prefix="org/classifiers/s3-model/")
    assert {o["Key"].rsplit("/", 1)[1] for o in listed["Contents"]} == {
        "classifier.pt", "label_index.json", "classifier.json", "model_card.json"
    }  # fmt: skip
    local = lab.training.local_folder("s3-model")  # fetched for the classification stage
    assert local.parent == tmp_path / "models" / "classifiers"
    assert list(load_spec(local).labels) == data.classes


def test_video_stills_are_cropped_from_the_store(
    sample_survey: SampleSurvey, lab_factory: Any
) -> None:
    from traptagger_lab.db.engine import transaction
    from traptagger_lab.db.models import Detection, DetectionPass

    lab = lab_factory()
    lab.ingest(str(sample_survey.root), survey="S")
    lab.sequences("S")
    images = lab.images("S", include_failures=False)
    stills = images[images["is_video_frame"].astype(bool)]
    assert len(stills) > 1
    with transaction(lab.sessions) as session:
        for image_id in stills["image_id"]:
            box = {"x": 0.1, "y": 0.5, "w": 0.3, "h": 0.3}
            session.add(
                Detection(image_id=int(image_id), category=1, score=0.9, source="MDV5A", **box)
            )
            session.add(DetectionPass(image_id=int(image_id), model="MDV5A"))
    task = lab.tasks.create("S", "species", labels=["Warthog", "Zebra"])
    video = int(stills["cluster_id"].iloc[0])
    while (job := lab.annotate.next_job(task, "ann", size=50)) is not None:
        for cluster in job.clusters:
            lab.annotate.submit(job, cluster, labels=["Warthog" if cluster == video else "Nothing"])
    data = lab.training.crops("stills", tasks=[task], size=48, detector=None)
    assert len(data.table) == len(stills)  # one box per still, "Nothing" gives no crop
    assert set(data.table["label"]) == {"warthog"}
    assert data.table["image"].str.contains("VID_0001.MP4#t=").all()
    assert data.table["crop"].nunique() == len(stills)
    first = np.asarray(Image.open(io.BytesIO(data.store.get(data.table["crop"].iloc[0]))))
    assert first.shape == (48, 48, 3)
    assert first.std() > 5  # picture content, not a black square
