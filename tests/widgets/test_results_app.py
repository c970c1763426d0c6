"""The results dashboard: through its widgets, and for real in Voila + headless Chromium."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ARTIFACTS, REPO, annotate_all
from tests.widgets.test_annotate_app import _app_env, _chromium_page, _free_port, _served
from traptagger_lab.sample import SampleSurvey


@pytest.fixture
def annotated_workspace(
    sample_survey: SampleSurvey, lab_factory: Any, tmp_path: Path
) -> tuple[Any, Path]:
    workspace = tmp_path / "workspace"
    lab = lab_factory(workspace=str(workspace))
    lab.ingest(str(sample_survey.root), survey="S")
    lab.sequences("S")
    annotate_all(lab, "S", ["Impala", "Zebra"])
    return lab, workspace


def test_dashboard_filters_and_exports(
    annotated_workspace: tuple[Any, Path], tmp_path: Path
) -> None:
    from traptagger_lab.widgets.results_app import results_dashboard

    lab, _ = annotated_workspace
    box = results_dashboard(lab, export_dir=str(tmp_path / "exports"))
    dashboard = box.dashboard
    assert set(dashboard.species.options) == {"Impala", "Zebra"}
    everything = dashboard.results().record_table()
    assert dashboard.status.value == f"{len(everything)} independent records"
    dashboard.species.value = ("Zebra",)
    dashboard.show()
    zebras = dashboard.results().record_table()
    assert set(zebras["Species"]) == {"Zebra"}
    assert dashboard.status.value == f"{len(zebras)} independent records"
    dashboard.export_format.value = "camtrap-dp"
    dashboard.export()
    assert (tmp_path / "exports/camtrap-dp/datapackage.json").exists(), (
        dashboard.export_status.value
    )
    dashboard.export_path.value = "/proc/no-such-place"
    dashboard.export()
    assert "Export failed" in dashboard.export_status.value


@pytest.mark.browser
@pytest.mark.slow
def test_dashboard_in_voila_and_chromium(
    annotated_workspace: tuple[Any, Path], tmp_path: Path
) -> None:
    _, workspace = annotated_workspace
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = _app_env(workspace, "analyst")
    env["TRAPTAGGER_EXPORT_DIR"] = str(tmp_path / "exports")
    command = [
        sys.executable,
        "-m",
        "voila",
        str(REPO / "notebooks/results.ipynb"),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--show_tracebacks=True",
    ]
    with _served(command, env, url), _chromium_page() as page:
        page.goto(url, timeout=120_000)
        page.get_by_text("independent records").wait_for(timeout=120_000)
        text = page.inner_text("body")
        assert "import traptagger_lab" not in text  # Voila shows no code
        assert "Traceback" not in text
        page.get_by_role("tab", name="Map").click()
        page.locator(".leaflet-container").wait_for(timeout=30_000)
        page.get_by_role("tab", name="Abundance").click()
        page.get_by_text("rai").first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Export").click()
        page.get_by_text("Wrote 1 file(s)").wait_for(timeout=60_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "results_dashboard.png"), full_page=True)
    assert (tmp_path / "exports/csv/export.csv").exists()
