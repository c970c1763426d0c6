"""Provenance for every stage: a ProcessingRun row opened at the start and closed at the end."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from traptagger_lab import __version__
from traptagger_lab.db.engine import transaction
from traptagger_lab.db.models import ProcessingRun, utcnow


def start_run(
    session: Session,
    survey_id: int,
    stage: str,
    params: dict[str, Any],
    model: str | None = None,
) -> ProcessingRun:
    """Record that ``stage`` starts on a survey, with its parameters (flushed: it has an id)."""
    run = ProcessingRun(
        survey_id=survey_id, stage=stage, params=params, model=model, software_version=__version__
    )
    session.add(run)
    session.flush()
    return run


def finish_run(
    sessions: sessionmaker[Session],
    run_id: int,
    counts: dict[str, Any],
    status: str = "done",
    error: str | None = None,
) -> None:
    """Close a run with its outcome (own transaction, so it is written even after a failure)."""
    with transaction(sessions) as session:
        run = session.get(ProcessingRun, run_id)
        if run is not None:
            run.status, run.counts, run.error, run.finished_at = status, counts, error, utcnow()


def outcome(exc: BaseException) -> str:
    """The status of a run that ended with ``exc``."""
    return "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"


def close_abandoned(session: Session, survey_id: int, stage: str) -> None:
    """Runs still marked running when a new one starts were killed: say so."""
    for stale in session.scalars(
        select(ProcessingRun).where(
            ProcessingRun.survey_id == survey_id,
            ProcessingRun.stage == stage,
            ProcessingRun.status == "running",
        )
    ):
        stale.status = "interrupted"
        stale.error = "the process ended before the run finished (killed or crashed)"


def add_counts(total: Any, part: Any) -> None:
    """Add the integer fields of one dataclass report into another of the same type."""
    for field in fields(total):
        value = getattr(part, field.name)
        if isinstance(value, int):
            setattr(total, field.name, getattr(total, field.name) + value)
