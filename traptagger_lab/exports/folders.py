"""Photos sorted into species folders, as many users browse them (and camtrapR reads them).

Folder names come from data (labels, sites, cameras), so each is made one safe
path component (:func:`~traptagger_lab.exports.safe_names.safe_part`): a label
called ``../..`` or ``a/b`` is a folder inside the export like any other.
"""

from __future__ import annotations

import pandas as pd

from traptagger_lab.exports.safe_names import file_of, safe_part, safe_relative


def species_folder_plan(seen: pd.DataFrame, layout: str = "species") -> list[tuple[str, str]]:
    """(source path, target path) per file and label: ``Species/<path>`` (layout
    ``species``) or camtrapR's ``Station/Species/<file>`` (layout ``camtrapR``; the camera
    is put before the file name where a station has several). Target paths are relative
    and made of safe components."""
    if layout not in ("species", "camtrapR"):
        raise ValueError(f"layout={layout!r}: use 'species' or 'camtrapR'")
    seen = seen[~seen["species"].str.lower().eq("knocked down")]
    files = seen.assign(file=seen["path"].map(file_of))
    files = files.drop_duplicates(["file", "species"])
    cameras = files.groupby("site")["camera"].nunique().to_dict()
    plan = []
    for row in files.itertuples(index=False):
        species, site = safe_part(str(row.species)), safe_part(str(row.site))
        name = safe_part(row.file.rsplit("/", 1)[-1])
        if layout == "species":
            target = f"{species}/{safe_relative(row.file)}"
        elif cameras[row.site] > 1:
            target = f"{site}/{species}/{safe_part(f'{row.camera}__{name}')}"
        else:
            target = f"{site}/{species}/{name}"
        plan.append((row.file, target))
    return plan
