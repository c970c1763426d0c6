"""Record tables, camera operation, detection histories, RAI and diversity.

camtrapR references (jniedballa/camtrapR 3.0.3): tests/testthat/test-filterRecordTable.R,
tests/testthat/test_recordTable.R, data/recordTableSample.rda (see
tests/results/camtrapr_sample.py) and R/variousOtherHelperFunctions.R
(assessTemporalIndependence, removeDuplicatesOfRecords) where a test checks no number.
On camtrapR's sample_images_species_dir (../shared/data/camtrapR), species from
the folder, UNID excluded, duplicates removed: 55 records with minDeltaTime 0,
39 with minDeltaTime 60 minutes, whether compared to the last record or to the
last independent record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.results.camtrapr_sample import SAMPLE_DELTA_SECS, photo_records
from traptagger_lab.errors import NotFoundError
from traptagger_lab.results import (
    camera_operation,
    detection_history,
    diversity,
    independent_records,
    occupancy,
    record_table,
    relative_abundance,
)
from traptagger_lab.results.camtrap import (
    RECORD_COLUMNS,
    diversity_table,
    history_matrix,
    operation_matrix,
)


def test_independence_matches_camtrapr(shared_data: Path) -> None:
    records = photo_records(shared_data / "camtrapR/pictures/sample_images_species_dir")
    records = records[records["Species"] != "UNID"]
    assert len(independent_records(records, 0)) == 55
    for compared_to in ("last_record", "last_independent_record"):
        table = independent_records(records, 60, compared_to)
        assert len(table) == 39
        assert list(table.columns) == RECORD_COLUMNS
        firsts = table.groupby(["Station", "Species"]).head(1)
        assert (firsts["delta.time.secs"] == 0).all()
        assert (table["delta.time.secs"].drop(firsts.index) >= 3600).all()
    huge = independent_records(records, 10**6)  # one record per station and species
    assert len(huge) == len(records[["Station", "Species"]].drop_duplicates())


def test_record_tables_as_camtrapr_gives_them(shared_data: Path) -> None:
    records = photo_records(shared_data / "camtrapR/pictures/sample_images_species_dir")
    species = records[records["Species"] != "UNID"]
    # data/recordTableSample.rda (recordTable, minDeltaTime 60, lastRecord, UNID excluded):
    # every delta.time.secs, e.g. 13560 s for StationA PBE 23 Apr 00:07, measured to the
    # dependent record of 22 Apr 20:21 before it, not to the kept one of 20:19
    table = independent_records(species, 60, "last_record")
    assert table["delta.time.secs"].tolist() == SAMPLE_DELTA_SECS
    # ... its minutes, hours and days, each rounded from the one before as R rounds
    # (5.65 -> 5.7, 95.45 -> 95.5, 242.35 -> 242.3)
    assert table["delta.time.hours"].iloc[[14, 26, 37]].tolist() == [5.7, 95.5, 242.3]
    assert table["delta.time.days"].iloc[[1, 3, 5]].tolist() == [1.8, 14.7, 26.6]
    # tests/testthat/test_recordTable.R "recordTable output has correct dimensions":
    # rec_table0 (56, 12): no exclusion, minDeltaTime 0; rec_table1: 40 rows at 60 minutes;
    # rec_table3a (67, 12) with removeDuplicateRecords = FALSE, rec_table3b (55, 12)
    assert independent_records(records, 0).shape == (56, 12)
    assert len(independent_records(records, 60)) == 40
    kept = independent_records(species, 0, remove_duplicates=False)
    assert kept.shape == (67, 12)
    assert independent_records(species, 0).shape == (55, 12)
    assert list(kept.columns) == RECORD_COLUMNS  # n_images last (assessTemporalIndependence)
    # "removeDuplicateRecords works": anyDuplicated(rec_table3a[, Station, Species,
    # DateTimeOriginal]) == 12, i.e. the first duplicate is row 12
    twins = kept.duplicated(["Station", "Species", "DateTimeOriginal"])
    assert int(np.flatnonzero(twins)[0]) + 1 == 12
    # same-second records are not compared with each other (which.earlier is strictly
    # earlier): twins get the same delta as each other
    pairs = kept[kept.duplicated(["Station", "Species", "DateTimeOriginal"], keep=False)]
    assert (
        pairs.groupby(["Station", "Species", "DateTimeOriginal"])["delta.time.secs"].nunique() == 1
    ).all()


def test_n_images_counts_each_event(shared_data: Path) -> None:
    records = photo_records(shared_data / "camtrapR/pictures/sample_images_species_dir")
    species = records[records["Species"] != "UNID"]
    # assessTemporalIndependence (R/variousOtherHelperFunctions.R): n_images of an
    # independent record counts its images up to the next independent record of its
    # species at the station, so with duplicates removed every image is in one event
    for compared_to in ("last_record", "last_independent_record"):
        table = independent_records(species, 60, compared_to)
        assert table["n_images"].sum() == 55
    table = independent_records(species, 60)
    mne = table[(table["Station"] == "StationB") & (table["Species"] == "MNE")]
    assert mne["n_images"].tolist() == [2, 3]  # 17:47-17:49 on 28 April: 3 seconds kept
    # without duplicate removal (minDeltaTime 0), camtrapR's grouping also counts the
    # earlier images of the same second: the second of two twins has n_images 2
    kept = independent_records(species, 0, remove_duplicates=False)
    twin = kept[(kept["Station"] == "StationC") & (kept["Time"] == "03:00:00")]
    assert twin["n_images"].tolist() == [1, 2]


def test_compared_to_last_record_is_stricter() -> None:
    start = pd.Timestamp("2024-01-01 00:00")
    records = pd.DataFrame(
        {
            "Station": "A",
            "Species": "Leopard",
            "DateTimeOriginal": [start + pd.Timedelta(minutes=m) for m in (0, 40, 80, 120)],
        }
    )
    # every record is 40 min after the one before: only the first is independent of its
    # last record; of the last *independent* record, 80 min is independent of 0
    assert len(independent_records(records, 60, "last_record")) == 1
    kept = independent_records(records, 60, "last_independent_record")
    assert list(kept["Time"]) == ["00:00:00", "01:20:00"]
    assert list(kept["delta.time.mins"]) == [0.0, 80.0]
    with pytest.raises(ValueError, match="compared_to"):
        independent_records(records, 60, "previous")


def test_operation_matrix_counts_half_days_and_outages(shared_data: Path) -> None:
    stations = pd.read_csv(shared_data / "camtrapR/camtraps.csv")
    deployments = pd.DataFrame(
        {
            "Station": stations["Station"],
            "setup": pd.to_datetime(stations["Setup_date"], format="%d/%m/%Y"),
            "retrieval": pd.to_datetime(stations["Retrieval_date"], format="%d/%m/%Y"),
        }
    )
    problems = stations.dropna(subset=["Problem1_from"])
    outages = pd.DataFrame(
        {
            "Station": problems["Station"],
            "start": pd.to_datetime(problems["Problem1_from"], format="%d/%m/%Y"),
            "end": pd.to_datetime(problems["Problem1_to"], format="%d/%m/%Y"),
        }
    )
    effort = operation_matrix(deployments, outages)
    # StationA: 2 Apr - 14 May 2009 = 43 days, the first and last counting half
    assert effort.loc["StationA"].sum() == pytest.approx(42.0)
    assert np.isnan(effort.loc["StationA"].iloc[-1])  # not deployed after 14 May
    # StationC: 4 Apr (half) - 17 May (half) less the problem 12-17 May, 17 May included as
    # camtrapR's Problem1_to is (R/cameraOperation.R): 0.5 + 37 whole days (5 Apr - 11 May)
    assert effort.loc["StationC"].sum() == pytest.approx(37.5)
    assert (effort.loc["StationC", pd.Timestamp("2009-05-12").date() :] == 0).all()
    history = history_matrix(
        pd.DataFrame(
            {
                "Station": ["StationA"],
                "Species": ["PBE"],
                "DateTimeOriginal": [pd.Timestamp("2009-04-10 03:00")],
            }
        ),
        effort,
        "PBE",
        occasion_length=7,
    )
    assert history.loc["StationA", "o2"] == 1.0  # 10 Apr is in StationA's second week
    assert history.loc["StationA"].drop("o2").fillna(0).sum() == 0
    assert history.shape[1] == 7  # ceil(44 / 7) occasions at the longest station


def test_diversity_indices_on_a_known_table() -> None:
    counts = pd.DataFrame({"A": [10, 5], "B": [10, 0]}, index=["s1", "s2"])
    table = diversity_table(counts)
    assert table.loc["s1", "shannon"] == pytest.approx(np.log(2))
    assert table.loc["s1", "simpson"] == pytest.approx(0.5)
    assert table.loc["s2", "richness"] == 1
    assert table.loc["all", "records"] == 25
    assert table.loc["all", "shannon"] == pytest.approx(-(0.6 * np.log(0.6) + 0.4 * np.log(0.4)))


def test_results_from_an_annotated_survey(lab: Any) -> None:
    task = lab.tasks.create("S", "species", labels=["Impala", "Zebra"])
    labels = {}
    while (job := lab.annotate.next_job(task, "ann", size=10)) is not None:
        for number, cluster in enumerate(job.clusters):
            label = ["Impala", "Zebra", "Nothing"][(cluster + number) % 3]
            labels[cluster] = label
            lab.annotate.submit(job, cluster, labels=[label])
    table = record_table(lab.workspace, "S", min_delta_minutes=0)  # the survey's default task
    assert list(table.columns) == RECORD_COLUMNS
    assert set(table["Species"]) <= {"Impala", "Zebra"}  # "Nothing" is no species
    assert set(table["Species"]) == {v for v in labels.values() if v != "Nothing"}
    independent = record_table(lab.workspace, task, min_delta_minutes=60)
    assert len(independent) <= len(table)
    by_camera = record_table(lab.workspace, task, by="camera")
    assert "Camera" in by_camera.columns

    effort = camera_operation(lab.workspace, "S")
    assert set(effort.index) == set(table["Station"]) | set(effort.index)
    assert (effort.stack().dropna() > 0).all()
    species = table["Species"].iloc[0]
    history, spent = detection_history(
        lab.workspace, task, species, occasion_length=1, include_effort=True
    )
    assert set(np.unique(history.to_numpy()[~np.isnan(history.to_numpy())])) <= {0.0, 1.0}
    assert history.notna().to_numpy().sum() == spent.notna().to_numpy().sum()
    assert np.nansum(history.to_numpy()) >= 1
    fit = occupancy(history.to_numpy())  # the history feeds the occupancy model directly
    assert 0 <= fit["naive_occupancy"] <= 1
    with pytest.raises(NotFoundError, match="no records of 'Aardvark'"):
        detection_history(lab.workspace, task, "Aardvark")

    rai = relative_abundance(lab.workspace, task)
    assert (rai["rai"] == 100 * rai["detections"] / rai["trap_days"]).all()
    assert diversity(lab.workspace, task).loc["all", "richness"] == len(set(independent["Species"]))
