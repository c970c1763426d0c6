"""Reading photos' date/time strips with tesseract (the ``ocr`` extra and Debian's
``tesseract-ocr``).

:func:`read_images` finds the text line at each edge of each photo (:mod:`.strip`),
OCRs versions of it (colons erased, also thinned; for a photo where no edge has two
agreeing, the line as found and thinned too), parses each
(:func:`.formats.parse_text`) and keeps the reading most versions agree on.

Starting tesseract costs about half a second, reading a line a tenth of that, so the
lines of many photos are stacked into one sheet and read in one call (page
segmentation mode 6, one uniform block), each word going back to the line it lies in.
A sheet holds one version of its lines: tesseract reads a line differently beside
lines prepared another way. A photo whose strip cannot be read is a
:class:`PhotoStrip` with a :class:`StripFailure`, never an exception.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from io import BytesIO

from PIL import Image, UnidentifiedImageError
from pydantic import Field

from traptagger_lab.errors import ConfigurationError
from traptagger_lab.params import StageParams
from traptagger_lab.timestamps.formats import Reading, parse_text, vote
from traptagger_lab.timestamps.strip import Edge, StripLine, StripParams, find_lines, line_variants

#: Versions of a line OCRed first, and those OCRed only when the first disagree.
FIRST_ROUND, SECOND_ROUND = (0, 1), (2, 3)


class OcrParams(StageParams):
    """How strips are OCRed."""

    strip: StripParams = Field(
        default_factory=StripParams, description="Where the strip is looked for."
    )
    psm: int = Field(
        default=6,
        ge=0,
        le=13,
        description="Tesseract page segmentation mode for a sheet of stacked lines "
        "(6: one uniform block of text).",
    )
    lines_per_call: int = Field(
        default=64, ge=1, le=256, description="Line images stacked into one tesseract call."
    )
    whitelist: str = Field(
        default="",
        description="Characters tesseract may answer (empty: any). Digits and separators "
        "alone misread the letters of AM/PM and °C, so the default leaves it open.",
    )
    timeout_s: float = Field(
        default=120.0, gt=0, description="Longest one tesseract call may take (seconds)."
    )


class StripFailure(StrEnum):
    """Why a photo's date and time could not be read."""

    UNREADABLE = "unreadable"  # not a picture PIL can open
    NO_STRIP = "no_strip"  # no line of text at the edges looked at
    NO_DATE = "no_date"  # text, but no date and time in it


@dataclass(frozen=True)
class PhotoStrip:
    """What OCR read on one photo's strip."""

    reading: Reading | None
    edge: Edge | None = None
    #: The OCR text of the version whose reading won (else of the first version read).
    text: str = ""
    #: How many versions of the line gave the winning reading, of how many were read.
    votes: int = 0
    tried: int = 0
    failure: StripFailure | None = None
    #: The first version's text at each edge with a line, for reports and debugging.
    texts: dict[str, str] = field(default_factory=dict)


def tesseract_path() -> str | None:
    """Where the tesseract program is, or None when it is not installed."""
    return shutil.which("tesseract")


def require_tesseract() -> None:
    """Raise a clear error when tesseract or pytesseract is missing.

    Raises:
        ConfigurationError: naming what to install.
    """
    try:
        import pytesseract  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(
            "OCR needs pytesseract: pip install 'traptagger-lab[ocr]'"
        ) from exc
    if tesseract_path() is None:
        raise ConfigurationError(
            "OCR needs the tesseract program: apt-get install tesseract-ocr "
            "(tools/install-system-packages.sh installs it)"
        )


def _config(params: OcrParams) -> str:
    config = f"--psm {params.psm}"
    if params.whitelist:
        config += f" -c tessedit_char_whitelist={params.whitelist}"
    return config


