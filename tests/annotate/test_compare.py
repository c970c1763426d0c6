"""Accuracy against ground truth: the pure comparison of label sets, truth from a task or a
CSV of photos, each annotator's accuracy, and the detector's misses, on every backend."""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import annotate_all
from traptagger_lab.annotate.compare import compare, compare_sets, truth_from_rows
from traptagger_lab.errors import ConfigurationError, InputFileError
from traptagger_lab.sample import SampleSurvey, sample_detections, truth_label_table

F = frozenset
SPECIES = ["Impala", "Zebra"]


def _row(table: pd.DataFrame, species: str) -> list[float]:
    found = table.set_index("species").loc[species]
    return [found["precision"], found["recall"], found["f1"], found["support"]]


# -- the pure core --------------------------------------------------------------------------


def test_sets_counted_by_hand() -> None:
    truth = {
        1: F({"Impala"}),
        2: F({"Zebra"}),
        3: F({"Impala", "Zebra"}),
        4: F({"Warthog"}),
        5: F({"Impala"}),
        6: F({"Nothing"}),
    }
    predicted = {
        1: F({"impala"}),  # the same label in another case: a match
        2: F({"Impala"}),  # one for one: a confusion cell
        3: F({"Zebra"}),  # Impala missed: against (none)
        4: F({"Warthog", "Impala"}),  # Impala extra: from (none)
        6: F({"Nothing"}),
        7: F({"Zebra"}),  # not in the truth: not judged
    }  # 5 unlabelled
    found = compare_sets(predicted, truth)
    names = ["Impala", "Nothing", "Warthog", "Zebra"]
    expected = pd.DataFrame(
        [
            [1, 0, 0, 0, 1, 1],
            [0, 1, 0, 0, 0, 0],
            [0, 0, 1, 0, 0, 0],
            [1, 0, 0, 1, 0, 0],
            [1, 0, 0, 0, 0, 0],
        ],
        index=pd.Index([*names, "(none)"], name="truth"),
        columns=pd.Index([*names, "(none)", "(unlabelled)"], name="predicted"),
    )
    pd.testing.assert_frame_equal(found.confusion, expected)
    table = found.per_species
    assert list(table["species"]) == [*names, "macro", "micro"]
    # Impala: 1 right of 3 predicted (1, 2, 4) and of 3 true (1, 3, 5)
    assert _row(table, "Impala") == pytest.approx([1 / 3, 1 / 3, 1 / 3, 3])
    assert _row(table, "Zebra") == pytest.approx([1, 1 / 2, 2 / 3, 2])
    assert _row(table, "Warthog") == pytest.approx([1, 1, 1, 1])
    assert _row(table, "macro") == pytest.approx([5 / 6, 17 / 24, 3 / 4, 7])
    assert _row(table, "micro") == pytest.approx([4 / 6, 4 / 7, 8 / 13, 7])
    assert found.differ.to_dict("records") == [
        {"cluster_id": 2, "truth": "Zebra", "predicted": "Impala"},
        {"cluster_id": 3, "truth": "Impala + Zebra", "predicted": "Zebra"},
        {"cluster_id": 4, "truth": "Warthog", "predicted": "Impala + Warthog"},
        {"cluster_id": 5, "truth": "Impala", "predicted": "(unlabelled)"},
    ]
    assert found.accuracy == pytest.approx(2 / 6)
    assert (found.sequences, found.predicted_only) == (6, 1)


def test_several_unmatched_labels_count_against_none() -> None:
    found = compare_sets({1: F({"Hyaena", "Zebra"})}, {1: F({"Elephant"})})
    assert found.confusion.to_dict("index") == {
        "Elephant": {"Elephant": 0, "Hyaena": 0, "Zebra": 0, "(none)": 1},
        "Hyaena": {"Elephant": 0, "Hyaena": 0, "Zebra": 0, "(none)": 0},
        "Zebra": {"Elephant": 0, "Hyaena": 0, "Zebra": 0, "(none)": 0},
        "(none)": {"Elephant": 0, "Hyaena": 1, "Zebra": 1, "(none)": 0},
    }
    table = found.per_species
    elephant, hyaena = _row(table, "Elephant"), _row(table, "Hyaena")
    assert math.isnan(elephant[0])  # never predicted
    assert elephant[1:] == [0.0, 0.0, 1]
    assert math.isnan(hyaena[1])  # never true
    assert [hyaena[0], hyaena[2], hyaena[3]] == [0.0, 0.0, 0]
    assert _row(table, "macro") == [0.0, 0.0, 0.0, 1]  # over Elephant only
    assert found.accuracy == 0.0


