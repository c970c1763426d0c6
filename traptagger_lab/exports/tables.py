"""Flat tables of a task's observations: one row per detection, per image or per cluster."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

PER = ("detection", "image", "cluster")
IMAGE_TABLE = ["image_id", "path", "site", "camera", "timestamp", "cluster_id"]


def _joined(values: pd.Series) -> str:
    return " + ".join(sorted({str(v) for v in values.dropna() if str(v)}))


def per_image(seen: pd.DataFrame) -> pd.DataFrame:
    """One row per image: its species (joined with " + "), animals counted and individuals."""
    if seen.empty:
        return pd.DataFrame(columns=[*IMAGE_TABLE, "species", "count", "individuals"])
    grouped = seen.groupby("image_id", sort=True)
    first = grouped[IMAGE_TABLE[1:]].first()
    per_species = seen.groupby(["image_id", "species"])["count"].sum().groupby("image_id").sum()
    table = first.assign(
        species=grouped["species"].agg(_joined),
        count=per_species,
        individuals=grouped["individual"].agg(_joined),
    )
    return table.reset_index()


def per_cluster(seen: pd.DataFrame) -> pd.DataFrame:
    """One row per cluster and species: site, first and last image time, images, and the
    largest number of the species seen in any one image (TrapTagger's cluster count)."""
    columns = ["cluster_id", "site", "camera", "start", "end", "images", "species", "count"]
    seen = seen.dropna(subset=["cluster_id"])
    if seen.empty:
        return pd.DataFrame(columns=columns)
    per_image_count = seen.groupby(["cluster_id", "species", "image_id"])["count"].sum()
    keys = ["cluster_id", "species"]
    table = seen.groupby(keys).agg(
        site=("site", "first"),
        camera=("camera", _joined),
        start=("timestamp", "min"),
        end=("timestamp", "max"),
        images=("image_id", "nunique"),
    )
    table["count"] = per_image_count.groupby(keys).max()
    table = table.reset_index()
    table["cluster_id"] = table["cluster_id"].astype(int)
    return table[columns]


def flat_table(
    seen: pd.DataFrame, per: str = "detection", columns: Sequence[str] = ()
) -> pd.DataFrame:
    """The observations per detection (as they are), per image or per cluster, with only
    ``columns`` when given (unknown names are refused, listing the ones there are)."""
    if per not in PER:
        raise ValueError(f"per={per!r}: use one of {PER}")
    table = {
        "detection": lambda s: s.reset_index(drop=True),
        "image": per_image,
        "cluster": per_cluster,
    }[per](seen)
    if columns:
        unknown = [c for c in columns if c not in table.columns]
        if unknown:
            raise ValueError(
                f"unknown column(s) {unknown}; per {per} there are {list(table.columns)}"
            )
        table = table[list(columns)]
    return table
