"""Photos sorted into species folders, as many users browse them (and camtrapR reads them)."""

from __future__ import annotations

import pandas as pd


def species_folder_plan(seen: pd.DataFrame, layout: str = "species") -> list[tuple[str, str]]:
    """(source path, target path) per file and label: ``Species/<path>`` (layout
    ``species``) or camtrapR's ``Station/Species/<file>`` (layout ``camtrapR``; the camera
    is put before the file name where a station has several)."""
    if layout not in ("species", "camtrapR"):
        raise ValueError(f"layout={layout!r}: use 'species' or 'camtrapR'")
    seen = seen[~seen["species"].str.lower().eq("knocked down")]
    files = seen.assign(file=seen["path"].str.split("#").str[0])
    files = files.drop_duplicates(["file", "species"])
    cameras = files.groupby("site")["camera"].nunique().to_dict()
    plan = []
    for row in files.itertuples(index=False):
        name = row.file.rsplit("/", 1)[-1]
        if layout == "species":
            target = f"{row.species}/{row.file}"
        elif cameras[row.site] > 1:
            target = f"{row.site}/{row.species}/{row.camera}__{name}"
        else:
            target = f"{row.site}/{row.species}/{name}"
        plan.append((row.file, target))
    return plan
