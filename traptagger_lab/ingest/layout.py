"""Which site and camera a file belongs to, from its path relative to the survey root.

A *site pattern* is TrapTagger's "trapgroup code": a regular expression
searched in the relative path; the site name is the first capture group, or
the whole match when the pattern has no group. The shorthand ``folder:N``
names the N-th folder of the path (1 = the top folder).

A *camera pattern* works the same way; without one the camera is the
bottom folder (the folder that holds the file).

A path that matches no site is not guessed: ``locate`` returns None and the
caller reports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from traptagger_lab.errors import ConfigurationError

_FOLDER = re.compile(r"folder:(\d+)")


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

    @classmethod
    def parse(cls, site_pattern: str | int | None, camera_pattern: str | int | None) -> Layout:
        """Build from user text; the default site is the top folder."""
        site = PathPattern.parse(site_pattern if site_pattern not in (None, "") else 1, "site")
        camera = (
            PathPattern.parse(camera_pattern, "camera")
            if camera_pattern not in (None, "")
            else None
        )
        return cls(site, camera)

    def locate(self, relative_path: str) -> tuple[str, str] | None:
        """``(site, camera)`` for a file, or None when no site (or camera) matches."""
        site = self.site.find(relative_path)
        if site is None:
            return None
        if self.camera is not None:
            camera = self.camera.find(relative_path)
            if camera is None:
                return None
            return site, camera
        folders = relative_path.split("/")[:-1]
        return site, folders[-1] if folders else site
