"""The annotation app: headless through its widgets, and for real in Voila + headless Chromium."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
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


@pytest.mark.browser
@pytest.mark.slow
def test_app_in_voila_and_chromium(
    sample_survey: SampleSurvey, lab_factory: Any, tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    playwright = pytest.importorskip("playwright.sync_api")
    workspace = tmp_path / "workspace"
    lab = lab_factory(workspace=str(workspace))
    _prepared(lab, sample_survey, tmp_path)
    port = _free_port()
    env = {**os.environ, "TRAPTAGGER_WORKSPACE": str(workspace), "TRAPTAGGER_ANNOTATOR": "browser"}
    for name in ("TRAPTAGGER_DATABASE_URL", "TRAPTAGGER_STORAGE_URL"):
        env.pop(name, None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voila",
            str(REPO / "notebooks/annotate.ipynb"),
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
            "--show_tracebacks=True",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url, timeout=2).read(100)
                break
            except OSError:
                time.sleep(0.5)
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
            page = browser.new_page(viewport={"width": 1200, "height": 1100})
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
            (ARTIFACTS / "annotate_app_key_to_next_image.txt").write_text(
                f"{seconds * 1000:.0f} ms\n"
            )
            browser.close()
        deadline = time.monotonic() + 10
        while _annotations(lab) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _annotations(lab) == 1
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
