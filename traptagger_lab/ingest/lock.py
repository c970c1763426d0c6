"""One ingest at a time per survey, on SQLite, MariaDB/MySQL and PostgreSQL.

The lock lives as long as the process that holds it, whatever ends it: a
session-level advisory lock on the servers (``pg_try_advisory_lock``,
``GET_LOCK``), held on a connection of its own and released by the server when that
connection closes; an ``flock`` on a file beside a SQLite database, released by the
kernel when the process ends. A run killed with ``kill -9`` therefore never leaves its
survey locked; its ``running`` record is closed as interrupted by the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable, Iterator

from sqlalchemy import Connection, Engine, text

from traptagger_lab.errors import TrapTaggerError

#: How often a waiting run tries the lock again (seconds).
POLL_S = 0.5


class AlreadyRunningError(TrapTaggerError):
    """Another process is running the same stage on the same survey."""


def _digest(*parts: object) -> bytes:
    return hashlib.sha1(":".join(str(p) for p in parts).encode("utf-8")).digest()


def _retry(try_once: Callable[[], bool], wait_s: float, what: str) -> None:
    """Call ``try_once`` until it takes the lock, for up to ``wait_s`` seconds."""
    deadline = time.monotonic() + wait_s
    while not try_once():
        if time.monotonic() >= deadline:
            raise AlreadyRunningError(f"{what} is already running in another process")
        time.sleep(POLL_S)


@contextlib.contextmanager
def _server_lock(engine: Engine, name: str, wait_s: float, what: str) -> Iterator[None]:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            where = connection.execute(text("SELECT current_database(), current_schema()")).one()
            key = int.from_bytes(_digest(*where, name)[:8], "big", signed=True)
            take = text("SELECT pg_try_advisory_lock(:key)").bindparams(key=key)
            give = text("SELECT pg_advisory_unlock(:key)").bindparams(key=key)
        else:  # MariaDB / MySQL: lock names are server-wide, at most 64 characters
            database = connection.execute(text("SELECT DATABASE()")).scalar()
            label = "traptagger:" + _digest(database, name).hex()
            take = text("SELECT GET_LOCK(:label, 0)").bindparams(label=label)
            give = text("SELECT RELEASE_LOCK(:label)").bindparams(label=label)
        _retry(lambda: _ask(connection, take), wait_s, what)
        try:
            yield
        finally:
            _release(connection, give)


def _ask(connection: Connection, statement: object) -> bool:
    """Run a try-lock statement outside any open transaction (no snapshot held meanwhile)."""
    taken = connection.execute(statement).scalar()  # type: ignore[call-overload]
    connection.commit()
    return bool(taken)


def _release(connection: Connection, statement: object) -> None:
    try:
        connection.execute(statement)  # type: ignore[call-overload]
        connection.commit()
    except Exception:  # the lock must not outlive us: drop the connection
        connection.invalidate()
        raise


@contextlib.contextmanager
def _file_lock(path: str, wait_s: float, what: str) -> Iterator[None]:
    import fcntl

    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def take() -> bool:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    try:
        _retry(take, wait_s, what)
        yield
    finally:
        os.close(handle)  # closing releases the flock


def stage_lock(
    engine: Engine, survey_id: int, stage: str, what: str, wait_s: float = 0.0
) -> contextlib.AbstractContextManager[None]:
    """Hold the lock of ``stage`` on one survey for the duration of a ``with`` block.

    Args:
        engine: The organisation's database engine.
        survey_id: The survey.
        stage: The stage name (``ingest``).
        what: How to name the work in the error (``the ingest of survey 'S'``).
        wait_s: How long to wait for another process to finish (0: not at all).

    Raises:
        AlreadyRunningError: if another process still holds the lock after ``wait_s``.
    """
    name = f"{stage}:{survey_id}"
    if engine.dialect.name in ("postgresql", "mysql", "mariadb"):
        return _server_lock(engine, name, wait_s, what)
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return contextlib.nullcontext()  # one process only: nobody to exclude
    return _file_lock(f"{database}.{stage}-{survey_id}.lock", wait_s, what)
