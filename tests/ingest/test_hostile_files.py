"""One odd file never stops an ingest: each becomes that file's failure, with its reason.

Hostile cases from issue 17, on SQLite, MariaDB and PostgreSQL: a file name that is not
UTF-8, a tiny JPEG whose header claims 30000x30000 pixels, an EXIF camera make of 300
characters, a GPS altitude of 0/0, and a FIFO named like a photo (reading it would block
for ever).
"""

from __future__ import annotations

import os
import struct
from io import BytesIO
from pathlib import Path
from typing import Any

from PIL import Image, TiffImagePlugin
from sqlalchemy import select

from traptagger_lab.db.models import Image as ImageRow
from traptagger_lab.ingest.discover import printable_name
from traptagger_lab.ingest.metadata import read_metadata
from traptagger_lab.ingest.photos import DerivedSizes, process_photo
from traptagger_lab.ingest.records import Failure, FailureReason, SourceFile


def _photo(exif: Image.Exif | None = None, shade: int = 90) -> bytes:
    """A small JPEG (``shade`` makes its pixels, and so its content hash, its own)."""
    buffer = BytesIO()
    Image.new("RGB", (64, 48), (120, shade, 60)).save(
        buffer, "JPEG", quality=80, exif=exif.tobytes() if exif is not None else b""
    )
    return buffer.getvalue()


def _bomb() -> bytes:
    """A small valid JPEG whose frame header claims 30000x30000 pixels."""
    data = bytearray(_photo())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 30000, 30000)
    return bytes(data)


def _odd_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "M" * 300  # camera make
    exif[0x0110] = "trail cam"
    gps = exif.get_ifd(0x8825)
    gps[5] = 0
    gps[6] = TiffImagePlugin.IFDRational(0, 0)  # altitude 0/0
    return exif


def _source(path: str) -> SourceFile:
    return SourceFile(path=path, size=1, kind="image", site="Site01", camera="CamA")


def test_a_header_claiming_huge_pixels_is_too_large() -> None:
    written: list[str] = []
    outcome = process_photo(
        _source("bomb.jpg"), _bomb(), lambda k, d: written.append(k), DerivedSizes()
    )
    assert isinstance(outcome, Failure)
    assert outcome.reason == FailureReason.TOO_LARGE
    assert "30000x30000" in outcome.detail
    assert written == []


def test_odd_exif_fields_are_fitted_not_fatal() -> None:
    exif = _odd_exif().tobytes()
    meta = read_metadata(exif, "x.jpg")
    assert meta.make == "M" * 100
    assert meta.altitude is None  # 0/0 is no number any database takes


def test_names_that_are_not_text_get_a_printable_form() -> None:
    name = os.fsdecode(b"Site01/CamA/caf\xe9.jpg")
    shown = printable_name(name)
    assert shown == "Site01/CamA/caf\\xe9.jpg"
    shown.encode("utf-8")  # storable anywhere
    assert printable_name("Site01/CamA/café.jpg") == "Site01/CamA/café.jpg"


def test_an_ingest_accounts_for_every_hostile_file(
    database_url: str, tmp_path: Path, lab_factory: Any
) -> None:
    root = tmp_path / "photos"
    camera = root / "Site01" / "CamA"
    camera.mkdir(parents=True)
    good = [f"IMG_{n:04d}.JPG" for n in range(3)]
    for shade, name in enumerate(good):
        (camera / name).write_bytes(_photo(shade=shade * 40))
    (camera / "odd_exif.jpg").write_bytes(_photo(_odd_exif(), shade=200))
    (camera / "bomb.jpg").write_bytes(_bomb())
    os.mkfifo(camera / "pipe.jpg")
    with open(os.fsencode(camera) + b"/caf\xe9.jpg", "wb") as handle:
        handle.write(_photo(shade=220))
    lab = lab_factory(database_url=database_url, storage_url=str(tmp_path / "store"))

    report = lab.ingest(str(root), survey="S")  # finishes: no hang, no traceback
    counts = lab.status_counts("S")
    assert counts["images"] == len(good) + 1  # the odd EXIF photo is in, fitted
    assert counts["failures"] == {"too_large": 1, "special_file": 1, "bad_name": 1}
    assert report.failures["too_large"] == 1
    table = lab.images("S")
    failed = table[table.failure_reason.notna()].set_index("path").failure_reason.to_dict()
    assert failed == {
        "Site01/CamA/bomb.jpg": "too_large",
        "Site01/CamA/pipe.jpg": "special_file",
        "Site01/CamA/caf\\xe9.jpg": "bad_name",
    }
    with lab.sessions() as session:
        make, altitude = session.execute(
            select(ImageRow.make, ImageRow.altitude).where(
                ImageRow.path == "Site01/CamA/odd_exif.jpg"
            )
        ).one()
    assert make == "M" * 100  # fitted to its column
    assert altitude is None  # 0/0 stored as NULL
    again = lab.ingest(str(root), survey="S")  # a rerun neither fails nor adds anything
    assert lab.status_counts("S")["images"] == len(good) + 1
    assert again.skipped >= len(good) + 1
