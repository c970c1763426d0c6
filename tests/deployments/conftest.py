"""Fixtures of the deployment tests: camtrapR's sample survey ingested on each backend, and its
camera-trap table.

camtrapR's sample (``../shared/data/camtrapR``): photos in ``Station/Species/`` folders
(``sample_images_species_dir``, plus one video in StationA/PBE whose metadata says 2025) and
``camtraps.csv``: three stations with UTM coordinates (zone 50N), setup and retrieval dates
(day/month/year) and one problem period at StationC.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

PICTURES = "camtrapR/pictures/sample_images_species_dir"
#: camtraps.csv's projected coordinates: UTM zone 50N on WGS84.
UTM = {"x": "utm_x", "y": "utm_y", "crs": "EPSG:32650"}


@pytest.fixture
def camtraps(shared_data: Path) -> Path:
    """camtrapR's camera-trap table of its sample."""
    return shared_data / "camtrapR/camtraps.csv"


@pytest.fixture
def camtrapr(database_url: str, lab_factory: Any, shared_data: Path) -> Any:
    """A lab on each backend with camtrapR's sample ingested as survey "C" (stations from the
    first folder, one camera per station: the species folders are not cameras) and labelled
    with its species folders."""
    lab = lab_factory(database_url=database_url)
    lab.ingest(
        str(shared_data / PICTURES), survey="C", site_pattern="folder:1", camera_pattern="folder:1"
    )
    lab.import_labels("C", "folders")
    return lab
