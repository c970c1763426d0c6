"""Fixtures of the export and import tests: a small survey of oddly named photos, and a CLI
runner that returns failures instead of asserting success."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TAGGED = "camtrapR/pictures/sample_images_species_tag/StationA"
#: Photo names that once broke folder export or XMP import (# was read as a URL fragment).
ODD_NAMES = ("a#b.JPG", "50% off?.JPG", "café é.JPG", "plain.JPG")


@pytest.fixture
def odd_survey(tmp_path: Path, shared_data: Path) -> Path:
    """A folder ``StationA/<odd names>`` of camtrapR photos (with their XMP species tags)."""
    root = tmp_path / "odd-survey"
    (root / "StationA").mkdir(parents=True)
    photos = sorted((shared_data / TAGGED).iterdir())
    for name, photo in zip(ODD_NAMES, photos, strict=False):
        shutil.copyfile(photo, root / "StationA" / name)
    return root


@pytest.fixture
def odd_lab(database_url: str, odd_survey: Path, lab_factory: Any) -> Any:
    """A lab on each backend with the odd survey ingested and clustered (survey "O")."""
    lab = lab_factory(database_url=database_url)
    lab.ingest(str(odd_survey), survey="O", site_pattern="folder:1", camera_pattern="folder:1")
    lab.sequences("O")
    return lab


@pytest.fixture
def cli_result(cli: Any) -> Callable[..., Any]:
    """Run a `traptagger` command on the `cli` fixture's workspace; returns the result
    whatever its exit code (stderr apart from stdout)."""
    from typer.testing import CliRunner

    from traptagger_lab.cli import app

    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(app, list(args))

    return invoke
