"""Provenance for every stage: a ProcessingRun row opened at the start and closed at the end.

While a run is open its process holds a lease on it (:mod:`traptagger_lab.leases`), so
a run left ``running`` by a process that died is told apart from a live one and is
closed as ``interrupted`` by the next start (:func:`close_abandoned`,
:func:`traptagger_lab.recovery.recover`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from traptagger_lab.db.engine import transaction
from traptagger_lab.db.models import ProcessingRun, utcnow
from traptagger_lab.leases import Lease, Leases
from traptagger_lab.version import __version__

#: Stages whose runs write derived blobs (compressed copies, thumbnails, video stills).
BLOB_STAGES = frozenset({"ingest"})
#: What an abandoned run's error says.
ABANDONED = "the process ended before the run finished (killed or crashed)"


class _HeldLeases:
    """The leases this process holds, by database and run id.

    Process-wide on purpose: a lease lives exactly as long as the process, and the
    run's start and end are called with different sessions.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[str, int], Lease] = {}

    @staticmethod
    def _where(engine: Engine) -> str:
        return engine.url.render_as_string(hide_password=True)

    def add(self, engine: Engine, run_id: int, lease: Lease) -> None:
        """Remember the lease of a run this process started."""
        with self._lock:
            self._held[(self._where(engine), run_id)] = lease

    def release(self, engine: Engine, run_id: int) -> None:
        """Give back the lease of a run that ended (no-op if this process holds none)."""
        with self._lock:
            lease = self._held.pop((self._where(engine), run_id), None)
        if lease is not None:
            lease.release()


_LEASES = _HeldLeases()


def start_run(
    session: Session,
    survey_id: int,
    stage: str,
    params: dict[str, Any],
    model: str | None = None,
) -> ProcessingRun:
    """Record that ``stage`` starts on a survey, with its parameters (flushed: it has an id).

    Runs of the same stage on the survey left ``running`` by a process that ended are
    closed as interrupted first; this process then holds the new run's lease until
    :func:`finish_run`.
    """
    close_abandoned(session, survey_id, stage)
    run = ProcessingRun(
        survey_id=survey_id, stage=stage, params=params, model=model, software_version=__version__
    )
    session.add(run)
    session.flush()
    engine = _engine(session)
    _LEASES.add(engine, run.id, Leases(engine).hold_run(run.id, stage in BLOB_STAGES))
    return run


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def finish_run(
    sessions: sessionmaker[Session],
    run_id: int,
    counts: dict[str, Any],
    status: str = "done",
    error: str | None = None,
) -> None:
    """Close a run with its outcome (own transaction, so it is written even after a failure).

    The run's lease is given back once the outcome is committed.
    """
    try:
        with transaction(sessions) as session:
            run = session.get(ProcessingRun, run_id)
            if run is not None:
                run.status, run.counts, run.error, run.finished_at = status, counts, error, utcnow()
    finally:
        bind = sessions.kw.get("bind")
        if isinstance(bind, Engine):
            _LEASES.release(bind, run_id)


def outcome(exc: BaseException) -> str:
    """The status of a run that ended with ``exc``."""
    return "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"


@contextmanager
def closing_run(
    sessions: sessionmaker[Session], run_id: int, counts: Callable[[], dict[str, Any]]
) -> Iterator[None]:
    """Close the run when the block ends: ``done``, or ``failed``/``interrupted`` with the
    error when it raises (re-raised). ``counts`` gives what was done by then."""
    try:
        yield
    except BaseException as exc:
        finish_run(sessions, run_id, counts(), outcome(exc), repr(exc))
        raise
    finish_run(sessions, run_id, counts())


def close_abandoned(
    session: Session, survey_id: int | None = None, stage: str | None = None
) -> list[int]:
    """Mark ``interrupted`` the runs left ``running`` by a process that ended.

    A run whose process is alive (it holds the run's lease) is left alone, whichever
    machine it runs on. Without ``survey_id``/``stage``, every survey and stage.

    Returns:
        The ids of the runs closed.
    """
    query = select(ProcessingRun).where(ProcessingRun.status == "running")
    if survey_id is not None:
        query = query.where(ProcessingRun.survey_id == survey_id)
    if stage is not None:
        query = query.where(ProcessingRun.stage == stage)
    leases = Leases(_engine(session))
    closed = []
    for stale in session.scalars(query.order_by(ProcessingRun.id)):
        if not leases.run_alive(stale.id):
            stale.status, stale.error = "interrupted", ABANDONED
            closed.append(stale.id)
    return closed


def add_counts(total: Any, part: Any) -> None:
    """Add the integer fields of one dataclass report into another of the same type."""
    for field in fields(total):
        value = getattr(part, field.name)
        if isinstance(value, int):
            setattr(total, field.name, getattr(total, field.name) + value)
