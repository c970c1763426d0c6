"""Pictures for notebooks: a timeline per camera, a site map, cluster thumbnails, activity
curves, detections over time and a confusion matrix."""

from __future__ import annotations

from io import BytesIO
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from traptagger_lab.workspace import Workspace


def pyplot() -> Any:
    """pyplot, imported on first use (matplotlib picks Agg when there is no display)."""
    import matplotlib.pyplot as plt

    return plt


def timeline(images: pd.DataFrame, title: str = "Images per camera") -> Figure:
    """One row per camera, one tick per image at its corrected time: gaps and bursts at a glance."""
    plt = pyplot()
    timed = images.dropna(subset=["corrected_timestamp"]).copy()
    timed["camera_label"] = timed["site"].astype(str) + "/" + timed["camera"].astype(str)
    cameras = sorted(timed["camera_label"].unique())
    fig: Figure
    fig, ax = plt.subplots(figsize=(10, 0.5 + 0.45 * max(1, len(cameras))))
    for row, camera in enumerate(cameras):
        times = timed.loc[timed["camera_label"] == camera, "corrected_timestamp"]
        ax.plot(times, [row] * len(times), "|", markersize=14, markeredgewidth=1.5)
    ax.set_yticks(range(len(cameras)), cameras)
    ax.set_ylim(-0.7, len(cameras) - 0.3)
    ax.set_xlabel("corrected capture time")
    ax.set_title(title)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def site_map(sites: pd.DataFrame, size_by: str = "images") -> Figure:
    """Sites at their coordinates, sized by ``size_by`` (sites without coordinates are listed)."""
    plt = pyplot()
    located = sites.dropna(subset=["latitude", "longitude"])
    fig: Figure
    fig, ax = plt.subplots(figsize=(6, 5))
    if len(located):
        sizes = 40 + 400 * located[size_by] / max(1, located[size_by].max())
        ax.scatter(located["longitude"], located["latitude"], s=sizes, alpha=0.6)
        for _, site in located.iterrows():
            ax.annotate(str(site["site"]), (site["longitude"], site["latitude"]), fontsize=9)
    missing = sorted(set(sites["site"]) - set(located["site"]))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(
        f"Sites ({size_by})" + (f"; no coordinates: {', '.join(missing)}" if missing else "")
    )
    fig.tight_layout()
    return fig


def cluster_thumbnails(
    workspace: Workspace, images: pd.DataFrame, cluster_ids: list[int], per_row: int = 5
) -> Figure:
    """A row of thumbnails for each cluster, labelled with site, camera and time."""
    from PIL import Image

    from traptagger_lab.ingest.copies import read_copy

    plt = pyplot()
    fig: Figure
    fig, axes = plt.subplots(
        len(cluster_ids), per_row, figsize=(2.4 * per_row, 1.9 * len(cluster_ids)), squeeze=False
    )
    for row, cluster_id in enumerate(cluster_ids):
        members = images[images["cluster_id"] == cluster_id].sort_values("corrected_timestamp")
        for col in range(per_row):
            ax = axes[row][col]
            ax.axis("off")
            if col >= len(members):
                continue
            member = members.iloc[col]
            picture = Image.open(BytesIO(read_copy(workspace, int(member["image_id"]))))
            ax.imshow(picture)
            when = member["corrected_timestamp"]
            stamp = when.strftime("%m-%d %H:%M:%S") if pd.notna(when) else "no time"
            ax.set_title(f"{member['site']}/{member['camera']} {stamp}", fontsize=7)
    fig.tight_layout()
    return fig


def activity_plot(curves: dict[str, pd.DataFrame], title: str = "Activity") -> Figure:
    """Activity curves (``results.activity(species)``) of one or more species over the day."""
    plt = pyplot()
    fig: Figure
    fig, ax = plt.subplots(figsize=(8, 4))
    for name, curve in curves.items():
        ax.plot(curve["hour"], curve["density"], label=name)
    ax.set_xlim(0, 24)
    ax.set_xticks(range(0, 25, 3))
    ax.set_xlabel("time of day (hours)")
    ax.set_ylabel("density")
    ax.set_title(title)
    if curves:
        ax.legend()
    fig.tight_layout()
    return fig


def detections_plot(table: pd.DataFrame, title: str = "Independent detections") -> Figure:
    """Detections per period and species (``results.detections_over_time()``), stacked."""
    plt = pyplot()
    fig: Figure
    fig, ax = plt.subplots(figsize=(9, 4))
    if len(table):
        table.plot(kind="bar", stacked=True, ax=ax, width=0.9)
        ax.set_xticklabels([pd.Timestamp(p).strftime("%Y-%m-%d") for p in table.index])
    ax.set_xlabel("period starting")
    ax.set_ylabel("detections")
    ax.set_title(title)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def confusion_matrix(
    confusion: pd.DataFrame, normalise: bool = True, title: str = "Confusion matrix"
) -> Figure:
    """A confusion matrix (truth rows by predicted columns, counts) as a heatmap: colours
    are each row's shares when ``normalise`` (so rare species read as well as common
    ones), every cell is written with its count."""
    import numpy as np

    plt = pyplot()
    counts = confusion.to_numpy(dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    shade = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    shown = shade if normalise else counts
    rows, columns = counts.shape
    fig: Figure
    fig, ax = plt.subplots(figsize=(2.5 + 0.7 * max(columns, 1), 2 + 0.55 * max(rows, 1)))
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalise else None, aspect="auto")
    fig.colorbar(image, ax=ax, label="share of the row" if normalise else "sequences")
    ax.set_xticks(range(columns), [str(c) for c in confusion.columns], rotation=45, ha="right")
    ax.set_yticks(range(rows), [str(r) for r in confusion.index])
    ax.set_xlabel(str(confusion.columns.name or "predicted"))
    ax.set_ylabel(str(confusion.index.name or "truth"))
    for row in range(rows):
        for column in range(columns):
            dark = shown[row, column] > (0.5 if normalise else shown.max() / 2)
            ax.text(
                column,
                row,
                f"{int(counts[row, column])}",
                ha="center",
                va="center",
                color="white" if dark else "black",
                fontsize=9,
            )
    ax.set_title(title)
    fig.tight_layout()
    return fig
