"""Dates and times out of strip text in the common camera styles, and each camera's date
order learnt by vote (pure: no tesseract)."""

from __future__ import annotations

import datetime as dt

import pytest

from traptagger_lab.timestamps.formats import (
    DateOrder,
    Reading,
    learn_format,
    parse_text,
    resolve,
    vote,
)

T = dt.datetime


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        # Reconyx HyperFire 2 / PC850, top bar (the Camtrap DP sample), 24 h
        ("2021-04-11 20:43:09 M 1/10 ◑ 2°C", DateOrder.YMD, T(2021, 4, 11, 20, 43, 9)),
        # the same with its colons erased before OCR (strip.erase_colons)
        ("2021-04-11 20 43 09 M 1/10 gi 2°C", DateOrder.YMD, T(2021, 4, 11, 20, 43, 9)),
        # Reconyx PC850, 12 h (camtrapR's mousedeer)
        ("2018-10-19 10:35:09 PM M 2/3 7@ 24°C", DateOrder.YMD, T(2018, 10, 19, 22, 35, 9)),
        # Reconyx HyperFire 1, bottom bar, month first, 12 h, after a moon and temperatures
        (
            "RECONYX M 1/3 ◐ 75°F 24°C 03/13/2024 5:40:07 AM",
            DateOrder.MDY,
            T(2024, 3, 13, 5, 40, 7),
        ),
        # Bushnell, month first with dashes, 24 h, camera name after
        ("72°F 22°C ● 03-14-2024 22:03:59 TROPHY CAM", DateOrder.MDY, T(2024, 3, 14, 22, 3, 59)),
        # Browning: no seconds, 12 h
        ("BROWNING 75°F ◑ 11/04/2024 12:00 PM", DateOrder.MDY, T(2024, 11, 4, 12, 0)),
        ("BROWNING 75°F ◑ 01/02/2024 12:17 AM", DateOrder.MDY, T(2024, 1, 2, 0, 17)),
        # Cuddeback: the time before the date, no leading zero
        ("9:09:09 AM 7/9/2024 CUDDEBACK", DateOrder.MDY, T(2024, 7, 9, 9, 9, 9)),
        # European set-ups: day first with dots or slashes
        ("25.12.2025 13:59:30 15°C CAM-07", DateOrder.DMY, T(2025, 12, 25, 13, 59, 30)),
        ("SITE 4 13/03/2024 5:40:07 PM", DateOrder.DMY, T(2024, 3, 13, 17, 40, 7)),
        # two-digit year, OCR reading O for 0 and l for 1, spaces around separators
        ("O3/l4/24 2l:O3:59", DateOrder.MDY, T(2024, 3, 14, 21, 3, 59)),
        ("2024 - 03 - 13 05:40:07", DateOrder.YMD, T(2024, 3, 13, 5, 40, 7)),
        # AM/PM as OCR misreads them
        ("2018-10-19 10 35 09 FM M 2/3", DateOrder.YMD, T(2018, 10, 19, 22, 35, 9)),
        ("03/13/2024 5:40:07 P.M.", DateOrder.MDY, T(2024, 3, 13, 17, 40, 7)),
    ],
)
def test_camera_styles(text: str, order: DateOrder, expected: dt.datetime) -> None:
    reading = parse_text(text)
    assert reading is not None
    assert reading.at(order) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "MICA 318",  # the camera's name in the other bar
        "PC850 PROFESSIONAL",
        "2021-04-11 M 1/10",  # a date but no time
        "20:43:09 M 1/10 2°C",  # a time but no date
        "2021-04-11 202343:09 M 1/10",  # colons misread as digits: not a time
        "2021-04-11 25:43:09",  # no such hour
        "2021-13-11 20:43:09",  # no such month
        "2018-1019 10735:3:09 PM",  # a dropped dash and a colon read as 7
    ],
)
def test_text_without_a_date_and_time(text: str) -> None:
    assert parse_text(text) is None


def test_frame_counters_and_temperatures_are_not_times() -> None:
    reading = parse_text("2021-04-11 20 43 09 M 10/10 20 2°C")
    assert reading is not None
    assert (reading.hour, reading.minute, reading.second) == (20, 43, 9)


def _reading(text: str) -> Reading:
    found = parse_text(text)
    assert found is not None
    return found


def test_the_date_order_is_voted_by_days_above_twelve() -> None:
    day_first = [_reading(t) for t in ("03/04/2024 10:00:00", "13/04/2024 10:00:00")]
    fmt = learn_format(day_first)
    assert fmt is not None
    assert (fmt.order, fmt.order_from) == (DateOrder.DMY, "printed")
    assert resolve(day_first[0], fmt) == T(2024, 4, 3, 10)
    month_first = [_reading(t) for t in ("03/04/2024 10:00:00", "04/25/2024 10:00:00")]
    fmt = learn_format(month_first)
    assert fmt is not None
    assert fmt.order is DateOrder.MDY
    assert resolve(month_first[0], fmt) == T(2024, 3, 4, 10)


def test_ambiguous_dates_follow_exif_then_the_default() -> None:
    readings = [_reading("03/04/2024 10:00:00"), _reading("05/06/2024 11:00:00")]
    exif = [T(2024, 4, 3, 10, 0, 1), T(2024, 6, 5, 11, 0, 1)]  # day first, 1 s apart
    fmt = learn_format(readings, exif)
    assert fmt is not None
    assert (fmt.order, fmt.order_from) == (DateOrder.DMY, "exif")
    fmt = learn_format(readings, [None, None], default=DateOrder.MDY)
    assert fmt is not None
    assert (fmt.order, fmt.order_from) == (DateOrder.MDY, "default")
    assert learn_format([]) is None


def test_a_twelve_hour_camera_needs_its_am_pm() -> None:
    readings = [_reading("03/14/2024 9:00:00 PM"), _reading("03/15/2024 9:00:00 AM")]
    fmt = learn_format([*readings, _reading("03/16/2024 9:00:00")])
    assert fmt is not None
    assert fmt.twelve_hour
    assert resolve(_reading("03/16/2024 9:00:00"), fmt) is None  # lost its PM or AM
    assert resolve(_reading("03/16/2024 21:00:00"), fmt) == T(2024, 3, 16, 21)


def test_a_camera_that_prints_seconds_needs_them() -> None:
    """OCR that lost a digit can read "3 @4 15 AM" as 4:15 AM: not this camera's format."""
    readings = [_reading(f"06/1{d}/2023 3:04:15 AM") for d in range(3)]
    fmt = learn_format([*readings, _reading("06/12/2023 3 @4 15 AM")])
    assert fmt is not None
    assert fmt.seconds
    assert resolve(_reading("06/12/2023 3 @4 15 AM"), fmt) is None
    assert resolve(readings[0], fmt) == T(2023, 6, 10, 3, 4, 15)


def test_no_seconds_is_learnt() -> None:
    fmt = learn_format([_reading("03/14/2024 9:07 PM"), _reading("03/15/2024 9:08 PM")])
    assert fmt is not None
    assert (fmt.seconds, fmt.twelve_hour) == (False, True)


def test_vote_keeps_what_most_versions_read() -> None:
    right, wrong = _reading("2021-04-11 20:43:09"), _reading("2021-04-11 20:43:19")
    assert vote([wrong, right, None, right]) == (right, 2)
    assert vote([None, None]) == (None, 0)
    with_pm = _reading("2018-10-19 10:35:09 PM")
    without = _reading("2018-10-19 10:35:09")
    assert vote([without, with_pm]) == (with_pm, 1)  # a tie goes to the one that says more
