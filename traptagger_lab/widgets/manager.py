"""The survey manager (what ``notebooks/manage.ipynb`` shows in Voila): everything a survey
needs besides annotating, for people who do not code, one tab per step: surveys and their
status, ingest with a preview, the AI (detection, MegaDetector JSON, classification,
suggestions), tasks, static groups, clocks and deployments.

Every action calls a ``lab`` verb; a failure is shown as one line under the tab (see
:func:`~traptagger_lab.messages.explain`), never as a traceback. Long steps (ingest,
detection, classification) block the page while they run; their progress bars show
under the tab.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import ipywidgets as widgets
import pandas as pd

from traptagger_lab.messages import explain, mask_secrets, one_line
from traptagger_lab.widgets.markup import Markup, render

if TYPE_CHECKING:
    from traptagger_lab.lab import Lab

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Detectors known by name (``detect/models.json``); a ``.pt`` path may be typed instead.
DETECTORS = ("MDV5A", "MDV5B", "MDV1000-REDWOOD")
#: Auto-label rules (``classify/aggregate.RULES``); "" is the survey kind's own.
RULES = ("", "trails", "baited", "plains", "waterhole")
TASK_KINDS = ("species", "ai_check", "empty_review", "sighting", "sublabel")
NO_SURVEY = "choose a survey first (import one on the Ingest tab)"
WIDE = widgets.Layout(width="560px")
#: Column widths of the deployments editor (with its Save and Delete, 1240 pixels in all).
EDITOR_WIDTHS = {
    "station": "100px", "camera": "90px", "setup": "130px", "retrieval": "130px",
    "problems": "170px", "latitude": "85px", "longitude": "85px", "camera_height": "70px",
    "bait": "70px", "habitat": "90px", "feature_type": "80px",
}  # fmt: skip
STYLE = {"description_width": "150px"}


def table_html(frame: pd.DataFrame, height: str = "300px", rows: int = 200) -> Markup:
    """A DataFrame as a scrolling HTML table (pandas escapes every cell)."""
    shown = frame.to_html(index=False, max_rows=rows, na_rep="", float_format=lambda v: f"{v:.3g}")
    return render("manager_table", table=Markup(shown), height=height)


def text(description: str, placeholder: str = "", value: str = "") -> widgets.Text:
    """A labelled text box as wide as the manager's forms."""
    return widgets.Text(
        value=value, description=description, placeholder=placeholder, layout=WIDE, style=STYLE
    )


def button(description: str, handler: Callable[[], object], style: str = "") -> widgets.Button:
    """A button that calls ``handler`` when clicked."""
    made = widgets.Button(
        description=description,
        button_style=style,
        layout=widgets.Layout(width="auto", min_width="148px"),
    )
    made.on_click(lambda _: handler())
    return made


class Panel:
    """One tab: its widgets, a one-line status and the manager's chosen survey."""

    title = ""

    def __init__(self, lab: Lab, manager: SurveyManager) -> None:
        self.lab = lab
        self.manager = manager
        self.status = widgets.HTML()
        self.progress = widgets.Output()
        self.widget = widgets.VBox([*self.build(), self.status, self.progress])

    def build(self) -> list[widgets.Widget]:
        """The tab's widgets above its status line."""
        raise NotImplementedError

    def refresh(self) -> None:
        """Show the chosen survey (called when it changes)."""

    @property
    def survey(self) -> str | None:
        """The survey chosen at the top of the manager."""
        return self.manager.survey

    @property
    def named(self) -> str:
        """The chosen survey's name ("" when none: :meth:`attempt` stops before that)."""
        return self.survey or ""

    def say(self, message: str, template: str = "manager_done") -> None:
        """Put ``message`` on the status line."""
        self.status.value = render(template, text=message)

    def attempt(self, what: str, action: Callable[[], T], needs_survey: bool = True) -> T | None:
        """Run ``action`` showing that it runs; on failure say why in one line (None)."""
        if needs_survey and self.survey is None:
            self.status.value = render("failed", what=what, reason=NO_SURVEY)
            return None
        self.say(what, "manager_working")
        self.progress.clear_output()
        try:
            with self.progress:
                return action()
        except Exception as exc:  # any failure becomes one line on the page
            why = explain(exc, str(self.lab.engine.url))
            if why is None:
                log.exception("%s failed", what)
                why = mask_secrets(one_line(f"{type(exc).__name__}: {exc}"))
            self.status.value = render("failed", what=what, reason=why)
            return None


