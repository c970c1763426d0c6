"""The `traptagger` command line, run as a real process with settings from the environment."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from traptagger_lab.db.engine import head_revision
from traptagger_lab.sample import SampleSurvey


def _cli(
    *args: str, env: dict[str, str], check: bool = True, drop: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    merged = {k: v for k, v in {**os.environ, **env}.items() if k not in drop}
    result = subprocess.run(
        [sys.executable, "-m", "traptagger_lab.cli", *args],
        env=merged,
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


# -- expected failures: one line, exit status 1 (2 for bad arguments), no traceback -----------


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _one_error(result: subprocess.CompletedProcess[str], *words: str, code: int = 1) -> str:
    """The run failed with ``code`` and one ``error:`` line holding ``words``; no traceback."""
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def _database_env(tmp_path: Path, url: str) -> dict[str, str]:
    return {
        "TRAPTAGGER_DATABASE_URL": url,
        "TRAPTAGGER_WORKSPACE": str(tmp_path / "ws"),
        "TRAPTAGGER_DASK_SCHEDULER": "sync",
    }


@pytest.mark.parametrize("scheme", ["postgresql+psycopg://postgres", "mysql+pymysql://root"])
def test_unreachable_database_is_one_line(tmp_path: Path, scheme: str) -> None:
    port = _closed_port()
    env = _database_env(tmp_path, f"{scheme}:s3cret@127.0.0.1:{port}/lab")
    for command in (["init"], ["surveys"], ["status", "S"], ["ingest", str(tmp_path), "-s", "S"]):
        result = _cli(*command, env=env, check=False)
        line = _one_error(result, f"cannot reach the database at 127.0.0.1:{port}", "refused")
        assert "s3cret" not in result.stdout + result.stderr
        assert line.count("\n") == 0


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    env = _database_env(tmp_path, f"postgresql+psycopg://u:pw@127.0.0.1:{_closed_port()}/x")
    flagged = _cli("--debug", "surveys", env=env, check=False)
    assert flagged.returncode != 0
    assert "Traceback" in flagged.stderr
    assert "OperationalError" in flagged.stderr
    by_env = _cli("surveys", env={**env, "TRAPTAGGER_DEBUG": "1"}, check=False)
    assert "Traceback" in by_env.stderr


@pytest.mark.mysql
def test_wrong_mariadb_password_is_one_line(tmp_path: Path) -> None:
    from sqlalchemy.engine import make_url

    from tests.conftest import MYSQL_SERVER

    server = make_url(MYSQL_SERVER)
    url = server.set(password="wrong-pw", database="x").render_as_string(hide_password=False)
    result = _cli("surveys", env=_database_env(tmp_path, url), check=False)
    _one_error(
        result, "refused the login", f"user {server.username!r}", "wrong user name or password"
    )
    assert "wrong-pw" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "server",
    [
        pytest.param("mysql", marks=pytest.mark.mysql),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ],
)
def test_missing_database_is_one_line(tmp_path: Path, server: str) -> None:
    from tests.conftest import MYSQL_SERVER, POSTGRES_SERVER

    base = MYSQL_SERVER if server == "mysql" else POSTGRES_SERVER
    result = _cli("status", "S", env=_database_env(tmp_path, f"{base}/tt_no_such_db"), check=False)
    _one_error(result, "database 'tt_no_such_db' does not exist")


def test_bad_database_url_is_one_line(tmp_path: Path) -> None:
    result = _cli("surveys", env=_database_env(tmp_path, "nosuchdb://me:pw@host/x"), check=False)
    _one_error(result, "not a usable database URL", "nosuchdb://me:***@host/x")
    assert ":pw@" not in result.stderr


def test_s3_without_credentials_is_one_line(
    tmp_path: Path, s3_server: str, sample_survey: SampleSurvey
) -> None:
    env = {
        "TRAPTAGGER_WORKSPACE": str(tmp_path / "ws"),
        "TRAPTAGGER_DASK_SCHEDULER": "sync",
        "TRAPTAGGER_STORAGE_URL": "s3://no-credentials/derived",
        "TRAPTAGGER_S3_ENDPOINT_URL": s3_server,  # moto on loopback: nothing leaves the machine
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    aws = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
    result = _cli(
        "ingest", str(sample_survey.root), "--survey", "S", env=env, check=False, drop=aws
    )
    _one_error(result, "no usable AWS credentials", "AWS_ACCESS_KEY_ID")


@pytest.mark.parametrize("value", ["1e30", "-1e30", "nan", "inf"])
def test_clock_offset_out_of_range(tmp_path: Path, value: str) -> None:
    env = {"TRAPTAGGER_WORKSPACE": str(tmp_path / "ws"), "COLUMNS": "300"}
    result = _cli(
        "clock", "S", "--camera", "Site01/CamA", "--offset-s", value, env=env, check=False
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "Invalid value for '--offset-s'" in result.stderr
    assert "a century" in result.stderr


def test_clock_true_time_not_a_time(tmp_path: Path) -> None:
    env = {"TRAPTAGGER_WORKSPACE": str(tmp_path / "ws"), "COLUMNS": "300"}
    result = _cli("clock", "S", "--image", "a.jpg", "--true-time", "notatime", env=env, check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "'notatime' is not a date and time" in result.stderr
    assert not (tmp_path / "ws").exists()  # checked before anything opened


def test_expected_failures_in_process(cli: object, tmp_path: Path) -> None:
    """The handler sits in the command group, so in-process runners see it too."""
    from typer.testing import CliRunner

    from traptagger_lab.cli import app

    result = CliRunner().invoke(app, ["status", "Nope", "--workspace", str(tmp_path / "w")])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "error: no survey 'Nope'" in result.output


def test_compare_prints_accuracy_and_writes_the_differences(
    cli: Any, lab_factory: Any, sample_survey: SampleSurvey, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from tests.conftest import annotate_all
    from traptagger_lab.annotate.compare import compare
    from traptagger_lab.cli import app
    from traptagger_lab.sample import truth_label_table

    workspace = tmp_path / "cli-workspace"
    lab = lab_factory(workspace=str(workspace))
    lab.ingest(str(sample_survey.root), survey="S")
    lab.sequences("S")
    annotate_all(lab, "S", ["Impala", "Zebra"])
    truth = truth_label_table(sample_survey.root, tmp_path / "truth.csv")
    with truth.open("a") as handle:
        handle.write("Site09/IMG_0001.JPG,Zebra,1\n")
    expected = compare(lab.workspace, "S", truth)
    assert len(expected.differ) > 0
    assert len(expected.problems) == 1

    out = tmp_path / "differ.csv"
    shown = cli("compare", "S", "--truth", str(truth), "--csv", str(out)).output
    assert f"accuracy: {expected.accuracy:.1%} of {expected.sequences} sequence(s)" in shown
    assert f"{len(expected.differ)} sequence(s) differ" in shown
    for species in ("Impala", "Zebra", "macro", "micro"):
        assert any(line.split()[:1] == [species] for line in shown.splitlines()), species
    assert "Site09/IMG_0001.JPG: no image of the survey has this path" in shown
    pd.testing.assert_frame_equal(pd.read_csv(out), expected.differ, check_dtype=False)

    missing = CliRunner().invoke(app, ["compare", "S", "--truth", "Nope"])
    assert missing.exit_code == 1
    errors = [line for line in missing.output.splitlines() if line.startswith("error: ")]
    assert errors == ["error: task 'Nope' does not exist"]
