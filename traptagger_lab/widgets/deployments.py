"""A survey's deployments as an editable table (ipywidgets): one row per deployment, saved
through :func:`~traptagger_lab.deployments.editing.set_deployment` row by row.

``DeploymentEditor(lab, "Survey")`` in a notebook. Times are ISO text: ``2009-04-02`` for a
date alone (effort counts half days at setup and retrieval, as camtrapR), ``2009-04-02
12:00`` with a time. Problem periods are ``START..END (reason); ...``, the end inclusive.
A row that breaks a rule (retrieval before setup, a problem outside the deployment, an
overlap with another deployment of the camera, a station the survey lacks) is not saved;
the line under the table says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import ipywidgets as widgets
import pandas as pd

from traptagger_lab.deployments.editing import delete_deployment, set_deployment
from traptagger_lab.deployments.store import deployments
from traptagger_lab.errors import TrapTaggerError
from traptagger_lab.widgets.markup import render

if TYPE_CHECKING:
    from traptagger_lab.lab import Lab

log = logging.getLogger(__name__)

#: The editable fields, in column order, with their headings.
FIELDS = {
    "station": "Station", "camera": "Camera", "setup": "Setup", "retrieval": "Retrieval",
    "problems": "Problems (from..to)", "latitude": "Latitude", "longitude": "Longitude",
    "camera_height": "Height (m)", "bait": "Bait", "habitat": "Habitat",
    "feature_type": "Feature",
}  # fmt: skip
NUMBERS = ("latitude", "longitude", "camera_height")
TEXTS = ("bait", "habitat", "feature_type")


def _shown(value: Any, known: Any = True) -> str:
    """A value as the table shows it (a date alone without its 00:00)."""
    if value is None or (not isinstance(value, str | dict) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return str(value.strftime("%Y-%m-%d %H:%M:%S" if bool(known) else "%Y-%m-%d"))
    return str(value)


@dataclass
class Row:
    """One row of the table: the deployment it edits (None until saved) and its cells."""

    deployment_id: int | None
    cells: dict[str, widgets.Text]
    save: widgets.Button
    delete: widgets.Button

    def values(self) -> dict[str, str]:
        """Each field's text, trimmed."""
        return {name: cell.value.strip() for name, cell in self.cells.items()}


class DeploymentEditor(widgets.VBox):
    """Edit a survey's deployments: change cells and press a row's Save; Delete removes a
    deployment; Add row makes an empty row for a new one; Reload shows what is stored."""

    WIDTHS: ClassVar[dict[str, str]] = {"problems": "220px", "habitat": "160px"}

    def __init__(self, lab: Lab, survey: str) -> None:
        self.lab = lab
        self.survey = survey
        self.rows: list[Row] = []
        self.status = widgets.HTML()
        self.table = widgets.GridBox(
            layout=widgets.Layout(
                grid_template_columns=" ".join(
                    [self.WIDTHS.get(name, "110px") for name in FIELDS] + ["70px", "70px"]
                )
            )
        )
        self.add_button = widgets.Button(description="Add row", icon="plus")
        self.reload_button = widgets.Button(description="Reload", icon="refresh")
        self.add_button.on_click(lambda _: self.add_row())
        self.reload_button.on_click(lambda _: self.reload())
        heading = widgets.HTML(render("heading", level=3, text=f"Deployments of {survey}"))
        buttons = widgets.HBox([self.add_button, self.reload_button])
        super().__init__([heading, self.table, buttons, self.status])
        self.reload()

    def _say(self, text: str) -> None:
        self.status.value = render("status", text=text)

    def _row(self, deployment_id: int | None, values: dict[str, str]) -> Row:
        cells = {
            name: widgets.Text(
                value=values.get(name, ""),
                placeholder=name,
                layout=widgets.Layout(width=self.WIDTHS.get(name, "110px")),
            )
            for name in FIELDS
        }
        row = Row(
            deployment_id,
            cells,
            widgets.Button(
                description="Save", button_style="success", layout=widgets.Layout(width="70px")
            ),
            widgets.Button(
                description="Delete", button_style="danger", layout=widgets.Layout(width="70px")
            ),
        )
        row.save.on_click(lambda _: self.save(self.rows.index(row)))
        row.delete.on_click(lambda _: self.delete(self.rows.index(row)))
        return row

    def _draw(self) -> None:
        headings = [widgets.HTML(render("status", text=text)) for text in FIELDS.values()]
        cells: list[widgets.Widget] = [*headings, widgets.HTML(), widgets.HTML()]
        for row in self.rows:
            cells += [*row.cells.values(), row.save, row.delete]
        self.table.children = cells

    def reload(self) -> None:
        """Show the deployments as stored."""
        table = deployments(self.lab.workspace, self.survey)
        self.rows = []
        for record in table.to_dict("records"):
            values = {name: _shown(record[name]) for name in FIELDS}
            values["setup"] = _shown(record["setup"], record["setup_time_known"])
            values["retrieval"] = _shown(record["retrieval"], record["retrieval_time_known"])
            self.rows.append(self._row(int(record["deployment_id"]), values))
        self._draw()
        self._say(f"{len(self.rows)} deployment(s)")

    def add_row(self) -> Row:
        """An empty row for a new deployment (saved with its Save button)."""
        row = self._row(None, {})
        self.rows.append(row)
        self._draw()
        return row

    def save(self, index: int) -> bool:
        """Save row ``index``; False (and the reason below the table) when refused."""
        row = self.rows[index]
        values = row.values()
        changes: dict[str, Any] = {
            name: (float(values[name]) if values[name] else None) for name in NUMBERS
        }
        changes |= {name: values[name] or None for name in TEXTS}
        try:
            row.deployment_id = set_deployment(
                self.lab.workspace,
                self.survey,
                values["station"],
                values["camera"] or None,
                deployment_id=row.deployment_id,
                setup=values["setup"],
                retrieval=values["retrieval"],
                problems=values["problems"],
                **changes,
            )
        except (TrapTaggerError, ValueError) as problem:
            self._say(f"row {index + 1} not saved: {problem}")
            return False
        self._say(f"row {index + 1} saved ({values['station']})")
        return True

    def delete(self, index: int) -> None:
        """Remove row ``index`` (and its deployment, if it was saved)."""
        row = self.rows.pop(index)
        if row.deployment_id is not None:
            try:
                delete_deployment(self.lab.workspace, self.survey, row.deployment_id)
            except TrapTaggerError as problem:
                self.rows.insert(index, row)
                self._say(f"row {index + 1} not deleted: {problem}")
                return
        self._draw()
        self._say(f"row {index + 1} deleted ({row.values()['station']})")
