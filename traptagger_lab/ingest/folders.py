"""Walk a local folder tree the way a photographer's drive is laid out: symlinked folders
(a site kept on another disk) are followed once, never twice, never in a loop.

The real folders are walked first; then each link to a folder, in path order. A folder
is read once, under the first path that reaches it (a real path before a link). A link
that points at a folder holding it (a loop), at a folder already read through another
path, or at nothing is reported as that link's failure, with the reason; a broken link
named like a photo stays a file that cannot be read (reported as unreadable).
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections import deque
from collections.abc import Iterator

from traptagger_lab.errors import SourceError
from traptagger_lab.ingest.records import Failure, FailureReason

#: The size a walk gives an entry that is no regular file (FIFO, socket, device):
#: reading one could block for ever, so it is reported, never opened.
SPECIAL = -1

Found = tuple[str, int] | Failure


def _identity(info: os.stat_result) -> tuple[int, int]:
    return info.st_dev, info.st_ino


def _join(folder: str, name: str) -> str:
    return posixpath.join(folder, name) if folder else name


def _size(info: os.stat_result) -> int:
    return info.st_size if stat.S_ISREG(info.st_mode) else SPECIAL


def _looks_like_a_file(name: str) -> bool:
    """Whether a name has a file suffix (``notes.txt``): a broken link so named is no
    folder of photos and not worth a report."""
    suffix = posixpath.splitext(name)[1][1:]
    return 0 < len(suffix) <= 5 and suffix.isalnum() and not suffix.isdigit()


class _Walk:
    """One walk's state: the folders read so far, by identity, and the links still to follow."""

    def __init__(self, root: str) -> None:
        self.found: list[Found] = []
        self.read: dict[tuple[int, int], str] = {}
        self.links: deque[tuple[str, str]] = deque()
        try:
            self.read[_identity(os.stat(root))] = ""
        except OSError as exc:
            raise SourceError(f"cannot list source {root!r}: {exc}") from exc

    def folder(self, relative: str, path: str) -> None:
        """Read one folder and the real folders below it; links to folders wait their turn."""
        stack = [(relative, path)]
        while stack:
            relative, path = stack.pop()
            try:
                with os.scandir(path) as listing:
                    entries = sorted(listing, key=lambda e: e.name, reverse=True)
            except OSError as exc:
                if not relative:
                    raise SourceError(f"cannot list source {path!r}: {exc}") from exc
                self.found.append(
                    Failure(relative, FailureReason.UNREADABLE, f"cannot list folder: {exc}")
                )
                continue
            for entry in entries:
                name = _join(relative, entry.name)
                try:
                    if entry.is_symlink():
                        self._link(name, entry.path)
                    elif entry.is_dir(follow_symlinks=False):
                        self._real_folder(stack, name, entry)
                    else:
                        self.found.append((name, _size(entry.stat(follow_symlinks=False))))
                except OSError as exc:  # vanished or unreadable while listing
                    self.found.append(Failure(name, FailureReason.UNREADABLE, str(exc)))

    def _real_folder(
        self, stack: list[tuple[str, str]], relative: str, entry: os.DirEntry[str]
    ) -> None:
        """Queue a folder, unless a link already led to it (then it is read once, there)."""
        identity = _identity(entry.stat(follow_symlinks=False))
        first = self.read.get(identity)
        if first is not None:
            detail = (
                f"the same folder as {first!r} (reached through a link): its files are taken once"
            )
            self.found.append(Failure(relative, FailureReason.BAD_LINK, detail))
            return
        self.read[identity] = relative
        stack.append((relative, entry.path))

    def _link(self, relative: str, path: str) -> None:
        try:
            target = os.stat(path)
        except OSError as exc:  # dangling, or a loop of links
            if posixpath.basename(relative) and not _looks_like_a_file(relative):
                detail = f"a link to {os.readlink(path)!r} that cannot be followed ({exc.strerror})"
                self.found.append(Failure(relative, FailureReason.BAD_LINK, detail))
            else:
                self.found.append((relative, 0))  # reading it fails: reported as unreadable
            return
        if stat.S_ISDIR(target.st_mode):
            self.links.append((relative, path))
        else:
            self.found.append((relative, _size(target)))

    def follow_links(self) -> None:
        """Follow the links to folders, in path order, each folder once."""
        while self.links:
            relative, path = min(self.links)
            self.links.remove((relative, path))
            identity = _identity(os.stat(path))
            problem = self._why_not(relative, path, identity)
            if problem is not None:
                self.found.append(Failure(relative, FailureReason.BAD_LINK, problem))
                continue
            self.read[identity] = relative
            self.folder(relative, path)

    def _why_not(self, relative: str, path: str, identity: tuple[int, int]) -> str | None:
        target = os.path.realpath(path)
        holder = os.path.realpath(os.path.dirname(path))
        if holder == target or holder.startswith(target.rstrip(os.sep) + os.sep):
            return (
                f"a link to {target!r}, a folder that holds the link itself (a loop): not followed"
            )
        if identity in self.read:
            first = self.read[identity] or "the source folder"
            return f"a link to {target!r}, which was read as {first!r}: its files are taken once"
        return None


def walk_local(root: str) -> Iterator[Found]:
    """Every file under a local folder as ``(relative path, size)`` in path order (special
    files with size :data:`SPECIAL`), and a :class:`Failure` for each folder or link that
    cannot be read.

    Raises:
        SourceError: if the root cannot be listed.
    """
    walk = _Walk(root)
    walk.folder("", root)
    walk.follow_links()
    yield from sorted(walk.found, key=lambda f: f.path if isinstance(f, Failure) else f[0])
