"""Atomic job allocation for many annotators at once, and recording their annotations.

A job is a batch of clusters leased to one annotator until its lease runs
out. Allocation locks the task's work items with ``SELECT ... FOR UPDATE SKIP
LOCKED`` on MariaDB/MySQL and PostgreSQL (concurrent annotators skip each
other's rows instead of waiting), and on SQLite takes the single write lock
first; counters change only under those locks, so no cluster is ever in two
live jobs beyond what the task asks for. Every submission is a new annotation
row (history kept); a submission after the lease ran out is still recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session, sessionmaker

from traptagger_lab.annotate.outages import KNOCKED_DOWN, forget_knockdown, record_knockdown
from traptagger_lab.db.engine import retrying
from traptagger_lab.db.models import Annotation, Job, JobItem, Label, TaskItem, utcnow
from traptagger_lab.errors import ConfigurationError, NotFoundError

LEASE = dt.timedelta(minutes=30)
RECLAIM_BATCH = 200
#: Unlocked candidates read per cluster a job asks for (others may take some first).
CANDIDATES_PER_SLOT = 4
#: How many windows of candidates allocation tries before it reports no work.
ALLOCATION_PASSES = 10


@dataclass(frozen=True)
class JobLease:
    """A job handed to an annotator: the leased cluster ids, and until when."""

    id: int
    task_id: int
    annotator: str
    clusters: tuple[int, ...]
    expires_at: dt.datetime


def _serialise_on_sqlite(session: Session) -> None:
    """SQLite has one writer: take the write lock first, so no read has to be upgraded."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(TaskItem).where(TaskItem.id == -1).values(done=TaskItem.done))


def _read_committed(session: Session) -> None:
    """MySQL's default REPEATABLE READ would keep scanned rows locked: use READ COMMITTED."""
    if session.get_bind().dialect.name in ("mysql", "mariadb"):
        session.connection(execution_options={"isolation_level": "READ COMMITTED"})


