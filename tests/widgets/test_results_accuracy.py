"""The results dashboard's Accuracy tab: a task against a truth task of its survey."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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

SPECIES = ["Impala", "Zebra"]


def _two_tasks(lab: Any) -> tuple[Any, Any, int]:
    """A species task (annotate_all) and a truth task differing on one sequence."""
    labelled = annotate_all(lab, "S", SPECIES)
    truth = lab.tasks.create("S", "truth", labels=SPECIES)
    flipped = int(min(lab.images("S")["cluster_id"].dropna()))
    while (job := lab.annotate.next_job(truth, "expert", size=10)) is not None:
        for cluster in job.clusters:
            answer = SPECIES[(cluster + (cluster == flipped)) % 2]
            lab.annotate.submit(job, cluster, labels=[answer])
    return labelled, truth, flipped


def test_accuracy_tab_compares_with_a_truth_task(lab: Any) -> None:
    from traptagger_lab.widgets.results_app import results_dashboard

    labelled, truth, flipped = _two_tasks(lab)
    dashboard = results_dashboard(lab).dashboard
    assert dashboard.task.value == labelled.id
    tab = dashboard.accuracy
    assert tab.truth.options == (("truth (species)", truth.id),)
    assert tab.truth.value is None  # nothing compared before a truth is picked
    assert tab.scores.value == ""

    tab.truth.value = truth.id  # picking one fills the tab
    assert "1 differ" in tab.status.value
    assert "<td>micro</td>" in tab.scores.value
    assert bytes(tab.matrix.value).startswith(b"\x89PNG")
    assert f"<td>{flipped}</td>" in tab.differ.value
    assert tab.differ.value.count("</tr>") == 2  # the header and the one sequence

    dashboard.task.value = truth.id  # the other way round: species is now the truth
    assert tab.truth.options == (("species (species)", labelled.id),)
    assert tab.scores.value == ""
    assert bytes(tab.matrix.value) == b""
    tab.truth.value = labelled.id
    assert "1 differ" in tab.status.value


@pytest.mark.browser
@pytest.mark.slow
def test_accuracy_tab_in_voila_and_chromium(
    sample_survey: SampleSurvey, lab_factory: Any, tmp_path: Path
) -> None:
    workspace = tmp_path / "workspace"
    lab = lab_factory(workspace=str(workspace))
    lab.ingest(str(sample_survey.root), survey="S")
    lab.sequences("S")
    _two_tasks(lab)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = voila_env(workspace, "analyst")
    env["TRAPTAGGER_EXPORT_DIR"] = str(tmp_path / "exports")
    command = voila_command(REPO / "notebooks/results.ipynb", port)
    with served(command, env, url), chromium_page() as page:
        requested = offline(page)
        page.goto(url, wait_until="commit", timeout=60_000)  # not "load": wait for the widgets
        page.get_by_text("independent records").wait_for(timeout=120_000)
        page.get_by_role("tab", name="Accuracy").click()
        page.get_by_label("Truth", exact=True).select_option(label="truth (species)")
        page.get_by_text("1 differ").wait_for(timeout=60_000)
        page.get_by_text("micro", exact=True).wait_for(timeout=30_000)
        page.locator(".widget-image").first.wait_for(timeout=30_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "results_accuracy.png"), full_page=True)
        assert "Traceback" not in page.inner_text("body")
    assert [u for u in requested if remote(u)] == []
