"""Database engines, sessions and schema upgrades (Alembic) for every backend."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from traptagger_lab.errors import ConfigurationError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"

#: How many values go into one ``IN (...)`` list.
CHUNK = 500


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """``values`` in slices of at most ``size`` (for ``IN`` lists and bulk writes)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL for concurrent readers, enforced foreign keys, and patience with locks."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, pool_size: int = 10) -> Engine:
    """An engine for ``url`` (sqlite, mysql+pymysql, mariadb+pymysql, postgresql+psycopg).

    Plain ``mysql://`` and ``postgresql://`` URLs get the drivers we ship.
    ``pool_size`` connections are kept per process on servers (more may open briefly).
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError and ValueError here
        raise ConfigurationError(f"not a database URL: {url!r} ({exc})") from exc
    if parsed.drivername in ("mysql", "mariadb"):
        parsed = parsed.set(drivername=f"{parsed.drivername}+pymysql")
    elif parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "mysql":
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        return create_engine(
            parsed,
            pool_pre_ping=True,
            pool_recycle=3600,
            pool_size=pool_size,
            max_overflow=pool_size,
        )
    return create_engine(parsed, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits together, or rolls back together on error."""
    with factory() as session, session.begin():
        yield session


T = TypeVar("T")

#: MySQL/MariaDB error codes for a deadlock and a lock wait timeout.
_MYSQL_RETRYABLE = {1213, 1205}
#: PostgreSQL SQLSTATEs for a serialization failure and a detected deadlock.
_POSTGRES_RETRYABLE = {"40001", "40P01"}


def is_retryable(exc: BaseException) -> bool:
    """Whether the database rolled ``exc``'s transaction back only to break a lock conflict."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _POSTGRES_RETRYABLE:
        return True
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in _MYSQL_RETRYABLE:
        return True
    return "database is locked" in str(orig)


def retrying(factory: sessionmaker[Session], work: Callable[[Session], T], attempts: int = 8) -> T:
    """Run ``work`` in a transaction, running it again in a fresh one after a deadlock.

    InnoDB and PostgreSQL may roll back one of two transactions that lock the
    same rows in different orders; the documented answer is to retry it. ``work``
    must do all its writes through the session it is given (so a retry repeats
    them from scratch). Gives up, re-raising, after ``attempts`` tries.
    """
    for attempt in range(1, attempts + 1):
        try:
            with factory() as session, session.begin():
                return work(session)
        except DBAPIError as exc:
            if attempt == attempts or not is_retryable(exc):
                raise
            log.debug("retrying after a lock conflict (attempt %d): %s", attempt, exc.orig)
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
    raise AssertionError("unreachable")


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to ``revision`` (idempotent)."""
    from alembic import command

    command.upgrade(_alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision this version of the code knows."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    if head is None:
        raise ConfigurationError("no migrations found")
    return head


def table_names(engine: Engine) -> list[str]:
    """Names of the tables in the database (for checks and `traptagger status`)."""
    return sorted(inspect(engine).get_table_names())
