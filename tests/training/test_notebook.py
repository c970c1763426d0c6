"""``notebooks/train_classifier.ipynb`` runs top to bottom on a labelled workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_notebook
from tests.training.conftest import labelled_lab
from traptagger_lab.sample import SampleSurvey

pytestmark = [pytest.mark.training, pytest.mark.notebook, pytest.mark.slow]


@pytest.mark.parametrize("labelled", [True, False], ids=["labelled", "sample-truth"])
def test_train_classifier_notebook(
    labelled: bool,
    training_survey: SampleSurvey,
    lab_factory: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a labelled workspace it trains on the labels; on a new one (the demo's) it
    trains on the generated sample's truth file."""
    pytest.importorskip("torchvision")
    workspace = tmp_path / "workspace"
    lab = lab_factory(workspace=str(workspace))
    if labelled:
        labelled_lab(lab, training_survey, tmp_path)
    else:
        lab.ingest(str(training_survey.root), survey="S")
        lab.sequences("S")
    lab.close()
    for name in ("TRAPTAGGER_DATABASE_URL", "TRAPTAGGER_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRAPTAGGER_WORKSPACE", str(workspace))
    monkeypatch.setenv("TRAPTAGGER_DASK_SCHEDULER", "sync")
    monkeypatch.setenv("TRAPTAGGER_TRAIN_ARCH", "mobilenet_v3_small")
    monkeypatch.setenv("TRAPTAGGER_TRAIN_IMAGE_SIZE", "64")
    monkeypatch.setenv("TRAPTAGGER_TRAIN_EPOCHS", "2")
    from traptagger_lab.classify.testing import build_random_classifier

    in_use = build_random_classifier(
        tmp_path / "in-use", ["impala", "zebra"], arch="mobilenet_v3_small", image_size=64
    )
    monkeypatch.setenv("TRAPTAGGER_TRAIN_COMPARE", str(in_use))
    pictures, text = run_notebook("train_classifier", tmp_path)
    # the balance bars, the live training plot (updated in place), confusion, reliability
    assert len(pictures) >= 4
    assert "TrainedClassifier('my-classifier'" in text
    assert "ClassifyReport(classifier='my-classifier'" in text
    assert f"test accuracy: {in_use} " in text
    assert ("training on the sample's truth instead" in text) is not labelled
    assert ("surveys/tasks with settled labels: ['S']" in text) is labelled
    assert (workspace / "blobs" / "classifiers" / "my-classifier" / "classifier.pt").is_file()