def test_nothing_to_compare() -> None:
    found = compare_sets({1: F({"Zebra"})}, {2: F()})
    assert found.sequences == 0
    assert math.isnan(found.accuracy)
    assert found.confusion.empty
    assert found.differ.empty


def test_confusion_plot_is_row_normalised_with_counts() -> None:
    found = compare_sets(
        {1: F({"Zebra"}), 2: F({"Zebra"}), 3: F({"Impala"}), 4: F({"Zebra"})},
        {1: F({"Zebra"}), 2: F({"Zebra"}), 3: F({"Zebra"}), 4: F({"Impala"})},
    )
    figure = found.plot()
    axes = figure.axes[0]
    shares = axes.images[0].get_array()
    assert shares.tolist() == [[0.0, 1.0], [1 / 3, 2 / 3]]  # truth Impala, Zebra rows
    assert [t.get_text() for t in axes.texts] == ["0", "1", "1", "2"]
    assert [t.get_text() for t in axes.get_yticklabels()] == SPECIES
    assert axes.get_title() == "Accuracy 50.0% on 4 sequences"


IMAGES = pd.DataFrame(
    {
        "path": [
            "Site01/CamA/IMG_0001.JPG",
            "Site01/CamA/IMG_0002.JPG",
            "Site02/CamA/IMG_0001.JPG",
            "Site02/CamA/IMG_0009.JPG",
            "Site03/CamA/VID_0001.MP4#t=0.000",
            "Site03/CamA/VID_0001.MP4#t=1.000",
        ],
        "cluster_id": pd.array([1, 1, 2, None, 3, 3], dtype="Int64"),
    }
)


def test_photos_are_matched_to_sequences() -> None:
    rows = [
        (2, "Site01/CamA/IMG_0001.JPG", "Impala"),
        (3, "/data/karoo/Site01/CamA/IMG_0002.JPG", "Zebra"),  # another root
        (4, "Site02\\CamA\\IMG_0001.JPG", "Zebra"),  # Windows separators
        (5, "Site03/CamA/VID_0001.MP4", "Elephant"),  # a video: all its stills
        (6, "Site09/CamZ/IMG_0001.JPG", "Zebra"),  # not in the survey
        (7, "CamA/IMG_0001.JPG", "Zebra"),  # two images end so
        (8, "Site02/CamA/IMG_0009.JPG", "Zebra"),  # in no sequence
        (9, "Site01/CamA/IMG_0001.JPG", " "),  # no species
    ]
    sets, problems = truth_from_rows(rows, IMAGES, "truth.csv")
    assert sets == {1: F({"Impala", "Zebra"}), 2: F({"Zebra"}), 3: F({"Elephant"})}
    assert [(p.path, p.row) for p in problems] == [("truth.csv", n) for n in (6, 7, 8, 9)]
    assert "no image of the survey has this path" in str(problems[0])
    assert "2 images of the survey end with this path" in str(problems[1])
    assert "in no sequence" in str(problems[2])
    assert "no species" in str(problems[3])


# -- on a workspace -------------------------------------------------------------------------


def _label(lab: Any, task: Any, annotator: str, answer: Callable[[int], list[str]]) -> None:
    while (job := lab.annotate.next_job(task, annotator, size=10)) is not None:
        for cluster in job.clusters:
            lab.annotate.submit(job, cluster, labels=answer(cluster))


