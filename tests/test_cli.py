"""The `traptagger` command line, run as a real process with settings from the environment."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from traptagger_lab.db.engine import head_revision
from traptagger_lab.sample import SampleSurvey


def _cli(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "traptagger_lab.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.mark.mysql
@pytest.mark.slow
def test_cli_round_trip_on_mariadb(
    sample_survey: SampleSurvey, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from tests.conftest import _server_database

    databases = _server_database("mysql")
    url = next(databases)
    request.addfinalizer(lambda: next(databases, None))
    env = {
        "TRAPTAGGER_DATABASE_URL": url,
        "TRAPTAGGER_STORAGE_URL": str(tmp_path / "store"),
        "TRAPTAGGER_DASK_SCHEDULER": "local",
        "TRAPTAGGER_DASK_WORKERS": "2",
        "TRAPTAGGER_WORKSPACE": str(tmp_path / "unused-workspace"),
    }
    assert f"schema {head_revision()}" in _cli("init", env=env).stdout
    result = _cli("ingest", str(sample_survey.root), "--survey", "Karoo", env=env)
    assert json.loads(result.stdout)["images"] == len(sample_survey.photos)
    assert f"{len(sample_survey.failures)} file(s) not imported" in result.stderr
    assert "IMG_9991.JPG: truncated" in result.stderr

    status = json.loads(_cli("status", "Karoo", "--json", env=env).stdout)
    assert status["images"] == len(sample_survey.photos)
    assert Counter(status["failures"]) == sample_survey.expected_failures
    assert status["clusters"] > 0
    assert status["unclustered_images"] == 0
    assert status["stages"]["ingest"]["status"] == "done"

    rows = list(csv.DictReader(io.StringIO(_cli("images", "Karoo", "--csv", env=env).stdout)))
    by_path = {row["path"]: row for row in rows}
    assert set(sample_survey.photos) <= set(by_path)
    assert {
        p: by_path[p]["failure_reason"] for p in sample_survey.failures
    } == sample_survey.failures
    first = by_path[sample_survey.photos[0]]
    assert first["site"] == "Site01"
    assert first["camera"] == "CamA"
    assert first["cluster_id"]
    assert first["timestamp"].startswith("2024-03-")

    assert "Karoo" in _cli("surveys", env=env).stdout
    assert not (tmp_path / "unused-workspace" / "lab.db").exists()  # the URLs won
    assert any((tmp_path / "store" / "thumbnails").rglob("*.jpg"))


def test_clear_errors(tmp_path: Path) -> None:
    env = {"TRAPTAGGER_WORKSPACE": str(tmp_path / "ws"), "TRAPTAGGER_DASK_SCHEDULER": "sync"}
    missing = _cli("status", "Nope", env=env, check=False)
    assert missing.returncode == 1
    assert "no survey 'Nope'" in missing.stderr
    bad_source = _cli("ingest", str(tmp_path / "nothing"), "--survey", "X", env=env, check=False)
    assert bad_source.returncode == 1
    assert "is not a folder" in bad_source.stderr
    bad_regex = _cli(
        "ingest", str(tmp_path), "--survey", "X", "--site-pattern", "([", env=env, check=False
    )
    assert bad_regex.returncode == 1
    assert "not a valid regex" in bad_regex.stderr


def test_help_explains_options() -> None:
    text = _cli("ingest", "--help", env={"COLUMNS": "200"}).stdout
    for option in ("--survey", "--site-pattern", "--camera-pattern", "--exclude", "--coordinates"):
        assert option in text
    assert "folder:N" in text


def test_sample_and_coordinates_commands(tmp_path: Path) -> None:
    env = {"TRAPTAGGER_WORKSPACE": str(tmp_path / "ws"), "TRAPTAGGER_DASK_SCHEDULER": "sync"}
    out = _cli(
        "sample",
        str(tmp_path / "photos"),
        "--bursts",
        "2",
        "--width",
        "320",
        "--height",
        "240",
        env=env,
    )
    assert "problem files" in out.stdout
    _cli("ingest", str(tmp_path / "photos"), "--survey", "S", env=env)
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site,latitude,longitude\nSite01,-25.1,31.2\nSite02,oops,31.3\nSite99,-25,31\n"
    )
    result = _cli("coordinates", "S", str(sites), env=env)
    assert "1 site positions set, 2 problems" in result.stdout
    assert "sites.csv, row 3" in result.stderr
    assert "Site99" in result.stderr
    env_lab = {"workspace": str(tmp_path / "ws"), "dask_scheduler": "sync"}
    from traptagger_lab.lab import open_lab

    with open_lab(**env_lab) as lab:
        sites_table = lab.sites("S").set_index("site")
    assert sites_table.loc["Site01"].latitude == -25.1
    assert sites_table.loc["Site02"].latitude == pytest.approx(-24.05, abs=1e-4)  # from photo GPS
