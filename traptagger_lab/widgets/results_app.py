"""The results dashboard: filters, tables, plots, a map, accuracy against a truth task and
exports, for notebooks and Voila."""

from __future__ import annotations

import html
import logging
import math
import os
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import ipywidgets as widgets
import pandas as pd
from IPython.display import display

from traptagger_lab.errors import TrapTaggerError
from traptagger_lab.exports.destinations import DestinationExistsError
from traptagger_lab.exports.exporting import FORMATS
from traptagger_lab.widgets.markup import render

if TYPE_CHECKING:
    from traptagger_lab.lab import Lab


log = logging.getLogger(__name__)


def species_tasks(lab: Lab) -> list[tuple[str, int]]:
    """(label, task id) of every species or sighting task, survey first."""
    return [
        (f"{c.survey} — {c.name}", c.id) for c in lab.tasks.choices(kinds=("species", "sighting"))
    ]


#: Environment variable with the map's tile URL template, e.g. ``http://localhost:8080/{z}/{x}/{y}.png``.
BASEMAP_VARIABLE = "TRAPTAGGER_BASEMAP_URL"
#: What the map says when it has no basemap (so nothing is fetched from a tile server).
NO_BASEMAP_NOTE = f"no basemap (set {BASEMAP_VARIABLE} for map tiles)"
OSM_ATTRIBUTION = "&copy; <a href='https://www.openstreetmap.org/copyright'>OpenStreetMap</a>"
#: The map's size in pixels (ipyleaflet's default height) and the zoom for a single station.
MAP_SIZE = (600, 400)
SINGLE_STATION_ZOOM = 14


def basemap_url(basemap: str | None = None) -> str | None:
    """The tile URL template for maps; None means no basemap.

    Args:
        basemap: A template with ``{z}/{x}/{y}``; None reads ``TRAPTAGGER_BASEMAP_URL``,
            and an empty string means no basemap even when the variable is set.
    """
    url = os.environ.get(BASEMAP_VARIABLE, "") if basemap is None else basemap
    return url.strip() or None


def _tiles(url: str) -> Any:
    """A base TileLayer for ``url``, credited to its host."""
    import ipyleaflet

    host = urlsplit(url).hostname or "local"
    credit = OSM_ATTRIBUTION if host.endswith("openstreetmap.org") else f"Tiles: {host}"
    return ipyleaflet.TileLayer(url=url, attribution=credit, base=True, name="basemap")


def _mercator_y(latitude: float) -> float:
    """Web Mercator y of ``latitude``, in world widths."""
    clipped = math.radians(max(-85.0, min(85.0, latitude)))
    return math.log(math.tan(math.pi / 4 + clipped / 2)) / (2 * math.pi)


def _view(located: pd.DataFrame) -> tuple[tuple[float, float], int]:
    """Centre and zoom that show every station with a margin (256-pixel tiles)."""
    south, north = float(located["latitude"].min()), float(located["latitude"].max())
    west, east = float(located["longitude"].min()), float(located["longitude"].max())
    spans = ((east - west) / 360, _mercator_y(north) - _mercator_y(south))
    fits = [
        0.6 * size / (256 * span) for size, span in zip(MAP_SIZE, spans, strict=True) if span > 0
    ]
    zoom = math.floor(math.log2(min(fits))) if fits else SINGLE_STATION_ZOOM
    return ((south + north) / 2, (west + east) / 2), max(1, min(zoom, 16))


def site_map(summary: pd.DataFrame, measure: str = "rai", basemap: str | None = None) -> Any:
    """An ipyleaflet map of the stations, circles sized by ``measure``.

    Works offline: tiles come only from a configured URL (see :func:`basemap_url`);
    without one the stations are drawn on a plain background with a note saying so.

    Args:
        summary: Per station (index) ``latitude``, ``longitude``, ``trap_days`` and ``measure``.
        measure: The column that sizes the circles.
        basemap: Tile URL template; None reads ``TRAPTAGGER_BASEMAP_URL``, "" means none.

    Returns:
        The map, or None when no station has coordinates.
    """
    import ipyleaflet

    located = summary.dropna(subset=["latitude", "longitude"])
    if located.empty:
        return None
    url = basemap_url(basemap)
    centre, zoom = _view(located)
    chart = ipyleaflet.Map(
        center=centre,
        zoom=zoom,
        scroll_wheel_zoom=True,
        layers=(_tiles(url),) if url else (),
        attribution_control=False,
    )
    chart.add(ipyleaflet.ScaleControl(position="bottomleft"))
    chart.add(
        ipyleaflet.AttributionControl(
            position="bottomright", prefix="ipyleaflet" if url else NO_BASEMAP_NOTE
        )
    )
    largest = float(located[measure].max() or 1)
    for station, row in located.iterrows():
        marker = ipyleaflet.CircleMarker(
            location=(float(row["latitude"]), float(row["longitude"])),
            radius=int(5 + 20 * float(row[measure] or 0) / largest),
            color="#b5452b",
            fill_opacity=0.6,
        )
        marker.popup = widgets.HTML(
            render(
                "station_popup",
                station=station,
                measure=measure,
                value=f"{float(row[measure] or 0):.2f}",
                trap_days=f"{float(row['trap_days']):.1f}",
            )
        )
        chart.add(marker)
    return chart


