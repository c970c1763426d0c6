"""ClusterTagger: label a task's clusters with hotkeys, as fast as people can look.

The widget shows a cluster's compressed photos with the relevant detection
boxes drawn, one label button per label (its hotkey on the button), tag
toggles and a note. Pressing a label's key labels the cluster and moves on;
``+`` toggles "several species": keys then select and unselect labels (the
selected buttons light up, "Nothing" excludes the others) and Enter submits.
``u`` goes back through the annotator's last labelled sequences, across jobs
and after "All done", showing the answer given (labelling it again is a
correction, history kept; ``n`` steps forward again), ``n`` skips, the arrow
keys flip through the photos. Keys typed into a text field (the note) stay
there. The page sends a heartbeat that keeps the job's short lease alive while
the annotator works; a closed page (its kernel shut down) releases the job, an
idle or vanished one lets the lease lapse. The next
clusters are drawn in a background thread so they appear without waiting.
In AI-check tasks the AI's species is preselected and in empty-review tasks
"Nothing" is: Enter confirms, a species key corrects. All state changes go
through library calls (``lab.annotate``).
"""

from __future__ import annotations

import atexit
import logging
import time
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from io import BytesIO
from typing import TYPE_CHECKING, Any, ClassVar

import ipywidgets as widgets
from PIL import Image, ImageDraw

from traptagger_lab.annotate.stats import Pace
from traptagger_lab.errors import ConfigurationError, StaleWorkError
from traptagger_lab.widgets.markup import Markup, join, render

if TYPE_CHECKING:
    from traptagger_lab.annotate.jobs import PastAnswer
    from traptagger_lab.annotate.tasks import TaskRef
    from traptagger_lab.lab import Lab

logger = logging.getLogger(__name__)

TUTORIAL = render("tutorial")
#: The label that excludes every other one.
NOTHING = "Nothing"
#: How many of the annotator's last labelled sequences ``u`` can go back through.
HISTORY = 50
#: Sequences labelled in this session before the ETA uses the annotator's own rate.
ETA_AFTER = 5

#: The page's side of the keys and the heartbeat: keys typed into a text field are left
#: alone; only the tagger's own keys are taken (Tab and the rest work as usual).
HOTKEYS_JS = """
function typing(target) {
  if (!target) return false;
  const tag = (target.tagName || "").toUpperCase();
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}
function render({ model, el }) {
  const onKey = (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const keys = model.get("hotkeys");
    if (!keys.includes(event.key) && !keys.includes(event.key.toLowerCase())) return;
    event.preventDefault();
    event.stopPropagation();
    model.send({ key: event.key });
  };
  document.addEventListener("keydown", onKey, true);
  const beat = setInterval(() => model.send({ beat: true }), model.get("beat_seconds") * 1000);
  return () => {
    document.removeEventListener("keydown", onKey, true);
    clearInterval(beat);
  };
}
export default { render };
"""


def _hotkey_widget(keys: list[str], beat_seconds: int) -> Any:
    """An invisible anywidget that sends the tagger's keys and a periodic heartbeat."""
    try:
        import anywidget
        import traitlets
    except ImportError:  # without it the buttons still work
        return None

    class Hotkeys(anywidget.AnyWidget):
        _esm = HOTKEYS_JS
        hotkeys = traitlets.List(traitlets.Unicode()).tag(sync=True)
        beat_seconds = traitlets.Int(60).tag(sync=True)

    return Hotkeys(hotkeys=keys, beat_seconds=beat_seconds)


def _release_at_exit(ref: weakref.ref[ClusterTagger]) -> None:
    """Give back the tagger's job when its kernel shuts down (Voila closes a page's kernel)."""
    tagger = ref()
    if tagger is None or tagger.job is None:
        return
    try:
        tagger.lab.annotate.release(tagger.job)
    except Exception as exc:  # at exit: the short lease lapses instead
        logger.warning("could not release job %s at exit: %s", tagger.job.id, exc)


