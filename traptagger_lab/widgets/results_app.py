"""The results dashboard: filters, tables, plots, a map and exports, for notebooks and Voila."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd
from IPython.display import display
from sqlalchemy import select

from traptagger_lab.db.models import Survey, Task
from traptagger_lab.errors import TrapTaggerError
from traptagger_lab.exports.exporting import FORMATS

log = logging.getLogger(__name__)


def species_tasks(lab: Any) -> list[tuple[str, int]]:
    """(label, task id) of every species or sighting task, survey first."""
    with lab.sessions() as session:
        rows = session.execute(
            select(Task.id, Task.name, Survey.name)
            .join(Survey, Survey.id == Task.survey_id)
            .where(Task.kind.in_(("species", "sighting")))
            .order_by(Survey.name, Task.name)
        ).all()
    return [(f"{survey} — {task}", task_id) for task_id, task, survey in rows]


def site_map(summary: pd.DataFrame, measure: str = "rai") -> Any:
    """An ipyleaflet map of the stations, circles sized by ``measure``; None without
    coordinates."""
    import ipyleaflet

    located = summary.dropna(subset=["latitude", "longitude"])
    if located.empty:
        return None
    centre = (float(located["latitude"].mean()), float(located["longitude"].mean()))
    chart = ipyleaflet.Map(center=centre, zoom=12, scroll_wheel_zoom=True)
    largest = float(located[measure].max() or 1)
    for station, row in located.iterrows():
        marker = ipyleaflet.CircleMarker(
            location=(float(row["latitude"]), float(row["longitude"])),
            radius=int(5 + 20 * float(row[measure] or 0) / largest),
            color="#b5452b",
            fill_opacity=0.6,
        )
        marker.popup = widgets.HTML(
            f"<b>{station}</b><br>{measure}: {float(row[measure] or 0):.2f}<br>"
            f"trap days: {float(row['trap_days']):.1f}"
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


class ResultsDashboard:
    """Filters over one task's results, and tabs of what follows from them."""

    def __init__(self, lab: Any, export_dir: str = "exports") -> None:
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
        self.export_status = widgets.HTML()
        tabs = widgets.Tab(children=list(self.outputs.values()))
        for index, name in enumerate(self.outputs):
            tabs.set_title(index, name)
        self.widget = widgets.VBox(
            [
                widgets.HTML("<h2>Results</h2>"),
                widgets.HBox([self.task, self.minutes]),
                widgets.HBox([self.species, self.sites, widgets.VBox([self.start, self.end])]),
                widgets.HBox([self.update, self.status]),
                tabs,
                widgets.HTML("<h3>Export</h3>"),
                widgets.HBox([self.export_format, self.export_path, self.export_button]),
                self.export_status,
            ]
        )
        self.task.observe(lambda _: self._choices(), names="value")
        self.update.on_click(lambda _: self.show())
        self.export_button.on_click(lambda _: self.export())
        self._choices()

    def _choices(self) -> None:
        """Species and sites of the chosen task, for the filters."""
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
        self.status.value = f"{len(table)} independent records"

    def export(self) -> None:
        """Export the chosen task in the chosen format under the chosen folder."""
        fmt = self.export_format.value
        target = str(Path(self.export_path.value) / fmt)
        try:
            done = self.lab.export(self.task.value, fmt, target)
        except (TrapTaggerError, ValueError, OSError) as exc:
            self.export_status.value = f"<span style='color:#b00'>Export failed: {exc}</span>"
            return
        self.export_status.value = f"Wrote {len(done.files)} file(s) to {target}"


def results_dashboard(lab: Any, export_dir: str = "exports") -> widgets.VBox:
    """The dashboard's widget, filled for the first task."""
    dashboard = ResultsDashboard(lab, export_dir)
    if dashboard.task.value is not None:
        dashboard.show()
    box: widgets.VBox = dashboard.widget
    box.dashboard = dashboard
    return box