def _truth_task(lab: Any, flipped: set[int]) -> Any:
    """A truth task agreeing with annotate_all except on ``flipped`` clusters."""
    task = lab.tasks.create("S", "truth", labels=SPECIES)
    _label(lab, task, "expert", lambda c: [SPECIES[(c + (c in flipped)) % 2]])
    return task


def test_task_against_a_truth_task(lab: Any) -> None:
    labelled = annotate_all(lab, "S", SPECIES)
    clusters = sorted(lab.images("S")["cluster_id"].dropna().astype(int).unique())
    flipped = {clusters[2], clusters[7]}  # 3 (Zebra) and 8 (Impala) in the sample
    assert sorted(c % 2 for c in flipped) == [0, 1]
    _truth_task(lab, flipped)
    found = compare(lab.workspace, labelled, "truth")
    assert found.differ.to_dict("records") == [
        {
            "cluster_id": c,
            "truth": SPECIES[(c + 1) % 2],
            "predicted": SPECIES[c % 2],
        }
        for c in sorted(flipped)
    ]
    odd = sum(c % 2 for c in clusters)  # truth Zebra, before the flips
    impala_true = len(clusters) - odd + sum(1 if c % 2 else -1 for c in flipped)
    assert found.confusion.loc["Impala"].tolist() == [impala_true - 1, 1]
    assert found.confusion.loc["Zebra"].tolist() == [1, len(clusters) - impala_true - 1]
    assert found.accuracy == pytest.approx((len(clusters) - 2) / len(clusters))
    assert found.problems == ()
    assert found.per_annotator.to_dict("records") == [
        {
            "task": "species",
            "annotator": "ann",
            "sequences": len(clusters),
            "accuracy": pytest.approx((len(clusters) - 2) / len(clusters)),
            "precision": pytest.approx((len(clusters) - 2) / len(clusters)),
            "recall": pytest.approx((len(clusters) - 2) / len(clusters)),
            "f1": pytest.approx((len(clusters) - 2) / len(clusters)),
        }
    ]
    # The survey's labels are every pass but the truth's own (which would override them).
    survey = compare(lab.workspace, "S", "truth")
    pd.testing.assert_frame_equal(survey.differ, found.differ)
    with pytest.raises(ConfigurationError, match="truth's own"):
        compare(lab.workspace, "truth", "truth")


def test_two_annotators_of_known_accuracy(lab: Any) -> None:
    clusters = sorted(lab.images("S")["cluster_id"].dropna().astype(int).unique())
    wrong = set(clusters[:4])
    truth = pd.DataFrame({"cluster_id": clusters, "label": [SPECIES[c % 2] for c in clusters]})
    task = lab.tasks.create("S", "pairs", labels=SPECIES, annotations_per_cluster=2)
    _label(lab, task, "good", lambda c: [SPECIES[c % 2]])
    _label(lab, task, "poor", lambda c: [SPECIES[(c + (c in wrong)) % 2]])
    found = compare(lab.workspace, task, truth)
    rows = found.per_annotator.set_index("annotator")
    assert list(rows.index) == ["good", "poor"]
    assert rows.loc["good", ["sequences", "accuracy", "f1"]].tolist() == [len(clusters), 1, 1]
    share = (len(clusters) - len(wrong)) / len(clusters)
    assert rows.loc["poor", ["accuracy", "precision", "recall", "f1"]].tolist() == (
        pytest.approx([share] * 4)
    )
    # Their disagreements are not settled: those sequences are unlabelled in the task.
    assert found.differ["cluster_id"].tolist() == sorted(wrong)
    assert set(found.differ["predicted"]) == {"(unlabelled)"}


def _with_rows(source: Path, target: Path, extra: list[dict[str, str]]) -> Path:
    rows = list(csv.DictReader(source.open()))
    with target.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, *extra])
    return target


def _sample_truth(lab: Any, table: Path) -> dict[int, frozenset[str]]:
    """The truth file's labels per sequence, rolled up here with pandas (independently)."""
    images = lab.images("S")[["path", "cluster_id"]].dropna()
    merged = pd.read_csv(table).merge(images, on="path")
    return {int(c): frozenset(group["species"]) for c, group in merged.groupby("cluster_id")}


