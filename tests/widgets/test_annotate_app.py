"""The annotation app: headless through its widgets, and for real in Voila + headless Chromium."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.browser import (
    app_env,
    chromium_page,
    free_port,
    offline,
    remote,
    served,
    voila_command,
    voila_env,
)
from tests.conftest import ARTIFACTS, REPO
from traptagger_lab.db.models import Annotation
from traptagger_lab.sample import SampleSurvey


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
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = voila_command(REPO / "notebooks/annotate.ipynb", port)
    with served(command, voila_env(workspace, "browser"), url), chromium_page() as page:
        requested = offline(page)
        page.goto(url, wait_until="commit", timeout=60_000)  # not "load": wait for the app
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
    assert [u for u in requested if remote(u)] == []  # the app works on a closed network
    assert _wait_for_annotations(lab, 1) == 1


@pytest.mark.browser
@pytest.mark.slow
def test_typing_a_note_fires_no_hotkeys(
    prepared_workspace: tuple[Any, Path], tmp_path: Path
) -> None:
    """Typing "ok" in the note box types "ok" and labels nothing (o and k are hotkeys)."""
    lab, workspace = prepared_workspace
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = voila_command(REPO / "notebooks/annotate.ipynb", port)
    with served(command, voila_env(workspace, "browser"), url), chromium_page() as page:
        offline(page)
        page.goto(url, wait_until="commit", timeout=60_000)
        page.get_by_text("Start annotating").click(timeout=120_000)
        page.get_by_text("Zebra (z)").wait_for(timeout=60_000)
        note = page.get_by_placeholder("note (optional)")
        note.click()
        page.keyboard.type("ok")
        page.keyboard.press("z")  # a hotkey typed into the note is text too
        page.keyboard.press("Enter")
        assert note.input_value() == "okz"
        assert page.get_by_text("Sequence 1 of").is_visible()
        assert _annotations(lab) == 0
        page.get_by_text("Sequence 1 of").click()  # out of the text field: keys label again
        page.keyboard.press("z")
        page.get_by_text("Sequence 2 of").wait_for(timeout=30_000)
    assert _wait_for_annotations(lab, 1) == 1
    with lab.sessions() as session:
        assert session.scalar(select(Annotation.note)) == "okz"  # the note went with it


@pytest.mark.browser
@pytest.mark.slow
def test_closing_the_page_returns_its_sequences(
    prepared_workspace: tuple[Any, Path], tmp_path: Path
) -> None:
    """Voila culls a closed page's kernel (here after 3 idle seconds, on the hub after
    traptagger_hub.hub's timeout); the tagger gives its job back as the kernel shuts down."""
    lab, workspace = prepared_workspace
    task = lab.tasks.list()["id"].iloc[0]
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [
        *voila_command(REPO / "notebooks/annotate.ipynb", port),
        "--MappingKernelManager.cull_idle_timeout=3",
        "--MappingKernelManager.cull_interval=1",
        "--MappingKernelManager.cull_connected=False",
    ]
    with served(command, voila_env(workspace, "browser"), url), chromium_page() as page:
        page.goto(url, wait_until="commit", timeout=60_000)
        page.get_by_text("Start annotating").click(timeout=120_000)
        page.get_by_text("Zebra (z)").wait_for(timeout=60_000)
        assert lab.tasks.progress(int(task))["in_progress"] == 10  # the page's job
        page.close(run_before_unload=True)
        deadline = time.monotonic() + 60
        while lab.tasks.progress(int(task))["in_progress"] and time.monotonic() < deadline:
            time.sleep(0.5)
        assert lab.tasks.progress(int(task))["in_progress"] == 0  # back in the pool


@pytest.mark.browser
@pytest.mark.slow
def test_app_inside_jupyterlab(prepared_workspace: tuple[Any, Path], tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    lab, workspace = prepared_workspace
    port = free_port()
    env = app_env(workspace, "lab-user")
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
    with served(command, env, f"http://127.0.0.1:{port}/api"), chromium_page() as page:
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
