"""The user-facing notebooks run from top to bottom (so they never rot)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_notebook
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
    pictures, text = run_notebook("getting_started", tmp_path)
    assert len(pictures) == 3  # the map, the timeline, the thumbnails
    assert "truncated" in text
    assert "no_site" in text
    assert os.path.exists(tmp_path / "workspace" / "lab.db")
