"""The pure parts of training data: label translation, the split by site, and metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from traptagger_lab.errors import ConfigurationError, InputFileError
from traptagger_lab.training.evaluate import Evaluation, thresholds_for
from traptagger_lab.training.labels import LabelSpec, read_spec, spec_from_dict, translate
from traptagger_lab.training.split import split_by_site


def test_spellings_merge_groups_form_and_drops_leave() -> None:
    spec = spec_from_dict(
        {
            "labels": {"zebra": ["burchells zebra"], "antelope": ["impala", "kudu"]},
            "drop": ["human"],
        }
    )
    table = translate(
        ["Zebra", "burchells_zebra", "Burchells-Zebra", "Impala", "KUDU", "Human", "Warthog "],
        spec,
    )
    assert table == {
        "Zebra": "zebra",
        "burchells_zebra": "zebra",
        "Burchells-Zebra": "zebra",
        "Impala": "antelope",
        "KUDU": "antelope",
        "Human": None,
        "Warthog ": "warthog",  # unlisted labels are kept, normalised
    }
    strict = LabelSpec(labels=spec.labels, drop=spec.drop, unlisted="error")
    with pytest.raises(InputFileError, match=r"named nowhere.*Warthog"):
        translate(["Warthog", "zebra"], strict)
    assert translate(["Warthog"], LabelSpec(unlisted="drop")) == {"Warthog": None}


def test_bad_label_specs_are_explained(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="given to both 'antelope' and 'impala'"):
        spec_from_dict({"labels": {"antelope": ["impala"], "impala": []}})
    with pytest.raises(InputFileError, match="dropped but also given to 'zebra'"):
        spec_from_dict({"labels": {"zebra": []}, "drop": ["Zebra"]})
    with pytest.raises(InputFileError, match=r"unknown keys \['merge'\]"):
        spec_from_dict({"merge": {}})
    with pytest.raises(InputFileError, match="'unlisted' is keep, drop or error"):
        spec_from_dict({"unlisted": "maybe"})
    path = tmp_path / "label_spec.json"
    path.write_text("{not json")
    with pytest.raises(InputFileError, match=r"label_spec\.json: not a readable JSON"):
        read_spec(path)
    with pytest.raises(InputFileError, match="no such file"):
        read_spec(tmp_path / "missing.json")


def test_megadetector_classification_label_specs_are_read(tmp_path: Path) -> None:
    path = tmp_path / "label_spec.json"
    path.write_text(
        json.dumps(
            {
                "deer": {"dataset_labels": {"idfg": ["mule deer", "elk"], "cct": ["deer"]}},
                "fox": {"dataset_labels": {"cct": ["gray_fox"]}},
            }
        )
    )
    spec = read_spec(path)
    assert translate(["Elk", "gray fox", "deer"], spec) == {
        "Elk": "deer",
        "gray fox": "fox",
        "deer": "deer",
    }


site_counts = st.lists(
    st.tuples(st.integers(0, 30), st.sampled_from("abcde"), st.integers(1, 50)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(rows=site_counts, seed=st.integers(0, 10))
def test_every_site_gets_one_split_and_no_split_is_left_empty(
    rows: list[tuple[int, str, int]], seed: int
) -> None:
    counts = pd.DataFrame([{"site": f"S/{s}", "label": label, "n": n} for s, label, n in rows])
    chosen = split_by_site(counts, seed=seed)
    assert set(chosen) == set(counts["site"])  # each site once: it cannot leak
    assert set(chosen.values()) <= {"train", "val", "test"}
    if counts["site"].nunique() >= 3:
        assert set(chosen.values()) == {"train", "val", "test"}
    assert chosen == split_by_site(counts, seed=seed)  # reproducible


def test_the_split_comes_near_the_asked_shares_and_honours_fixed_sites() -> None:
    rng = np.random.default_rng(3)
    counts = pd.DataFrame(
        [
            {"site": f"S/{site}", "label": label, "n": int(rng.integers(5, 40))}
            for site in range(60)
            for label in ("impala", "zebra", "warthog")
        ]
    )
    chosen = split_by_site(counts, fixed={"S/7": "test"})
    assert chosen["S/7"] == "test"
    shares = counts.assign(split=counts["site"].map(chosen)).groupby("split")["n"].sum()
    shares = shares / shares.sum()
    assert shares["train"] == pytest.approx(0.7, abs=0.05)
    assert shares["val"] == pytest.approx(0.15, abs=0.05)
    assert shares["test"] == pytest.approx(0.15, abs=0.05)
    with pytest.raises(ConfigurationError, match="sum to 1"):
        split_by_site(counts, {"train": 0.8, "val": 0.3})
    with pytest.raises(ConfigurationError, match="unknown splits"):
        split_by_site(counts, {"train": 0.5, "holdout": 0.5})


def _evaluation() -> Evaluation:
    # truth:      a a a b b c ; predictions: a a b b a c (two mistakes)
    probabilities = np.array(
        [
            [0.9, 0.05, 0.05],
            [0.6, 0.3, 0.1],
            [0.3, 0.5, 0.2],
            [0.1, 0.8, 0.1],
            [0.5, 0.4, 0.1],
            [0.1, 0.2, 0.7],
        ]
    )
    return Evaluation(
        ["a", "b", "c"],
        np.array([0, 0, 0, 1, 1, 2]),
        probabilities,
        np.array(["S/1", "S/1", "S/2", "S/2", "S/2", "S/3"]),
    )


def test_metrics_of_known_answers() -> None:
    evaluation = _evaluation()
    assert evaluation.accuracy == pytest.approx(4 / 6)
    confusion = evaluation.confusion()
    assert confusion.loc["a", "b"] == 1
    assert confusion.loc["b", "a"] == 1
    per_class = evaluation.per_class()
    assert per_class.loc["a", "precision"] == pytest.approx(2 / 3)
    assert per_class.loc["a", "recall"] == pytest.approx(2 / 3)
    assert per_class.loc["b", "f1"] == pytest.approx(0.5)
    assert per_class.loc["c", "support"] == 1
    # a class with crops that is never answered scores F1 0, and counts in the macro F1
    answers = np.array([[0.9, 0.1], [0.8, 0.2]])
    never = Evaluation(["a", "b"], np.array([0, 1]), answers, np.array(["S/1", "S/1"]))
    assert never.per_class().loc["b", "f1"] == 0
    assert np.isnan(never.per_class().loc["b", "precision"])
    assert never.summary()["macro_f1"] == pytest.approx((2 / 3 + 0) / 2)
    assert evaluation.top_k((1, 2, 5)) == {1: pytest.approx(4 / 6), 2: 1.0, 3: 1.0}
    per_site = evaluation.per_site()
    assert per_site.loc["S/1", "accuracy"] == 1.0
    assert per_site.loc["S/2", "crops"] == 3
    table = evaluation.reliability(bins=2)
    assert table["crops"].sum() == 6
    assert evaluation.expected_calibration_error(bins=1) == pytest.approx(
        abs(np.mean([0.9, 0.6, 0.5, 0.8, 0.5, 0.7]) - 4 / 6)
    )
    summary = evaluation.summary()
    assert summary["per_class"]["a"]["support"] == 3
    json.dumps(summary)  # plain JSON


def test_thresholds_reach_the_asked_precision() -> None:
    evaluation = _evaluation()
    found = thresholds_for(evaluation, precision=0.9)
    # a: answers 0.9 (right), 0.6 (right), 0.5 (wrong): 100% precision down to 0.6
    assert found["a"] == pytest.approx(0.6)
    # b: answers 0.8 (right), 0.5 (wrong): 100% at 0.8
    assert found["b"] == pytest.approx(0.8)
    assert found["c"] == pytest.approx(0.7)


def test_photos_are_decoded_smaller_only_when_every_crop_keeps_its_size(tmp_path: Path) -> None:
    from io import BytesIO

    from PIL import Image

    from traptagger_lab.storage import BlobStore
    from traptagger_lab.training.crops import CropParams, PhotoCrops, cut_crops, draft_reduction

    assert draft_reduction([(0, 0, 0.5, 0.5)], 4000, 3000, 256) == 4  # 2000 px: 1/4 is 500
    assert draft_reduction([(0, 0, 0.5, 0.5), (0, 0, 0.05, 0.05)], 4000, 3000, 256) == 1
    assert draft_reduction([(0, 0, 1, 1)], 8000, 6000, 64) == 8  # JPEG's smallest scale
    assert draft_reduction([], 4000, 3000, 256) == 1

    y, x = np.indices((1500, 2000)) / 60.0
    bands = [np.sin(x), np.cos(y), np.sin(x + y)]
    photo = Image.fromarray(np.stack([(127 + 120 * b) for b in bands], axis=-1).astype(np.uint8))
    buffer = BytesIO()
    photo.save(buffer, "JPEG", quality=92)
    (tmp_path / "big.jpg").write_bytes(buffer.getvalue())
    store = BlobStore(str(tmp_path / "out"))
    params = CropParams(out=store, store=store, options={}, size=128)
    box = (0.2, 0.2, 0.5, 0.5)  # 1000 px wide: decoded at 1/4
    pixel_box = (400.0, 300.0, 1000.0, 750.0)  # the same box in pixels
    statuses = cut_crops(
        params,
        [
            PhotoCrops(
                str(tmp_path), "big.jpg", None, (("a.jpg", box, False), ("b.jpg", pixel_box, True))
            )
        ],
    )
    assert statuses == [("a.jpg", "written"), ("b.jpg", "written")]
    from traptagger_lab.detect.crops import square_crop

    full = np.asarray(square_crop(photo, *box, pad=0.0).resize((128, 128)), dtype=float)
    for key in ("a.jpg", "b.jpg"):
        drafted = np.asarray(Image.open(BytesIO(store.get(key))), dtype=float)
        assert drafted.shape == (128, 128, 3)
        assert np.abs(drafted - full).mean() < 4  # the same picture, within JPEG noise


def test_a_box_given_two_labels_is_left_out_and_repeats_count_once() -> None:
    from traptagger_lab.training.dataset import one_label_per_box
    from traptagger_lab.training.sources import Box, Example

    def example(label: str, row: int, box: Box = (0.1, 0.1, 0.2, 0.2)) -> Example:
        return Example("d", "S1", "/photos", "a.jpg", label, f"f.csv, row {row}", box)

    kept, problems = one_label_per_box(
        [
            example("zebra", 2),
            example("zebra", 3),  # the same box again: one crop
            example("impala", 4, (0.5, 0.5, 0.2, 0.2)),
            example("warthog", 5, (0.5, 0.5, 0.2, 0.2)),  # that box, another label
        ]
    )
    assert [(e.label, e.origin) for e in kept] == [("zebra", "f.csv, row 2")]
    assert [(p.origin, p.reason) for p in problems] == [
        ("f.csv, row 4", "the same box is labelled ['impala', 'warthog']"),
        ("f.csv, row 5", "the same box is labelled ['impala', 'warthog']"),
    ]
