"""camtrapR's sample data as our functions take it (shared by the camtrapR reference tests).

camtrapR's own tests run on ``data(camtraps)`` (``../shared/data/camtrapR/camtraps.csv``)
and ``data(recordTableSample)``, an .rda file made by camtrapR's ``recordTable`` on
``pictures/sample_images_species_dir`` (minDeltaTime 60, lastRecord, UNID excluded).
R is not needed here: the record table is rebuilt from the sample photos (species from the
folder, time from EXIF DateTimeOriginal), and :data:`SAMPLE_DELTA_SECS` holds the
``delta.time.secs`` column of recordTableSample (camtrapR's data/recordTableSample.rda,
39 rows, read with the Python package ``rdata``) to check the rebuild against.
``data(recordTableSampleMultiSeason)`` is recordTableSample followed by the same records a
year later (2010), which :func:`multi_season_records` rebuilds the same way.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from PIL import Image

#: delta.time.secs of camtrapR's recordTableSample, row by row (data/recordTableSample.rda).
SAMPLE_DELTA_SECS = [
    0, 157140, 13560, 1270920, 0, 2296740, 0, 1160640, 0, 82920, 90600, 272640, 353100,
    924060, 20340, 1633080, 0, 986100, 0, 578220, 885540, 175320, 162480, 443880, 0, 765000,
    343620, 362160, 1090200, 174120, 0, 175920, 6000, 932880, 190320, 417000, 14280, 872460, 0,
]  # fmt: skip


def photo_records(root: Path) -> pd.DataFrame:
    """Records as camtrapR's recordTable reads them: Station/Species/file, EXIF time."""
    rows = []
    for path in sorted(p for p in root.rglob("*.JPG")):
        taken = Image.open(path).getexif().get_ifd(0x8769)[36867]  # DateTimeOriginal
        station, species = path.relative_to(root).parts[:2]
        moment = pd.to_datetime(taken, format="%Y:%m:%d %H:%M:%S")
        rows.append((station, species, moment, str(path.parent), path.name))
    return pd.DataFrame(
        rows, columns=["Station", "Species", "DateTimeOriginal", "Directory", "FileName"]
    )


def station_table(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A camtrapR camera-trap table (Station, Setup_date, Retrieval_date, Problem1_from/to
    as dd/mm/YYYY, optional ``session``) as (deployments, problems), dates only."""
    table = pd.read_csv(path)

    def day(column: str) -> pd.Series:
        return pd.to_datetime(table[column], format="%d/%m/%Y")

    deployments = pd.DataFrame(
        {
            "Station": table["Station"],
            "setup": day("Setup_date"),
            "retrieval": day("Retrieval_date"),
        }
    )
    if "session" in table:
        deployments["season"] = table["session"].astype(int).astype(str)
    problems = pd.DataFrame(
        {"Station": table["Station"], "start": day("Problem1_from"), "end": day("Problem1_to")}
    ).dropna(subset=["start"])
    return deployments, problems


def multi_season_records(sample: pd.DataFrame) -> pd.DataFrame:
    """recordTableSampleMultiSeason: the sample's records, then the same a year later."""
    later = sample.assign(DateTimeOriginal=sample["DateTimeOriginal"] + pd.DateOffset(years=1))
    return pd.concat([sample, later], ignore_index=True)
