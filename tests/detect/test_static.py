"""False-positive control: static groups (pure core and in the database), masks, tiny boxes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from traptagger_lab.db.models import Detection
from traptagger_lab.detect.static import PlacedBox, StaticParams, find_static_groups, iou
from traptagger_lab.sample import SampleSurvey

T0 = dt.datetime(2024, 3, 1, 6, 0)


def _box(
    i: int, image: int, hours: float, x: float, y: float, w: float = 0.1, h: float = 0.1
) -> PlacedBox:
    return PlacedBox(i, image, T0 + dt.timedelta(hours=hours), 0.5, x, y, w, h)


def test_recurring_box_is_static_but_a_lingering_animal_is_not() -> None:
    rock = [_box(i, i, hours=i * 5, x=0.40 + 0.002 * (i % 3), y=0.5) for i in range(8)]
    animal = [_box(100 + i, 100 + i, hours=0.01 * i, x=0.1, y=0.1) for i in range(8)]
    elsewhere = [_box(200 + i, 200 + i, hours=i * 7, x=0.05 * i, y=0.8) for i in range(8)]
    groups = find_static_groups(
        rock + animal + elsewhere, photos_on_camera=40, params=StaticParams()
    )
    assert [sorted(b.detection_id for b in g) for g in groups] == [list(range(8))]


def test_counts_each_photo_once_and_needs_a_share() -> None:
    same_photo = [_box(i, 1, hours=i, x=0.4, y=0.5) for i in range(10)]  # ten boxes, one photo
    assert find_static_groups(same_photo, 10, StaticParams()) == []
    rock = [_box(i, i, hours=i * 5, x=0.4, y=0.5) for i in range(6)]
    assert find_static_groups(rock, 1000, StaticParams(min_share=0.05)) == []  # 6 of 1000 photos
    assert len(find_static_groups(rock, 1000, StaticParams(min_share=0.001))) == 1


def test_bigger_boxes_need_more_overlap() -> None:
    params = StaticParams()
    small_a, small_b = _box(1, 1, 0, 0.10, 0.1, 0.05, 0.05), _box(2, 2, 9, 0.115, 0.1, 0.05, 0.05)
    large_a, large_b = _box(3, 3, 0, 0.10, 0.1, 0.5, 0.5), _box(4, 4, 9, 0.22, 0.1, 0.5, 0.5)
    assert 0.5 <= iou(small_a, small_b) < 0.7
    assert 0.5 <= iou(large_a, large_b) < 0.7
    assert iou(small_a, small_b) >= params.iou_needed(small_a.area)
    assert iou(large_a, large_b) < params.iou_needed(large_a.area)


def test_filters_in_the_database(
    database_url: str, sample_survey: SampleSurvey, lab_factory: Any, tmp_path: Path
) -> None:
    """A rock on Site01/CamA, a mask on Site02/CamA, a tiny box: statuses and reviews stick."""
    lab = lab_factory(database_url=database_url)
    lab.ingest(str(sample_survey.root), survey="S")
    table = lab.images("S", include_failures=False)
    cam_a = sorted(table[(table.site == "Site01") & (table.camera == "CamA")].path)
    other = sorted(table[(table.site == "Site02") & (table.camera == "CamA")].path)[:3]
    rock = {"category": "1", "conf": 0.6, "bbox": [0.40, 0.50, 0.08, 0.06]}
    bird = {"category": "1", "conf": 0.9, "bbox": [0.70, 0.10, 0.01, 0.01]}
    images = [{"file": p, "detections": [rock]} for p in cam_a]
    images += [{"file": p, "detections": [rock, bird]} for p in other]
    path = tmp_path / "md.json"
    path.write_text(json.dumps({"info": {"detector": "MDV5A"}, "images": images}))
    lab.import_detections("S", str(path))
    lab.add_mask("S", "Site02/CamA", [[0.3, 0.4], [0.6, 0.4], [0.6, 0.7], [0.3, 0.7]])

    report = lab.filter_detections("S", hide_small=0.0025)
    assert (report.static_groups, report.static) == (1, len(cam_a))
    assert (report.masked, report.hidden) == (len(other), len(other))
    groups = lab.static_groups("S")
    assert groups[["site", "camera", "status", "count"]].values.tolist() == [
        ["Site01", "CamA", "unknown", len(cam_a)]
    ]

    group_id = int(groups.group_id[0])
    lab.review_static_group(group_id, accept=False, reviewer="ann")
    again = lab.filter_detections("S", hide_small=0.0025)
    assert again.static_groups == 0  # a rejected group is not found again
    with lab.sessions() as session:
        statuses = sorted(set(session.scalars(select(Detection.status))))
        assert statuses == ["active", "hidden", "masked"]
    assert lab.static_groups("S").status.tolist() == ["rejected"]


def test_cli_filter(sample_survey: SampleSurvey, tmp_path: Path, cli: Any) -> None:
    cli("ingest", str(sample_survey.root), "--survey", "S")
    rock = {"category": "1", "conf": 0.6, "bbox": [0.4, 0.5, 0.08, 0.06]}
    cam_a = [p for p in sample_survey.photos if p.startswith("Site01/CamA/")]
    (tmp_path / "md.json").write_text(
        json.dumps({"images": [{"file": p, "detections": [rock]} for p in cam_a]})
    )
    cli("import-detections", "S", str(tmp_path / "md.json"))
    result = cli("filter", "S", "--min-count", "3")
    assert json.loads(result.stdout)["static_groups"] == 1


def test_static_params_defaults_and_ranges() -> None:
    assert StaticParams().model_dump() == {
        "min_count": 5,
        "min_share": 0.05,
        "linger_s": 3600,
        "iou_small": 0.5,
        "iou_medium": 0.6,
        "iou_large": 0.7,
        "min_score": 0.05,
    }
    for bad in ({"min_count": 1}, {"min_share": 1.5}, {"iou_large": 1.2}, {"min_score": -0.1}):
        with pytest.raises(ValidationError) as caught:
            StaticParams(**bad)
        assert [e["loc"] for e in caught.value.errors()] == [(next(iter(bad)),)]