def _show(figure: Any) -> None:
    """Display a matplotlib figure once (and free it)."""
    import matplotlib.pyplot as plt

    display(figure)
    plt.close(figure)


def _table(frame: pd.DataFrame) -> widgets.HTML:
    return widgets.HTML(frame.to_html(float_format=lambda v: f"{v:.3g}", max_rows=200))


def truth_tasks(lab: Lab, task_id: int | None) -> list[tuple[str, int]]:
    """(label, task id) of the tasks that can serve as truth for ``task_id``: the others of
    its survey that people label (not the AI's, not review tasks)."""
    every = lab.tasks.choices()
    survey = next((c.survey for c in every if c.id == task_id), None)
    return [
        (f"{c.name} ({c.kind})", c.id)
        for c in every
        if c.survey == survey and c.id != task_id and c.kind not in ("auto", "review")
    ]


class AccuracyTab:
    """The chosen task's labels against a truth task of the same survey: per-species
    precision/recall/F1, the confusion matrix and the sequences that differ."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.task_id: int | None = None
        self.truth = widgets.Dropdown(
            description="Truth", options=[], value=None, style={"description_width": "initial"}
        )
        self.status = widgets.HTML()
        self.scores = widgets.HTML()
        self.matrix = widgets.Image(format="png", layout=widgets.Layout(max_width="720px"))
        self.differ = widgets.HTML()
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.truth, self.status]),
                self.scores,
                self.matrix,
                widgets.HTML(render("heading", level=4, text="Sequences that differ")),
                self.differ,
            ]
        )
        self.truth.observe(lambda _: self.show(), names="value")

    def for_task(self, task_id: int | None) -> None:
        """Offer the truth tasks of ``task_id``'s survey; nothing is compared until one is
        picked."""
        self.task_id = task_id
        self.truth.value = None  # first, so that new options compare nothing
        self.truth.options = truth_tasks(self.lab, task_id)
        self._clear()
        if not self.truth.options:
            self.status.value = "No other task of this survey to compare with."

    def _clear(self) -> None:
        self.status.value = self.scores.value = self.differ.value = ""
        self.matrix.value = b""

    def show(self) -> None:
        """Compare the task with the chosen truth task and fill the tab."""
        self._clear()
        if self.task_id is None or self.truth.value is None:
            return
        try:
            found = self.lab.compare(self.task_id, self.truth.value)
        except (TrapTaggerError, ValueError) as exc:
            self.status.value = render("failed", what="Comparison", reason=str(exc))
            return
        self.status.value = html.escape(found.summary())
        self.scores.value = found.per_species.to_html(
            index=False, float_format=lambda v: f"{v:.3f}", na_rep="–"
        )
        if found.sequences:
            self.matrix.value = _png(found.plot())
        self.differ.value = found.differ.to_html(index=False, max_rows=500)


def _png(figure: Any) -> bytes:
    """A matplotlib figure as PNG bytes (and freed)."""
    import matplotlib.pyplot as plt

    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return buffer.getvalue()


class ResultsDashboard:
    """Filters over one task's results, and tabs of what follows from them."""

    def __init__(self, lab: Lab, export_dir: str = "exports") -> None:
        from traptagger_lab.plots import activity_plot, detections_plot

        self.lab = lab
        self._activity_plot, self._detections_plot = activity_plot, detections_plot
        self.task = widgets.Dropdown(options=species_tasks(lab), description="Task")
        self.minutes = widgets.BoundedIntText(
            value=60,
            min=0,
            max=10_000,
            description="Independent after (min)",
            style={"description_width": "initial"},
        )
        self.species = widgets.SelectMultiple(description="Species", rows=5)
        self.sites = widgets.SelectMultiple(description="Sites", rows=5)
        self.start = widgets.DatePicker(description="From")
        self.end = widgets.DatePicker(description="To")
        self.update = widgets.Button(description="Show results", button_style="primary")
        self.status = widgets.HTML()
        self.outputs = {
            name: widgets.Output()
            for name in ("Abundance", "Activity", "Over time", "Map", "Diversity", "Records")
        }
        self.export_format = widgets.Dropdown(options=list(FORMATS), description="Format")
        self.export_path = widgets.Text(value=export_dir, description="To folder")
        self.export_button = widgets.Button(description="Export", icon="download")
        self.export_overwrite = widgets.Checkbox(
            value=False, description="Replace an earlier export", indent=False
        )
        self.export_status = widgets.HTML()
        self.accuracy = AccuracyTab(lab)
        tabs = widgets.Tab(children=[*self.outputs.values(), self.accuracy.widget])
        for index, name in enumerate([*self.outputs, "Accuracy"]):
            tabs.set_title(index, name)
        self.widget = widgets.VBox(
            [
                widgets.HTML(render("heading", level=2, text="Results")),
                widgets.HBox([self.task, self.minutes]),
                widgets.HBox([self.species, self.sites, widgets.VBox([self.start, self.end])]),
                widgets.HBox([self.update, self.status]),
                tabs,
                widgets.HTML(render("heading", level=3, text="Export")),
                widgets.HBox(
                    [
                        self.export_format,
                        self.export_path,
                        self.export_overwrite,
                        self.export_button,
                    ]
                ),
                self.export_status,
            ]
        )
        self.task.observe(lambda _: self._choices(), names="value")
        self.update.on_click(lambda _: self.show())
        self.export_button.on_click(lambda _: self.export())
        self._choices()

    def _choices(self) -> None:
        """Species and sites of the chosen task, for the filters; its truth tasks."""
        self.accuracy.for_task(self.task.value)
        if self.task.value is None:
            self.status.value = "No species task yet: annotate or import labels first."
            return
        everything = self.lab.results(self.task.value, 0)
        records = everything.records
        self.species.options = sorted(records["Species"].unique())
        self.sites.options = sorted(everything.effort.index)

    def results(self) -> Any:
        """The results the filters describe."""
        return self.lab.results(
            self.task.value,
            self.minutes.value,
            species=list(self.species.value),
            sites=list(self.sites.value),
            start=self.start.value,
            end=self.end.value,
        )

    def show(self) -> None:
        """Fill every tab from the current filters."""
        if self.task.value is None:
            return
        self.status.value = "working..."
        found = self.results()
        table = found.record_table()
        for output in self.outputs.values():
            output.clear_output()
        with self.outputs["Abundance"]:
            display(_table(found.relative_abundance()))
        with self.outputs["Activity"]:
            named = sorted(table["Species"].unique())
            curves = {n: found.activity(n) for n in named if (table["Species"] == n).sum() >= 2}
            _show(self._activity_plot(curves))
        with self.outputs["Over time"]:
            _show(self._detections_plot(found.detections_over_time("W")))
        with self.outputs["Map"]:
            chart = site_map(found.sites_summary())
            display(chart if chart is not None else widgets.HTML("No site has coordinates."))
        with self.outputs["Diversity"]:
            display(_table(found.diversity()))
        with self.outputs["Records"]:
            display(_table(table.head(500)))
        source = found.effort.attrs.get("effort_source", "photos")
        self.status.value = html.escape(f"{len(table)} independent records; effort from {source}")

    def export(self) -> None:
        """Export the chosen task in the chosen format under the chosen folder."""
        fmt = self.export_format.value
        target = str(Path(self.export_path.value) / fmt)
        try:
            done = self.lab.export(
                self.task.value, fmt, target, overwrite=self.export_overwrite.value
            )
        except DestinationExistsError:
            self._export_failed(
                f"{target} already holds an export: tick “Replace an earlier export” to "
                "write over it, or choose another folder"
            )
            return
        except (TrapTaggerError, ValueError, OSError) as exc:
            self._export_failed(str(exc))
            return
        self.export_status.value = html.escape(f"Wrote {len(done.files)} file(s) to {target}")

    def _export_failed(self, reason: str) -> None:
        self.export_status.value = render("failed", what="Export", reason=reason)


def results_dashboard(lab: Lab, export_dir: str = "exports") -> widgets.VBox:
    """The dashboard's widget, filled for the first task."""
    dashboard = ResultsDashboard(lab, export_dir)
    if dashboard.task.value is not None:
        dashboard.show()
    box: widgets.VBox = dashboard.widget
    box.dashboard = dashboard
    return box
