"""Reading printed strips with tesseract: every generated camera style, and the real Reconyx
photos of the Camtrap DP sample (their strip is at the top) and camtrapR's OCR sample.

Skips, saying why, when tesseract or pytesseract is missing; CI installs both
(``tools/install-system-packages.sh``, the ``ocr`` extra in ``dev``).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from PIL import Image

from traptagger_lab import sample
from traptagger_lab.sample import STRIP_STYLES, strip_photo
from traptagger_lab.timestamps.formats import DateOrder, learn_format, resolve
from traptagger_lab.timestamps.ocr import (
    OcrParams,
    StripFailure,
    open_photo,
    read_images,
    read_photo,
    tesseract_path,
)
from traptagger_lab.timestamps.strip import Edge

pytest.importorskip("pytesseract", reason="OCR needs the ocr extra (pytesseract)")
pytestmark = pytest.mark.skipif(
    tesseract_path() is None,
    reason="the tesseract program is not installed (apt-get install tesseract-ocr; "
    "tools/install-system-packages.sh does it as root)",
)

#: Times that cross day 12 (so the date order settles), noon, midnight, the year's end,
#: and night (infrared grey) and day scenes.
TIMES = [
    dt.datetime(2024, 3, 13, 5, 40, 7),
    dt.datetime(2024, 3, 14, 22, 3, 59),
    dt.datetime(2024, 11, 4, 12, 0, 0),
    dt.datetime(2024, 1, 2, 0, 17, 45),
    dt.datetime(2025, 12, 25, 13, 59, 30),
    dt.datetime(2024, 7, 9, 9, 9, 9),
]


def _read_style(style: sample.StripStyle) -> list[dt.datetime | None]:
    photos = [strip_photo(t, style, (1280, 960), seed=i) for i, t in enumerate(TIMES)]
    strips = read_images(photos)
    assert [s.edge.value if s.edge else None for s in strips] == [style.edge] * len(TIMES)
    fmt = learn_format([s.reading for s in strips if s.reading is not None])
    assert fmt is not None
    assert (fmt.twelve_hour, fmt.seconds) == (style.twelve_hour, style.seconds)
    return [resolve(s.reading, fmt) if s.reading else None for s in strips]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STRIP_STYLES))
def test_every_generated_style_reads_exactly(name: str) -> None:
    style = STRIP_STYLES[name]
    expected = [t if style.seconds else t.replace(second=0) for t in TIMES]
    assert _read_style(style) == expected


@pytest.mark.slow
@pytest.mark.parametrize("name", ["reconyx-top", "bushnell"])
def test_pil_font_when_dejavu_is_absent(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without fonts-dejavu-core the strips are drawn in PIL's own font, and still read."""
    monkeypatch.setattr(sample, "STRIP_FONTS", ())
    style = dataclasses.replace(STRIP_STYLES[name], font="/nonexistent/font.ttf")
    assert _read_style(style) == TIMES


def _camtrap_dp_photos(shared_data: Path) -> list[tuple[Path, dt.datetime]]:
    """The Camtrap DP example's photos, each with its EXIF DateTimeOriginal (the expected
    value), checked against the package's own media.csv timestamp (local time)."""
    folder = shared_data / "camtrap-dp" / "example"
    with (folder / "media.csv").open() as handle:
        listed = {r["fileName"]: r["timestamp"] for r in csv.DictReader(handle)}
    found = []
    for path in sorted((folder / "media").glob("*.JPG")):
        with Image.open(path) as image:
            stamp = image.getexif().get_ifd(0x8769)[0x9003]
        taken = dt.datetime.strptime(stamp, "%Y:%m:%d %H:%M:%S")
        assert dt.datetime.fromisoformat(listed[path.name]).replace(tzinfo=None) == taken
        found.append((path, taken))
    return found


@pytest.mark.slow
def test_real_reconyx_strips_read_exactly(shared_data: Path) -> None:
    """The ten Reconyx HyperFire 2 photos of the Camtrap DP example print
    ``2021-04-11 20:43:09  M 1/10 ... 2°C`` at the top; each must read as its EXIF time."""
    photos = _camtrap_dp_photos(shared_data)
    assert len(photos) == 10
    strips = read_images([open_photo(p.read_bytes()) for p, _ in photos])
    fmt = learn_format([s.reading for s in strips if s.reading is not None])
    assert fmt is not None
    assert (fmt.order.value, fmt.twelve_hour, fmt.seconds) == ("ymd", False, True)
    got = [resolve(s.reading, fmt) if s.reading else None for s in strips]
    assert got == [taken for _, taken in photos]
    assert {s.edge for s in strips} == {Edge.TOP}


@pytest.mark.slow
def test_camtrapr_ocr_sample(shared_data: Path) -> None:
    """camtrapR's full-size OCR sample (a Reconyx PC850) has no EXIF; its strip shows
    ``2018-10-19 10:35:09 PM`` (read off the photo by a person, the expected value here)."""
    path = shared_data / "camtrapR/pictures/full_size_for_ocr/StationA/mousedeer.JPG"
    strip = read_photo(path.read_bytes())
    assert strip.edge is Edge.TOP
    assert strip.reading is not None
    fmt = learn_format([strip.reading])
    assert fmt is not None
    assert resolve(strip.reading, fmt) == dt.datetime(2018, 10, 19, 22, 35, 9)


def test_failures_are_data() -> None:
    assert read_photo(b"not a photo").failure is StripFailure.UNREADABLE
    blank = Image.new("RGB", (640, 480), (90, 120, 60))
    assert read_images([blank])[0].failure is StripFailure.NO_STRIP
    when = dt.datetime(2024, 3, 13, 5, 40, 7)
    printed = sample.draw_strip(blank, when, "bushnell")
    wrong_edge = read_images([printed], OcrParams(), [(Edge.TOP,)])[0]
    assert wrong_edge.failure is StripFailure.NO_STRIP
    right_edge = read_images([printed], OcrParams(), [(Edge.BOTTOM,)])[0]
    assert right_edge.reading is not None
    assert right_edge.reading.at(DateOrder.MDY) == when


def test_a_line_without_a_date() -> None:
    """camtrapR-style name bars ("MICA 318") are text without a date."""
    blank = Image.new("RGB", (960, 720), (90, 120, 60))
    named = sample.draw_strip(
        blank,
        dt.datetime(2024, 1, 1),
        sample.StripStyle("name", "bottom", "", False, before="MICA 318"),
    )
    strip = read_images([named])[0]
    assert strip.failure is StripFailure.NO_DATE
    assert "MICA" in strip.texts["bottom"]


def test_params_defaults_and_ranges() -> None:
    params = OcrParams()
    assert (params.psm, params.lines_per_call, params.whitelist) == (6, 64, "")
    with pytest.raises(ValueError, match="psm"):
        OcrParams(psm=14)