def test_a_truth_file_with_an_unknown_photo(
    lab: Any, sample_survey: SampleSurvey, tmp_path: Path
) -> None:
    annotate_all(lab, "S", SPECIES)
    plain = truth_label_table(sample_survey.root, tmp_path / "plain.csv")
    table = _with_rows(
        plain, tmp_path / "truth.csv", [{"path": "Site09/IMG_0001.JPG", "species": "Zebra"}]
    )
    truth = _sample_truth(lab, plain)
    found = compare(lab.workspace, "S", table)  # a Path; a text ending in .csv too
    assert [(p.path, p.row, p.reason) for p in found.problems] == [
        (
            str(table),
            len(list(csv.reader(table.open()))),
            "Site09/IMG_0001.JPG: no image of the survey has this path",
        )
    ]
    assert found.sequences == len(truth)
    expected = sorted(c for c, s in truth.items() if s != {SPECIES[c % 2]})
    assert found.differ["cluster_id"].tolist() == expected
    again = compare(lab.workspace, "S", str(table))
    pd.testing.assert_frame_equal(again.confusion, found.confusion)

    # camtrapR's layout: Directory (absolute, here) + FileName, and Species
    camtrap = pd.read_csv(plain)
    camtrap["Directory"] = [str(sample_survey.root / p).rsplit("/", 1)[0] for p in camtrap.path]
    camtrap["FileName"] = [p.rsplit("/", 1)[1] for p in camtrap.path]
    camtrap = camtrap.rename(columns={"species": "Species"}).drop(columns="path")
    camtrap.to_csv(tmp_path / "recordTable.csv", index=False)
    same = compare(lab.workspace, "S", tmp_path / "recordTable.csv")
    pd.testing.assert_frame_equal(same.confusion, found.confusion)
    assert same.problems == ()

    camtrap.rename(columns={"Species": "animal"}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(InputFileError, match=r"bad\.csv.*species column.*'animal'"):
        compare(lab.workspace, "S", tmp_path / "bad.csv")


def _best_scores(document: dict[str, Any], cluster_of: dict[str, int]) -> dict[int, float]:
    """Best animal score per sequence, straight from the MD JSON."""
    best: dict[int, float] = defaultdict(lambda: -1.0)
    for image in document["images"]:
        for box in image.get("detections") or []:
            if box["category"] == "1" and image["file"] in cluster_of:
                cluster = cluster_of[image["file"]]
                best[cluster] = max(best[cluster], box["conf"])
    return best


def test_detector_misses(lab: Any, sample_survey: SampleSurvey, tmp_path: Path) -> None:
    annotate_all(lab, "S", SPECIES)
    table = truth_label_table(sample_survey.root, tmp_path / "truth.csv")
    animals = sorted(c for c, s in _sample_truth(lab, table).items() if s != {"Nothing"})
    assert animals

    before = compare(lab.workspace, "S", table).detector_misses
    assert before["cluster_id"].tolist() == animals  # no detections yet: all missed
    assert before["best_score"].isna().all()

    detections = sample_detections(sample_survey.root, tmp_path / "md.json")
    lab.import_detections("S", str(detections))
    images = lab.images("S").dropna(subset=["cluster_id"])
    cluster_of = dict(zip(images["path"], images["cluster_id"].astype(int), strict=True))
    best = _best_scores(json.loads(detections.read_text()), cluster_of)
    for threshold in (None, 0.9):
        found = compare(lab.workspace, "S", table, threshold=threshold).detector_misses
        limit = 0.2 if threshold is None else threshold  # the sample's typical threshold
        missed = [c for c in animals if best[c] < limit]
        assert found["cluster_id"].tolist() == missed, threshold
        scores = [best[c] if best[c] >= 0 else math.nan for c in missed]
        assert found["best_score"].tolist() == pytest.approx(scores, nan_ok=True)
    assert 0 < len(found) < len(animals)  # at 0.9 some sequences are missed, not all
    with pytest.raises(ConfigurationError, match=r"between 0 and 1, not 1\.5"):
        compare(lab.workspace, "S", table, threshold=1.5)