class SurveysPanel(Panel):
    """The survey table, and the chosen survey's status and deployment checks."""

    title = "Surveys"

    def build(self) -> list[widgets.Widget]:
        self.table = widgets.HTML()
        self.details = widgets.HTML(layout=widgets.Layout(margin="0 24px 0 0"))
        self.checks = widgets.HTML()
        return [
            widgets.HBox([button("Refresh", self.refresh, "info")]),
            self.table,
            widgets.HBox([self.details, self.checks]),
        ]

    def refresh(self) -> None:
        surveys = self.lab.surveys.table().drop(columns="source")
        surveys["created_at"] = pd.to_datetime(surveys["created_at"]).dt.floor("s")
        self.table.value = table_html(surveys, "150px")
        self.details.value = self.checks.value = ""
        survey = self.survey
        if survey is None:
            self.say("no survey yet: import one on the Ingest tab")
            return
        status = self.attempt("status", lambda: self.lab.surveys.status(survey))
        checks = self.attempt(
            "deployment checks", lambda: self.lab.surveys.deployment_checks(survey)
        )
        if status is not None:
            self.details.value = render("heading", level=4, text=f"{survey}") + table_html(
                status.reset_index(), "260px"
            )
        if checks is not None:
            heading = render(
                "heading", level=4, text=f"Deployment checks: {len(checks)} finding(s)"
            )
            shown = checks[["kind", "station", "camera", "file", "detail"]]
            self.checks.value = heading + table_html(shown, "260px", 100)
            self.say(f"{survey}: status as of now")


class IngestPanel(Panel):
    """A folder or s3:// prefix into a survey: preview, then import and cluster."""

    title = "Ingest"

    def build(self) -> list[widgets.Widget]:
        self.source = text("Folder or s3://", "/data/photos or s3://bucket/prefix")
        self.name = text("Survey name", "e.g. Karoo 2024")
        self.site_pattern = text("Site pattern", "default: the top folder (or folder:N, a regex)")
        self.camera_pattern = text("Camera pattern", "default: chosen from the folders (or site)")
        self.found = widgets.HTML()
        self.preview_button = button("Preview", self.preview, "info")
        self.import_button = button("Import", self.run_import, "primary")
        return [
            self.source,
            self.name,
            self.site_pattern,
            self.camera_pattern,
            widgets.HBox([self.preview_button, self.import_button]),
            self.found,
        ]

    def _arguments(self) -> dict[str, Any]:
        return {
            "source": self.source.value.strip(),
            "survey": self.name.value.strip() or None,
            "site_pattern": self.site_pattern.value.strip() or None,
            "camera_pattern": self.camera_pattern.value.strip() or None,
        }

    def preview(self) -> None:
        """Show what an import would find (nothing is written)."""
        found = self.attempt(
            "Preview", lambda: self.lab.surveys.preview(**self._arguments()), needs_survey=False
        )
        if found is None:
            self.found.value = ""
            return
        cameras = found.cameras
        summary = render(
            "manager_preview",
            sites=cameras["site"].nunique(),
            cameras=len(cameras),
            photos=int(cameras["photos"].sum()),
            videos=int(cameras["videos"].sum()),
            unplaced=len(found.unplaced),
            layout=found.layout,
        )
        self.found.value = summary + table_html(cameras, "220px")
        self.say("Preview done: press Import to import these files")

    def run_import(self) -> None:
        """Import the files, cluster them into sequences and choose the survey."""
        arguments = self._arguments()
        if not arguments["source"] or not arguments["survey"]:
            self.status.value = render(
                "failed", what="Import", reason="give a folder (or s3:// prefix) and a survey name"
            )
            return

        def run() -> str:
            report = self.lab.surveys.ingest(**arguments)
            self.say(
                f"Imported {report.images} photo(s): grouping them into sequences",
                "manager_working",
            )
            clusters = self.lab.surveys.sequences(arguments["survey"]).clusters
            failed = sum(report.failures.values())
            return (
                f"{arguments['survey']}: {report.images} photo(s), {report.videos} video(s) "
                f"imported, {failed} file(s) not imported, {clusters} sequence(s)"
            )

        done = self.attempt("Import", run, needs_survey=False)
        if done is not None:
            self.manager.choose(arguments["survey"])
            self.say(done)


