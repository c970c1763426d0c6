"""A transaction the server kills to break a deadlock is run again, not lost."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from traptagger_lab.db.engine import (
    is_retryable,
    make_engine,
    retrying,
    session_factory,
    transaction,
    upgrade,
)
from traptagger_lab.db.models import Survey


def _two_rows(url: str) -> tuple[Any, list[int]]:
    engine = make_engine(url)
    upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        rows = [Survey(name="first"), Survey(name="second")]
        session.add_all(rows)
        session.flush()
        ids = [row.id for row in rows]
    return sessions, ids


def test_a_real_deadlock_is_retried_until_both_transactions_land(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite takes one write lock per database: it cannot deadlock on rows")
    sessions, (a, b) = _two_rows(database_url)
    both_hold_one = threading.Barrier(2, timeout=20)
    attempts: list[str] = []
    failures: list[BaseException] = []

    def lock_in_order(first: int, second: int, name: str) -> None:
        def work(session: Session) -> None:
            attempts.append(name)
            session.execute(select(Survey).where(Survey.id == first).with_for_update())
            if len(attempts) <= 2:  # only the first round meets at the barrier
                both_hold_one.wait()
            session.execute(
                update(Survey).where(Survey.id == second).values(description=f"{name} was here")
            )

        try:
            retrying(sessions, work)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [
        threading.Thread(target=lock_in_order, args=(a, b, "one")),
        threading.Thread(target=lock_in_order, args=(b, a, "two")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert len(attempts) == 3  # the server rolled one back once; it ran again and landed
    with sessions() as session:
        notes = set(session.scalars(select(Survey.description).where(Survey.id.in_([a, b]))))
    assert notes == {"one was here", "two was here"}


def test_other_errors_are_not_retried(database_url: str) -> None:
    sessions, _ = _two_rows(database_url)
    calls = []

    def broken(session: Session) -> None:
        calls.append(1)
        session.execute(text("SELECT no_such_column FROM survey"))

    with pytest.raises(DBAPIError) as raised:
        retrying(sessions, broken)
    assert not is_retryable(raised.value)
    assert calls == [1]
    assert not is_retryable(OperationalError("SELECT 1", {}, Exception("disk full")))
