"""Deployments as periods (pure): camtrapR's rules for dates without times, which photos lie
in a deployment, and the rule that finds photos far from the rest of their camera."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from pydantic import ValidationError

from traptagger_lab.deployments import periods
from traptagger_lab.deployments.checks import CheckParams, far_off_days

T = pd.Timestamp


def _stored() -> tuple[pd.DataFrame, pd.DataFrame]:
    deployments = pd.DataFrame(
        {
            "deployment_id": [1, 2, 3],
            "station": ["StationA", "StationC", "StationD"],
            "camera": [None, None, "c2"],
            "setup": [T("2009-04-02"), T("2009-04-04"), T("2009-04-01 09:30")],
            "setup_time_known": [False, False, True],
            "retrieval": [T("2009-05-14"), T("2009-05-17"), T("2009-04-20 16:00")],
            "retrieval_time_known": [False, False, True],
        }
    )
    problems = pd.DataFrame(
        {
            "deployment_id": [2, 1, 3],
            "start": [T("2009-05-12"), T("2009-04-02"), T("2009-04-05 06:00")],
            "start_time_known": [False, False, True],
            "end": [T("2009-05-17"), T("2009-04-03"), T("2009-04-06 15:00")],
            "end_time_known": [False, False, True],
            "reason": ["", "", "battery"],
        }
    )
    return deployments, problems


def test_dates_alone_follow_camtraprs_cameraoperation() -> None:
    """camtrapR's cameraOperation.R: setup and retrieval without a time at noon; a problem
    starting on the setup day starts at setup; a date Problem_to ends at the end of its day,
    and at retrieval on the retrieval day."""
    stored, stored_problems = _stored()
    deployments = periods.effort_deployments(stored)
    assert deployments["setup"].tolist() == [
        T("2009-04-02 12:00"), T("2009-04-04 12:00"), T("2009-04-01 09:30"),
    ]  # fmt: skip
    assert deployments["Camera"].tolist() == [None, None, "c2"]
    assert (deployments["source"] == "deployments").all()
    problems = periods.effort_problems(stored_problems, deployments).set_index("deployment_id")
    assert problems.loc[2, "start"] == T("2009-05-12")
    assert problems.loc[2, "end"] == T("2009-05-17 12:00")  # capped at retrieval (noon)
    assert problems.loc[1, "start"] == T("2009-04-02 12:00")  # the setup day: from setup
    assert problems.loc[1, "end"] == T("2009-04-03 23:59:59")  # inclusive end
    assert problems.loc[3, "end"] == T("2009-04-06 15:00")  # times kept as given


def test_outages_become_problems_of_their_deployment() -> None:
    deployments = periods.effort_deployments(_stored()[0])
    outages = pd.DataFrame(
        {
            "Station": ["StationA", "StationD", "StationD", "Nowhere"],
            "Camera": ["StationA", "c2", "c1", "x"],
            "start": [T("2009-05-01 10:00"), T("2009-04-10"), T("2009-04-10"), T("2009-04-10")],
            "end": [None, T("2009-04-11"), None, None],
            "reason": ["knocked down"] * 4,
        }
    )
    found = periods.outage_problems(outages, deployments)
    assert found["Station"].tolist() == ["StationA", "StationD"]  # c1 and Nowhere: no deployment
    assert found["Camera"].tolist() == [None, "c2"]  # StationA's deployment is station-wide
    assert found["end"].tolist() == [T("2009-05-14 12:00"), T("2009-04-11")]  # open: retrieval


def test_which_photos_lie_in_a_deployment() -> None:
    deployments = periods.effort_deployments(_stored()[0])
    photos = pd.DataFrame(
        {
            "Station": ["StationA", "StationA", "StationA", "StationD", "StationD", "StationC"],
            "Camera": ["StationA", "other", "StationA", "c2", "c1", "StationC"],
            "DateTimeOriginal": [
                T("2009-04-02 05:00"),  # setup day, before noon: the whole day counts
                T("2009-05-14 23:00"),  # retrieval day, any camera of the station
                T("2025-11-12 02:03"),  # the stray video
                T("2009-04-20 16:00:01"),  # a second after a known retrieval
                T("2009-04-10"),  # a camera without a deployment
                T("2009-05-13"),  # inside, in a problem period: still inside the deployment
            ],
        }
    )
    assert periods.within(photos, deployments).tolist() == [True, True, False, False, False, True]
    renamed = photos.rename(columns={"Station": "site", "Camera": "camera"})
    found = periods.deployment_of(
        renamed.rename(columns={"DateTimeOriginal": "timestamp"}), deployments
    )
    assert found.tolist() == [0, 0, -1, -1, -1, 1]


def _days(*texts: str) -> list[dt.date]:
    return [dt.date.fromisoformat(t) for t in texts]


def test_far_off_days_by_median_and_iqr() -> None:
    params = CheckParams()
    # camtrapR's StationA: photo days in April-May 2009 and the video of 12 Nov 2025
    station_a = _days(
        "2009-04-10", "2009-04-21", "2009-04-22", "2009-04-23", "2009-05-06", "2009-05-07",
        "2025-11-12",
    )  # fmt: skip
    assert far_off_days(station_a, params) == set(_days("2025-11-12"))
    # a late photo within the spread of a long deployment is not far off
    steady = [dt.date(2009, 1, 1) + dt.timedelta(days=7 * n) for n in range(20)]
    assert far_off_days([*steady, dt.date(2009, 6, 1)], params) == set()
    # beyond the fence but closer than min_gap_days to the bulk: not far off
    bulk = _days("2009-04-01", "2009-04-02", "2009-04-03", "2009-04-04", "2009-04-05")
    assert far_off_days([*bulk, dt.date(2009, 5, 20)], params) == set()
    assert far_off_days([*bulk, dt.date(2009, 5, 20)], params.replace(min_gap_days=30)) == {
        dt.date(2009, 5, 20)
    }
    # too few days to judge
    assert far_off_days(_days("2009-04-01", "2009-04-02", "2025-01-01"), params) == set()


def test_check_params_defaults_and_ranges() -> None:
    params = CheckParams()
    assert (params.iqr_factor, params.min_gap_days, params.min_days, params.idle_days) == (
        3.0, 60.0, 4, 30.0,
    )  # fmt: skip
    for bad in ({"iqr_factor": 0}, {"min_gap_days": -1}, {"min_days": 2}, {"idle_days": -1}):
        with pytest.raises(ValidationError):
            CheckParams(**bad)  # type: ignore[arg-type]
