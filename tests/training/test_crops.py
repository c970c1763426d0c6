"""The crop cutter's parameters: the crop geometry, checked when made."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from traptagger_lab.storage import BlobStore
from traptagger_lab.training.crops import CropParams


def test_crop_params_defaults_and_ranges(tmp_path: Path) -> None:
    store = BlobStore(str(tmp_path / "store"))
    made = {"out": BlobStore(str(tmp_path / "set")), "store": store, "options": {}}
    params = CropParams(**made)
    assert (params.size, params.pad, params.quality) == (256, 0.0, 90)
    assert (params.out, params.store) == (made["out"], store)
    for bad in ({"size": 8}, {"pad": 1.5}, {"quality": 0}, {"quality": 101}, {"out": "x"}):
        with pytest.raises(ValidationError) as caught:
            CropParams(**{**made, **bad})
        assert [e["loc"] for e in caught.value.errors()] == [(next(iter(bad)),)]
    with pytest.raises(ValidationError) as caught:
        CropParams(out=store, store=store)  # type: ignore[call-arg]
    assert [e["loc"] for e in caught.value.errors()] == [("options",)]
