"""Sun time, identified individuals, filters and several surveys in ``lab.results``.

References:
- Sunrise/sunset in London (51.5074 N, 0.1278 W) on 21 June 2024: 04:43 and 21:21
  BST; on 21 December 2024: 08:04 and 15:53 GMT (HM Nautical Almanac Office tables,
  as published by timeanddate.com).
- camtrapR tests/testthat/test-recordTableIndividual.R: recordTableIndividual on
  sample_images_indiv_tag/LeopardCat (individual from the XMP tag ``individual``),
  minDeltaTime 60, lastRecord: 18 records of individuals "1", "2" and "3".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import annotate_all
from traptagger_lab.errors import NotFoundError
from traptagger_lab.results.sun import sun_time, sunrise_sunset


def _minutes(fraction: float) -> float:
    return fraction * 1440


def test_sunrise_and_sunset_match_the_almanac() -> None:
    rise, set_ = sunrise_sunset(["2024-06-21", "2024-12-21"], 51.5074, -0.1278, 0)
    # summer in GMT: 03:43 and 20:21 (BST is GMT+1); winter 08:04 and 15:53
    assert _minutes(rise[0]) == pytest.approx(3 * 60 + 43, abs=2)
    assert _minutes(set_[0]) == pytest.approx(20 * 60 + 21, abs=2)
    assert _minutes(rise[1]) == pytest.approx(8 * 60 + 4, abs=2)
    assert _minutes(set_[1]) == pytest.approx(15 * 60 + 53, abs=2)
    polar_rise, _ = sunrise_sunset(["2024-06-21"], 78.2, 15.6, 1)  # Svalbard: midnight sun
    assert np.isnan(polar_rise[0])


def test_sun_time_anchors_sunrise_and_sunset() -> None:
    rise, set_ = np.array([0.25, 0.30]), np.array([0.75, 0.70])
    clock = np.array([0.25, 0.70]) * 2 * np.pi  # sunrise of the first day, sunset of the second
    assert sun_time(clock, rise, set_) == pytest.approx([np.pi / 2, 3 * np.pi / 2])
    hours = np.linspace(0, 2 * np.pi, 50, endpoint=False)
    mapped = sun_time(hours, np.full(50, 0.3), np.full(50, 0.7))
    assert (np.diff(mapped) > 0).all()  # order of the day is kept
    assert mapped[0] == 0


def _leopard_cats(lab_factory: Any, shared_data: Path) -> Any:
    lab = lab_factory()
    lab.ingest(
        str(shared_data / "camtrapR/pictures/sample_images_indiv_tag"),
        survey="I",
        site_pattern=r"(Station[ABC])",
        camera_pattern=r"(Station[ABC])",
    )
    lab.import_labels("I", "xmp")
    return lab


def test_individual_records_and_capture_histories(lab_factory: Any, shared_data: Path) -> None:
    lab = _leopard_cats(lab_factory, shared_data)
    results = lab.results("I", min_delta_minutes=60)
    table = results.record_table_individual("Leopard Cat")
    assert len(table) == 18  # camtrapR's recordTableIndividual
    assert sorted(table["Individual"].unique()) == ["1", "2", "3"]
    matrix, captures = results.capture_history("Leopard Cat", occasion_length=7)
    assert list(matrix.index) == ["1", "2", "3"]
    assert matrix.shape[1] == int(np.ceil(results.effort.shape[1] / 7))
    assert set(np.unique(matrix.to_numpy())) <= {0, 1}
    # every capture in the table is a 1 in the matrix, and nothing else is
    assert matrix.to_numpy().sum() == len(captures[["ID", "Occasion"]].drop_duplicates())
    assert set(captures["Detector"]) <= {"StationA", "StationB", "StationC"}
    with pytest.raises(NotFoundError, match="no identified individuals"):
        results.record_table_individual("Moonrat")


def test_filters_several_surveys_sun_time_and_covariates(lab: Any, lab_factory: Any) -> None:
    task = annotate_all(lab, "S", ["Impala", "Zebra"])
    everything = lab.results(task, min_delta_minutes=0)
    table = everything.record_table()
    first_site = sorted(table["Station"].unique())[0]
    only_site = lab.results(task, 0, sites=[first_site]).record_table()
    assert set(only_site["Station"]) == {first_site}
    assert len(only_site) == (table["Station"] == first_site).sum()
    day = pd.to_datetime(table["DateTimeOriginal"]).dt.normalize().min()
    one_day = lab.results(task, 0, start=day, end=day).record_table()
    assert len(one_day) == (pd.to_datetime(table["DateTimeOriginal"]).dt.normalize() == day).sum()
    assert list(lab.results(task, 0, start=day, end=day).effort.columns) == [day.date()]
    zebras = lab.results(task, 0, species=["Zebra"]).record_table()
    assert set(zebras["Species"]) == {"Zebra"}

    clock = everything.times("Zebra")
    solar = everything.times("Zebra", clock="sun")  # the sample's sites have GPS positions
    assert len(solar) == len(clock)
    assert ((solar >= 0) & (solar < 2 * np.pi)).all()

    sites = everything.sites_summary()
    assert sites["latitude"].notna().all()
    assert sites["detections"].sum() == len(table)
    weekly = everything.detections_over_time("W")
    assert weekly.to_numpy().sum() == len(table)

    history = everything.detection_history("Zebra", occasion_length=1)
    covs = pd.DataFrame({"height": np.linspace(-1, 1, len(history))}, index=history.index)
    fit = everything.occupancy("Zebra", occasion_length=1, site_covs=covs, state="~height")
    assert len(fit["state_coef"]) == 2
    with pytest.raises(NotFoundError, match="no row for station"):
        everything.occupancy("Zebra", 1, site_covs=covs.iloc[1:], state="~height")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_two_surveys_combined(lab: Any, sample_survey: Any) -> None:
    lab.ingest(str(sample_survey.root), survey="T")
    lab.sequences("T")
    first = annotate_all(lab, "S", ["Impala", "Zebra"])
    second = lab.tasks.create("T", "species", labels=["Impala", "Zebra"])
    while (job := lab.annotate.next_job(second, "ann", size=10)) is not None:
        for cluster in job.clusters:
            lab.annotate.submit(job, cluster, labels=["Impala"])
    combined = lab.results([first, second], 0).record_table()
    alone = [len(lab.results(t, 0).record_table()) for t in (first, second)]
    assert len(combined) == sum(alone)
    assert {s.split("/")[0] for s in combined["Station"]} == {"S", "T"}
    rai = lab.results([first, second], 0).relative_abundance()
    assert rai["trap_days"].notna().all()
