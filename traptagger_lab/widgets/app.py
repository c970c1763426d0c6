"""The annotation app (what ``notebooks/annotate.ipynb`` shows in Voila): pick a task, annotate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from traptagger_lab.widgets.markup import render

if TYPE_CHECKING:
    from traptagger_lab.lab import Lab


def task_choices(lab: Lab) -> list[tuple[str, int]]:
    """(label, task id) for every task with work left, with its progress in the label."""
    return [(c.label, c.id) for c in lab.tasks.choices() if c.work_left]


def annotation_app(lab: Lab, annotator: str, job_size: int = 10) -> widgets.VBox:
    """Task picker, then the :class:`ClusterTagger` for the chosen task."""
    from traptagger_lab.widgets.tagger import ClusterTagger

    choices = task_choices(lab)
    heading = widgets.HTML(render("app_heading", annotator=annotator))
    if not choices:
        return widgets.VBox([heading, widgets.HTML(render("no_work"))])
    picker = widgets.Dropdown(options=choices, description="Task", layout={"width": "600px"})
    start = widgets.Button(description="Start annotating", button_style="primary")
    app = widgets.VBox([heading, widgets.HBox([picker, start])])

    def begin(_: Any) -> None:
        task = lab.tasks.get(picker.value)
        if task.kind == "sighting":
            from traptagger_lab.widgets.boxes import SightingJobs

            app.children = (heading, SightingJobs(lab, task, annotator))
        else:
            app.children = (heading, ClusterTagger(lab, task, annotator, job_size=job_size))

    start.on_click(begin)
    return app
