"""Strip-minus-EXIF differences -> per-camera offsets, clock jumps and confidence (pure)."""

from __future__ import annotations

import datetime as dt

from traptagger_lab.timestamps.offsets import ClockSegment, Point, confidence, find_segments

START = dt.datetime(2024, 3, 1, 8, 0, 0)


def _points(differences: list[float]) -> list[Point]:
    """One photo every 6 hours with the given differences (seconds)."""
    return [
        Point(i + 1, START + dt.timedelta(hours=6 * i), float(d)) for i, d in enumerate(differences)
    ]


def test_a_steady_offset_is_one_segment() -> None:
    split = find_segments(_points([3600, 3601, 3599, 3600, 3600]))
    assert split.segments == (ClockSegment(None, None, 3600.0, 5, 5),)
    assert split.change_points == ()
    assert split.outliers == ()


def test_a_clock_jump_makes_two_segments_and_a_change_point() -> None:
    points = _points([0, 0, 1, 0, -86520, -86520, -86519, -86520])
    split = find_segments(points, tolerance_s=2, min_run=2)
    first, second = split.segments
    assert (first.start, first.end, first.offset_s, first.photos) == (None, points[4].exif, 0.0, 4)
    assert (second.start, second.end, second.offset_s) == (points[4].exif, None, -86520.0)
    (change,) = split.change_points
    assert (change.after, change.before) == (points[3].exif, points[4].exif)
    assert (change.from_s, change.to_s) == (0.0, -86520.0)
    assert first.covers(points[3].exif)
    assert not first.covers(points[4].exif)
    assert second.covers(points[4].exif)


def test_a_lone_misread_is_an_outlier_not_a_jump() -> None:
    points = _points([60, 60, 3660, 60, 60, 60])  # one strip misread by an hour
    split = find_segments(points, min_run=2)
    assert [s.offset_s for s in split.segments] == [60.0]
    assert split.outliers == (3,)
    assert split.segments[0].agreeing == 5
    assert 3 not in split.member_of
    single = find_segments(points, min_run=1)  # one photo is enough evidence: three pieces
    assert [s.offset_s for s in single.segments] == [60.0, 3660.0, 60.0]


def test_a_misread_first_photo_is_an_outlier() -> None:
    split = find_segments(_points([6, 0, 0, 0, 1]), min_run=2)
    assert [(s.start, s.offset_s, s.photos) for s in split.segments] == [(None, 0.0, 4)]
    assert split.outliers == (1,)
    assert find_segments(_points([6]), min_run=2).segments[0].offset_s == 6.0  # one photo


def test_points_in_any_order_and_none() -> None:
    points = _points([5, 5, 5])
    assert find_segments(list(reversed(points))).segments[0].photos == 3
    assert find_segments([]).segments == ()


def test_confidence_grades() -> None:
    assert confidence(0, 0.0, 5, 0.9, 0.6) == "none"
    assert confidence(8, 1.0, 5, 0.9, 0.6) == "high"
    assert confidence(4, 1.0, 5, 0.9, 0.6) == "medium"
    assert confidence(8, 0.7, 5, 0.9, 0.6) == "medium"
    assert confidence(8, 0.5, 5, 0.9, 0.6) == "low"
    assert confidence(1, 1.0, 5, 0.9, 0.6) == "low"


def test_segments_as_json() -> None:
    segment = ClockSegment(START, None, -60.0, 3, 3)
    assert segment.as_dict() == {
        "start": "2024-03-01T08:00:00",
        "end": None,
        "offset_s": -60.0,
        "photos": 3,
        "agreeing": 3,
    }
