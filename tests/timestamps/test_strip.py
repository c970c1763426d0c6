"""Finding the printed strip at either edge and preparing it for OCR (pure: no tesseract)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from pydantic import ValidationError

from traptagger_lab.sample import STRIP_FONTS, STRIP_STYLES, strip_photo, strip_text
from traptagger_lab.timestamps.strip import (
    Edge,
    StripParams,
    erase_colons,
    find_line,
    find_lines,
    line_variants,
)

WHEN = dt.datetime(2024, 3, 13, 17, 40, 7)


@pytest.mark.parametrize("name", sorted(STRIP_STYLES))
def test_the_line_is_found_at_its_edge(name: str) -> None:
    style = STRIP_STYLES[name]
    for night in (False, True):
        photo = strip_photo(WHEN, style, (960, 720), seed=1, night=night)
        lines = find_lines(photo, StripParams())
        assert [line.edge.value for line in lines] == [style.edge]
        (line,) = lines
        bar = max(14, round(720 * style.height))
        top, bottom = line.rows
        if style.edge == "top":
            assert 0 <= top < bottom <= bar
        else:
            assert 720 - bar <= top < bottom <= 720
        assert line.dark_bar == (sum(style.bar) < 3 * 128)
        picture = np.asarray(line.image)
        assert set(np.unique(picture)) <= {0, 255}  # thresholded: black text on white
        assert picture[0].min() == 255
        assert picture[:, 0].min() == 255
        # scaled so the text is 40 px high (padding and a 16 px frame around it)
        assert 40 + 2 * 16 <= line.image.height <= 2 * 40 + 2 * 16


def test_no_line_on_a_photo_without_a_strip() -> None:
    rng = np.random.default_rng(0)
    busy = rng.integers(0, 256, (480, 640), dtype=np.uint8)  # leaves, grass: no bar
    scene = Image.fromarray(busy).convert("RGB")
    assert find_lines(scene, StripParams()) == []
    sky = Image.new("RGB", (640, 480), (250, 250, 250))  # a white photo is not a light bar
    assert find_line(sky, Edge.TOP, StripParams()) is None


def _glyph_columns(picture: Image.Image) -> list[np.ndarray]:
    """The runs of columns holding ink, left to right (one per glyph in a monospace font)."""
    columns = np.flatnonzero((np.asarray(picture) < 128).any(axis=0))
    return np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1)


def test_colons_become_clear_spaces_and_digits_stay() -> None:
    font = ImageFont.truetype(STRIP_FONTS[0], 40) if _fonts() else ImageFont.load_default(40)
    picture = Image.new("L", (420, 70), 255)
    ImageDraw.Draw(picture).text((10, 10), "20:43:09", fill=0, font=font)
    assert len(_glyph_columns(picture)) == 8  # six digits and two colons
    erased = erase_colons(picture, 40)
    glyphs = _glyph_columns(erased)
    assert len(glyphs) == 6  # the digits alone
    assert glyphs[2][0] - glyphs[1][-1] > 20  # a gap of half the line's height at least
    assert erased.width > picture.width
    plain = Image.new("L", (420, 70), 255)
    ImageDraw.Draw(plain).text((10, 10), "2024-03-13 °C", fill=0, font=font)
    assert np.array_equal(np.asarray(erase_colons(plain, 40)) < 128, np.asarray(plain) < 128)


def test_variants_of_a_line() -> None:
    photo = strip_photo(WHEN, "reconyx-top", (960, 720), seed=2)
    line = find_line(photo, Edge.TOP, StripParams())
    assert line is not None
    variants = line_variants(line, StripParams())
    assert len(variants) == 4
    assert all(v.height == line.image.height for v in variants)
    assert variants[2] is line.image  # as found


def test_params_defaults_and_ranges() -> None:
    params = StripParams()
    assert (params.band, params.line_height, params.max_ink) == (0.12, 40, 0.6)
    for bad in ({"band": 0}, {"band": 0.6}, {"line_height": 4}, {"min_ink": 1}):
        with pytest.raises(ValidationError):
            StripParams(**bad)  # type: ignore[arg-type]


def test_strip_text_styles() -> None:
    assert strip_text(WHEN, STRIP_STYLES["reconyx-top"]) == (
        "2024-03-13  17:40:07   M 1/10  ◑  2°C"
    )
    assert "03/13/2024  5:40 PM" in strip_text(WHEN, STRIP_STYLES["browning"])
    assert strip_text(WHEN, STRIP_STYLES["cuddeback"]).startswith("5:40:07 PM  03/13/2024")
    assert "13.03.2024  17:40:07" in strip_text(WHEN, STRIP_STYLES["dayfirst-top"])


def _fonts() -> bool:
    from pathlib import Path

    return Path(STRIP_FONTS[0]).is_file()
