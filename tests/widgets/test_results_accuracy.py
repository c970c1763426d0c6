"""The results dashboard's Accuracy tab: a task against a truth task of its survey."""

from __future__ import annotations

from typing import Any

from tests.conftest import annotate_all

SPECIES = ["Impala", "Zebra"]


def test_accuracy_tab_compares_with_a_truth_task(lab: Any) -> None:
    from traptagger_lab.widgets.results_app import results_dashboard

    labelled = annotate_all(lab, "S", SPECIES)
    truth = lab.tasks.create("S", "truth", labels=SPECIES)
    flipped = min(lab.images("S")["cluster_id"].dropna().astype(int))
    while (job := lab.annotate.next_job(truth, "expert", size=10)) is not None:
        for cluster in job.clusters:
            answer = SPECIES[(cluster + (cluster == flipped)) % 2]
            lab.annotate.submit(job, cluster, labels=[answer])

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
