"""The user-facing notebooks run from top to bottom (so they never rot)."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ARTIFACTS, REPO
from traptagger_lab.sample import SampleSurvey


@pytest.mark.notebook
@pytest.mark.slow
def test_getting_started(
    sample_survey: SampleSurvey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAPTAGGER_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.setenv("TRAPTAGGER_DEMO_DATA", str(sample_survey.root))
    monkeypatch.setenv("TRAPTAGGER_DASK_WORKERS", "2")
    for name in ("TRAPTAGGER_DATABASE_URL", "TRAPTAGGER_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    notebook = nbformat.read(REPO / "notebooks/getting_started.ipynb", as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()

    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    pictures = [o["data"]["image/png"] for o in outputs if "image/png" in o.get("data", {})]
    assert len(pictures) == 3  # the map, the timeline, the thumbnails
    ARTIFACTS.mkdir(exist_ok=True)
    for index, picture in enumerate(pictures):
        (ARTIFACTS / f"getting_started_{index}.png").write_bytes(base64.b64decode(picture))
    text = "".join(
        str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in outputs
    )
    assert "truncated" in text
    assert "no_site" in text
    assert os.path.exists(tmp_path / "workspace" / "lab.db")
