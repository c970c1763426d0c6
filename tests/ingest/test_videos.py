"""Video stills: at most 30, at most one a second, timestamps from the creation time."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest

from traptagger_lab.ingest.photos import DerivedSizes
from traptagger_lab.ingest.records import Failure, FailureReason, SourceFile, VideoRecord
from traptagger_lab.ingest.videos import frame_path, process_video, still_times
from traptagger_lab.sample import SampleSurvey


@pytest.mark.parametrize(
    ("duration", "count", "step"),
    [(0.5, 1, 0.0), (6.0, 6, 1.0), (10.0, 10, 1.0), (29.5, 30, 1.0), (120.0, 30, 4.0)],
)
def test_still_times(duration: float, count: int, step: float) -> None:
    times = still_times(duration)
    assert len(times) == count
    assert all(0 <= t < max(duration, 0.001) for t in times)
    if count > 1:
        assert times[1] - times[0] == pytest.approx(step)
        assert min(b - a for a, b in itertools.pairwise(times)) >= 1.0


def _process(path: Path, name: str) -> VideoRecord | Failure:
    data = path.read_bytes()
    item = SourceFile(path=name, size=len(data), kind="video", site="S", camera="C")
    written: dict[str, bytes] = {}
    record = process_video(item, data, written.__setitem__, DerivedSizes())
    if isinstance(record, VideoRecord):
        for frame in record.frames:
            assert frame.derived.compressed_key in written
            assert frame.derived.thumbnail_key in written
    return record


def test_sample_video(sample_survey: SampleSurvey) -> None:
    name = sample_survey.videos[0]
    record = _process(sample_survey.root / name, name)
    assert isinstance(record, VideoRecord)
    assert record.duration_s == pytest.approx(6.0, abs=0.3)
    assert record.timestamp_source.startswith("video")
    assert len(record.frames) == 6
    assert record.timestamp is not None
    for index, frame in enumerate(record.frames):
        assert frame.frame_index == index
        assert frame.path == frame_path(name, index * 1.0)
        assert frame.timestamp == record.timestamp + dt.timedelta(seconds=index)
    assert len({f.hash for f in record.frames}) == 6


def test_real_camtrapr_video(shared_data: Path) -> None:
    path = (
        shared_data / "camtrapR/pictures/sample_images_species_dir/StationA/PBE/20251112_100312.mp4"
    )
    record = _process(path, "StationA/PBE/20251112_100312.mp4")
    assert isinstance(record, VideoRecord)
    assert 1 <= len(record.frames) <= 30
    assert record.timestamp is not None
    assert record.width
    assert record.height


def test_broken_video_is_a_failure(tmp_path: Path) -> None:
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    record = _process(path, "S/C/broken.mp4")
    assert isinstance(record, Failure)
    assert record.reason is FailureReason.CORRUPT
