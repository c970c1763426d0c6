"""Names built from data stay inside an export's destination; existing exports are kept."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from traptagger_lab.exports.camtrap_dp import media_table
from traptagger_lab.exports.destinations import (
    Destination,
    DestinationExistsError,
    OutsideDestinationError,
)
from traptagger_lab.exports.folders import species_folder_plan
from traptagger_lab.exports.safe_names import MAX_BYTES, file_of, safe_part, safe_relative

HOSTILE = ["../../..", "a/b", "..\\x", "a\x00b", "..", ".", "", " ", "/etc", "x" * 300]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_becomes_one_harmless_component(name: str) -> None:
    part = safe_part(name)
    assert "/" not in part
    assert "\\" not in part
    assert "\x00" not in part
    assert part.strip(".")
    assert not part.startswith(".")
    assert len(part.encode()) <= MAX_BYTES
    assert safe_part(part) == part  # already safe: kept as it is


def test_ordinary_names_are_kept_and_changed_ones_never_collide() -> None:
    for name in ("Leopard Cat", "a#b%c?d é.JPG", "Zèbre (plains)", "Camera 1"):
        assert safe_part(name) == name
    assert len({safe_part(n) for n in ("a/b", "a_b", "a\\b", "a\x00b")}) == 4
    assert safe_relative("/../a/./b//../c.jpg").split("/")[2] == "b"
    assert ".." not in safe_relative("../../etc/passwd").split("/")


def test_a_video_still_names_its_video_and_a_photo_keeps_its_hash_sign() -> None:
    assert file_of("V/clip.mp4#t=1.500") == "V/clip.mp4"
    assert file_of("A/a#b.JPG") == "A/a#b.JPG"
    assert file_of("A/#t=x.JPG") == "A/#t=x.JPG"


def test_the_folder_plan_keeps_each_label_in_its_own_folder() -> None:
    seen = pd.DataFrame(
        {
            "path": ["A/a#b.JPG", "A/p.JPG", "A/q.JPG", "V/v.mp4#t=1.000", "V/v.mp4#t=2.000"],
            "species": ["../../..", "a/b", "..\\x", "Impala", "Impala"],
            "site": ["../s", "../s", "../s", "V", "V"],
            "camera": ["c/1", "c/2", "c/1", "V", "V"],
        }
    )
    for layout in ("species", "camtrapR"):
        plan = species_folder_plan(seen, layout)
        assert [source for source, _ in plan] == ["A/a#b.JPG", "A/p.JPG", "A/q.JPG", "V/v.mp4"]
        for _, target in plan:
            parts = target.split("/")
            assert all(p not in ("", ".", "..") and "\\" not in p for p in parts), target
        assert len({t.split("/")[0 if layout == "species" else 1] for _, t in plan}) == 4
    assert species_folder_plan(seen)[0][1].endswith("/A/a#b.JPG")


def test_camtrap_dp_media_keep_hash_signs_in_photo_names() -> None:
    images = pd.DataFrame(
        {
            "image_id": [1, 2, 3],
            "path": ["A/a#b.JPG", "V/v.mp4#t=0.000", "V/v.mp4#t=1.000"],
            "site": ["A", "V", "V"],
            "camera": ["A", "V", "V"],
            "timestamp": pd.to_datetime(
                ["2024-01-01 10:00", "2024-01-01 11:00", "2024-01-01 11:00"]
            ),
        }
    )
    media = media_table(images, "+00:00")
    assert list(media["filePath"]) == ["A/a#b.JPG", "V/v.mp4"]
    assert list(media["fileName"]) == ["a#b.JPG", "v.mp4"]


def test_placing_proves_the_path_inside_even_through_a_link(tmp_path: Path) -> None:
    out = Destination.open(str(tmp_path / "out"), {})
    for name in HOSTILE:
        placed = Path(out.place(f"{name}/x.jpg"))
        assert placed.resolve().is_relative_to((tmp_path / "out").resolve())
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "out" / "Impala")
    with pytest.raises(OutsideDestinationError, match=r"outside .* \(through a link\)"):
        out.place("Impala/x.jpg")


def test_existing_exports_are_refused_unless_overwrite(tmp_path: Path) -> None:
    (tmp_path / "done.csv").write_text("kept")
    with pytest.raises(DestinationExistsError, match=r"done.csv already exists: .*--overwrite"):
        Destination.open(str(tmp_path / "done.csv"), {}).file(".csv")
    assert Destination.open(str(tmp_path / "done.csv"), {}, overwrite=True).file(".csv")
    assert Destination.open(str(tmp_path / "new"), {}).file(".csv").endswith("new/export.csv")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(DestinationExistsError, match="is not empty"):
        Destination.open(str(tmp_path / "full"), {}).folder()
    with pytest.raises(DestinationExistsError, match="is a file, not a folder"):
        Destination.open(str(tmp_path / "done.csv"), {}, overwrite=True).folder()
    (tmp_path / "empty").mkdir()
    assert Destination.open(str(tmp_path / "empty"), {}).folder()
    assert Destination.open(str(tmp_path / "full"), {}, overwrite=True).folder()
    assert (tmp_path / "done.csv").read_text() == "kept"
