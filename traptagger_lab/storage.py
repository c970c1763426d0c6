"""The blob store: derived files (compressed copies, thumbnails, video stills) on fsspec.

A store is a root URL (a local folder by default, ``s3://bucket/prefix`` in
the cloud) and keys below it. It is a small frozen record so it can travel to
Dask workers, which open their own filesystem from it.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import uuid
from dataclasses import dataclass, field
from typing import Any

import fsspec
from fsspec.core import url_to_fs

from traptagger_lab.errors import ConfigurationError


def _fs(url: str, options: dict[str, Any]) -> tuple[fsspec.AbstractFileSystem, str]:
    try:
        found: tuple[fsspec.AbstractFileSystem, str] = url_to_fs(url, **options)
    except (ImportError, ValueError) as exc:
        raise ConfigurationError(f"cannot open storage {url!r}: {exc}") from exc
    return found


@dataclass(frozen=True)
class BlobStore:
    """Keys under a root URL, read and written through fsspec.

    Args:
        url: A local folder or a remote URL such as ``s3://bucket/prefix``.
        options: fsspec options (for S3: ``client_kwargs={'endpoint_url': ...}``, ``key``...).
    """

    url: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        """The fsspec filesystem (fsspec caches instances, so this is cheap)."""
        return _fs(self.url, self.options)[0]

    @property
    def root(self) -> str:
        """The root path as the filesystem names it (no protocol)."""
        return _fs(self.url, self.options)[1].rstrip("/")

    def path(self, key: str) -> str:
        """The filesystem path of ``key``; keys may not climb out of the root."""
        clean = posixpath.normpath(key.lstrip("/"))
        if clean.startswith("..") or clean == ".":
            raise ValueError(f"blob key escapes the store: {key!r}")
        return f"{self.root}/{clean}"

    def put(self, key: str, data: bytes) -> None:
        """Write ``data`` at ``key``, whole or not at all (parents created as needed).

        Object stores write whole objects; on a file system the bytes go to a
        temporary name first and are renamed into place, so a process killed
        mid-write never leaves a truncated file under ``key``.
        """
        fs = self.fs
        path = self.path(key)
        if _is_object_store(fs):
            fs.pipe_file(path, data)
            return
        fs.makedirs(posixpath.dirname(path), exist_ok=True)
        partial = f"{path}.{uuid.uuid4().hex[:8]}.partial"
        fs.pipe_file(partial, data)
        fs.mv(partial, path)

    def get(self, key: str) -> bytes:
        """The bytes at ``key``."""
        data: bytes = self.fs.cat_file(self.path(key))
        return data

    def exists(self, key: str) -> bool:
        """Whether ``key`` exists."""
        return bool(self.fs.exists(self.path(key)))

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        fs = self.fs
        path = self.path(key)
        if fs.exists(path):
            fs.rm_file(path)

    def keys(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix``, sorted."""
        fs = self.fs
        base = self.path(prefix) if prefix else self.root
        if not fs.exists(base):
            return []
        found = fs.find(base)
        strip = len(self.root) + 1
        return sorted(p[strip:] for p in found)

    def modified_since(self, prefix: str, since: dt.datetime) -> list[str]:
        """Keys under ``prefix`` last written at or after ``since`` (naive means UTC), sorted.

        Keys whose filesystem reports no modification time are left out.
        """
        fs = self.fs
        base = self.path(prefix)
        if not fs.exists(base):
            return []
        after = since if since.tzinfo else since.replace(tzinfo=dt.UTC)
        strip = len(self.root) + 1
        found = []
        for path, info in fs.find(base, detail=True).items():
            when = _modified(info)
            if when is not None and when >= after:
                found.append(path[strip:])
        return sorted(found)

    def url_of(self, key: str) -> str:
        """A URL for ``key`` that fsspec (and people) can open."""
        protocol = self.fs.protocol
        name = protocol[0] if isinstance(protocol, tuple) else protocol
        path = self.path(key)
        return path if name in ("file", "local") else f"{name}://{path}"


def _modified(info: dict[str, Any]) -> dt.datetime | None:
    """A listing entry's modification time, in UTC (local ``mtime``, S3 ``LastModified``)."""
    value = info.get("mtime", info.get("LastModified", info.get("updated")))
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return None


def _is_object_store(fs: fsspec.AbstractFileSystem) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return any(p in ("s3", "s3a", "gs", "gcs", "az", "abfs") for p in protocol)
