"""The results dashboard: through its widgets, and for real in Voila + headless Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
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
from tests.conftest import ARTIFACTS, REPO, annotate_all
from traptagger_lab.sample import SampleSurvey

LOCAL_TILES = "http://localhost:8080/{z}/{x}/{y}.png"


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
    assert dashboard.status.value == f"{len(everything)} independent records; effort from photos"
    dashboard.species.value = ("Zebra",)
    dashboard.show()
    zebras = dashboard.results().record_table()
    assert set(zebras["Species"]) == {"Zebra"}
    assert dashboard.status.value == f"{len(zebras)} independent records; effort from photos"
    dashboard.export_format.value = "camtrap-dp"
    dashboard.export()
    assert (tmp_path / "exports/camtrap-dp/datapackage.json").exists(), (
        dashboard.export_status.value
    )
    dashboard.export()  # a second click would replace the first export: refused
    assert "already" in dashboard.export_status.value
    dashboard.export_overwrite.value = True  # unless the user says so
    dashboard.export()
    assert dashboard.export_status.value.startswith("Wrote"), dashboard.export_status.value
    dashboard.export_path.value = "/proc/no-such-place"
    dashboard.export()
    assert "Export failed" in dashboard.export_status.value


def _stations() -> pd.DataFrame:
    """Three stations a few km apart, one of them without coordinates."""
    return pd.DataFrame(
        {
            "latitude": [-24.00, -24.05, None],
            "longitude": [31.50, 31.60, 31.00],
            "rai": [10.0, 0.0, 5.0],
            "trap_days": [3.0, 2.0, 1.0],
        },
        index=pd.Index(["A", "B", "C"], name="Station"),
    )


def test_site_map_fetches_no_tiles_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    import ipyleaflet

    from traptagger_lab.widgets.results_app import NO_BASEMAP_NOTE, site_map

    def tile_urls(chart: Any) -> list[str]:
        return [layer.url for layer in chart.layers if isinstance(layer, ipyleaflet.TileLayer)]

    monkeypatch.delenv("TRAPTAGGER_BASEMAP_URL", raising=False)
    chart = site_map(_stations())
    assert tile_urls(chart) == []
    markers = [layer for layer in chart.layers if isinstance(layer, ipyleaflet.CircleMarker)]
    assert [tuple(marker.location) for marker in markers] == [(-24.0, 31.5), (-24.05, 31.6)]
    assert "<b>A</b>" in markers[0].popup.value
    attributions = [c for c in chart.controls if isinstance(c, ipyleaflet.AttributionControl)]
    assert [c.prefix for c in attributions] == [NO_BASEMAP_NOTE]
    assert tuple(chart.center) == pytest.approx((-24.025, 31.55))
    assert 10 <= chart.zoom <= 14  # stations ~10 km apart fill the view, not the default zoom

    monkeypatch.setenv("TRAPTAGGER_BASEMAP_URL", LOCAL_TILES)
    assert tile_urls(site_map(_stations())) == [LOCAL_TILES]
    assert tile_urls(site_map(_stations(), basemap="")) == []
    assert site_map(_stations().iloc[2:]) is None


@pytest.mark.browser
@pytest.mark.slow
def test_dashboard_in_voila_and_chromium(
    annotated_workspace: tuple[Any, Path], tmp_path: Path
) -> None:
    _, workspace = annotated_workspace
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = voila_env(workspace, "analyst")
    env["TRAPTAGGER_EXPORT_DIR"] = str(tmp_path / "exports")
    env.pop("TRAPTAGGER_BASEMAP_URL", None)  # the default: no basemap
    command = voila_command(REPO / "notebooks/results.ipynb", port)
    with served(command, env, url), chromium_page() as page:
        requested = offline(page)
        page.goto(url, wait_until="commit", timeout=60_000)  # not "load": wait for the widgets
        page.get_by_text("independent records").wait_for(timeout=120_000)
        text = page.inner_text("body")
        assert "import traptagger_lab" not in text  # Voila shows no code
        assert "Traceback" not in text
        page.get_by_role("tab", name="Map").click()
        page.locator(".leaflet-container").wait_for(timeout=30_000)
        page.locator(".leaflet-interactive").first.wait_for(timeout=30_000)  # station circles
        page.get_by_text("no basemap").wait_for(timeout=30_000)
        assert page.locator(".leaflet-tile").count() == 0
        page.get_by_role("tab", name="Activity").click()
        page.locator("img[src^='data:image/png']").first.wait_for(timeout=30_000)
        page.get_by_role("tab", name="Abundance").click()
        page.locator("table").first.wait_for(timeout=30_000)
        page.get_by_text("rai", exact=True).first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Export").click()
        page.get_by_text("Wrote 1 file(s)").wait_for(timeout=60_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "results_dashboard.png"), full_page=True)
    asked = [u for u in requested if remote(u)]
    assert asked == [], "the dashboard asked for hosts off this machine"
    assert (tmp_path / "exports/csv/export.csv").exists()