class AIPanel(Panel):
    """Detection (or MegaDetector JSON), classification, suggestions, accept and undo."""

    title = "AI"

    def build(self) -> list[widgets.Widget]:
        self.model = widgets.Combobox(
            options=list(DETECTORS),
            description="Detector",
            placeholder="the default detector, a name or a .pt path",
            layout=WIDE,
            style=STYLE,
        )
        self.device = widgets.Dropdown(options=["auto", "cpu", "cuda"], description="Device")
        self.md_json = text("MD JSON file", "MegaDetector batch output (.json)")
        self.classifier = text("Classifier folder", "default: the survey's registered classifier")
        self.rule = widgets.Dropdown(
            options=[(r or "survey kind's own", r) for r in RULES], description="Accept rule"
        )
        self.suggestions = widgets.HTML()
        return [
            widgets.HBox(
                [self.model, self.device, button("Run detection", self.detect, "primary")]
            ),
            widgets.HBox([self.md_json, button("Import MD JSON", self.import_md_json)]),
            widgets.HBox([self.classifier, button("Classify", self.classify, "primary")]),
            widgets.HBox(
                [
                    self.rule,
                    button("Accept suggestions", self.accept, "success"),
                    button("Undo accepted", self.undo, "warning"),
                    button("Show suggestions", self.refresh),
                ]
            ),
            self.suggestions,
        ]

    def detect(self) -> None:
        """Run the detector over the photos it has not seen (may take long)."""
        model = self.model.value.strip() or None
        report = self.attempt(
            "Detection",
            lambda: self.lab.detection.run(self.named, model=model, device=self.device.value),
        )
        if report is not None:
            self.say(
                f"Detection ({report.model}): {report.images} photo(s), "
                f"{report.detections} detection(s), {len(report.failed)} failed"
            )

    def import_md_json(self) -> None:
        """Store the detections of a MegaDetector batch-output file."""
        path = self.md_json.value.strip()
        report = self.attempt(
            "MD JSON import", lambda: self.lab.detection.import_md_json(self.named, path)
        )
        if report is not None:
            self.say(
                f"Imported {report.detections} detection(s) on {report.images} photo(s); "
                f"{len(report.unknown_files)} unknown file(s), {len(report.problems)} left out"
            )

    def classify(self) -> None:
        """Classify the relevant boxes and suggest a label per sequence."""
        folder = self.classifier.value.strip() or None
        report = self.attempt(
            "Classification", lambda: self.lab.classification.run(self.named, folder)
        )
        if report is not None:
            self.refresh()
            self.say(
                f"Classified {report.classified} box(es): "
                f"{report.clusters} sequence(s) with a suggestion"
            )

    def accept(self) -> None:
        """Record the suggestions the rule allows as the AI's labels."""
        rule = self.rule.value or None
        report = self.attempt("Accept", lambda: self.lab.classification.accept(self.named, rule))
        if report is not None:
            self.refresh()
            self.say(str(report))

    def undo(self) -> None:
        """Withdraw the AI's accepted labels."""
        report = self.attempt("Undo", lambda: self.lab.classification.undo(self.named))
        if report is not None:
            self.refresh()
            self.say(str(report))

    def refresh(self) -> None:
        if self.survey is None:
            self.suggestions.value = ""
            return
        found = self.attempt("Suggestions", lambda: self.lab.classification.suggestions(self.named))
        if found is not None:
            heading = render("heading", level=4, text=f"Suggestions: {len(found)} sequence(s)")
            self.suggestions.value = heading + table_html(found, "250px")
            self.status.value = ""


