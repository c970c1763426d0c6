"""Find the photos and videos under a source (local folder or S3 prefix)."""

from __future__ import annotations

import posixpath
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from traptagger_lab.errors import SourceError
from traptagger_lab.ingest.folders import SPECIAL, Found, walk_local
from traptagger_lab.ingest.layout import Layout
from traptagger_lab.ingest.records import Failure, FailureReason, SourceFile

IMAGE_SUFFIXES = (".jpg", ".jpeg")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov")


def kind_of(path: str) -> str | None:
    """ "image", "video", or None for files ingest does not take (by extension, any case)."""
    lower = path.lower()
    if lower.endswith(IMAGE_SUFFIXES):
        return "image"
    if lower.endswith(VIDEO_SUFFIXES):
        return "video"
    return None


def printable_name(path: str) -> str:
    """``path`` as text any database takes: bytes a file name held outside UTF-8 (which
    Python keeps as surrogates) become ``\\xNN`` escapes."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def is_excluded(relative_path: str, exclude: Iterable[str]) -> bool:
    """Whether any folder of the path is named in ``exclude`` (or starts with a dot)."""
    folders = relative_path.split("/")[:-1]
    names = set(exclude)
    return any(folder in names or folder.startswith(".") for folder in folders)


@dataclass(frozen=True)
class Source:
    """A root to read photos from: a local folder or a remote URL, with fsspec options."""

    url: str
    options: dict[str, Any]

    def open_fs(self) -> tuple[Any, str]:
        """The filesystem and the root path on it."""
        try:
            fs, root = url_to_fs(self.url, **self.options)
        except (ImportError, ValueError) as exc:
            raise SourceError(f"cannot open source {self.url!r}: {exc}") from exc
        return fs, root.rstrip("/")

    def read(self, relative_path: str) -> bytes:
        """The bytes of one file under the root."""
        fs, root = self.open_fs()
        data: bytes = fs.cat_file(f"{root}/{relative_path}")
        return data


def walk(source: Source) -> Iterator[Found]:
    """Every file under the source as ``(relative path, size)``, in sorted order
    (special files with size :data:`SPECIAL`); on a local disk, symlinked folders are
    followed once and the links that cannot be are :class:`Failure` items
    (see :mod:`traptagger_lab.ingest.folders`).

    Raises:
        SourceError: if the source does not exist or cannot be listed.
    """
    fs, root = source.open_fs()
    try:
        if not fs.isdir(root):
            raise SourceError(f"source {source.url!r} is not a folder or prefix")
        if isinstance(fs, LocalFileSystem):
            yield from walk_local(root)
            return
        found = fs.find(root, detail=True)
    except (OSError, PermissionError) as exc:
        raise SourceError(f"cannot list source {source.url!r}: {exc}") from exc
    prefix = len(root) + 1
    for path in sorted(found):
        info = found[path]
        kind = info.get("type")
        if kind == "directory":
            continue
        size = SPECIAL if _is_special(info) else int(info.get("size") or 0)
        yield posixpath.normpath(path[prefix:]), size


def _is_special(info: dict[str, Any]) -> bool:
    """Whether a listed entry is a FIFO, socket or device (a broken link is not: reading
    it fails at once and it is reported as unreadable)."""
    mode = info.get("mode")
    if info.get("type") != "other" or not isinstance(mode, int):
        return False
    return any(test(mode) for test in (stat.S_ISFIFO, stat.S_ISSOCK, stat.S_ISCHR, stat.S_ISBLK))


def classify(
    files: Iterable[Found], layout: Layout, exclude: Iterable[str] = ()
) -> tuple[list[SourceFile], list[Failure]]:
    """Split found files into ingestible ones (with site and camera) and reported ones.

    Files of other types and files in excluded folders are silently ignored;
    a photo or video whose path matches no site is reported as ``no_site``, one whose
    name is not text as ``bad_name`` (under a printable form of it), and a FIFO, socket or
    device with a photo's name as ``special_file``; the walk's own failures (links that
    cannot be followed, folders that cannot be listed) pass through.
    """
    exclude = tuple(exclude)
    wanted: list[SourceFile] = []
    reported: list[Failure] = []
    for item in files:
        if isinstance(item, Failure):  # a folder or link that cannot be read
            if not is_excluded(f"{item.path}/-", exclude):
                reported.append(replace(item, path=printable_name(item.path)))
            continue
        path, size = item
        kind = kind_of(path)
        if kind is None or is_excluded(path, exclude):
            continue
        printable = printable_name(path)
        if printable != path:
            reported.append(
                Failure(printable, FailureReason.BAD_NAME, "the file name is not UTF-8 text")
            )
            continue
        if size == SPECIAL:
            reported.append(
                Failure(path, FailureReason.SPECIAL_FILE, "not a regular file (FIFO, socket…)")
            )
            continue
        located = layout.locate(path)
        if located is None:
            reported.append(
                Failure(
                    path, FailureReason.NO_SITE, "path matches no site (check the site pattern)"
                )
            )
            continue
        site, camera = located
        wanted.append(SourceFile(path=path, size=size, kind=kind, site=site, camera=camera))
    return wanted, reported
