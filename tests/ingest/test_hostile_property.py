"""Property (issue 17): whatever files and names a card holds, an ingest finishes and
accounts for every file it found: imported + failed == found, on SQLite, MariaDB and
PostgreSQL. Hypothesis makes the cards: random bytes, truncated JPEGs, EXIF blocks with
odd types, counts and offsets, rationals with zero denominators, headers claiming huge
sizes, and names with spaces, ``#``, non-UTF-8 bytes or 200 characters."""

from __future__ import annotations

import itertools
import os
import shutil
import struct
import tempfile
from io import BytesIO
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image, TiffImagePlugin
from sqlalchemy import func, select

from traptagger_lab.db.models import Image as ImageRow
from traptagger_lab.db.models import Video
from traptagger_lab.lab import open_lab

_EXIF_TAGS = (0x010F, 0x0110, 0x0132, 0x8769, 0x8825, 0x9003, 0x0002, 0x0006)
_COUNTER = itertools.count()


def _jpeg(exif: bytes = b"", shade: int = 0) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (24, 16), (shade % 256, 80, 160)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def _tiff(entries: list[tuple[int, int, int, bytes]]) -> bytes:
    """A little-endian TIFF block with one IFD of raw entries (any type, count, payload)."""
    data_at = 8 + 2 + 12 * len(entries) + 4
    ifd, blob = struct.pack("<H", len(entries)), b""
    for tag, kind, count, payload in entries:
        if len(payload) <= 4:
            value = payload.ljust(4, b"\0")
        else:
            value, blob = struct.pack("<I", data_at + len(blob)), blob + payload
        ifd += struct.pack("<HHI", tag, kind, count) + value
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + blob


_raw_exif = st.lists(
    st.tuples(
        st.sampled_from(_EXIF_TAGS),
        st.integers(0, 13),  # 13 is no TIFF type
        st.one_of(st.integers(0, 8), st.integers(0, 2**32 - 1)),  # true or absurd counts
        st.binary(max_size=40),
    ),
    max_size=6,
).map(lambda entries: b"Exif\x00\x00" + _tiff(entries))


@st.composite
def _odd_exif(draw: st.DrawFn) -> bytes:
    """EXIF through Pillow: long or odd text, GPS rationals with any numerator/denominator."""
    exif = Image.Exif()
    exif[0x010F] = draw(st.text(max_size=300))
    exif[0x0110] = draw(st.text(alphabet=st.characters(codec="latin-1"), max_size=150))
    exif[0x0132] = draw(st.sampled_from(["0000:00:00 00:00:00", "2024:02:30 25:61:61", "x"]))
    gps = exif.get_ifd(0x8825)
    rational = st.builds(
        TiffImagePlugin.IFDRational, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)
    )
    gps[2] = tuple(draw(st.lists(rational, min_size=3, max_size=3)))
    gps[4] = tuple(draw(st.lists(rational, min_size=3, max_size=3)))
    gps[6] = draw(rational)
    return exif.tobytes()


def _claims_huge(size: tuple[int, int]) -> bytes:
    data = bytearray(_jpeg())
    at = data.find(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", *size)
    return bytes(data)


_contents = st.one_of(
    st.binary(max_size=600),
    st.binary(max_size=600).map(lambda b: b"\xff\xd8" + b),
    st.integers(0, 700).map(lambda n: _jpeg(shade=n)[:n]),  # truncated
    st.integers(0, 255).map(lambda shade: _jpeg(shade=shade)),  # fine (maybe duplicates)
    _raw_exif.map(_jpeg),
    _odd_exif().map(_jpeg),
    st.tuples(st.integers(1, 65535), st.integers(1, 65535)).map(_claims_huge),
)

_text_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\"),
    min_size=1,
    max_size=60,
).map(lambda t: t.encode("utf-8")[:180])
_names = st.one_of(
    _text_names,
    st.sampled_from([b"IMG 0001", b"a#b", b"#", b" lead", b"x" * 200]),
    st.binary(min_size=1, max_size=40).map(lambda b: b.replace(b"/", b"_").replace(b"\0", b"_")),
)
_suffixes = st.sampled_from([b".jpg", b".JPG", b".jpeg", b".mp4"])
_folders = st.sampled_from([b"", b"Site 01/Cam A/", b"S#2/", b"caf\xe9/", b"Site01/CamA/"])
_files = st.lists(st.tuples(_folders, _names, _suffixes, _contents), min_size=1, max_size=8)


def _write_card(files: list[tuple[bytes, bytes, bytes, bytes]]) -> tuple[str, int]:
    """Write the files under a new folder; returns it and how many files ingest will see."""
    root = tempfile.mkdtemp(prefix="hostile-")
    written = set()
    for folder, name, suffix, data in files:
        path = os.fsencode(root) + b"/" + folder + name + suffix
        if path in written or (name + suffix) in (b".", b".."):
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
        written.add(path)
    return root, len(written)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(files=_files)
# a name that is not UTF-8 and a name that spells its printable form: one path, two files
@example(files=[(b"", b"caf\\xe9", b".jpg", b"x"), (b"", b"caf\xe9", b".jpg", b"y")])
# a header claiming 1 x 65,501 pixels: its copy would be taller than a JPEG may be
@example(files=[(b"Site 01/Cam A/", b"0", b".jpg", _claims_huge((65501, 1)))])
def test_every_hostile_file_is_accounted_for(
    database_url: str, files: list[tuple[bytes, bytes, bytes, bytes]]
) -> None:
    root, count = _write_card(files)
    try:
        with open_lab(
            database_url=database_url,
            storage_url=f"{root}-store",
            workspace=f"{root}-workspace",
            dask_scheduler="sync",
        ) as lab:  # one per example, closed: no connection left open on the servers
            _check_accounts(lab, root, count)
    finally:
        for folder in (root, f"{root}-store", f"{root}-workspace"):
            shutil.rmtree(folder, ignore_errors=True)


def _check_accounts(lab: Any, root: str, count: int) -> None:
    survey = f"H{next(_COUNTER)}"
    report = lab.ingest(root, survey=survey)  # finishes, without a traceback

    failed = sum(report.failures.values())
    assert report.found == count
    assert report.images + report.videos + failed == report.found
    row = lab.survey(survey)
    with lab.sessions() as session:
        photos = session.scalar(
            select(func.count())
            .select_from(ImageRow)
            .where(ImageRow.survey_id == row.id, ImageRow.is_video_frame.is_(False))
        )
        videos = session.scalar(
            select(func.count()).select_from(Video).where(Video.survey_id == row.id)
        )
    assert (photos, videos) == (report.images, report.videos)
    again = lab.ingest(root, survey=survey)  # a rerun accounts for them the same way
    assert again.images + again.videos == 0
    assert again.skipped + sum(again.failures.values()) == again.found == count
