"""Leases: locks that live exactly as long as the process holding them.

A process that starts a run holds a lease on it, so that any other process can tell
a run whose process died (``kill -9``, a crash, a lost machine) from one still at
work: a session-level advisory lock on the database servers (PostgreSQL
``pg_advisory_lock``, MariaDB/MySQL ``GET_LOCK``) on a connection of its own, or an
``flock`` on a file beside an SQLite database. The server, or the kernel, drops it
when the process ends, however it ends.

Runs that write derived blobs (ingest) also hold the *blob writers* lease in shared
mode. A sweep of orphan blobs takes it exclusively (:meth:`Leases.exclusive_blobs`):
it runs only when no writer is alive, and no writer starts until it is done.
MariaDB/MySQL have no shared named locks, so there a writer takes one of
:data:`WRITER_SLOTS` slot locks (under a short mutex) and the sweep checks that all
slots are free.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

#: Concurrent blob-writing runs per MariaDB/MySQL database (each holds one slot lock).
WRITER_SLOTS = 32
#: How long a starting writer waits for a running sweep to end (seconds).
SWEEP_WAIT_S = 600
#: A year: MariaDB's idle timeout on a lease connection (its 8-hour default would drop
#: the lease of a long run, which would then look dead).
_LEASE_IDLE_S = 31_536_000


@dataclass
class Lease:
    """Locks this process holds until :meth:`release` (or until it ends)."""

    #: A connection of the lease's own; the server drops its locks when it closes.
    connection: Connection | None = None
    #: Open, locked files (and the path to remove on release, if any).
    files: list[tuple[int, str | None]] = field(default_factory=list)

    def release(self) -> None:
        """Give the locks back: the connection is closed for good (never pooled with them)."""
        if self.connection is not None:
            self.connection.invalidate()
            self.connection.close()
            self.connection = None
        for handle, remove in self.files:
            if remove:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(remove)
            os.close(handle)
        self.files = []


def _digest(*parts: object) -> str:
    return hashlib.sha1(":".join(str(p) for p in parts).encode("utf-8")).hexdigest()


class Leases:
    """Leases on one database (its engine decides how they are held)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.kind = engine.dialect.name
        database = engine.url.database
        if self.kind == "sqlite":
            local = bool(database) and database != ":memory:"
            self.kind = "file" if local and _has_flock() else "none"
        self.database = database or ""

    # -- names -----------------------------------------------------------------

    def _key(self, name: str) -> int:
        """A PostgreSQL advisory-lock key (advisory locks are per database already)."""
        return int(_digest("traptagger", name)[:16], 16) - (1 << 63)

    def _label(self, name: str) -> str:
        """A MariaDB lock name: server-wide, so the database is part of it (<= 64 chars)."""
        return "traptagger:" + _digest(self.database, name)[:40]

    def _file(self, name: str) -> str:
        return f"{self.database}.{name}.lock"

    def _connect(self) -> Connection:
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if self.kind in ("mysql", "mariadb"):
            connection.execute(text(f"SET SESSION wait_timeout = {_LEASE_IDLE_S}"))
        return connection

    # -- runs ------------------------------------------------------------------

    def hold_run(self, run_id: int, writes_blobs: bool) -> Lease:
        """Take the lease of a new run (and the shared blob-writer lease if it writes blobs).

        Blocks while a sweep of orphan blobs runs (up to :data:`SWEEP_WAIT_S`).
        """
        name = f"run-{run_id}"
        if self.kind == "none":
            return Lease()
        if self.kind == "file":
            lease = Lease()
            try:
                if writes_blobs:
                    lease.files.append((_flock(self._file("blob-writers"), shared=True), None))
                path = self._file(name)
                lease.files.append((_flock(path, shared=False), path))
            except BaseException:
                lease.release()
                raise
            return lease
        connection = self._connect()
        lease = Lease(connection)
        try:
            if self.kind == "postgresql":
                if writes_blobs:
                    key = self._key("blob-writers")
                    connection.execute(text("SELECT pg_advisory_lock_shared(:k)"), {"k": key})
                connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": self._key(name)})
            else:
                if writes_blobs:
                    self._take_writer_slot(connection)
                connection.execute(text("SELECT GET_LOCK(:n, 10)"), {"n": self._label(name)})
        except BaseException:
            lease.release()
            raise
        return lease

    def _take_writer_slot(self, connection: Connection) -> None:
        """MariaDB: a free writer slot, taken while holding the sweep mutex."""
        mutex = self._label("blob-sweep")
        taken = connection.execute(
            text("SELECT GET_LOCK(:n, :s)"), {"n": mutex, "s": SWEEP_WAIT_S}
        ).scalar()
        if not taken:
            raise TimeoutError("a sweep of orphan blobs did not end in time")
        try:
            for slot in range(WRITER_SLOTS):
                label = self._label(f"blob-writer-{slot}")
                got = connection.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": label}).scalar()
                if got:
                    return
            raise TimeoutError(f"more than {WRITER_SLOTS} runs are writing blobs at once")
        finally:
            connection.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": mutex})

    def run_alive(self, run_id: int) -> bool:
        """Whether a process still holds the lease of ``run_id`` (True when it cannot tell)."""
        name = f"run-{run_id}"
        if self.kind == "none":
            return True
        if self.kind == "file":
            return _flock_held(self._file(name))
        with self.engine.connect() as connection:
            if self.kind == "postgresql":
                key = self._key(name)
                free = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
                if free.scalar():
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    connection.commit()
                    return False
                connection.commit()
                return True
            holder = connection.execute(text("SELECT IS_USED_LOCK(:n)"), {"n": self._label(name)})
            return holder.scalar() is not None

    # -- sweeps ----------------------------------------------------------------

    @contextlib.contextmanager
    def exclusive_blobs(self) -> Iterator[bool]:
        """Yield True while no run that writes blobs is alive, and none may start.

        Yields False (and holds nothing) when a writer is alive or this cannot be told.
        """
        if self.kind == "none":
            yield False
        elif self.kind == "file":
            handle = _try_flock(self._file("blob-writers"))
            try:
                yield handle is not None
            finally:
                if handle is not None:
                    os.close(handle)
        elif self.kind == "postgresql":
            key = self._key("blob-writers")
            with self._connect() as connection:
                got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
                if not got.scalar():
                    yield False
                    return
                try:
                    yield True
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        else:
            with self._connect() as connection:
                mutex = self._label("blob-sweep")
                if not connection.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": mutex}).scalar():
                    yield False
                    return
                try:
                    yield not self._writers_alive(connection)
                finally:
                    connection.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": mutex})

    def _writers_alive(self, connection: Connection) -> bool:
        """MariaDB: whether any writer slot is held."""
        labels = {f"s{i}": self._label(f"blob-writer-{i}") for i in range(WRITER_SLOTS)}
        used = " OR ".join(f"IS_USED_LOCK(:{k}) IS NOT NULL" for k in labels)
        return bool(connection.execute(text(f"SELECT {used}"), labels).scalar())


def _has_flock() -> bool:
    try:
        import fcntl  # noqa: F401  (POSIX only)
    except ImportError:
        return False
    return True


def _flock(path: str, shared: bool) -> int:
    """Open ``path`` (created if need be) and lock it: shared waits, exclusive must succeed."""
    import fcntl

    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_SH if shared else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(handle)
        raise
    return handle


def _try_flock(path: str) -> int | None:
    """An exclusive lock on ``path`` if nobody holds any lock on it, else None."""
    try:
        return _flock(path, shared=False)
    except BlockingIOError:
        return None


def _flock_held(path: str) -> bool:
    """Whether some open file holds a lock on ``path`` (a missing file is not held)."""
    import fcntl

    try:
        handle = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(handle)
    return False
