"""Which site and camera a file belongs to, from its path relative to the survey root.

A *site pattern* is TrapTagger's "trapgroup code": a regular expression
searched in the relative path; the site name is the first capture group, or
the whole match when the pattern has no group. The shorthand ``folder:N``
names the N-th folder of the path (1 = the top folder).

A *camera pattern* works the same way, or is ``site`` (one camera per site, named
as the site). Without one the camera is the bottom folder (the folder that holds the
file), except where :func:`guess_cameras` finds that the folders below a site are one
camera's photos sorted into folders (by species or date, as camtrapR's station/species
layout): their files never share a name, where two cameras' counters would. A survey's
first ingest makes that choice once and stores it.

A path that matches no site is not guessed: ``locate`` returns None and the
caller reports it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from traptagger_lab.errors import ConfigurationError

_FOLDER = re.compile(r"folder:(\d+)")
#: The camera pattern meaning one camera per site (named as the site).
ONE_PER_SITE = "site"


@dataclass(frozen=True)
class PathPattern:
    """A compiled site or camera pattern."""

    text: str
    folder: int | None
    regex: re.Pattern[str] | None

    @classmethod
    def parse(cls, text: str | int, what: str = "site") -> PathPattern:
        """Compile ``text`` (a regex, ``folder:N``, or an int N).

        Raises:
            ConfigurationError: for a bad regex or a folder number below 1.
        """
        if isinstance(text, int):
            text = f"folder:{text}"
        folder_match = _FOLDER.fullmatch(text.strip())
        if folder_match:
            folder = int(folder_match.group(1))
            if folder < 1:
                raise ConfigurationError(f"{what} pattern {text!r}: folders count from 1")
            return cls(text, folder, None)
        try:
            return cls(text, None, re.compile(text))
        except re.error as exc:
            raise ConfigurationError(
                f"{what} pattern {text!r} is not a valid regex: {exc}"
            ) from exc

    def find(self, relative_path: str) -> str | None:
        """The name this pattern picks out of ``relative_path``, or None."""
        folders = relative_path.split("/")[:-1]
        if self.folder is not None:
            return folders[self.folder - 1] if len(folders) >= self.folder else None
        assert self.regex is not None
        match = self.regex.search(relative_path)
        if match is None:
            return None
        name = next((g for g in match.groups() if g), None) if match.groups() else match.group(0)
        return name.strip("/ ") or None if name else None


@dataclass(frozen=True)
class Layout:
    """How a survey's folders name its sites and cameras."""

    site: PathPattern
    camera: PathPattern | None = None
    #: One camera per site (camera pattern ``site``).
    camera_is_site: bool = False

    @classmethod
    def parse(cls, site_pattern: str | int | None, camera_pattern: str | int | None) -> Layout:
        """Build from user text; the default site is the top folder."""
        site = PathPattern.parse(site_pattern if site_pattern not in (None, "") else 1, "site")
        if isinstance(camera_pattern, str) and camera_pattern.strip().lower() == ONE_PER_SITE:
            return cls(site, None, camera_is_site=True)
        camera = (
            PathPattern.parse(camera_pattern, "camera")
            if camera_pattern not in (None, "")
            else None
        )
        return cls(site, camera)

    @property
    def camera_text(self) -> str | None:
        """The camera pattern as stored with the survey (None: the bottom folder)."""
        if self.camera_is_site:
            return ONE_PER_SITE
        return self.camera.text if self.camera else None

    @property
    def camera_is_default(self) -> bool:
        """No camera pattern given: the bottom folder, unless :func:`guess_cameras` says."""
        return self.camera is None and not self.camera_is_site

    def locate(self, relative_path: str) -> tuple[str, str] | None:
        """``(site, camera)`` for a file, or None when no site (or camera) matches."""
        site = self.site.find(relative_path)
        if site is None:
            return None
        if self.camera_is_site:
            return site, site
        if self.camera is not None:
            camera = self.camera.find(relative_path)
            if camera is None:
                return None
            return site, camera
        folders = relative_path.split("/")[:-1]
        return site, folders[-1] if folders else site


def guess_cameras(layout: Layout, paths: Iterable[str]) -> tuple[Layout, str]:
    """The layout for a survey's first ingest when no camera pattern was given, and why.

    With the default (the bottom folder), a site whose files sit in several folders has
    several cameras. When no two of those folders, at any site, hold a file of the same
    name, they are one camera's photos sorted into folders (a camera numbers its files,
    two cameras at a site repeat each other's names): one camera per site then.
    """
    if not layout.camera_is_default:
        return layout, "cameras from the camera pattern"
    names: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in paths:
        located = layout.locate(path)
        if located is not None:
            site, folder = located
            names[site][folder].add(path.rsplit("/", 1)[-1].casefold())
    split = {s: folders for s, folders in names.items() if len(folders) > 1}
    if not split:
        return layout, "one camera per folder holding photos (no site has several)"
    for site, folders in sorted(split.items()):
        seen: set[str] = set()
        for files in folders.values():
            if seen & files:
                return layout, (
                    f"one camera per folder holding photos (at {site}, two folders hold files "
                    "of the same name: two cameras)"
                )
            seen |= files
    example = next(iter(sorted(split)))
    return replace(layout, camera_is_site=True), (
        f"one camera per site: the folders below a site ({example}: "
        f"{', '.join(sorted(split[example])[:4])}) never share a file name, so they hold one "
        "camera's sorted photos; give camera_pattern='folder:N' if they are cameras"
    )
