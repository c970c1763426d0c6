"""Finding the date/time strip a camera prints on its photos, ready for OCR (pure: PIL/NumPy).

Trail cameras burn a line of text into each photo: a black bar at the bottom (Reconyx
HyperFire 1, Bushnell, Browning, Cuddeback) or at the top (Reconyx HyperFire 2 and
Professional), white text, sometimes with a temperature, a moon-phase glyph or the
camera's name beside the date and time. This module finds that line in a band at
either edge and turns it into clean black-on-white images that tesseract reads well:

1. the band at the edge (``StripParams.band`` of the height) in grey;
2. the bar's colour from its two outermost rows, which must be mostly that colour (the
   edge of a scene is not a bar); text is whatever is far from it (bright text on a
   dark bar, or dark text on a light bar);
3. the text line: the run of rows next to the edge that hold some text and are not
   mostly text (a bright sky is not a line of text), padded over empty bar rows only;
4. scaled so that the line is ``StripParams.line_height`` pixels high, thresholded, and
   framed in white.

Tesseract often reads the colons of a camera's bitmap font as ``3``, ``7`` or ``°``;
:func:`erase_colons` removes every pair of small dots stacked one above the other, so
that ``20:43:09`` is read as ``20 43 09`` (which :mod:`.formats` accepts as a time).
:func:`line_variants` returns the line both ways (and thinned), and the reader votes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from PIL import Image, ImageFilter, ImageOps
from pydantic import Field

from traptagger_lab.params import StageParams

#: A grey image as a 2-D array of 0..255 (rows first).
Grey = np.ndarray


class Edge(StrEnum):
    """Which edge of the photo a strip is printed along."""

    TOP = "top"
    BOTTOM = "bottom"


class StripParams(StageParams):
    """Where to look for a photo's data strip and how to prepare it for OCR."""

    band: float = Field(
        default=0.12,
        gt=0,
        le=0.5,
        description="Share of the photo's height searched at each edge for the strip (0..0.5).",
    )
    min_band_px: int = Field(
        default=24, ge=8, description="Fewest rows searched at an edge (pixels)."
    )
    text_contrast: float = Field(
        default=0.45,
        gt=0,
        lt=1,
        description="How far from the bar's colour, towards white or black, a pixel must be "
        "to count as text (share of the way).",
    )
    bar_uniformity: float = Field(
        default=0.75,
        gt=0,
        le=1,
        description="Least share of the two outermost rows' pixels within bar_tolerance of "
        "their median for the edge to be a bar (a scene's edge is not).",
    )
    bar_tolerance: int = Field(
        default=40, ge=1, le=255, description="How far from the bar's colour a bar pixel may be."
    )
    min_ink: float = Field(
        default=0.003,
        ge=0,
        lt=1,
        description="Least share of a row's pixels that are text for the row to be part of "
        "the text line.",
    )
    max_ink: float = Field(
        default=0.6,
        gt=0,
        le=1,
        description="Most share of a row's pixels that may be 'text' (a bright sky is not a "
        "line of text).",
    )
    min_line_px: int = Field(
        default=6, ge=2, description="Shortest text line accepted (pixels, before scaling)."
    )
    line_height: int = Field(
        default=40,
        ge=12,
        le=200,
        description="Height the text line is scaled to before OCR (pixels).",
    )
    border_px: int = Field(
        default=16, ge=0, description="White frame added around the line for tesseract (pixels)."
    )


@dataclass(frozen=True)
class StripLine:
    """One text line found at an edge, as black text on white, ready for OCR."""

    edge: Edge
    #: Rows of the photo the line was cut from (top, bottom), bottom exclusive.
    rows: tuple[int, int]
    #: Whether the bar was dark with light text (most cameras).
    dark_bar: bool
    #: The line's text pixels as found (unscaled; top row first).
    ink: np.ndarray
    #: Height of the text itself within ``ink`` (pixels).
    text_px: int
    #: The line prepared at ``StripParams.line_height``.
    image: Image.Image


def grey(image: Image.Image) -> Grey:
    """A photo as a grey array (0..255)."""
    return np.asarray(image.convert("L"), dtype=np.uint8)


def _band(pixels: Grey, edge: Edge, params: StripParams) -> Grey:
    """The rows at ``edge``, the outermost first (the bottom band is flipped)."""
    height = pixels.shape[0]
    depth = min(height, max(params.min_band_px, round(height * params.band)))
    return pixels[:depth] if edge is Edge.TOP else pixels[::-1][:depth]


def text_mask(band: Grey, params: StripParams) -> tuple[np.ndarray, bool]:
    """Which pixels of an edge band are text, and whether the bar is dark.

    The bar's colour is the median of the two outermost rows; text lies
    ``text_contrast`` of the way from it towards white (dark bar) or black (light bar).
    """
    level = float(np.median(band[:2]))
    dark = level < 128
    if dark:
        return band > level + params.text_contrast * (255 - level), True
    return band < level * (1 - params.text_contrast), False


