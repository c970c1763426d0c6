"""One ingest task's parameters: what a worker is given, checked when made, shipped by pickle."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from pydantic import ValidationError

from traptagger_lab.ingest.batch import BatchParams, process_batch
from traptagger_lab.ingest.discover import Source
from traptagger_lab.ingest.photos import DerivedSizes
from traptagger_lab.ingest.records import Failure, FailureReason, SourceFile
from traptagger_lab.storage import BlobStore


def test_batch_params_defaults_and_ranges(tmp_path: Path) -> None:
    made = {"source": Source(str(tmp_path), {}), "store": BlobStore(str(tmp_path / "store"))}
    params = BatchParams(**made)
    assert params.sizes == DerivedSizes(compressed_width=800, thumbnail_width=240, quality=85)
    assert params.max_video_frames == 30
    assert (params.source, params.store) == (made["source"], made["store"])
    for bad in ({"max_video_frames": 0}, {"source": str(tmp_path)}, {"sizes": {"quality": "x"}}):
        with pytest.raises(ValidationError) as caught:
            BatchParams(**{**made, **bad})
        assert [e["loc"][0] for e in caught.value.errors()] == [next(iter(bad))]


def test_a_worker_gets_the_same_params_and_records_an_unreadable_file(tmp_path: Path) -> None:
    params = BatchParams(
        source=Source(str(tmp_path), {}),
        store=BlobStore(str(tmp_path / "store")),
        sizes=DerivedSizes(compressed_width=400, thumbnail_width=100, quality=70),
        max_video_frames=5,
    )
    shipped = pickle.loads(pickle.dumps(params))  # as Dask sends it to a worker
    assert shipped == params
    missing = SourceFile("Site1/IMG_0001.JPG", 10, "image", "Site1", "CamA")
    [outcome] = process_batch(shipped, [missing])
    assert isinstance(outcome, Failure)
    assert (outcome.path, outcome.reason) == (missing.path, FailureReason.UNREADABLE)
