"""The survey manager: its buttons driven headless on each backend, and its main path for real
in Voila + headless Chromium at 1366x768."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pytest

from tests.browser import (
    chromium_page,
    free_port,
    offline,
    remote,
    served,
    voila_command,
    voila_env,
)
from tests.conftest import ARTIFACTS, REPO
from traptagger_lab.sample import SampleSurvey, sample_detections
from traptagger_lab.widgets.manager import SurveyManager


def press(root: widgets.Widget, description: str) -> None:
    """Click the button called ``description`` somewhere under ``root``."""
    found = [
        w for w in _under(root) if isinstance(w, widgets.Button) and w.description == description
    ]
    assert len(found) == 1, f"{len(found)} buttons called {description!r}"
    found[0].click()


def _under(root: widgets.Widget) -> list[widgets.Widget]:
    children = list(getattr(root, "children", ()))
    return [root, *(w for child in children for w in _under(child))]


def test_preview_then_import(
    database_url: str, sample_survey: SampleSurvey, lab_factory: Any
) -> None:
    lab = lab_factory(database_url=database_url)
    manager = SurveyManager(lab)
    assert manager.survey is None
    ingest = manager.ingest
    ingest.source.value = str(sample_survey.root)
    ingest.name.value = "New"
    press(ingest.widget, "Preview")
    sites = {path.split("/")[0] for path in sample_survey.photos}
    assert f"<b>{len(sites)}</b> site(s)" in ingest.found.value
    assert "Cameras:" in ingest.found.value
    assert lab.surveys.table().empty  # a preview writes nothing
    press(ingest.widget, "Import")
    assert "color:#060" in ingest.status.value, ingest.status.value
    assert f"{len(sample_survey.photos)} photo(s)" in ingest.status.value
    assert manager.survey == "New"
    table = lab.surveys.table().set_index("name")
    assert table.loc["New", "clusters"] > 0
    manager.tabs.selected_index = 0  # the survey tab shows it with its status
    surveys = manager.surveys
    assert "New" in surveys.table.value
    assert "Deployment checks" in surveys.checks.value


def test_a_bad_folder_is_one_line(lab_factory: Any, tmp_path: Path) -> None:
    manager = SurveyManager(lab_factory())
    ingest = manager.ingest
    ingest.source.value = str(tmp_path / "no such folder")
    ingest.name.value = "X"
    press(ingest.widget, "Preview")
    shown = ingest.status.value
    assert "Preview failed" in shown
    assert "is not a folder or prefix" in shown
    assert "\n" not in shown
    assert "Traceback" not in shown
    press(ingest.widget, "Import")
    assert "Import failed" in ingest.status.value
    assert "Traceback" not in ingest.status.value
    ingest.name.value = ""
    press(ingest.widget, "Import")
    assert "a survey name" in ingest.status.value
    assert manager.survey is None


def test_detections_from_md_json_and_accepting(
    lab: Any, sample_survey: SampleSurvey, tmp_path: Path
) -> None:
    manager = SurveyManager(lab)
    assert manager.survey == "S"
    manager.tabs.selected_index = 2
    ai = manager.ai
    ai.md_json.value = str(sample_detections(sample_survey.root, tmp_path / "md.json"))
    press(ai.widget, "Import MD JSON")
    assert "Imported" in ai.status.value, ai.status.value
    assert lab.images("S").shape[0] > 0
    press(ai.widget, "Accept suggestions")  # nothing classified yet: says so in one line
    assert "Accept failed" in ai.status.value
    assert "classify it first" in ai.status.value
    ai.md_json.value = str(tmp_path / "missing.json")
    press(ai.widget, "Import MD JSON")
    assert "MD JSON import failed" in ai.status.value
    assert "Traceback" not in ai.status.value
    ai.model.value = "no-such-detector"
    press(ai.widget, "Run detection")
    assert "Detection failed" in ai.status.value, ai.status.value
    ai.classifier.value = str(tmp_path / "no classifier")
    press(ai.widget, "Classify")
    assert "Classification failed" in ai.status.value, ai.status.value
    assert "Traceback" not in ai.status.value


def test_create_a_species_task_and_see_its_progress(lab: Any) -> None:
    manager = SurveyManager(lab)
    manager.tabs.selected_index = 3
    tasks = manager.tasks
    tasks.name.value = "Species"
    tasks.labels.value = "Impala, Zebra , Warthog"
    press(tasks.widget, "Create task")
    assert "Created task Species (species)" in tasks.status.value, tasks.status.value
    assert "Species" in tasks.tasks.value
    assert "0%" in tasks.tasks.value
    task = lab.tasks.get("Species", "S")
    assert {"Impala", "Zebra", "Warthog"} <= set(lab.tasks.labels(task)["name"])
    job = lab.annotate.next_job(task, "ann", size=4)
    for cluster in job.clusters:
        lab.annotate.submit(job, cluster, labels=["Zebra"])
    press(tasks.widget, "Refresh")
    done = lab.tasks.list("S").set_index("name").loc["Species"]
    percent = f"{100 * done['complete'] / done['clusters']:.0f}%"
    assert percent != "0%"
    assert percent in tasks.tasks.value
    press(tasks.widget, "Create task")  # the same name again: refused in one line
    assert "Create task failed" in tasks.status.value


def test_the_other_tabs(lab: Any) -> None:
    manager = SurveyManager(lab, user="ann")
    for index in range(len(manager.panels)):
        manager.tabs.selected_index = index
        assert "failed" not in manager.panel.status.value, manager.panel.status.value
    static = manager.static
    press(static.widget, "Open static-group review")
    assert "0 static group(s)" in static.status.value
    clock = manager.clock
    clock.refresh()
    camera = clock.camera.options[0]
    before = lab.images("S", include_failures=False)
    clock.camera.value, clock.seconds.value = camera, 3600
    press(clock.widget, "Set clock offset")
    assert f"{camera}: offset +3600 s" in clock.status.value, clock.status.value
    after = lab.images("S", include_failures=False)
    assert not before["corrected_timestamp"].equals(after["corrected_timestamp"])
    deployments = manager.deployments
    deployments.path.value = "/no/such/table.csv"
    press(deployments.widget, "Import deployments")
    assert "Deployment import failed" in deployments.status.value


def look(page: Any, name: str) -> Path:
    """Screenshot the page (to $TMPDIR and test-artifacts/) and check nothing is wider than it."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = Path(os.environ.get("TMPDIR", "/tmp")) / f"manager_{name}_1366x768.png"
    page.screenshot(path=str(shot))
    page.screenshot(path=str(ARTIFACTS / f"manager_{name}.png"))
    widest = page.evaluate("document.documentElement.scrollWidth")
    assert widest <= 1366, f"the {name} tab is {widest}px wide"
    text = page.inner_text("body")
    assert "Traceback" not in text
    assert "import traptagger_lab" not in text
    return shot


