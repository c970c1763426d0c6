"""The static-group review widget, driven headless: clicks change the database."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path
from typing import Any

from PIL import Image

from traptagger_lab.detect.crops import square_crop
from traptagger_lab.sample import SampleSurvey


def test_square_crop_pads_with_black_outside_the_photo() -> None:
    photo = Image.new("RGB", (200, 100), (200, 200, 200))
    crop = square_crop(photo, 0.9, 0.0, 0.1, 0.2, pad=0.0)  # 20x20 px box in the top-right corner
    assert crop.size == (20, 20)
    assert crop.getpixel((10, 10)) == (200, 200, 200)
    edge = square_crop(photo, 0.95, 0.0, 0.1, 0.2, pad=0.0)  # half of it off the photo
    assert edge.getpixel((15, 10)) == (0, 0, 0)


def test_review_widget(sample_survey: SampleSurvey, lab_factory: Any, tmp_path: Path) -> None:
    from traptagger_lab.widgets.static_review import StaticGroupReview

    lab = lab_factory()
    lab.ingest(str(sample_survey.root), survey="S")
    table = lab.images("S", include_failures=False)
    rows = []
    for site, camera in (("Site01", "CamA"), ("Site01", "CamB")):
        paths = table[(table.site == site) & (table.camera == camera)].path
        rows += [
            {
                "file": p,
                "detections": [{"category": "1", "conf": 0.5, "bbox": [0.4, 0.5, 0.1, 0.1]}],
            }
            for p in paths
        ]
    path = tmp_path / "md.json"
    path.write_text(json.dumps({"info": {"detector": "MDV5A"}, "images": rows}))
    lab.import_detections("S", str(path))
    assert lab.filter_detections("S").static_groups == 2

    review = StaticGroupReview(lab, "S", reviewer="ann", shown=6)
    first = review.current
    assert len(review.grid.children) == 6
    assert Image.open(BytesIO(review.grid.children[0].value)).size == (160, 160)
    review.on_key({"type": "keydown", "key": "k"})  # skip
    assert review.current != first
    review.real_button.click()  # the second group: real animals
    review.on_key({"type": "keydown", "key": "x"})  # not a key of ours: nothing happens
    assert review.current == first
    review.on_key({"type": "keydown", "key": "S"})  # the first group, back after the skip: a rock
    assert review.current is None
    assert review.static_button.disabled
    statuses = lab.static_groups("S").set_index("group_id").status.to_dict()
    assert statuses[first] == "accepted"
    assert sorted(statuses.values()) == ["accepted", "rejected"]
