"""``notebooks/train_classifier.ipynb`` runs top to bottom on a labelled workspace."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ARTIFACTS, REPO
from tests.training.conftest import labelled_lab
from traptagger_lab.sample import SampleSurvey

pytestmark = [pytest.mark.training, pytest.mark.notebook, pytest.mark.slow]


def test_train_classifier_notebook(
    training_survey: SampleSurvey,
    lab_factory: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("torchvision")
    workspace = tmp_path / "workspace"
    lab = lab_factory(workspace=str(workspace))
    labelled_lab(lab, training_survey, tmp_path)
    lab.close()
    for name in ("TRAPTAGGER_DATABASE_URL", "TRAPTAGGER_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRAPTAGGER_WORKSPACE", str(workspace))
    monkeypatch.setenv("TRAPTAGGER_DASK_SCHEDULER", "sync")
    monkeypatch.setenv("TRAPTAGGER_TRAIN_ARCH", "mobilenet_v3_small")
    monkeypatch.setenv("TRAPTAGGER_TRAIN_IMAGE_SIZE", "64")
    monkeypatch.setenv("TRAPTAGGER_TRAIN_EPOCHS", "2")
    notebook = nbformat.read(REPO / "notebooks/train_classifier.ipynb", as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()

    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    pictures = [o["data"]["image/png"] for o in outputs if "image/png" in o.get("data", {})]
    # the balance bars, the live training plot (updated in place), confusion, reliability
    assert len(pictures) >= 4
    ARTIFACTS.mkdir(exist_ok=True)
    for index, picture in enumerate(pictures):
        (ARTIFACTS / f"train_classifier_{index}.png").write_bytes(base64.b64decode(picture))
    text = "".join(
        str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in outputs
    )
    assert "TrainedClassifier('my-classifier'" in text
    assert "ClassifyReport(classifier='my-classifier'" in text
    assert (workspace / "blobs" / "classifiers" / "my-classifier" / "classifier.pt").is_file()
