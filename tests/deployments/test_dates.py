"""Dates of station tables: formats found from the values, given as strftime or lubridate
orders, day/month ambiguity refused, and camtrapR's rule for times of day."""

from __future__ import annotations

import datetime as dt

import pytest

from traptagger_lab.deployments.dates import DateReader, Moment, iso_moment, readings
from traptagger_lab.errors import InputFileError
from traptagger_lab.exports.fields import FieldError


def _reader(*texts: str, date_format: str | None = None) -> DateReader:
    return DateReader(date_format, [(n, "Setup_date", t) for n, t in enumerate(texts, 2)], "t.csv")


def test_camtraprs_day_first_dates_are_found_from_a_day_past_twelve() -> None:
    reader = _reader("02/04/2009", "14/05/2009")  # camtraps.csv: 14 can only be a day
    assert reader.order == "dmy"
    assert not reader.with_time
    assert reader.read("02/04/2009", "x") == Moment(dt.datetime(2009, 4, 2), time_known=False)
    assert _reader("04/02/2009", "05/14/2009").order == "mdy"
    assert _reader("2009-04-02", "2009-05-14 15:30").order == "ymd"
    assert _reader("02.04.2009", "14.05.2009").read("14.05.2009", "x").day == dt.date(2009, 5, 14)


def test_ambiguous_day_and_month_are_refused_naming_row_and_value() -> None:
    with pytest.raises(InputFileError) as refused:
        _reader("01/01/2009", "02/04/2009", "03/05/2009")
    assert refused.value.row == 3
    assert "'02/04/2009' could be day/month or month/day" in str(refused.value)
    assert "date_format" in str(refused.value)
    assert _reader("01/01/2009").order == "dmy"  # the same either way: nothing to refuse


@pytest.mark.parametrize(
    ("date_format", "text", "expected", "known"),
    [
        ("%d/%m/%Y", "02/04/2009", dt.datetime(2009, 4, 2), False),
        ("%d/%m/%Y %H:%M", "02/04/2009 12:30", dt.datetime(2009, 4, 2, 12, 30), True),
        ("dmy", "02-04-2009", dt.datetime(2009, 4, 2), False),
        ("ymd HMS", "2009-04-02 12:00:00", dt.datetime(2009, 4, 2, 12), True),
        # camtrapR's test "Different date formats work": "%H:%M:%S %d/%m/%Y" as "HMS dmy"
        ("HMS dmy", "12:00:00 02/04/2009", dt.datetime(2009, 4, 2, 12), True),
        ("mdy", "04/02/2009", dt.datetime(2009, 4, 2), False),
    ],
)
def test_a_given_format(date_format: str, text: str, expected: dt.datetime, known: bool) -> None:
    assert _reader(text, date_format=date_format).read(text, "x") == Moment(expected, known)


def test_values_that_do_not_fit_fail_by_field() -> None:
    reader = _reader("02/04/2009", "14/05/2009")
    with pytest.raises(FieldError, match="'31/02/2009' is not a date"):
        reader.read("31/02/2009", "Retrieval_date")
    with pytest.raises(FieldError, match="not a date in '%d/%m/%Y'"):
        _reader(date_format="%d/%m/%Y").read("2009-04-02", "Setup_date")
    with pytest.raises(InputFileError, match="neither strftime"):
        _reader(date_format="dd-mm")


def test_a_table_with_times_reads_a_bare_date_as_midnight() -> None:
    """camtrapR (test_cameraOperation.R, camtraps_date_time_char_midnight): in a date-time
    table, a value whose time was dropped at midnight is 00:00, not a date alone."""
    reader = _reader("2009-04-02", "2009-05-14 15:00:00")
    assert reader.with_time
    assert reader.read("2009-04-02", "x") == Moment(dt.datetime(2009, 4, 2), time_known=True)


def test_moments_stand_for_whole_days_when_the_time_is_unknown() -> None:
    day = Moment(dt.datetime(2009, 5, 17), time_known=False)
    assert day.first_moment == dt.datetime(2009, 5, 17)
    assert day.last_moment == dt.datetime(2009, 5, 17, 23, 59, 59, 999999)
    assert str(day) == "2009-05-17"
    assert iso_moment("2009-05-17 06:00") == Moment(dt.datetime(2009, 5, 17, 6))
    assert set(readings("05/06/2009")) == {"dmy", "mdy"}
