"""``lab.results(task)`` and ``traptagger results``: the analyses of an annotated survey."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import annotate_all
from traptagger_lab.cli import app
from traptagger_lab.results.camtrap import RECORD_COLUMNS


def test_lab_results_and_the_command_line(lab: Any) -> None:
    task = annotate_all(lab, "S", ["Zebra", "Impala"])
    results = lab.results("S", min_delta_minutes=30)
    assert [p.task_id for p in results.selections[0].passes] == [task.id]
    table = results.record_table()
    assert list(table.columns) == RECORD_COLUMNS
    species = sorted(set(table["Species"]))
    times = results.times(species[0])
    assert len(times) == (table["Species"] == species[0]).sum()
    assert ((times >= 0) & (times < 2 * np.pi)).all()
    fit = results.occupancy(species[0], occasion_length=1)
    assert fit["stations"]
    assert 0 <= fit["naive_occupancy"] <= 1

    env = {
        "TRAPTAGGER_DATABASE_URL": lab.settings.resolved_database_url(),
        "TRAPTAGGER_STORAGE_URL": lab.settings.resolved_storage_url(),
        "TRAPTAGGER_DASK_SCHEDULER": "sync",
    }
    runner = CliRunner()
    answer = runner.invoke(
        app, ["results", "S", "--table", "record-table", "--min-delta", "30", "--csv"], env=env
    )
    assert answer.exit_code == 0, answer.output
    rows = list(csv.DictReader(io.StringIO(answer.stdout)))
    assert len(rows) == len(table)
    assert list(rows[0]) == RECORD_COLUMNS
    history = runner.invoke(
        app,
        [
            "results",
            "S",
            "--table",
            "detection-history",
            "--species",
            species[0],
            "--occasion",
            "1",
            "--csv",
        ],
        env=env,
    )
    assert history.exit_code == 0, history.output
    assert history.stdout.splitlines()[0].startswith("Station,o1")
    for name in ("camera-operation", "rai", "diversity"):
        done = runner.invoke(app, ["results", "S", "--table", name, "--task", task.name], env=env)
        assert done.exit_code == 0, (name, done.output)
    refused = runner.invoke(app, ["results", "S", "--table", "detection-history"], env=env)
    assert refused.exit_code == 1
    assert "needs --species" in refused.output
    unknown = runner.invoke(app, ["results", "S", "--table", "nonsense"], env=env)
    assert "use one of" in unknown.output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_survey_nobody_labelled_is_explained(lab: Any) -> None:
    from traptagger_lab.errors import NotFoundError

    with pytest.raises(NotFoundError, match="'S' has no labels yet: annotate it"):
        lab.results("S")
    lab.tasks.create("S", "species", labels=["Zebra"])  # a task, still empty: an empty table
    assert lab.results("S").record_table().empty


def test_multi_season_occupancy_and_model_selection_on_a_survey(lab: Any) -> None:
    annotate_all(lab, "S", ["Zebra", "Impala"])
    results = lab.results("S", min_delta_minutes=30)
    effort = results.effort
    days = sorted(effort.columns)
    half = len(days) // 2
    seasons = [(days[0], days[half - 1]), (days[half], days[-1])]
    fit = results.colext("Zebra", seasons, occasion_length=1)
    assert {"psi", "gamma", "epsilon", "p", "converged", "aic"} <= set(fit)
    assert np.isfinite(fit["aic"])
    table = results.model_selection("Zebra", {"null": "~1 ~1"}, occasion_length=1)
    assert list(table["model"]) == ["null"]
    assert table["delta_AIC"].iloc[0] == 0
    assert table["AIC_weight"].iloc[0] == 1


def test_the_command_line_passes_camtraprs_options(lab: Any, tmp_path: Any) -> None:
    annotate_all(lab, "S", ["Zebra", "Impala"])
    env = {
        "TRAPTAGGER_DATABASE_URL": lab.settings.resolved_database_url(),
        "TRAPTAGGER_STORAGE_URL": lab.settings.resolved_storage_url(),
        "TRAPTAGGER_DASK_SCHEDULER": "sync",
    }
    runner = CliRunner()

    def table(*args: str) -> list[dict[str, str]]:
        answer = runner.invoke(app, ["results", "S", *args, "--csv"], env=env)
        assert answer.exit_code == 0, answer.output
        return list(csv.DictReader(io.StringIO(answer.stdout)))

    stations = table("--table", "camera-operation")
    cameras = table("--table", "camera-operation", "--by", "camera")
    summed = table("--table", "camera-operation", "--cameras-independent")
    assert len(cameras) > len(stations)  # Site01 has two cameras
    first = next(iter(stations[0]))
    site01 = next(r for r in summed if r[first] == "Site01")
    alone = next(r for r in stations if r[first] == "Site01")
    days = [k for k in site01 if k != first]
    assert max(float(site01[d] or 0) for d in days) > max(float(alone[d] or 0) for d in days)
    effort = tmp_path / "effort.csv"
    history = table(
        "--table", "detection-history", "--species", "Zebra", "--occasion", "1",
        "--effort-output", str(effort), "--counts",
    )  # fmt: skip
    assert effort.is_file()
    assert len(list(csv.DictReader(effort.open()))) == len(history)
    values = {float(v) for row in history for k, v in row.items() if k != next(iter(row)) and v}
    assert max(values) > 1, "counts, not only 1/0"
    assert values <= {float(int(v)) for v in values}