def _reclaim_expired(session: Session, task_id: int, now: dt.datetime) -> int:
    """Give back leases that ran out (those whose items no one else holds locked)."""
    stale = session.execute(
        select(JobItem.id, JobItem.task_item_id)
        .where(JobItem.task_id == task_id, JobItem.status == "leased", JobItem.leased_until < now)
        .limit(RECLAIM_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    if not stale:
        return 0
    locked = set(
        session.scalars(
            select(TaskItem.id)
            .where(TaskItem.id.in_({s.task_item_id for s in stale}))
            .with_for_update(skip_locked=True)
        )
    )
    reclaimed = [s for s in stale if s.task_item_id in locked]
    for s in reclaimed:
        session.execute(update(JobItem).where(JobItem.id == s.id).values(status="expired"))
        session.execute(
            update(TaskItem).where(TaskItem.id == s.task_item_id).values(leased=TaskItem.leased - 1)
        )
    return len(reclaimed)


def _open_items(session: Session, task_id: int, annotator: str, size: int) -> list[tuple[int, int]]:
    """Lock up to ``size`` work items the annotator may take: (task item id, cluster id).

    Candidates are read without locks first; only the ``task_item`` rows are
    then locked (``SKIP LOCKED``), so allocation never holds a lock on another
    table that a submission might be waiting for. Candidates another annotator
    took in the meantime are skipped and the next ones tried.
    """
    mine = exists().where(
        and_(
            JobItem.task_item_id == TaskItem.id,
            JobItem.annotator == annotator,
            JobItem.status.in_(("leased", "done")),
        )
    )
    order = (TaskItem.site_id, TaskItem.start, TaskItem.id)
    tried: list[int] = []
    for _ in range(ALLOCATION_PASSES):
        query = select(TaskItem.id).where(
            TaskItem.task_id == task_id, TaskItem.done + TaskItem.leased < TaskItem.required, ~mine
        )
        if tried:
            query = query.where(TaskItem.id.not_in(tried))
        candidates = list(session.scalars(query.order_by(*order).limit(size * CANDIDATES_PER_SLOT)))
        if not candidates:
            return []
        locked = session.execute(
            select(TaskItem.id, TaskItem.cluster_id)
            .where(TaskItem.id.in_(candidates), TaskItem.done + TaskItem.leased < TaskItem.required)
            .order_by(*order)
            .limit(size)
            .with_for_update(skip_locked=True)
        ).all()
        if locked:
            return [(row.id, row.cluster_id) for row in locked]
        tried.extend(candidates)
    return []


def next_job(
    sessions: sessionmaker[Session],
    task_id: int,
    annotator: str,
    size: int = 10,
    lease: dt.timedelta = LEASE,
) -> JobLease | None:
    """Lease up to ``size`` clusters of the task to ``annotator``; None when no work is left.

    Clusters come in site and time order (neighbouring sequences together, as
    annotators prefer); a cluster the annotator already labelled or holds is
    never offered to them again.
    """
    if size < 1:
        raise ConfigurationError("a job needs at least one cluster")

    def allocate(session: Session) -> JobLease | None:
        _read_committed(session)
        _serialise_on_sqlite(session)
        now = utcnow()
        _reclaim_expired(session, task_id, now)
        items = _open_items(session, task_id, annotator, size)
        if not items:
            return None
        job = Job(task_id=task_id, annotator=annotator, status="active", expires_at=now + lease)
        session.add(job)
        session.flush()
        session.execute(
            update(TaskItem)
            .where(TaskItem.id.in_([item_id for item_id, _ in items]))
            .values(leased=TaskItem.leased + 1)
        )
        session.add_all(
            JobItem(
                job_id=job.id,
                task_id=task_id,
                task_item_id=item_id,
                cluster_id=cluster_id,
                annotator=annotator,
                status="leased",
                leased_until=job.expires_at,
            )
            for item_id, cluster_id in items
        )
        session.flush()
        return JobLease(job.id, task_id, annotator, tuple(c for _, c in items), job.expires_at)

    return retrying(sessions, allocate)


def _label_ids(session: Session, task_id: int, names: Sequence[str]) -> list[int]:
    known = {
        name.lower(): label_id
        for label_id, name in session.execute(
            select(Label.id, Label.name).where(Label.task_id == task_id)
        )
    }
    unknown = [n for n in names if n.lower() not in known]
    if unknown:
        raise NotFoundError(f"unknown label(s) {unknown}; the task has {sorted(known)}")
    return [known[n.lower()] for n in names]


def _locked_job_item(session: Session, job_id: int, cluster_id: int) -> JobItem:
    """The job's row for a cluster, locked for this transaction (the annotator's own work)."""
    _read_committed(session)
    _serialise_on_sqlite(session)
    item = session.scalar(
        select(JobItem)
        .where(JobItem.job_id == job_id, JobItem.cluster_id == cluster_id)
        .with_for_update()
    )
    if item is None:
        raise NotFoundError(f"cluster {cluster_id} is not in job {job_id}")
    return item


def _active_annotations(session: Session, item: JobItem) -> list[Annotation]:
    """The annotator's current (active) annotation rows on the item's cluster."""
    return list(
        session.scalars(
            select(Annotation).where(
                Annotation.task_id == item.task_id,
                Annotation.cluster_id == item.cluster_id,
                Annotation.annotator == item.annotator,
                Annotation.active.is_(True),
            )
        )
    )


def submit(
    sessions: sessionmaker[Session],
    job_id: int,
    cluster_id: int,
    labels: Sequence[str],
    tags: Sequence[str] = (),
    note: str | None = None,
    counts: Mapping[str, int] | None = None,
) -> list[int]:
    """Record an annotator's labels (and tags) for one cluster of their job.

    ``counts`` gives how many animals of a label were seen (sighting tasks).

    Returns:
        The ids of the new annotation rows. Labelling the same cluster again is a
        correction: the new rows point at the ones they replace.
    """
    if not labels:
        raise ConfigurationError("submit at least one label (use 'Nothing' for an empty cluster)")

    def record(session: Session) -> list[int]:
        item = _locked_job_item(session, job_id, cluster_id)
        label_ids = _label_ids(session, item.task_id, [*labels, *tags])
        previous = _active_annotations(session, item)
        for old in previous:
            old.active = False
        now = utcnow()
        rows = [
            Annotation(
                task_id=item.task_id,
                cluster_id=cluster_id,
                label_id=label_id,
                job_id=job_id,
                previous_id=previous[0].id if previous else None,
                annotator=item.annotator,
                note=note,
                count=(counts or {}).get(name),
                active=True,
                created_at=now,
            )
            for name, label_id in zip([*labels, *tags], label_ids, strict=True)
        ]
        session.add_all(rows)
        if item.status != "done":
            held = item.status == "leased"
            session.execute(
                update(TaskItem)
                .where(TaskItem.id == item.task_item_id)
                .values(done=TaskItem.done + 1, leased=TaskItem.leased - (1 if held else 0))
            )
            item.status, item.finished_at = "done", now
        session.flush()
        forget_knockdown(session, [old.id for old in previous])
        if any(name.lower() == KNOCKED_DOWN for name in labels):
            record_knockdown(session, cluster_id, rows[0].id, item.annotator)
        return [r.id for r in rows]

    return retrying(sessions, record)


def undo(sessions: sessionmaker[Session], job_id: int, cluster_id: int) -> list[int]:
    """Take back the annotator's last submission for a cluster and restore the one before.

    Nothing is deleted: the undone rows stay in the history, inactive. Undoing
    the first submission leaves the cluster unlabelled by this annotator (and
    back in their job while the lease lasts).

    Returns:
        The ids of the annotation rows active again (empty when there was no earlier one).
    """

    def take_back(session: Session) -> list[int]:
        item = _locked_job_item(session, job_id, cluster_id)
        current = _active_annotations(session, item)
        if not current:
            return []
        for row in current:
            row.active = False
        forget_knockdown(session, [row.id for row in current])
        earlier = (
            session.get(Annotation, current[0].previous_id) if current[0].previous_id else None
        )
        if earlier is not None:
            restored = session.scalars(
                select(Annotation).where(
                    Annotation.task_id == item.task_id,
                    Annotation.cluster_id == cluster_id,
                    Annotation.annotator == item.annotator,
                    Annotation.created_at == earlier.created_at,
                )
            ).all()
            for row in restored:
                row.active = True
            names = session.scalars(
                select(Label.name).where(Label.id.in_([r.label_id for r in restored]))
            )
            if any(name.lower() == KNOCKED_DOWN for name in names):
                record_knockdown(session, cluster_id, restored[0].id, item.annotator)
            return [r.id for r in restored]
        if item.status == "done":  # the cluster needs this annotator's label again
            held = item.leased_until > utcnow()
            session.execute(
                update(TaskItem)
                .where(TaskItem.id == item.task_item_id)
                .values(done=TaskItem.done - 1, leased=TaskItem.leased + (1 if held else 0))
            )
            item.status = "leased" if held else "released"
            item.finished_at = None if held else utcnow()
        return []

    return retrying(sessions, take_back)


def release(sessions: sessionmaker[Session], job_id: int) -> int:
    """Give back the clusters of a job that were not annotated; returns how many."""

    def give_back(session: Session) -> int:
        _read_committed(session)
        _serialise_on_sqlite(session)
        items = session.scalars(
            select(JobItem)
            .where(JobItem.job_id == job_id, JobItem.status == "leased")
            .with_for_update()
        ).all()
        for item in items:
            item.status, item.finished_at = "released", utcnow()
            session.execute(
                update(TaskItem)
                .where(TaskItem.id == item.task_item_id)
                .values(leased=TaskItem.leased - 1)
            )
        job = session.get(Job, job_id)
        if job is not None:
            job.status, job.finished_at = "finished", utcnow()
        return len(items)

    return retrying(sessions, give_back)


def progress(session: Session, task_id: int) -> dict[str, int]:
    """Clusters of the task: total, done (all annotations in), in progress, remaining."""
    from sqlalchemy import func

    total, required, done, leased = session.execute(
        select(
            func.count(),
            func.sum(TaskItem.required),
            func.sum(TaskItem.done),
            func.sum(TaskItem.leased),
        ).where(TaskItem.task_id == task_id)
    ).one()
    complete = session.scalar(
        select(func.count())
        .select_from(TaskItem)
        .where(TaskItem.task_id == task_id, TaskItem.done >= TaskItem.required)
    )
    return {
        "clusters": int(total or 0),
        "complete": int(complete or 0),
        "annotations_needed": int(required or 0),
        "annotations_done": int(done or 0),
        "in_progress": int(leased or 0),
    }
