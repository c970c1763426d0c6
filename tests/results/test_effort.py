"""Camera operation and detection histories against camtrapR's own tests and code.

Every expected value names its source in jniedballa/camtrapR (version 3.0.3):
tests/testthat/test_cameraOperation.R, tests/testthat/test_detectionHistory.R, or the
code and documentation of R/cameraOperation.R and R/detectionHistory.R (with the helpers
in R/variousOtherHelperFunctions.R) where the tests check no number. The inputs are
camtrapR's ``camtraps``/``camtrapsMultiSeason`` tables (../shared/data/camtrapR) and
its recordTableSample, rebuilt from the sample photos (see
:mod:`tests.results.camtrapr_sample`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.results.camtrapr_sample import (
    SAMPLE_DELTA_SECS,
    multi_season_records,
    photo_records,
    station_table,
)
from traptagger_lab.deployments import import_deployments
from traptagger_lab.results.camtrap import independent_records
from traptagger_lab.results.history import history_matrix, season_histories
from traptagger_lab.results.operation import operation_matrix, parse_rows


@pytest.fixture
def camtraps(shared_data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return station_table(shared_data / "camtrapR/camtraps.csv")


@pytest.fixture
def sample(shared_data: Path) -> pd.DataFrame:
    """recordTableSample, rebuilt (its delta.time.secs checked against camtrapR's)."""
    records = photo_records(shared_data / "camtrapR/pictures/sample_images_species_dir")
    table = independent_records(records[records["Species"] != "UNID"], 60, "last_record")
    assert table["delta.time.secs"].tolist() == SAMPLE_DELTA_SECS
    return table


def _day(text: str) -> object:
    return pd.Timestamp(text).date()


def test_camera_operation_by_dates(camtraps: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    deployments, problems = camtraps
    camop = operation_matrix(deployments, problems)
    # R/cameraOperation.R: columns from the first setup (2 Apr) to the last retrieval
    # (17 May 2009), rows in CTtable order; setup and retrieval at 12 noon without hours
    assert camop.shape == (3, 46)
    assert list(camop.index) == ["StationA", "StationB", "StationC"]
    assert camop.loc["StationA", _day("2009-04-02")] == 0.5
    assert camop.loc["StationA", _day("2009-04-03")] == 1.0
    assert camop.loc["StationA", _day("2009-05-14")] == 0.5
    assert np.isnan(camop.loc["StationA", _day("2009-05-15")])
    # Problem1 12-17 May at StationC: Problem_to is a whole day (+ 1 day - 1 s), ending at
    # retrieval on the retrieval day
    assert (camop.loc["StationC", _day("2009-05-12") :] == 0).all()
    assert camop.loc["StationC", _day("2009-05-11")] == 1.0
    assert camop.sum(axis=1).tolist() == [42.0, 43.0, 37.5]
    # test_cameraOperation.R "Input columns with hours (POSIXct) work": with hours the
    # matrix differs from the dates-only one; hasProblems = FALSE ignores the problem
    no_problem = operation_matrix(deployments, problems, has_problems=False)
    assert no_problem.loc["StationC"].sum() == 43.0


def test_camera_operation_with_hours(camtraps: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    deployments, problems = camtraps
    # test_cameraOperation.R camtraps_date_time: setup 12 h, retrieval 15 h, problems from
    # 6 h to 15 h (dmy_h); days are fractions between them (R/cameraOperation.R)
    timed = deployments.assign(
        setup=deployments["setup"] + pd.Timedelta(hours=12),
        retrieval=deployments["retrieval"] + pd.Timedelta(hours=15),
        timed=True,
    )
    hours = problems.assign(
        start=problems["start"] + pd.Timedelta(hours=6),
        end=problems["end"] + pd.Timedelta(hours=15),
    )
    camop = operation_matrix(timed, hours)
    assert not camop.equals(operation_matrix(deployments, problems))
    assert camop.loc["StationA", _day("2009-04-02")] == 0.5
    assert camop.loc["StationB", _day("2009-05-16")] == 0.625  # 15 of 24 hours
    assert camop.loc["StationC", _day("2009-05-12")] == 0.25  # working until 6 h
    assert camop.loc["StationC", _day("2009-05-17")] == 0.0
    # test_cameraOperation.R "setting time to 00:00:00 works": camop[1, 1] == 1
    midnight = timed.copy()
    midnight.loc[0, "setup"] = pd.Timestamp("2009-04-02 00:00:00")
    assert operation_matrix(midnight, hours).iloc[0, 0] == 1
    # occasionStartTime = 12 on dates: the setup day runs noon to noon, whole; the
    # retrieval day gets 0, not NA (R/cameraOperation.R adds a second to retrieval)
    noon = operation_matrix(deployments, problems, occasion_start_time=12)
    assert noon.loc["StationA", _day("2009-04-02")] == 1.0
    assert noon.loc["StationA", _day("2009-05-14")] == 0.0
    assert noon.attrs["occasion_start_time"] == 12


def test_overlapping_problems_count_once(camtraps: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    deployments, problems = camtraps
    # camtrapR stops on overlapping problems ("Check for overlapping dates in Problem
    # columns"); a stored problem and a "Knocked down" outage may overlap here: the union
    # counts, so StationC is as with its one problem (37.5 trap nights, as above)
    knocked = problems.assign(start=pd.Timestamp("2009-05-14 08:00"), end=None, timed=True)
    twice = pd.concat([problems, knocked], ignore_index=True)
    assert operation_matrix(deployments, twice).loc["StationC"].sum() == 37.5


def test_several_cameras_per_station(camtraps: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    deployments, problems = camtraps
    two = pd.concat(
        [deployments.assign(Camera="cam1"), deployments.assign(Camera="cam2")], ignore_index=True
    )
    broken = problems.assign(Camera="cam2")  # only the second camera of StationC broke
    day, setup = _day("2009-05-13"), _day("2009-04-04")
    # R/cameraOperation.R documentation: camerasIndependent = TRUE, 2 active cameras give
    # 2; FALSE gives 1 (dates: sum, capped at 1)
    independent = operation_matrix(two, broken, cameras_independent=True)
    assert independent.loc["StationA", _day("2009-04-10")] == 2.0
    assert independent.loc["StationC", day] == 1.0
    assert independent.loc["StationC", setup] == 1.0  # two half days
    together = operation_matrix(two, broken)
    assert together.loc["StationA", _day("2009-04-10")] == 1.0
    assert together.loc["StationC", day] == 1.0
    # allCamsOn: a station works only while all its cameras do (dates: all == 1 or 0)
    all_on = operation_matrix(two, broken, all_cams_on=True)
    assert all_on.loc["StationC", day] == 0.0
    assert all_on.loc["StationC", setup] == 0.0  # 0.5 is not 1
    assert all_on.loc["StationA", _day("2009-04-10")] == 1.0
    assert np.isnan(all_on.loc["StationA", _day("2009-05-16")])
    # timed, cameras not independent: the mean of the cameras' fractions (aggregate(mean))
    timed = two.assign(timed=True, setup=two["setup"] + pd.Timedelta(hours=12))
    timed["retrieval"] += pd.Timedelta(hours=12)
    mean = operation_matrix(timed, broken.assign(timed=False))
    assert mean.loc["StationC", day] == 0.5
    # byCamera: one row per camera, named Station__CAM_camera (stationSessionCamMatrix)
    by_camera = operation_matrix(two, broken, by="camera")
    assert list(by_camera.index[:2]) == ["StationA__CAM_cam1", "StationB__CAM_cam1"]
    assert by_camera.loc["StationC__CAM_cam2", day] == 0.0
    assert by_camera.loc["StationC__CAM_cam1", day] == 1.0
    assert parse_rows(by_camera.index)["camera"].tolist()[-1] == "cam2"


def test_detection_histories(
    camtraps: tuple[pd.DataFrame, pd.DataFrame], sample: pd.DataFrame
) -> None:
    deployments, _ = camtraps
    camop = operation_matrix(deployments, has_problems=False)  # camop_no_problem
    stations = ["StationA", "StationB", "StationC"]
    # test_detectionHistory.R "detectionHistory output has correct dimensions" and
    # "... correct row names": DetHist1 (3, 7), DetHist2 and its effort (3, 7)
    first = history_matrix(sample, camop, "VTA", 7, "station")
    assert first.shape == (3, 7)
    assert list(first.index) == stations
    history, effort = history_matrix(sample, camop, "VTA", 7, "station", include_effort=True)
    assert history.shape == effort.shape == (3, 7)
    # DetHist1day (3, 44): day1 = "station" needs the longest station's days, not the survey's
    assert history_matrix(sample, camop, "VTA", 1, "station", include_effort=True)[0].shape == (
        3,
        44,
    )
    # DetHist1day_survey (3, 46)
    survey = history_matrix(sample, camop, "VTA", 1, "survey", include_effort=True)[0]
    assert survey.shape == (3, 46)
    # R/variousOtherHelperFunctions.R (calculateTrappingEffort): effort sums the days;
    # without effort, an occasion with a day NA or 0, or shorter than occasionLength (the
    # last) is NA; a half setup day is neither
    assert effort.loc["StationA"].tolist() == [6.5, 7, 7, 7, 7, 7, 0.5]
    assert first.loc["StationA", "o1"] == 0
    assert np.isnan(first["o7"]).all()
    assert first.loc["StationA", "o2"] == 1  # VTA at StationA on 10 April, day 9
    assert history.loc["StationA"].tolist() == [0, 1, 0, 0, 1, 0, 0]
    # scaleEffort: R's scale() of the effort, its parameters returned (DetHist2a)
    _, scaled = history_matrix(
        sample, camop, "VTA", 7, "station", include_effort=True, scale_effort=True
    )
    known = effort.to_numpy()
    parameters = scaled.attrs["effort_scaling"]
    assert parameters["center"] == pytest.approx(known.mean())
    assert parameters["scale"] == pytest.approx(known.std(ddof=1))
    # "occasionLength error message works"
    with pytest.raises(ValueError, match="occasion_length must be smaller"):
        history_matrix(sample, camop, "VTA", 47)
    with pytest.raises(ValueError, match="positive"):
        history_matrix(sample, camop, "VTA", 0)


def test_day1_as_a_date(
    camtraps: tuple[pd.DataFrame, pd.DataFrame],
    sample: pd.DataFrame,
    caplog: pytest.LogCaptureFixture,
) -> None:
    camop = operation_matrix(camtraps[0], has_problems=False)
    # test_detectionHistory.R "Warnings when day1 is a date and there are records before day1"
    with caplog.at_level(logging.WARNING):
        history = history_matrix(sample, camop, "VTA", 7, "2009-05-01")
    assert "4 records (out of 5) were removed because they were taken before day1" in caplog.text
    assert history.loc["StationA"].iloc[0] == 1  # the one left: 6 May
    # "Error when day1 is after camera retrieval" / "... before camera setup"
    after = r"day1 \(2009-06-01\) is after the last station's retrieval date \(2009-05-17\)"
    with pytest.raises(ValueError, match=after):
        history_matrix(sample, camop, "VTA", 7, "2009-06-01")
    before = r"day1 \(2009-04-01\) is before the first station's setup date \(2009-04-02\)"
    with pytest.raises(ValueError, match=before):
        history_matrix(sample, camop, "VTA", 7, "2009-04-01")


def test_records_on_fraction_days(
    camtraps: tuple[pd.DataFrame, pd.DataFrame], sample: pd.DataFrame
) -> None:
    # test_detectionHistory.R PART 2: setup 12 h, retrieval 18 h, and extra VTA records on
    # StationA's first (05:07, before setup) and last day (05:07)
    deployments = camtraps[0].assign(timed=True)
    deployments["setup"] += pd.Timedelta(hours=12)
    deployments["retrieval"] += pd.Timedelta(hours=18)
    camop = operation_matrix(deployments, has_problems=False)
    extra = sample.iloc[[4, 4]].assign(
        DateTimeOriginal=[pd.Timestamp("2009-04-02 05:07"), pd.Timestamp("2009-05-14 05:07")]
    )
    records = pd.concat([extra, sample], ignore_index=True)
    history, effort = history_matrix(records, camop, "VTA", 7, "station", include_effort=True)
    assert effort.loc["StationA"].tolist() == [6.5, 7, 7, 7, 7, 7, 0.75]
    assert history.loc["StationA", "o1"] == 1
    assert history.loc["StationA", "o7"] == 1


def test_multi_season_histories(shared_data: Path, sample: pd.DataFrame) -> None:
    deployments, problems = station_table(shared_data / "camtrapR/camtrapsMultiSeason.csv")
    camop = operation_matrix(deployments, problems)  # camop_season (sessionCol = "session")
    records = multi_season_records(sample)
    # test_detectionHistory.R: rownames of DetHist_multi2 (unmarkedMultFrameInput = FALSE)
    assert list(camop.index) == [
        "StationA__SESS_2009", "StationB__SESS_2009", "StationC__SESS_2009",
        "StationA__SESS_2010", "StationB__SESS_2010", "StationC__SESS_2010",
        "StationD__SESS_2010",
    ]  # fmt: skip
    assert history_matrix(records, camop, "VTA", 10, "station").shape == (7, 8)  # DetHist_multi2
    # DetHist_multi (unmarkedMultFrameInput = TRUE): (4, 16), stations A-D, effort alike
    seasons = season_histories(records, camop, "VTA", 10, "station", include_effort=True)
    assert list(seasons) == ["2009", "2010"]
    wide = pd.concat([seasons[s][0] for s in seasons], axis=1)
    effort = pd.concat([seasons[s][1] for s in seasons], axis=1)
    assert wide.shape == effort.shape == (4, 16)
    assert list(wide.index) == ["StationA", "StationB", "StationC", "StationD"]
    assert seasons["2009"][0].loc["StationD"].isna().all()  # not surveyed in 2009
    assert seasons["2010"][0].loc["StationA"].tolist()[:5] == [1, 0, 0, 1, 0]
    # DetHist_multi3: occasionLength 1, day1 = "survey": (4, 884), 442 days a season
    daily = season_histories(records, camop, "VTA", 1, "survey", include_effort=True)
    assert pd.concat([daily[s][0] for s in daily], axis=1).shape == (4, 884)
    # seasons as date ranges of one operation matrix give the same split
    spans = {"2009": ("2009-01-01", "2009-12-31"), "2010": ("2010-01-01", "2010-12-31")}
    plain = camop.set_axis([name.split("__")[0] for name in camop.index])
    by_dates = season_histories(
        records, plain, "VTA", 10, "station", include_effort=True, seasons=spans
    )
    for season in spans:
        for ours, theirs in zip(by_dates[season], seasons[season], strict=True):
            pd.testing.assert_frame_equal(ours, theirs)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_sample_survey_gives_camtraprs_tables(
    database_url: str, lab_factory: Any, shared_data: Path, sample: pd.DataFrame
) -> None:
    """Through a workspace: camtrapR's sample photos, labelled by their species folders,
    with camtraps.csv imported as deployments."""
    lab = lab_factory(database_url=database_url)
    pictures = shared_data / "camtrapR/pictures/sample_images_species_dir"
    lab.ingest(str(pictures), survey="C", site_pattern="folder:1", camera_pattern="folder:1")
    lab.import_labels("C", "folders")
    table = shared_data / "camtrapR/camtraps.csv"
    import_deployments(lab.workspace, "C", str(table), x="utm_x", y="utm_y", crs="EPSG:32650")
    results = lab.results("C", min_delta_minutes=60, exclude=["UNID"])
    # recordTableSample (data/recordTableSample.rda), the 2025 video aside
    records = results.record_table()
    records = records[~records["FileName"].str.endswith(".mp4")]
    assert records["delta.time.secs"].tolist() == SAMPLE_DELTA_SECS
    assert records["n_images"].tolist() == sample["n_images"].tolist()
    # camop_problem (test_cameraOperation.R's inputs) and its trap nights: 42 and 37.5 as in
    # camtrapR's tests/testthat/test-surveyReport.R, 43 for StationB
    expected = operation_matrix(*station_table(table))
    pd.testing.assert_frame_equal(results.camera_operation(), expected, check_names=False)
    assert results.trap_days().tolist() == [42.0, 43.0, 37.5]
    # weekly detection history with effort (DetHist2's call on camop_problem)
    history, effort = results.detection_history("VTA", 7, include_effort=True)
    theirs = history_matrix(sample, expected, "VTA", 7, "station", include_effort=True)
    pd.testing.assert_frame_equal(history, theirs[0], check_names=False)
    pd.testing.assert_frame_equal(effort, theirs[1], check_names=False)
    # StationC: the problem leaves 3 days in the sixth week and none in the seventh (NA:
    # calculateTrappingEffort makes an occasion of zeros NA)
    assert effort.loc["StationC"].tolist()[:6] == [6.5, 7, 7, 7, 7, 3]
    assert np.isnan(effort.loc["StationC", "o7"])
