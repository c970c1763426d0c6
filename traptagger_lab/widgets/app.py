"""The annotation app (what ``notebooks/annotate.ipynb`` shows in Voila): pick a task, annotate."""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
from sqlalchemy import select

from traptagger_lab.db.models import Survey, Task


def task_choices(lab: Any) -> list[tuple[str, int]]:
    """(label, task id) for every task with work left, with its progress in the label."""
    with lab.sessions() as session:
        rows = session.execute(
            select(Task.id, Task.name, Survey.name)
            .join(Survey, Survey.id == Task.survey_id)
            .order_by(Survey.name, Task.name)
        ).all()
    choices = []
    for task_id, task, survey in rows:
        progress = lab.tasks.progress(task_id)
        if progress["complete"] < progress["clusters"]:
            done = f"{progress['complete']}/{progress['clusters']} done"
            choices.append((f"{survey} — {task} ({done})", task_id))
    return choices


def annotation_app(lab: Any, annotator: str, job_size: int = 10) -> widgets.VBox:
    """Task picker, then the :class:`ClusterTagger` for the chosen task."""
    from traptagger_lab.widgets.tagger import ClusterTagger

    choices = task_choices(lab)
    heading = widgets.HTML(
        f"<h2>TrapTagger Lab annotation</h2><p>Signed in as <b>{annotator}</b></p>"
    )
    if not choices:
        return widgets.VBox([heading, widgets.HTML("<p>No task has work left. Thank you!</p>")])
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
