"""File and folder names built from data (species, sites, cameras, photo paths), made safe.

A label imported from someone else's file can be called ``../../..``, ``a/b`` or
``..\\x``, or hold a NUL: as a folder name it would point outside the export.
:func:`safe_part` turns any text into one harmless path component (a changed name
gets a short digest of the original, so two different names never share a folder);
:func:`safe_relative` does it to every component of a relative path. Ordinary
names, including ones with ``#``, ``%``, ``?``, spaces or non-ASCII letters, are
kept as they are.
"""

from __future__ import annotations

import hashlib
import re

from traptagger_lab.ingest.videos import file_of as file_of  # where the still-path format lives

#: Characters never written into a name: path separators and control characters (NUL...).
_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f]")
#: The end of a video still's path: the still at ``seconds`` of the video file before it.
#: Longest component we write, in UTF-8 bytes (file systems and S3 keys allow 255).
MAX_BYTES = 200


def _digest(name: str) -> str:
    return hashlib.sha1(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def safe_part(name: str) -> str:
    """``name`` as one path component that stays where it is put: separators and control
    characters become ``_``, a name of dots only or an empty one gets a ``_`` before it,
    and a long one is shortened. A changed name loses its leading dots (it would be hidden)
    and ends in ``~`` and a digest of the original."""
    part = _UNSAFE.sub("_", name).strip(" ")
    if part.strip(".") == "":
        part = f"_{part}"
    if part == name and len(part.encode("utf-8", "surrogatepass")) <= MAX_BYTES:
        return part
    part = re.sub(r"^\.+", lambda dots: "_" * len(dots.group()), part)  # not a hidden name
    encoded = part.encode("utf-8", "surrogatepass")[: MAX_BYTES - 9]
    return f"{encoded.decode('utf-8', 'ignore')}~{_digest(name)}"


def safe_relative(path: str) -> str:
    """A relative path whose every component is :func:`safe_part`; empty components (a
    leading ``/``, ``a//b``) and ``.`` are dropped, so the result never leaves its root."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    return "/".join(safe_part(p) for p in parts) or safe_part("")