class TasksPanel(Panel):
    """Create a task over the survey's sequences; the survey's tasks with progress."""

    title = "Tasks"

    def build(self) -> list[widgets.Widget]:
        self.name = text("Task name", "e.g. Species")
        self.kind = widgets.Dropdown(options=TASK_KINDS, description="Kind")
        self.labels = text("Labels", "Impala, Zebra, Warthog   or a label-set .csv path")
        self.per_cluster = widgets.BoundedIntText(
            value=1, min=1, max=10, description="Annotators each", style=STYLE
        )
        self.exclude_auto = widgets.Checkbox(
            description="Leave out sequences the AI labelled",
            indent=False,
            layout=widgets.Layout(width="auto", margin="0 0 0 24px"),
        )
        self.refine_task = widgets.Dropdown(description="Sub-label of task", style=STYLE)
        self.refine_label = widgets.Text(description="its label", placeholder="e.g. Antelope")
        self.tasks = widgets.HTML()
        return [
            widgets.HBox([self.name, self.kind]),
            self.labels,
            widgets.HBox([self.per_cluster, self.exclude_auto]),
            widgets.HBox([self.refine_task, self.refine_label]),
            widgets.HBox(
                [button("Create task", self.create, "primary"), button("Refresh", self.refresh)]
            ),
            self.tasks,
        ]

    def label_spec(self) -> str | list[str]:
        """The labels box as ``lab.tasks.create`` takes it: a .csv path, or names."""
        given = str(self.labels.value).strip()
        if given.lower().endswith(".csv"):
            return given
        return [name.strip() for name in given.split(",") if name.strip()]

    def create(self) -> None:
        """Create the task and list it."""
        name, kind = self.name.value.strip(), str(self.kind.value)
        refine = None
        if kind == "sublabel":
            refine = (self.refine_task.value, self.refine_label.value.strip())

        def run() -> Any:
            if not name:
                raise ValueError("give the task a name")
            return self.lab.tasks.create(
                self.named,
                name,
                self.label_spec(),
                kind=kind,
                annotations_per_cluster=int(self.per_cluster.value),
                exclude_auto=bool(self.exclude_auto.value),
                refine=refine,
            )

        if self.attempt("Create task", run) is not None:
            self.refresh()
            self.say(f"Created task {name} ({kind})")

    def refresh(self) -> None:
        if self.survey is None:
            self.tasks.value = ""
            return
        found = self.lab.tasks.list(self.survey)
        self.refine_task.options = [
            (n, int(i)) for i, n in zip(found["id"], found["name"], strict=True)
        ]
        done = (100 * found["complete"] / found["clusters"].where(found["clusters"] > 0)).fillna(0)
        shown = found.assign(progress=[f"{p:.0f}%" for p in done])
        heading = render("heading", level=4, text=f"Tasks of {self.survey}")
        self.tasks.value = heading + table_html(shown.drop(columns="survey"), "220px")


class StaticPanel(Panel):
    """The static-group review of the chosen survey."""

    title = "Static groups"

    def build(self) -> list[widgets.Widget]:
        self.review = widgets.Box()
        return [button("Open static-group review", self.open, "primary"), self.review]

    def open(self) -> None:
        """Start reviewing the survey's unreviewed static groups."""
        from traptagger_lab.widgets.static_review import StaticGroupReview

        review = self.attempt(
            "Static groups",
            lambda: StaticGroupReview(self.lab, str(self.named), self.manager.user),
        )
        if review is not None:
            self.review.children = (review,)
            self.say(f"{len(review.pending)} static group(s) to review")

    def refresh(self) -> None:
        self.review.children = ()


class ClockPanel(Panel):
    """A camera's clock offset (re-clusters the survey)."""

    title = "Clock"

    def build(self) -> list[widgets.Widget]:
        self.camera = widgets.Dropdown(description="Camera", style=STYLE, layout=WIDE)
        self.seconds = widgets.FloatText(description="Offset (s)", style=STYLE)
        return [
            widgets.HTML(
                render(
                    "status",
                    text="The offset is added to the camera's times: "
                    "+3600 when its clock was an hour slow.",
                )
            ),
            self.camera,
            self.seconds,
            button("Set clock offset", self.apply, "primary"),
        ]

    def refresh(self) -> None:
        if self.survey is None:
            self.camera.options = []
            return
        sites = self.lab.surveys.images(self.survey, include_failures=False)[["site", "camera"]]
        pairs = sites.dropna().drop_duplicates().sort_values(["site", "camera"])
        self.camera.options = [f"{s}/{c}" for s, c in pairs.itertuples(index=False)]

    def apply(self) -> None:
        """Set the chosen camera's offset."""
        camera, seconds = str(self.camera.value), float(self.seconds.value)
        changed = self.attempt(
            "Clock offset", lambda: self.lab.surveys.set_clock_offset(self.named, camera, seconds)
        )
        if changed is not None:
            self.say(f"{camera}: offset {seconds:+g} s, {changed} photo time(s) changed")


