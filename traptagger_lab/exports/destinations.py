"""Where an export writes: a file or folder, local or remote, never overwritten by surprise.

An existing export file, or a folder that already holds files, is refused unless
the caller passes ``overwrite=True``. Every path built from data is placed with
:meth:`Destination.place`, which makes its components safe
(:mod:`traptagger_lab.exports.safe_names`) and proves the result inside the
destination: resolved (symlinks followed) on a local disk, normalised elsewhere.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from traptagger_lab.errors import ConfigurationError
from traptagger_lab.exports.safe_names import safe_relative


class DestinationExistsError(ConfigurationError, FileExistsError):
    """The export would replace an existing file or write into a non-empty folder."""


class OutsideDestinationError(ConfigurationError):
    """A path built from data would land outside the export's destination."""


@dataclass(frozen=True)
class Destination:
    """An export's root (``url``) on its filesystem, and whether it may be overwritten."""

    url: str
    fs: Any
    root: str
    overwrite: bool = False

    @classmethod
    def open(cls, url: str, options: dict[str, Any], overwrite: bool = False) -> Destination:
        """The destination ``url`` (local path or fsspec URL) with its filesystem options."""
        fs, root = url_to_fs(url, **options)
        return cls(url, fs, root.rstrip("/") or root, overwrite)

    @property
    def local(self) -> bool:
        """Whether the destination is on this machine's disk."""
        return isinstance(self.fs, LocalFileSystem)

    def file(self, suffix: str) -> str:
        """The one file of a single-file export: the destination itself when it ends in
        ``suffix`` (always for ``""``), else ``export<suffix>`` inside it. Refused if it
        exists (see the module doc)."""
        path = self.root if self.root.lower().endswith(suffix) else f"{self.root}/export{suffix}"
        if not self.overwrite and self.fs.exists(path):
            raise DestinationExistsError(
                f"{self._shown(path)} already exists: pass overwrite=True (--overwrite) "
                "to replace it"
            )
        return path

    def folder(self) -> str:
        """The destination as a folder for a many-file export; refused if it is a file, or
        a folder that holds anything, unless ``overwrite`` (then files are replaced)."""
        if self.fs.exists(self.root):
            if not self.fs.isdir(self.root):
                raise DestinationExistsError(f"{self.url} is a file, not a folder")
            if not self.overwrite and self.fs.ls(self.root, detail=False):
                raise DestinationExistsError(
                    f"{self.url} is not empty: pass overwrite=True (--overwrite) to write "
                    "into it, or choose an empty or new folder"
                )
        return self.root

    def place(self, relative: str) -> str:
        """The full path of ``relative`` (built from data) in the destination, each component
        made safe and the result proven inside the destination."""
        path = posixpath.normpath(f"{self.root}/{safe_relative(relative)}")
        if not path.startswith(f"{self.root}/"):
            raise OutsideDestinationError(f"{relative!r} would be written outside {self.url}")
        if self.local:
            root = Path(self.root).resolve()
            if not Path(path).resolve().is_relative_to(root):
                raise OutsideDestinationError(
                    f"{relative!r} would be written outside {self.url} (through a link)"
                )
        return path

    def write(self, path: str, data: bytes) -> str:
        """Write ``data`` to ``path`` (made by :meth:`file` or :meth:`place`), parents made."""
        parent = posixpath.dirname(path)
        if parent and parent != path:
            self.fs.makedirs(parent, exist_ok=True)
        self.fs.pipe_file(path, data)
        return path

    def _shown(self, path: str) -> str:
        return (
            self.url if path == self.root else f"{self.url.rstrip('/')}/{posixpath.basename(path)}"
        )