def text_rows(ink: np.ndarray, params: StripParams) -> tuple[int, int] | None:
    """The first run of text rows from the edge (start, end exclusive) in band order.

    Rows with less than ``min_ink`` text before the run are the bar's margin; the run
    ends at the first row with too little or too much text.
    """
    share = ink.mean(axis=1)
    rows = len(share)
    start = 0
    while start < rows and share[start] < params.min_ink:
        start += 1
    end = start
    while end < rows and params.min_ink <= share[end] <= params.max_ink:
        end += 1
    if end - start < params.min_line_px or start == rows:
        return None
    return start, end


def _padded(share: np.ndarray, start: int, end: int, params: StripParams) -> tuple[int, int]:
    """Widen a line by up to a quarter of its height, over rows without text only."""
    pad = max(2, (end - start) // 4)
    top, bottom = start, end
    while top > 0 and start - top < pad and share[top - 1] < params.min_ink:
        top -= 1
    while bottom < len(share) and bottom - end < pad and share[bottom] < params.min_ink:
        bottom += 1
    return top, bottom


def find_line(image: Image.Image | Grey, edge: Edge, params: StripParams) -> StripLine | None:
    """The text line printed along ``edge`` of a photo, or None when there is none.

    The line is returned thresholded (black text on white), scaled to
    ``params.line_height`` and framed in white.
    """
    pixels = image if isinstance(image, np.ndarray) else grey(image)
    band = _band(pixels, edge, params)
    outer = band[:2].astype(np.int16)
    if (np.abs(outer - np.median(outer)) <= params.bar_tolerance).mean() < params.bar_uniformity:
        return None
    ink, dark = text_mask(band, params)
    found = text_rows(ink, params)
    if found is None:
        return None
    first, last = _padded(ink.mean(axis=1), *found, params)
    line = ink[first:last]
    if edge is Edge.BOTTOM:
        line = line[::-1]
        height = pixels.shape[0]
        rows = (height - last, height - first)
    else:
        rows = (first, last)
    text_px = found[1] - found[0]
    return StripLine(
        edge, rows, dark, line, text_px, render(line, text_px, params.line_height, params)
    )


def render(ink: np.ndarray, text_px: int, height: int, params: StripParams) -> Image.Image:
    """A text mask as black on white, scaled so its text is ``height`` high, framed."""
    picture = Image.fromarray(np.where(ink, 0, 255).astype(np.uint8))
    scale = height / max(1, text_px)
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    picture = picture.resize(size, Image.Resampling.LANCZOS)
    picture = picture.point(lambda v: 255 if v > 127 else 0)
    return ImageOps.expand(picture, params.border_px, fill=255)


def erase_colons(line: Image.Image, line_height: int) -> Image.Image:
    """The line with every colon (two small dots stacked one above the other) replaced by
    a clear space: the dots painted white and the gap widened to half the line's height
    (a narrow colon's gap alone would let its digits run together).

    A dot is a blob no taller or wider than 45% of the line; two dots make a colon
    when they overlap horizontally, one wholly above the other. The degree sign, a full
    stop or a dash are single blobs and stay.
    """
    from scipy import ndimage  # loaded when a strip is read, not with the lab

    ink = np.asarray(line) < 128
    labels, _count = ndimage.label(ink)
    small = []
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        rows, cols = box
        tall, wide = rows.stop - rows.start, cols.stop - cols.start
        if tall <= 0.45 * line_height and wide <= 0.45 * line_height:
            small.append((index, rows, cols))
    erased = ink.copy()
    gaps: list[tuple[int, int]] = []
    for i, (a, rows_a, cols_a) in enumerate(small):
        for b, rows_b, cols_b in small[i + 1 :]:
            overlap = min(cols_a.stop, cols_b.stop) - max(cols_a.start, cols_b.start)
            narrow = min(cols_a.stop - cols_a.start, cols_b.stop - cols_b.start)
            apart = rows_a.stop <= rows_b.start or rows_b.stop <= rows_a.start
            near = abs(rows_a.start - rows_b.start) <= line_height
            if overlap >= 0.5 * narrow and apart and near:
                erased[labels == a] = False
                erased[labels == b] = False
                gaps.append((min(cols_a.start, cols_b.start), max(cols_a.stop, cols_b.stop)))
    for start, stop in sorted(gaps, reverse=True):  # from the right: columns keep their place
        extra = max(0, line_height // 2 - (stop - start))
        middle = (start + stop) // 2
        blank = np.zeros((erased.shape[0], extra), dtype=bool)
        erased = np.concatenate([erased[:, :middle], blank, erased[:, middle:]], axis=1)
    return Image.fromarray(np.where(erased, 0, 255).astype(np.uint8))


def line_variants(line: StripLine, params: StripParams) -> list[Image.Image]:
    """The images of one line that the reader OCRs and votes over, the most often right
    first: with its colons erased, also thinned (bold bitmap fonts run together when
    scaled up), then as found and thinned."""
    thinned = line.image.filter(ImageFilter.MaxFilter(3))
    return [
        erase_colons(line.image, params.line_height),
        erase_colons(thinned, params.line_height),
        line.image,
        thinned,
    ]


def find_lines(image: Image.Image, params: StripParams) -> list[StripLine]:
    """The text lines found at the top and at the bottom of a photo (either may be absent)."""
    pixels = grey(image)
    return [line for edge in Edge if (line := find_line(pixels, edge, params)) is not None]