class DeploymentsPanel(Panel):
    """Deployments: import a camtrapR table or Camtrap DP file, and edit them row by row."""

    title = "Deployments"

    def build(self) -> list[widgets.Widget]:
        self.path = text("Deployments file", "camtrapR CSV or Camtrap DP deployments.csv")
        self.date_format = widgets.Text(
            description="Date format", placeholder="e.g. %d/%m/%Y or dmy"
        )
        self.x = widgets.Text(description="x column", placeholder="e.g. utm_x")
        self.y = widgets.Text(description="y column", placeholder="e.g. utm_y")
        self.crs = widgets.Text(description="CRS", placeholder="e.g. EPSG:32650")
        self.editor = widgets.Box(layout=widgets.Layout(overflow="auto", width="100%"))
        return [
            widgets.HBox([self.path, self.date_format]),
            widgets.HBox(
                [self.x, self.y, self.crs, button("Import deployments", self.run_import, "primary")]
            ),
            self.editor,
        ]

    def run_import(self) -> None:
        """Import the file's deployments and show them."""
        path = self.path.value.strip()
        given = [str(box.value).strip() or None for box in (self.date_format, self.x, self.y)]
        crs = self.crs.value.strip() or None
        report = self.attempt(
            "Deployment import",
            lambda: self.lab.surveys.import_deployments(
                self.named, path, given[0], x=given[1], y=given[2], crs=crs
            ),
        )
        if report is not None:
            self.refresh()
            self.say(one_line(str(report)))

    def refresh(self) -> None:
        from traptagger_lab.widgets.deployments import DeploymentEditor

        class Narrower(DeploymentEditor):
            """The editor with columns that fit a 1366-pixel screen."""

            WIDTHS: ClassVar[dict[str, str]] = EDITOR_WIDTHS

            def _row(self, deployment_id: int | None, values: dict[str, str]) -> Any:
                row = super()._row(deployment_id, values)
                for made in (row.save, row.delete):  # as wide as their 70-pixel columns
                    made.layout.width = "70px"
                return row

        survey = self.survey
        editor = self.attempt("Deployments", lambda: Narrower(self.lab, str(survey)))
        self.editor.children = (editor,) if editor is not None else ()
        if editor is not None:
            self.status.value = ""


class SurveyManager(widgets.VBox):
    """The survey manager: a survey picker over one tab per step.

    Args:
        lab: The lab every action goes through.
        user: Who reviews (recorded with static-group decisions).
    """

    def __init__(self, lab: Lab, user: str = "") -> None:
        self.lab = lab
        self.user = user
        self.picker = widgets.Dropdown(description="Survey", layout=widgets.Layout(width="420px"))
        self.surveys = SurveysPanel(lab, self)
        self.ingest = IngestPanel(lab, self)
        self.ai = AIPanel(lab, self)
        self.tasks = TasksPanel(lab, self)
        self.static = StaticPanel(lab, self)
        self.clock = ClockPanel(lab, self)
        self.deployments = DeploymentsPanel(lab, self)
        shown = (self.surveys, self.ingest, self.ai, self.tasks, self.static, self.clock)
        #: The tabs by title, in order.
        self.panels: dict[str, Panel] = {p.title: p for p in (*shown, self.deployments)}
        self.tabs = widgets.Tab(children=[p.widget for p in self.panels.values()])
        for index, title in enumerate(self.panels):
            self.tabs.set_title(index, title)
        super().__init__(
            [self.picker, self.tabs],
            layout=widgets.Layout(max_width="1340px"),
        )
        names = list(lab.surveys.table()["name"])
        self.picker.options = names
        self.picker.value = names[0] if names else None
        self.picker.observe(lambda _: self.refresh(), names="value")
        self.tabs.observe(lambda _: self.panel.refresh(), names="selected_index")
        self.refresh()

    @property
    def survey(self) -> str | None:
        """The survey chosen in the picker."""
        return None if self.picker.value is None else str(self.picker.value)

    @property
    def panel(self) -> Panel:
        """The tab on screen."""
        return list(self.panels.values())[self.tabs.selected_index or 0]

    def choose(self, survey: str) -> None:
        """List the surveys again and choose ``survey``."""
        self.picker.options = list(self.lab.surveys.table()["name"])
        self.picker.value = survey

    def refresh(self) -> None:
        """Show the chosen survey on the tab on screen."""
        self.panel.refresh()
