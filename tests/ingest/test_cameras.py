"""What a camera is on a survey's first ingest, and the dry run that shows it first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import SampleSurvey

SPECIES_DIR = "camtrapR/pictures/sample_images_species_dir"


def test_camtraprs_species_folders_are_not_cameras(
    database_url: str, lab_factory: Any, shared_data: Path
) -> None:
    lab = lab_factory(database_url=database_url)
    root = shared_data / SPECIES_DIR
    shown = lab.surveys.preview(str(root), "C")
    assert list(shown.cameras["camera"]) == ["StationA", "StationB", "StationC"]
    assert lab.surveys.table().empty  # a dry run writes nothing
    report = lab.ingest(str(root), survey="C")
    assert "one camera per site" in report.cameras
    cameras = lab.images("C", include_failures=False)[["site", "camera"]].drop_duplicates()
    assert sorted(map(tuple, cameras.to_numpy())) == [
        ("StationA", "StationA"),
        ("StationB", "StationB"),
        ("StationC", "StationC"),
    ]
    assert lab.survey("C").camera_pattern == "site"
    again = lab.ingest(str(root), survey="C")  # the choice is the survey's from now on
    assert again.cameras == "camera pattern 'site'"


def test_two_cameras_at_a_site_stay_two(
    database_url: str, lab_factory: Any, sample_survey: SampleSurvey
) -> None:
    lab = lab_factory(database_url=database_url)
    report = lab.ingest(str(sample_survey.root), survey="S")
    assert "two cameras" in report.cameras
    cameras = lab.images("S", include_failures=False)[["site", "camera"]].drop_duplicates()
    assert ("Site01", "CamB") in set(map(tuple, cameras.to_numpy()))
    assert lab.survey("S").camera_pattern is None


def test_the_command_line_dry_run(cli: Any, shared_data: Path) -> None:
    shown = cli("ingest", str(shared_data / SPECIES_DIR), "-s", "C", "--dry-run")
    assert "3 site(s), 3 camera(s), 68 photo(s), 1 video(s)" in shown.stdout
    assert "StationB StationB      23" in shown.stdout
    assert "no surveys yet" in cli("surveys").stdout
