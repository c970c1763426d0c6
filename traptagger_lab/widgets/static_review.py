"""Review static-detection groups: a grid of the group's crops, then "static" or "not static"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import ipywidgets as widgets

from traptagger_lab.widgets.markup import render

if TYPE_CHECKING:
    from traptagger_lab.lab import Lab


class StaticGroupReview(widgets.VBox):
    """Steps through a survey's unreviewed static groups.

    Each group shows up to ``shown`` crops of its boxes from different photos.
    "Static" (key ``s``) keeps them hidden (rocks, branches); "Not static"
    (``n``) puts them back as real detections; "Skip" (``k``) leaves the group
    for later. Keys work while the pointer is over the widget.
    """

    KEYS: ClassVar[dict[str, str]] = {"s": "static", "n": "real", "k": "skip"}

    def __init__(self, lab: Lab, survey: str, reviewer: str = "", shown: int = 12) -> None:
        self.lab = lab
        self.survey = survey
        self.reviewer = reviewer
        self.shown = shown
        groups = lab.static_groups(survey)
        self.pending: list[int] = [int(g) for g in groups[groups.status == "unknown"].group_id]
        self.reviewed = 0
        self.title = widgets.HTML()
        self.grid = widgets.GridBox(layout=widgets.Layout(grid_template_columns="repeat(6, 164px)"))
        self.static_button = widgets.Button(description="Static (s)", button_style="danger")
        self.real_button = widgets.Button(description="Not static (n)", button_style="success")
        self.skip_button = widgets.Button(description="Skip (k)")
        self.static_button.on_click(lambda _: self.decide(True))
        self.real_button.on_click(lambda _: self.decide(False))
        self.skip_button.on_click(lambda _: self.skip())
        buttons = widgets.HBox([self.static_button, self.real_button, self.skip_button])
        super().__init__([self.title, self.grid, buttons])
        self._listen_for_keys()
        self._show()

    def _listen_for_keys(self) -> None:
        try:
            from ipyevents import Event
        except ImportError:  # buttons still work; keys need ipyevents (hub/dev extras)
            return
        self._keys = Event(source=self, watched_events=["keydown"], prevent_default_action=True)
        self._keys.on_dom_event(self.on_key)

    def on_key(self, event: dict[str, Any]) -> None:
        """Handle a key press (``s`` static, ``n`` not static, ``k`` skip)."""
        action = self.KEYS.get(str(event.get("key", "")).lower())
        if action == "static":
            self.decide(True)
        elif action == "real":
            self.decide(False)
        elif action == "skip":
            self.skip()

    @property
    def current(self) -> int | None:
        """The group on screen, or None when every group is reviewed."""
        return self.pending[0] if self.pending else None

    def decide(self, static: bool) -> None:
        """Record the decision for the group on screen and show the next one."""
        if self.current is None:
            return
        self.lab.review_static_group(self.current, accept=static, reviewer=self.reviewer)
        self.pending.pop(0)
        self.reviewed += 1
        self._show()

    def skip(self) -> None:
        """Leave the group on screen for later."""
        if self.pending:
            self.pending.append(self.pending.pop(0))
            self._show()

    def crops(self, group_id: int) -> list[bytes]:
        """JPEG crops of the group's boxes (one per photo, on the compressed copies)."""
        crops: list[bytes] = self.lab.static_group_crops(group_id, self.shown)
        return crops

    def _show(self) -> None:
        if self.current is None:
            self.title.value = render("static_done", reviewed=self.reviewed)
            self.grid.children = ()
            for button in (self.static_button, self.real_button, self.skip_button):
                button.disabled = True
            return
        pictures = self.crops(self.current)
        self.title.value = render(
            "static_group", group=self.current, photos=len(pictures), left=len(self.pending)
        )
        self.grid.children = tuple(
            widgets.Image(value=p, format="jpeg", width=160, height=160) for p in pictures
        )
