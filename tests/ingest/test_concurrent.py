"""Two ingests of one survey at once (issue 17, item 5): the second says "already running"
and changes nothing, or waits its turn; on SQLite, MariaDB and PostgreSQL, with real
processes. (A run killed with SIGKILL leaves no lock behind: test_run.py's killed-run
test starts the next run on the same survey.)"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from tests.ingest.paced import images_written, paced_cli
from traptagger_lab.db.models import ProcessingRun, Survey
from traptagger_lab.ingest.lock import AlreadyRunningError, stage_lock
from traptagger_lab.sample import SampleSurvey


@pytest.mark.slow
def test_a_second_ingest_of_a_running_survey_says_so(
    database_url: str, sample_survey: SampleSurvey, lab_factory: Any, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "TRAPTAGGER_DATABASE_URL": database_url,
        "TRAPTAGGER_STORAGE_URL": str(tmp_path / "blobs"),
        "TRAPTAGGER_DASK_SCHEDULER": "sync",
        "TRAPTAGGER_BATCH_SIZE": "3",
    }
    arguments = ["ingest", str(sample_survey.root), "--survey", "S", "--no-sequences"]
    first = subprocess.Popen(
        [*paced_cli(0.3), *arguments],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while (
        images_written(database_url) == 0 and time.monotonic() < deadline and first.poll() is None
    ):
        time.sleep(0.05)
    second = subprocess.run(
        [sys.executable, "-m", "traptagger_lab.cli", *arguments],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    still_running = first.poll() is None
    _, first_errors = first.communicate(timeout=300)

    assert still_running, "the first ingest should still run when the second starts"
    assert second.returncode == 1
    assert "already running" in second.stderr
    assert "Traceback" not in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1  # one line: what and why
    assert first.returncode == 0, first_errors
    lab = lab_factory(database_url=database_url, storage_url=str(tmp_path / "blobs"))
    assert lab.status_counts("S")["images"] == len(sample_survey.photos)
    with lab.sessions() as session:
        statuses = list(session.scalars(select(ProcessingRun.status)))
    assert statuses == ["done"]  # the refused ingest started no run and failed none


def test_a_waiting_ingest_runs_when_the_first_ends(
    database_url: str, tmp_path: Path, lab_factory: Any
) -> None:
    root = tmp_path / "photos" / "Site01" / "CamA"
    root.mkdir(parents=True)
    Image.new("RGB", (32, 24), (1, 2, 3)).save(root / "IMG_0001.JPG")
    lab = lab_factory(database_url=database_url, storage_url=str(tmp_path / "store"))
    survey = lab.create_survey("S")
    holder = stage_lock(lab.engine, survey.id, "ingest", "the test's ingest")
    holder.__enter__()
    try:
        with pytest.raises(AlreadyRunningError, match="already running"):
            lab.ingest(str(tmp_path / "photos"), survey="S")
    finally:
        threading.Timer(1.0, holder.__exit__, (None, None, None)).start()
    report = lab.ingest(str(tmp_path / "photos"), survey="S", wait_s=60)
    assert report.images == 1
    with lab.sessions() as session:
        assert session.scalars(select(Survey.name)).all() == ["S"]
