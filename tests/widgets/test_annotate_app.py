"""The annotation app: headless through its widgets, and for real in Voila + headless Chromium."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import ARTIFACTS, REPO
from traptagger_lab.db.models import Annotation
from traptagger_lab.sample import SampleSurvey

CHROMIUM = "/usr/bin/chromium"


def _prepared(lab: Any, survey: SampleSurvey, tmp_path: Path) -> Any:
    lab.ingest(str(survey.root), survey="S")
    lab.sequences("S")
    box = {"category": "1", "conf": 0.9, "bbox": [0.3, 0.5, 0.2, 0.2]}
    (tmp_path / "md.json").write_text(
        json.dumps({"images": [{"file": p, "detections": [box]} for p in survey.photos]})
    )
    lab.import_detections("S", str(tmp_path / "md.json"))
    return lab.tasks.create("S", "species", labels=["Impala", "Zebra"])


def _annotations(lab: Any) -> int:
    with lab.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Annotation)) or 0)


def test_app_headless(sample_survey: SampleSurvey, lab_factory: Any, tmp_path: Path) -> None:
    from traptagger_lab.widgets.app import annotation_app, task_choices

    lab = lab_factory()
    task = _prepared(lab, sample_survey, tmp_path)
    assert [value for _, value in task_choices(lab)] == [task.id]
    app = annotation_app(lab, "ann")
    start = app.children[1].children[1]
    start.click()
    tagger = app.children[1]
    tagger.press("z")
    assert _annotations(lab) == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _served(command: list[str], env: dict[str, str], url: str) -> Iterator[None]:
    """Run a server process until ``url`` answers; stop it afterwards.

    Its log goes to a file: an unread pipe fills up and blocks a talkative server.
    """
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                if server.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"{command[:4]} exited: {log.read().decode()[-2000:]}")
                try:
                    urllib.request.urlopen(url, timeout=2).read(100)
                    break
                except OSError:
                    time.sleep(0.5)
            yield
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


@contextmanager
def _chromium_page() -> Iterator[Any]:
    """A page in Debian's headless Chromium (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        try:
            yield browser.new_page(viewport={"width": 1200, "height": 1100})
        finally:
            browser.close()


def _app_env(workspace: Path, annotator: str) -> dict[str, str]:
    env = {**os.environ, "TRAPTAGGER_WORKSPACE": str(workspace), "TRAPTAGGER_ANNOTATOR": annotator}
    for name in ("TRAPTAGGER_DATABASE_URL", "TRAPTAGGER_STORAGE_URL"):
        env.pop(name, None)
    return env


def _wait_for_annotations(lab: Any, count: int) -> int:
    deadline = time.monotonic() + 10
    while _annotations(lab) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return _annotations(lab)


@pytest.fixture
def prepared_workspace(
    sample_survey: SampleSurvey, lab_factory: Any, tmp_path: Path
) -> tuple[Any, Path]:
    """A workspace with the sample survey and a species task, and its lab."""
    workspace = tmp_path / "workspace"
    lab = lab_factory(workspace=str(workspace))
    _prepared(lab, sample_survey, tmp_path)
    return lab, workspace


@pytest.mark.browser
@pytest.mark.slow
def test_app_in_voila_and_chromium(prepared_workspace: tuple[Any, Path], tmp_path: Path) -> None:
    lab, workspace = prepared_workspace
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [
        sys.executable,
        "-m",
        "voila",
        str(REPO / "notebooks/annotate.ipynb"),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--show_tracebacks=True",
    ]
    with _served(command, _app_env(workspace, "browser"), url), _chromium_page() as page:
        page.goto(url, timeout=120_000)
        page.get_by_text("Start annotating").click(timeout=120_000)
        page.get_by_text("Zebra (z)").wait_for(timeout=60_000)
        picture = page.locator("img").first
        before = picture.get_attribute("src")
        page.get_by_text("Sequence 1 of").hover()
        began = time.perf_counter()
        page.keyboard.press("z")
        page.wait_for_function(
            "previous => document.querySelector('img').getAttribute('src') !== previous",
            arg=before,
            timeout=30_000,
        )
        seconds = time.perf_counter() - began
        page.get_by_text("Sequence 2 of").wait_for(timeout=30_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "annotate_app.png"), full_page=True)
        (ARTIFACTS / "annotate_app_key_to_next_image.txt").write_text(f"{seconds * 1000:.0f} ms\n")
    assert _wait_for_annotations(lab, 1) == 1


@pytest.mark.browser
@pytest.mark.slow
def test_app_inside_jupyterlab(prepared_workspace: tuple[Any, Path], tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    lab, workspace = prepared_workspace
    port = _free_port()
    env = _app_env(workspace, "lab-user")
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp_path / "lab-workspaces")
    env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp_path / "lab-settings")
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        "--IdentityProvider.token=test-token",
        f"--ServerApp.root_dir={REPO / 'notebooks'}",
        "--allow-root",
    ]
    url = f"http://127.0.0.1:{port}/lab/tree/annotate.ipynb?token=test-token"
    with _served(command, env, f"http://127.0.0.1:{port}/api"), _chromium_page() as page:
        page.goto(url, timeout=120_000)
        page.locator(".jp-RenderedMarkdown").get_by_text("Choose a task").wait_for(timeout=120_000)
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
            timeout=120_000
        )
        # On a loaded machine a click on the menu is sometimes lost while the page is
        # still settling: run all cells again until the app appears (three tries).
        for attempt in range(3):
            page.get_by_role("menuitem", name="Run").click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            try:
                page.get_by_text("Start annotating").wait_for(timeout=60_000)
                break
            except playwright.TimeoutError:
                if attempt == 2:
                    raise
        page.get_by_text("Start annotating").click(timeout=30_000)
        page.get_by_text("Zebra (z)").click(timeout=60_000)  # the label button
        page.get_by_text("Sequence 2 of").wait_for(timeout=30_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "annotate_app_jupyterlab.png"), full_page=True)
    assert _wait_for_annotations(lab, 1) == 1
