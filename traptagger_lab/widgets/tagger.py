"""ClusterTagger: label a task's clusters with hotkeys, as fast as people can look.

The widget shows a cluster's compressed photos with the relevant detection
boxes drawn, one label button per label (its hotkey on the button), tag
toggles and a note. Pressing a label's key labels the cluster and moves on;
with "several species" ticked, keys collect labels and Enter submits them.
``u`` goes back to the previous cluster (labelling it again is a correction,
history kept), ``n`` skips, the arrow keys flip through the photos. The next
clusters are drawn in a background thread so they appear without waiting.
In AI-check tasks the AI's species is preselected and in empty-review tasks
"Nothing" is: Enter confirms, a species key corrects. All state changes go
through library calls (``lab.annotate``).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from io import BytesIO
from typing import TYPE_CHECKING, Any, ClassVar

import ipywidgets as widgets
from PIL import Image, ImageDraw

from traptagger_lab.annotate.stats import Pace
from traptagger_lab.errors import ConfigurationError, StaleWorkError
from traptagger_lab.widgets.markup import Markup, join, render

if TYPE_CHECKING:
    from traptagger_lab.annotate.tasks import TaskRef
    from traptagger_lab.lab import Lab


TUTORIAL = render("tutorial")


class ClusterTagger(widgets.VBox):
    """Work through jobs of a task as one annotator."""

    NAV_KEYS: ClassVar[dict[str, str]] = {
        "u": "back",
        "n": "skip",
        "Enter": "done",
        "ArrowRight": "next_photo",
        "ArrowLeft": "previous_photo",
    }

    def __init__(
        self, lab: Lab, task: TaskRef, annotator: str, job_size: int = 10, width: int = 800
    ) -> None:
        self.lab = lab
        self.task = lab.tasks.get(task)
        self.annotator = annotator
        self.job_size = job_size
        self.width = width
        self.job: Any = None
        self.position = 0
        self.photo = 0
        self.selected: list[str] = []
        self.submitted = 0
        self.ai_check = self.task.kind == "ai_check"
        self._pool = ThreadPoolExecutor(max_workers=2)
        self._rendered: dict[int, Future[list[bytes]]] = {}
        self._background = ThreadPoolExecutor(max_workers=1)
        self._pace: Future[Pace] | None = None
        self._pace_text = ""
        labels = list(lab.tasks.label_defs(self.task))
        self.hotkeys = {d.hotkey: d.name for d in labels if d.hotkey and not d.is_tag}
        self.species = [d.name for d in labels if not d.is_tag]
        self.tutorial = widgets.HTML(TUTORIAL if self._first_job() else "")
        self.title = widgets.HTML()
        self.picture = widgets.Image(format="jpeg", width=width)
        self.strip = widgets.HTML()
        self.multi = widgets.Checkbox(description="several species", value=False)
        self.label_buttons = [
            widgets.Button(description=f"{d.name} ({d.hotkey})" if d.hotkey else d.name)
            for d in labels
            if not d.is_tag
        ]
        for button, d in zip(self.label_buttons, [d for d in labels if not d.is_tag], strict=True):
            button.on_click(lambda _, name=d.name: self.choose(name))
        self.tags = [widgets.ToggleButton(description=d.name) for d in labels if d.is_tag]
        self.note = widgets.Text(placeholder="note (optional)")
        self.status = widgets.HTML()
        controls = widgets.HBox(
            [
                self._button("◀ back (u)", self.back),
                self._button("skip (n)", self.skip),
                self._button("done (Enter)", self.done),
                self.multi,
            ]
        )
        super().__init__(
            [
                self.tutorial,
                self.title,
                self.picture,
                self.strip,
                widgets.HBox(self.label_buttons, layout=widgets.Layout(flex_flow="row wrap")),
                widgets.HBox(self.tags),
                self.note,
                controls,
                self.status,
            ]
        )
        self._listen_for_keys()
        self._next_job()

    # -- what the annotator does ---------------------------------------------------------

    @property
    def cluster(self) -> int | None:
        """The cluster on screen (None when the task has no work left)."""
        if self.job is None or self.position >= len(self.job.clusters):
            return None
        return int(self.job.clusters[self.position])

    def press(self, key: str) -> None:
        """Handle a key: a label's hotkey, or u / n / Enter / arrows."""
        action = self.NAV_KEYS.get(key)
        if action is not None:
            getattr(self, action)()
        elif key.lower() in self.hotkeys:
            self.choose(self.hotkeys[key.lower()])

    def choose(self, label: str) -> None:
        """Pick a label: submits at once, or collects it when several species are allowed."""
        if self.cluster is None:
            return
        if self.multi.value:
            if label not in self.selected:
                self.selected.append(label)
            self._show_status(f"selected: {', '.join(self.selected)} (Enter to submit)")
            return
        self.selected = [label]
        self.done()

    def done(self) -> None:
        """Submit the selected labels (and tags, note) for the cluster and go to the next."""
        if self.cluster is None or not self.selected:
            return
        tags = [t.description for t in self.tags if t.value]
        try:
            self.lab.annotate.submit(
                self.job,
                self.cluster,
                labels=self.selected,
                tags=tags,
                note=self.note.value or None,
            )
        except StaleWorkError as exc:  # the lease ran out and someone else has it, or the
            self.lab.annotate.release(self.job)  # sequences changed: fresh work instead
            self._next_job()
            self._show_status(f"{exc} (a new job was loaded)")
            return
        self.submitted += 1
        self._advance(1)

    def skip(self) -> None:
        """Leave this cluster without a label (it goes back to the pool with the job)."""
        self._advance(1)

    def back(self) -> None:
        """Return to the previous cluster of the job (to correct it)."""
        if self.job is not None and self.position > 0:
            self._advance(-1)

    def next_photo(self) -> None:
        """Show the next photo of the cluster."""
        self.photo += 1
        self._show()

    def previous_photo(self) -> None:
        """Show the previous photo of the cluster."""
        self.photo = max(0, self.photo - 1)
        self._show()

    # -- internals -------------------------------------------------------------------------

    def _button(self, text: str, action: Any) -> widgets.Button:
        button = widgets.Button(description=text)
        button.on_click(lambda _: action())
        return button

    def _first_job(self) -> bool:
        return not self.lab.annotate.has_worked(self.annotator)

    def _listen_for_keys(self) -> None:
        try:
            from ipyevents import Event
        except ImportError:
            return
        self._events = Event(source=self, watched_events=["keydown"], prevent_default_action=True)
        self._events.on_dom_event(lambda event: self.press(str(event.get("key", ""))))

    def _advance(self, step: int) -> None:
        self.position += step
        self.photo = 0
        self.selected = []
        self.note.value = ""
        for tag in self.tags:
            tag.value = False
        if self.position >= len(self.job.clusters):
            self.lab.annotate.release(self.job)  # skipped clusters go back to the pool
            self._next_job()
            return
        self._show()

    def _next_job(self) -> None:
        self.job = self.lab.annotate.next_job(self.task, self.annotator, size=self.job_size)
        self.position = 0
        self._rendered.clear()
        self._show()

    def _render(self, cluster_id: int) -> list[bytes]:
        """The cluster's photos as JPEG bytes with relevant boxes drawn (runs in a thread)."""
        rendered = []
        for photo in self.lab.annotate.photos(self.task, cluster_id):
            if not photo.key:
                continue
            image = Image.open(BytesIO(self.lab.store.get(photo.key))).convert("RGB")
            draw = ImageDraw.Draw(image)
            wide, high = image.size
            for box in photo.boxes:
                x, y, w, h = box.x, box.y, box.w, box.h
                corners = [x * wide, y * high, (x + w) * wide, (y + h) * high]
                draw.rectangle(corners, outline=(255, 40, 40), width=3)
            buffer = BytesIO()
            image.save(buffer, "JPEG", quality=85)
            rendered.append(buffer.getvalue())
        return rendered

    def _prefetch(self) -> None:
        if self.job is None:
            return
        for cluster in self.job.clusters[self.position : self.position + 3]:
            if cluster not in self._rendered:
                self._rendered[cluster] = self._pool.submit(self._render, int(cluster))

    def _show(self) -> None:
        cluster = self.cluster
        if cluster is None:
            self.title.value = render("all_done", what="this task has no more work for you")
            self.picture.value = b""
            self.strip.value = ""
            self._show_status(f"{self.submitted} sequences labelled in this session")
            return
        self._prefetch()
        photos = self._rendered[cluster].result()
        self.photo = min(self.photo, max(0, len(photos) - 1))
        self.picture.value = photos[self.photo] if photos else b""
        self.title.value = render(
            "sequence_title",
            position=self.position + 1,
            total=len(self.job.clusters),
            where=f" in this job (cluster {cluster})",
        )
        kinds = ["photo_strip_item"] * len(photos)
        if photos:
            kinds[self.photo] = "photo_strip_current"
        self.strip.value = join([render(kind, number=i + 1) for i, kind in enumerate(kinds)])
        counts: str | Markup = self._pace_line()
        suggestion = self._suggestion(cluster) if self.ai_check else None
        if self.task.kind == "empty_review" and "Nothing" in self.species:
            suggestion = ("Nothing", "the AI found no animal")
        if self.task.kind == "review":
            counts = render("opinions", opinions=self._opinions(cluster), rest=counts)
        if suggestion is not None:
            label, reason = suggestion
            self.selected = [label]
            counts = render("suggestion", label=label, reason=reason, rest=counts)
        self._show_status(counts)

    def _pace_line(self) -> str:
        """Task progress, ETA and the annotator's speed, refreshed in the background.

        The figures are aggregates over the whole task, so they are computed off
        the key-press path: each call shows the latest finished result (at most a
        cluster or two behind) and asks for a fresh one; the first call waits.
        """
        if self._pace is None:
            self._pace_text = self.lab.tasks.pace(self.task, self.annotator).describe()
        elif self._pace.done():
            try:
                self._pace_text = self._pace.result().describe()
            except Exception as exc:  # the status line must never stop the annotator
                self._pace_text = f"(progress unavailable: {exc})"
        else:
            return self._pace_text
        self._pace = self._background.submit(self.lab.tasks.pace, self.task, self.annotator)
        return self._pace_text

    def _opinions(self, cluster: int) -> str:
        """What the consensus task's annotators said about the cluster (review tasks)."""
        opinions: str = self.lab.tasks.opinions(int(self.task.params["reviews"]), cluster)
        return opinions

    def _suggestion(self, cluster: int) -> tuple[str, str] | None:
        """The AI's label for the cluster, as this task names it, and why (AI-check tasks)."""
        found = self.lab.annotate.suggestion(cluster)
        if found is None:
            return None
        said, reason = found
        names = {name.lower(): name for name in self.species}
        label = names.get(said.lower())
        return (label, reason) if label else None

    def _show_status(self, text: str) -> None:
        self.status.value = render("status", text=text)

    def close(self) -> None:
        """Give back unfinished work and stop the background renderer (once; ipywidgets
        calls ``close`` again when the widget is garbage-collected)."""
        if not hasattr(self, "_pool"):  # the constructor failed before it started anything
            super().close()
            return
        if self.job is not None and self.cluster is not None:
            self.lab.annotate.release(self.job)
        self.job = None
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._background.shutdown(wait=True, cancel_futures=True)
        super().close()


class _KindTagger(ClusterTagger):
    """A ClusterTagger that only opens tasks of one kind."""

    KIND: ClassVar[str]

    def __init__(
        self, lab: Lab, task: TaskRef, annotator: str, job_size: int = 10, width: int = 800
    ) -> None:
        kind = lab.tasks.get(task).kind
        if kind != self.KIND:
            raise ConfigurationError(
                f"{type(self).__name__} is for {self.KIND} tasks; this task is a {kind} task "
                "(ClusterTagger opens any labelling task)"
            )
        super().__init__(lab, task, annotator, job_size, width)


class AICheck(_KindTagger):
    """Confirm or correct the AI's species per cluster: Enter confirms, a species key corrects."""

    KIND = "ai_check"


class EmptyReview(_KindTagger):
    """Confirm clusters the AI called empty: Enter says "Nothing", a species key corrects."""

    KIND = "empty_review"
