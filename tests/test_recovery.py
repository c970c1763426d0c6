"""Crash recovery with real processes: runs left ``running`` by ``kill -9`` are closed by
the next start, and the blobs they wrote without rows are removed, but never while a
run that writes blobs is alive, and never a blob a committed row names."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from traptagger_lab.db.engine import make_engine, session_factory, transaction, upgrade
from traptagger_lab.db.models import Image, ProcessingRun
from traptagger_lab.leases import Leases
from traptagger_lab.runs import finish_run, start_run
from traptagger_lab.sample import SampleSpec, SampleSurvey, make_sample_survey

#: The CLI, hanging before its Nth batch write: that batch's blobs are in the store, its
#: rows are not (the state a crash between the two leaves). The marker says it got there.
_HANGING_CLI = """
import os, sys, time
from pathlib import Path
from traptagger_lab.ingest.writer import SurveyWriter
write = SurveyWriter.write
calls = []
def hanging(self, outcomes):
    calls.append(1)
    if len(calls) == int(os.environ["HANG_AT_WRITE"]):
        Path(os.environ["HANG_MARKER"]).touch()
        time.sleep(600)
    return write(self, outcomes)
SurveyWriter.write = hanging
from traptagger_lab.cli import main
sys.argv[0] = "traptagger"
main()
"""


def _hanging_ingest(env: dict[str, str], source: Path, survey: str, at: int) -> Any:
    """Start a real ingest process and return it once it hangs before write number ``at``."""
    marker = Path(env["TRAPTAGGER_WORKSPACE"]).parent / f"{survey}.hanging"
    command = ["ingest", str(source), "--survey", survey, "--no-sequences"]
    child = subprocess.Popen(
        [sys.executable, "-c", _HANGING_CLI, *command],
        env={**os.environ, **env, "HANG_AT_WRITE": str(at), "HANG_MARKER": str(marker)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 180
    while not marker.exists():
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            raise AssertionError(f"the ingest never reached write {at}: {child.stderr.read()!r}")
        time.sleep(0.05)
    return child


def _kill(child: Any) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stderr.close()


def _stored(store: Path) -> set[str]:
    return {p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file()}


def _referenced(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(Image.compressed_key, Image.thumbnail_key)).all()
    finally:
        engine.dispose()
    return {key for row in rows for key in row if key}


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "traptagger_lab.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result


def _ingest_status(env: dict[str, str], survey: str) -> tuple[str, str]:
    result = _cli(env, "status", survey, "--json")
    return json.loads(result.stdout)["stages"]["ingest"]["status"], result.stderr


@pytest.mark.slow
def test_killed_ingest_is_closed_and_its_orphans_removed(
    database_url: str, sample_survey: SampleSurvey, tmp_path: Path
) -> None:
    store = tmp_path / "blobs"
    env = {
        "TRAPTAGGER_DATABASE_URL": database_url,
        "TRAPTAGGER_STORAGE_URL": str(store),
        "TRAPTAGGER_WORKSPACE": str(tmp_path / "ws"),
        "TRAPTAGGER_DASK_SCHEDULER": "sync",
        "TRAPTAGGER_BATCH_SIZE": "3",
    }
    other = make_sample_survey(
        tmp_path / "other", SampleSpec(bursts_per_camera=1, width=320, height=240, seed=23)
    )
    live = _hanging_ingest(env, other.root, "Live", at=2)  # alive all along, blobs uncommitted
    try:
        killed = _hanging_ingest(env, sample_survey.root, "Killed", at=4)
        _kill(killed)
        orphans = _stored(store) - _referenced(database_url)
        assert orphans, "the killed run should have left blobs without rows"

        before = _stored(store)
        status, notes = _ingest_status(env, "Killed")
        assert status == "interrupted"
        assert "marked interrupted" in notes
        assert _ingest_status(env, "Live")[0] == "running"  # its process is alive
        assert _stored(store) == before  # nothing swept while a run writing blobs is alive
    finally:
        _kill(live)

    status, notes = _ingest_status(env, "Live")
    assert status == "interrupted"
    assert "orphan blob(s)" in notes
    referenced = _referenced(database_url)
    left = _stored(store)
    assert referenced <= left  # every blob a committed row names is intact
    assert left == referenced  # the orphans of both runs are gone
    assert orphans.isdisjoint(left)
    assert _ingest_status(env, "Killed")[1] == ""  # swept once: nothing more to say

    _cli(env, "ingest", str(sample_survey.root), "--survey", "Killed", "--no-sequences")
    counts = json.loads(_cli(env, "status", "Killed", "--json").stdout)
    assert counts["images"] == len(sample_survey.photos)
    assert _referenced(database_url) <= _stored(store)


def test_a_live_run_is_never_closed_by_another_process(database_url: str, tmp_path: Path) -> None:
    """A run this process holds stays running for others; once finished its lease is gone."""
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        sessions = session_factory(engine)
        with transaction(sessions) as session:
            run = start_run(session, None, "detect", {})  # type: ignore[arg-type]
        leases = Leases(engine)
        assert leases.run_alive(run.id)
        with leases.exclusive_blobs() as alone:
            assert alone  # detect writes no blobs
        with transaction(sessions) as session:
            second = start_run(session, None, "detect", {})  # type: ignore[arg-type]
            status = session.scalar(select(ProcessingRun.status).where(ProcessingRun.id == run.id))
        assert status == "running"
        for done in (run, second):
            finish_run(sessions, done.id, {})
            assert not leases.run_alive(done.id)
    finally:
        engine.dispose()


def test_opening_a_lab_closes_runs_left_by_a_dead_process(
    database_url: str, lab_factory: Any, tmp_path: Path
) -> None:
    """Notebooks recover too: a run whose process is gone is marked interrupted on open."""
    from traptagger_lab.db.engine import transaction
    from traptagger_lab.db.models import ProcessingRun, Survey
    from traptagger_lab.lab import open_lab

    first = lab_factory(database_url=database_url)
    with transaction(first.sessions) as session:
        survey = Survey(name="R", settings={})
        session.add(survey)
        session.flush()
        stale = ProcessingRun(survey_id=survey.id, stage="sequences", status="running")
        session.add(stale)
        session.flush()
        stale_id = stale.id
    first.close()
    again = open_lab(str(tmp_path / "again"), database_url=database_url, dask_scheduler="sync")
    with again as lab, lab.sessions() as session:
        assert session.get(ProcessingRun, stale_id).status == "interrupted"
    with open_lab(
        str(tmp_path / "again"), database_url=database_url, dask_scheduler="sync", recover=False
    ) as lab:
        assert lab.recover().interrupted == []  # nothing left to do