@pytest.mark.browser
@pytest.mark.slow
def test_main_path_in_voila_and_chromium(sample_survey: SampleSurvey, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = voila_env(tmp_path / "workspace", "member")
    with (
        served(voila_command(REPO / "notebooks/manage.ipynb", port), env, url),
        chromium_page() as page,
    ):
        page.set_viewport_size({"width": 1366, "height": 768})
        requested = offline(page)
        page.goto(url, wait_until="commit", timeout=60_000)
        page.get_by_role("tab", name="Ingest").click(timeout=120_000)
        page.get_by_placeholder("/data/photos or s3://bucket/prefix").fill(str(sample_survey.root))
        page.get_by_placeholder("e.g. Karoo 2024").fill("Sample")
        page.get_by_role("button", name="Preview").click()
        page.get_by_text("Preview done").wait_for(timeout=60_000)
        page.get_by_role("button", name="Import").click()
        page.get_by_text("sequence(s)").wait_for(timeout=300_000)
        look(page, "ingest")
        page.get_by_role("tab", name="Tasks").click()
        page.get_by_placeholder("e.g. Species").fill("Species")
        page.get_by_placeholder("Impala, Zebra, Warthog").fill("Impala, Zebra")
        page.get_by_role("button", name="Create task").click()
        page.get_by_text("Created task Species (species)").wait_for(timeout=60_000)
        page.get_by_role("cell", name="0%").wait_for(timeout=30_000)
        look(page, "tasks")
        button = page.get_by_role("button", name="Create task").bounding_box()
        assert button is not None
        assert button["y"] + button["height"] <= 768, "Create task is below the fold"
        page.get_by_role("tab", name="AI").click()
        page.get_by_text("Suggestions: 0 sequence(s)").wait_for(timeout=30_000)
        look(page, "ai")
        page.get_by_role("tab", name="Deployments").click()
        page.get_by_role("button", name="Add row").click(timeout=30_000)
        delete = page.get_by_role("button", name="Delete").bounding_box(timeout=30_000)
        assert delete is not None
        assert delete["x"] + delete["width"] <= 1366, "the deployments table is cut off"
        look(page, "deployments")
        page.get_by_role("tab", name="Surveys").click()
        page.get_by_text("Deployment checks:").wait_for(timeout=30_000)
        page.get_by_role("cell", name="images", exact=True).first.wait_for(timeout=30_000)
        look(page, "surveys")
    assert [u for u in requested if remote(u)] == []
