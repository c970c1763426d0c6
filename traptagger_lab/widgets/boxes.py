"""SightingEditor: correct boxes and per-box species on a cluster's photos.

Built on jupyter-bbox-widget (draw, move, resize, delete boxes; a label per
box). The boxes shown are the relevant detections; "Save" stores what the
person left through :func:`traptagger_lab.annotate.sightings.save_boxes`.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from io import BytesIO
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from PIL import Image

from traptagger_lab.annotate.sightings import DrawnBox
from traptagger_lab.annotate.views import Photo
from traptagger_lab.widgets.markup import render

if TYPE_CHECKING:
    from traptagger_lab.annotate.tasks import TaskRef
    from traptagger_lab.lab import Lab


class SightingEditor(widgets.VBox):
    """Step through the photos of a cluster, correcting boxes and their species."""

    def __init__(
        self,
        lab: Lab,
        task: Any,
        annotator: str,
        cluster_id: int,
        on_done: Callable[[dict[str, int]], None] | None = None,
    ) -> None:
        from jupyter_bbox_widget import BBoxWidget

        self.on_done = on_done
        self.lab = lab
        self.task = lab.tasks.get(task)
        self.annotator = annotator
        self.species = [d.name for d in lab.tasks.label_defs(self.task) if not d.is_tag]
        self.photos: list[Photo] = lab.annotate.photos(self.task, cluster_id)
        self.index = 0
        self.size = (1, 1)
        self.shown: list[int] = []
        self.saved: dict[int, dict[str, int]] = {}
        self.editor = BBoxWidget(classes=self.species)
        self.title = widgets.HTML()
        save = widgets.Button(description="Save and next photo", button_style="primary")
        save.on_click(lambda _: self.save())
        super().__init__([self.title, self.editor, save])
        self._load()

    def _load(self) -> None:
        if self.index >= len(self.photos):
            self.title.value = render("cluster_done", counts=self.counts)
            if self.on_done is not None:
                self.on_done(self.counts)
            return
        photo = self.photos[self.index]
        if photo.key is None:  # no compressed copy (the file failed to convert): nothing to edit
            self.index += 1
            self._load()
            return
        data = self.lab.store.get(photo.key)
        self.size = Image.open(BytesIO(data)).size
        detections = photo.boxes
        width, height = self.size
        self.shown = [d.id for d in detections]
        default = self.species[0] if self.species else ""
        self.editor.image = "data:image/jpeg;base64," + base64.b64encode(data).decode()
        self.editor.bboxes = [
            {
                "x": d.x * width,
                "y": d.y * height,
                "width": d.w * width,
                "height": d.h * height,
                "label": default,
            }
            for d in detections
        ]
        self.title.value = (
            f"Photo {self.index + 1} of {len(self.photos)}: {len(detections)} box(es)"
        )

    @property
    def counts(self) -> dict[str, int]:
        """Animals per species in the cluster: the most seen together on one photo."""
        best: dict[str, int] = {}
        for counts in self.saved.values():
            for label, count in counts.items():
                best[label] = max(best.get(label, 0), count)
        return best

    def save(self) -> None:
        """Store the boxes as they are now and show the next photo."""
        width, height = self.size
        boxes = [
            DrawnBox(
                b["x"] / width,
                b["y"] / height,
                b["width"] / width,
                b["height"] / height,
                b.get("label") or self.species[0],
            )
            for b in self.editor.bboxes
        ]
        image_id = self.photos[self.index].image_id
        counts = self.lab.annotate.save_boxes(
            self.task, image_id, boxes, self.annotator, self.shown
        )
        self.saved[image_id] = counts
        self.index += 1
        self._load()


class SightingJobs(widgets.VBox):
    """A sighting task, job by job: correct each cluster's boxes, then its counts are submitted."""

    def __init__(self, lab: Lab, task: TaskRef, annotator: str, job_size: int = 5) -> None:
        self.lab = lab
        self.task = lab.tasks.get(task)
        self.annotator = annotator
        self.job_size = job_size
        self.job: Any = None
        self.position = 0
        self.heading = widgets.HTML()
        super().__init__([self.heading])
        self._next_job()

    def _next_job(self) -> None:
        self.job = self.lab.annotate.next_job(self.task, self.annotator, size=self.job_size)
        self.position = 0
        self._show()

    def _show(self) -> None:
        if self.job is None:
            self.heading.value = render("all_done", what="no more sequences to count")
            self.children = [self.heading]
            return
        cluster = self.job.clusters[self.position]
        self.heading.value = render(
            "sequence_title", position=self.position + 1, total=len(self.job.clusters), where=""
        )
        editor = SightingEditor(self.lab, self.task, self.annotator, cluster, self._submit)
        self.children = [self.heading, editor]

    def _submit(self, counts: dict[str, int]) -> None:
        cluster = self.job.clusters[self.position]
        seen = {label: n for label, n in counts.items() if n > 0}
        labels = sorted(seen) or ["Nothing"]
        self.lab.annotate.submit(self.job, cluster, labels=labels, counts=seen)
        self.position += 1
        if self.position >= len(self.job.clusters):
            self._next_job()
        else:
            self._show()


#: The box editor for one cluster (add, move, resize, delete boxes; a label per box).
BoxEditor = SightingEditor
#: A sighting-count task worked job by job (box corrections give the counts).
SightingCount = SightingJobs