def ocr_sheet(images: Sequence[Image.Image], params: OcrParams) -> list[str]:
    """Tesseract's text for each of several line images, read in one call: the images
    are stacked into one sheet and each word found goes to the image it lies in."""
    import pytesseract

    if not images:
        return []
    width = max(i.width for i in images)
    sheet = Image.new("L", (width, sum(i.height for i in images)), 255)
    bounds = []
    top = 0
    for image in images:
        sheet.paste(image.convert("L"), (0, top))
        bounds.append((top, top + image.height))
        top += image.height
    data = pytesseract.image_to_data(
        sheet, config=_config(params), output_type=pytesseract.Output.DICT, timeout=params.timeout_s
    )
    words: list[list[tuple[int, str]]] = [[] for _ in images]
    for text, left, word_top, height in zip(
        data["text"], data["left"], data["top"], data["height"], strict=True
    ):
        if not str(text).strip():
            continue
        middle = int(word_top) + int(height) / 2
        for index, (start, end) in enumerate(bounds):
            if start <= middle < end:
                words[index].append((int(left), str(text).strip()))
                break
    return [" ".join(w for _, w in sorted(found)) for found in words]


@dataclass
class _LineWork:
    """One photo's line at one edge while it is read: its versions' texts and readings."""

    photo: int
    line: StripLine
    variants: list[Image.Image]
    texts: dict[int, str] = field(default_factory=dict)

    def readings(self) -> list[Reading | None]:
        return [parse_text(self.texts[i]) for i in sorted(self.texts)]

    def settled(self) -> bool:
        return vote(self.readings())[1] >= 2


def _read_round(work: list[_LineWork], versions: tuple[int, ...], params: OcrParams) -> None:
    """OCR the given versions of every line, ``lines_per_call`` images per tesseract call.

    Each sheet holds one version only: tesseract reads a line differently beside lines
    prepared another way, and the same way beside its own kind.
    """
    for version in versions:
        jobs = [item for item in work if version < len(item.variants)]
        for start in range(0, len(jobs), params.lines_per_call):
            part = jobs[start : start + params.lines_per_call]
            texts = ocr_sheet([item.variants[version] for item in part], params)
            for item, text in zip(part, texts, strict=True):
                item.texts[version] = text


def _outcome(lines: list[_LineWork]) -> PhotoStrip:
    """A photo's result from its lines: the edge whose reading most versions agree on."""
    if not lines:
        return PhotoStrip(None, failure=StripFailure.NO_STRIP)
    texts = {item.line.edge.value: item.texts[min(item.texts)] for item in lines}
    results = []
    for item in lines:
        readings = item.readings()
        best, votes = vote(readings)
        if best is not None:
            order = sorted(item.texts)
            won = next(i for i, r in enumerate(readings) if r is not None and r.key == best.key)
            results.append((votes, -len(readings), item, best, item.texts[order[won]]))
    if not results:
        first = texts[lines[0].line.edge.value]
        return PhotoStrip(None, text=first, failure=StripFailure.NO_DATE, texts=texts)
    votes, tried, item, best, text = max(results, key=lambda r: (r[0], r[1]))
    return PhotoStrip(best, item.line.edge, text, votes, -tried, texts=texts)


def read_images(
    images: Sequence[Image.Image | None],
    params: OcrParams | None = None,
    edges: Sequence[tuple[Edge, ...]] | None = None,
) -> list[PhotoStrip]:
    """Read the date and time printed on each photo (None: a photo that could not be
    opened), at the edges given per photo (both by default).

    Returns:
        One :class:`PhotoStrip` per photo, in order.
    """
    params = params or OcrParams()
    work: list[_LineWork] = []
    for index, image in enumerate(images):
        if image is None:
            continue
        wanted = edges[index] if edges is not None else tuple(Edge)
        for line in find_lines(image, params.strip):
            if line.edge in wanted:
                work.append(_LineWork(index, line, line_variants(line, params.strip)))
    _read_round(work, FIRST_ROUND, params)
    settled = {w.photo for w in work if w.settled()}  # a photo read at one edge is done
    _read_round([w for w in work if w.photo not in settled], SECOND_ROUND, params)
    results = []
    for index, image in enumerate(images):
        if image is None:
            results.append(PhotoStrip(None, failure=StripFailure.UNREADABLE))
        else:
            results.append(_outcome([w for w in work if w.photo == index]))
    return results


def open_photo(data: bytes) -> Image.Image | None:
    """A photo's picture from its file bytes (loaded), or None when PIL cannot read it."""
    try:
        image = Image.open(BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return None
    return image


def read_photo(
    data: bytes, params: OcrParams | None = None, edges: tuple[Edge, ...] = tuple(Edge)
) -> PhotoStrip:
    """Read the date and time printed on one photo given as file bytes."""
    return read_images([open_photo(data)], params, [edges])[0]