class ClusterTagger(widgets.VBox):
    """Work through jobs of a task as one annotator."""

    NAV_KEYS: ClassVar[dict[str, str]] = {
        "u": "back",
        "n": "skip",
        "+": "toggle_several",
        "Enter": "done",
        "ArrowRight": "next_photo",
        "ArrowLeft": "previous_photo",
    }

    def __init__(
        self,
        lab: Lab,
        task: TaskRef,
        annotator: str,
        job_size: int = 10,
        width: int = 800,
        lease_minutes: float = 3,
        beat_seconds: int = 60,
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
        self.labelled: set[int] = set()  # sequences labelled in this session (relabels once)
        self.lease_minutes = lease_minutes
        self._past: list[PastAnswer] = []
        self._back_at: int | None = None  # index into _past while going back
        self._last_action = time.monotonic()
        self._started = time.monotonic()
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
        self.multi = widgets.Checkbox(description="several species (+)", value=False)
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
        keys = sorted({*self.NAV_KEYS, *self.hotkeys, *(k.upper() for k in self.hotkeys)})
        self.key_listener = _hotkey_widget(keys, beat_seconds)
        if self.key_listener is not None:
            self.key_listener.on_msg(self._on_page_message)
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
                *([self.key_listener] if self.key_listener is not None else []),
            ]
        )
        atexit.register(_release_at_exit, weakref.ref(self))
        self._next_job()

    # -- what the annotator does ---------------------------------------------------------

    @property
    def cluster(self) -> int | None:
        """The cluster on screen (None when the task has no work left)."""
        if self._back_at is not None:
            return self._past[self._back_at].cluster_id
        if self.job is None or self.position >= len(self.job.clusters):
            return None
        return int(self.job.clusters[self.position])

    def press(self, key: str) -> None:
        """Handle a key: a label's hotkey, or u / n / + / Enter / arrows."""
        self._last_action = time.monotonic()
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
            if label in self.selected:
                self.selected.remove(label)
            elif label == NOTHING:
                self.selected = [label]
            else:
                self.selected = [s for s in self.selected if s != NOTHING] + [label]
            self._highlight()
            shown = ", ".join(self.selected) or "nothing yet"
            self._show_status(f"selected: {shown} (Enter to submit)")
            return
        self.selected = [label]
        self.done()

    def toggle_several(self) -> None:
        """Switch "several species" on or off (off keeps only the first selected label)."""
        self.multi.value = not self.multi.value
        if not self.multi.value:
            self.selected = self.selected[:1]
        self._highlight()

    def done(self) -> None:
        """Submit the selected labels (and tags, note) for the cluster and go to the next."""
        if self.cluster is None or not self.selected:
            return
        tags = [t.description for t in self.tags if t.value]
        reviewing = self._back_at is not None
        job_id = self._past[self._back_at].job_id if self._back_at is not None else self.job.id
        try:
            self.lab.annotate.submit(
                job_id,
                self.cluster,
                labels=self.selected,
                tags=tags,
                note=self.note.value or None,
                annotator=self.annotator,
            )
        except StaleWorkError as exc:
            if reviewing:  # a correction refused (e.g. re-grouped): back to the work
                self._back_at = None
                self._clear()
                self._show()
                self._show_status(str(exc))
                return  # the lease ran out and someone else has it, or the
            self.lab.annotate.release(self.job)  # sequences changed: fresh work instead
            self._next_job()
            self._show_status(f"{exc} (a new job was loaded)")
            return
        if reviewing:
            self._forward()
            return
        assert self.cluster is not None
        self.labelled.add(self.cluster)
        self.submitted = len(self.labelled)
        self._advance(1)

    def skip(self) -> None:
        """Leave this cluster without a label (it goes back to the pool with the job); while
        going back, step forward to the next newer answer instead."""
        if self._back_at is not None:
            self._forward()
            return
        self._advance(1)

    def back(self) -> None:
        """Go back to the sequence labelled before (across jobs, also after "All done"),
        showing the answer given; a label corrects it."""
        if self._back_at is None:
            self._past = self.lab.annotate.history(self.task, self.annotator, HISTORY)
            step = 0
        else:
            step = self._back_at + 1
        if step >= len(self._past):
            self._show_status("nothing earlier to go back to")
            return
        self._back_at = step
        self._load_answer(self._past[step])
        self._show()

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

    def _on_page_message(self, _: Any, content: dict[str, Any], buffers: Any = None) -> None:
        if "key" in content:
            self.press(str(content["key"]))
        elif content.get("beat"):
            self.beat()

    def beat(self) -> None:
        """The page's heartbeat: keep the job's lease while the annotator is active; an idle
        annotator's lease is left to lapse (3 minutes idle when others wait, else 30)."""
        if self.job is None:
            return
        idle = time.monotonic() - self._last_action
        if idle > self.lab.annotate.idle_limit(self.task).total_seconds():
            return
        self.lab.annotate.heartbeat(self.job, minutes=self.lease_minutes)

    def _load_answer(self, past: PastAnswer) -> None:
        """Show an earlier answer as the current selection (going back)."""
        self.photo = 0
        self.selected = list(past.labels)
        self.multi.value = len(past.labels) > 1
        self.note.value = past.note or ""
        for tag in self.tags:
            tag.value = tag.description in past.tags
        self._highlight()

    def _forward(self) -> None:
        """One step newer while going back; past the newest, back to the work."""
        assert self._back_at is not None
        self._back_at -= 1
        if self._back_at < 0:
            self._back_at = None
            self._clear()
        else:
            self._load_answer(self._past[self._back_at])
        self._show()

    def _clear(self) -> None:
        self.photo = 0
        self.selected = []
        self.multi.value = False
        self.note.value = ""
        for tag in self.tags:
            tag.value = False
        self._highlight()

    def _highlight(self) -> None:
        for button, name in zip(self.label_buttons, self.species, strict=True):
            button.button_style = "info" if name in self.selected else ""

    def _advance(self, step: int) -> None:
        self.position += step
        self._clear()
        if self.position >= len(self.job.clusters):
            finished = self.job
            skipped = any(c not in self.labelled for c in finished.clusters)
            self._next_job()  # while the skipped ones are still held: they do not come back
            self.lab.annotate.release(finished)  # skipped clusters go back to the pool
            if self.job is None and skipped:  # nothing else left: the skipped ones, then
                self._next_job()
            return
        self._show()

    def _next_job(self) -> None:
        self.job = self.lab.annotate.next_job(
            self.task, self.annotator, size=self.job_size, lease_minutes=self.lease_minutes
        )
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
            self.picture.layout.display = "none"  # no empty (broken) image
            self.strip.value = ""
            self._show_status(
                f"{len(self.labelled)} sequences labelled in this session (u: go back)"
            )
            return
        self.picture.layout.display = None
        self._prefetch()
        if cluster not in self._rendered:  # going back to a sequence of an earlier job
            self._rendered[cluster] = self._pool.submit(self._render, cluster)
        photos = self._rendered[cluster].result()
        self.photo = min(self.photo, max(0, len(photos) - 1))
        self.picture.value = photos[self.photo] if photos else b""
        if self._back_at is not None:
            self.title.value = render(
                "sequence_title",
                position=self._back_at + 1,
                total=len(self._past),
                where=f" back, labelled before (cluster {cluster})",
            )
            said = ", ".join([*self._past[self._back_at].labels, *self._past[self._back_at].tags])
            self._show_status(f"you said: {said}. A label corrects it; n goes forward")
            return
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
        self._highlight()
        self._show_status(counts)

    def _pace_line(self) -> str:
        """Task progress, ETA and the annotator's speed, refreshed in the background.

        The figures are aggregates over the whole task, so they are computed off
        the key-press path: each call shows the latest finished result (at most a
        cluster or two behind) and asks for a fresh one; the first call waits.
        """
        if self._pace is None:
            self._pace_text = self._describe(self.lab.tasks.pace(self.task, self.annotator))
        elif self._pace.done():
            try:
                self._pace_text = self._describe(self._pace.result())
            except Exception as exc:  # the status line must never stop the annotator
                self._pace_text = f"(progress unavailable: {exc})"
        else:
            return self._pace_text
        self._pace = self._background.submit(self.lab.tasks.pace, self.task, self.annotator)
        return self._pace_text

    def _describe(self, pace: Pace) -> str:
        """Task progress, ETA and the annotator's own count: no rate from one or two labels
        (the first label would read "about 25 h to go"), "estimating" until then."""
        text = f"task: {pace.complete} of {pace.clusters} sequences done"
        if pace.complete < pace.clusters:
            text += f", {self.eta(pace)} to go"
        text += f"; you: {pace.mine} sequence{'' if pace.mine == 1 else 's'}"
        if len(self.labelled) >= ETA_AFTER and pace.my_per_hour is not None:
            text += f" ({pace.my_per_hour:.0f} per hour)"
        return text

    def eta(self, pace: Pace) -> str:
        """Time left for the task: "estimating" until this session labelled a few sequences,
        then at the faster of the task's last hour and this annotator's session rate."""
        if len(self.labelled) < ETA_AFTER:
            return "estimating time"
        hours = max(time.monotonic() - self._started, 1.0) / 3600
        rate = max(pace.task_per_hour, len(self.labelled) / hours)
        left = pace.annotations_left / rate
        if left < 1:
            return f"about {max(1, round(left * 60))} min"
        return f"about {left:.1f} h" if left < 48 else f"about {left / 24:.0f} days"

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
