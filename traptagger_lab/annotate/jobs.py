"""Atomic job allocation for many annotators at once, and recording their annotations.

A job is a batch of clusters leased to one annotator until its lease runs
out. Allocation reads candidate work items without locks, then locks only the
rows it takes by primary key with ``FOR UPDATE SKIP LOCKED`` (MariaDB/MySQL,
PostgreSQL), so concurrent annotators skip each other's rows instead of
waiting, and a scan never locks rows it does not take; SQLite takes its single
write lock first. Counters change only under those locks, so no cluster is
ever in more live jobs than the task asks for. One person never holds or
labels a cluster twice: ``job_item.holder`` is unique per task item, a rule
the database enforces (two tabs of one annotator racing for a cluster: one
insert fails and that allocation runs again).

A job belongs to its annotator: submit, undo and release name who acts and
are refused for anyone else. Every submission is a new annotation row
(history kept). A submission after the lease ran out is recorded when the
cluster is still free, and refused with :class:`StaleWorkError` when someone
else took it meanwhile or the sequence was re-grouped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from traptagger_lab.annotate.outages import KNOCKED_DOWN, forget_knockdown, record_knockdown
from traptagger_lab.db.engine import retrying
from traptagger_lab.db.models import Annotation, Job, JobItem, Label, TaskItem, utcnow
from traptagger_lab.errors import (
    AccessError,
    ConfigurationError,
    NotFoundError,
    StaleWorkError,
)

LEASE = dt.timedelta(minutes=30)
#: The shortest and longest lease a job may have.
LEASE_RANGE = (dt.timedelta(minutes=1), dt.timedelta(hours=24))
#: The most clusters one job may hold.
MAX_JOB_SIZE = 500
#: Longest annotator name (the column's width).
NAME_LIMIT = 200
#: Allocations run again after another tab of the same person won a race for a cluster.
HOLD_CONFLICT_RETRIES = 20
RECLAIM_BATCH = 200
#: Unlocked candidates read per cluster a job asks for (others may take some first).
CANDIDATES_PER_SLOT = 4
#: How many windows of busy candidates allocation skips before it waits for them.
ALLOCATION_PASSES = 10
#: How many rounds allocation makes at most (each ends with work, or with candidates
#: that others filled meanwhile).
WAITING_ROUNDS = 200


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


def annotator_name(name: str) -> str:
    """An annotator's name as given, checked: not empty, no control characters, fits."""
    cleaned = name.strip() if isinstance(name, str) else ""
    if not cleaned:
        raise ConfigurationError("an annotator needs a name (it was empty)")
    if len(cleaned) > NAME_LIMIT or any(not ch.isprintable() for ch in cleaned):
        raise ConfigurationError(
            f"annotator name {cleaned[:40]!r}: at most {NAME_LIMIT} printable characters"
        )
    return cleaned


def holder_of(name: str) -> str:
    """The key a person holds work under: names compared case-folded."""
    return annotator_name(name).casefold()


def _check_lease(lease: dt.timedelta) -> None:
    low, high = LEASE_RANGE
    if not low <= lease <= high:
        raise ConfigurationError(
            f"a lease of {lease.total_seconds() / 60:g} minutes: it must be between "
            f"{low.total_seconds() / 60:g} minutes and {high.total_seconds() / 3600:g} hours"
        )


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
        session.execute(
            update(JobItem).where(JobItem.id == s.id).values(status="expired", holder=None)
        )
        session.execute(
            update(TaskItem).where(TaskItem.id == s.task_item_id).values(leased=TaskItem.leased - 1)
        )
    return len(reclaimed)


def _held_by(holder: str) -> Any:
    """A condition: the task item is held (leased or done) by ``holder``."""
    return exists().where(and_(JobItem.task_item_id == TaskItem.id, JobItem.holder == holder))


def _open_items(session: Session, task_id: int, holder: str, size: int) -> list[tuple[int, int]]:
    """Lock up to ``size`` work items the person may take: (task item id, cluster id).

    Candidates are read without locks first; only those ``task_item`` rows are
    then locked by primary key (``SKIP LOCKED``), so allocation never locks a row
    it does not take, nor one of another table a submission might wait for.
    Candidates another annotator is taking right now are skipped and the next
    ones tried; once every candidate was busy, allocation waits for them
    instead. An empty list therefore means no work is left for this person.
    """
    mine = _held_by(holder)
    open_ = TaskItem.done + TaskItem.leased < TaskItem.required
    order = (TaskItem.site_id, TaskItem.start, TaskItem.id)
    tried: list[int] = []
    waiting = False
    for _ in range(WAITING_ROUNDS):
        query = select(TaskItem.id).where(TaskItem.task_id == task_id, open_, ~mine)
        if tried and not waiting:
            query = query.where(TaskItem.id.not_in(tried))
        candidates = list(session.scalars(query.order_by(*order).limit(size * CANDIDATES_PER_SLOT)))
        if not candidates:
            if tried and not waiting:
                waiting = True  # everything left was busy: wait for it rather than say "none"
                continue
            return []
        locking = (
            select(TaskItem.id, TaskItem.cluster_id)
            .where(TaskItem.id.in_(candidates), open_, ~mine)
            .order_by(*order)
            .limit(size)
        )
        locked = session.execute(
            locking.with_for_update() if waiting else locking.with_for_update(skip_locked=True)
        ).all()
        if locked:
            return [(row.id, row.cluster_id) for row in locked]
        tried.extend(candidates)
        waiting = waiting or len(tried) >= ALLOCATION_PASSES * size * CANDIDATES_PER_SLOT
    raise StaleWorkError("the task is too busy to hand out work right now: try again")


def next_job(
    sessions: sessionmaker[Session],
    task_id: int,
    annotator: str,
    size: int = 10,
    lease: dt.timedelta = LEASE,
) -> JobLease | None:
    """Lease up to ``size`` clusters of the task to ``annotator``; None when no work is left
    for them (every cluster is done, held by others as often as the task asks, or theirs).

    Clusters come in site and time order (neighbouring sequences together, as
    annotators prefer); a cluster the annotator already labelled or holds, in
    this or another tab, is never offered to them again.
    """
    name = annotator_name(annotator)
    holder = name.casefold()
    if not 1 <= size <= MAX_JOB_SIZE:
        raise ConfigurationError(f"a job holds 1 to {MAX_JOB_SIZE} clusters, not {size}")
    _check_lease(lease)

    def allocate(session: Session) -> JobLease | None:
        _read_committed(session)
        _serialise_on_sqlite(session)
        now = utcnow()
        _reclaim_expired(session, task_id, now)
        items = _open_items(session, task_id, holder, size)
        if not items:
            return None
        job = Job(task_id=task_id, annotator=name, status="active", expires_at=now + lease)
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
                annotator=name,
                holder=holder,
                status="leased",
                leased_until=job.expires_at,
            )
            for item_id, cluster_id in items
        )
        session.flush()
        return JobLease(job.id, task_id, name, tuple(c for _, c in items), job.expires_at)

    for _ in range(HOLD_CONFLICT_RETRIES):
        try:
            return retrying(sessions, allocate)
        except IntegrityError:
            continue  # another tab of this person took one of the clusters first: read again
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


def _own_job(session: Session, job_id: int, annotator: str) -> Job:
    """The job, when it belongs to ``annotator``."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"job {job_id} does not exist")
    if job.annotator.casefold() != holder_of(annotator):
        raise AccessError(f"job {job_id} belongs to another annotator")
    return job


def _locked_job_item(session: Session, job_id: int, cluster_id: int, annotator: str) -> JobItem:
    """The job's row for a cluster, locked for this transaction (the annotator's own work)."""
    _read_committed(session)
    _serialise_on_sqlite(session)
    _own_job(session, job_id, annotator)
    item = session.scalar(
        select(JobItem)
        .where(JobItem.job_id == job_id, JobItem.cluster_id == cluster_id)
        .with_for_update()
    )
    if item is None:
        raise NotFoundError(f"cluster {cluster_id} is not in job {job_id}")
    if item.status == "replaced":
        raise StaleWorkError(
            f"sequence {cluster_id} changed (its photos were re-grouped, e.g. after a clock "
            "fix): reload to get the new sequences"
        )
    return item


def _take_again(session: Session, item: JobItem) -> None:
    """A submission on a lease that ran out (or was given back): take the cluster again if
    it is still free, else refuse. Counts the submission as done."""
    task_item = session.scalar(
        select(TaskItem).where(TaskItem.id == item.task_item_id).with_for_update()
    )
    assert task_item is not None  # the job item's foreign key
    holder = item.annotator.casefold()
    elsewhere = session.scalar(
        select(JobItem.id).where(
            JobItem.task_item_id == item.task_item_id, JobItem.holder == holder
        )
    )
    if elsewhere is not None:
        raise StaleWorkError(
            f"cluster {item.cluster_id}: you hold it in another job (another tab): "
            "label it there, or reload"
        )
    if task_item.done + task_item.leased >= task_item.required:
        raise StaleWorkError(
            f"cluster {item.cluster_id}: the lease of job {item.job_id} ran out and the "
            "cluster went to someone else; your label was not recorded: reload for new work"
        )
    session.execute(
        update(TaskItem).where(TaskItem.id == task_item.id).values(done=TaskItem.done + 1)
    )
    item.holder = holder


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
    *,
    annotator: str,
) -> list[int]:
    """Record ``annotator``'s labels (and tags) for one cluster of their job.

    ``counts`` gives how many animals of a label were seen (sighting tasks).

    Returns:
        The ids of the new annotation rows. Labelling the same cluster again is a
        correction: the new rows point at the ones they replace.

    Raises:
        AccessError: the job is someone else's.
        StaleWorkError: the lease ran out and the cluster went to someone else, or
            the sequence was re-grouped: nothing was recorded.
    """
    if not labels:
        raise ConfigurationError("submit at least one label (use 'Nothing' for an empty cluster)")
    for name, value in (counts or {}).items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
            raise ConfigurationError(f"count of {name!r}: a whole number from 0, not {value!r}")

    def record(session: Session) -> list[int]:
        item = _locked_job_item(session, job_id, cluster_id, annotator)
        label_ids = _label_ids(session, item.task_id, [*labels, *tags])
        if item.status in ("expired", "released"):
            _take_again(session, item)
        elif item.status == "leased":
            session.execute(
                update(TaskItem)
                .where(TaskItem.id == item.task_item_id)
                .values(done=TaskItem.done + 1, leased=TaskItem.leased - 1)
            )
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
            item.status, item.finished_at = "done", now
        session.flush()
        forget_knockdown(session, [old.id for old in previous])
        if any(name.lower() == KNOCKED_DOWN for name in labels):
            record_knockdown(session, cluster_id, rows[0].id, item.annotator)
        return [r.id for r in rows]

    try:
        return retrying(sessions, record)
    except IntegrityError:  # another tab took the cluster back first: now refused as stale
        return retrying(sessions, record)


def undo(
    sessions: sessionmaker[Session], job_id: int, cluster_id: int, *, annotator: str
) -> list[int]:
    """Take back the annotator's last submission for a cluster and restore the one before.

    Nothing is deleted: the undone rows stay in the history, inactive. Undoing
    the first submission leaves the cluster unlabelled by this annotator (and
    back in their job while the lease lasts).

    Returns:
        The ids of the annotation rows active again (empty when there was no earlier one).
    """

    def take_back(session: Session) -> list[int]:
        item = _locked_job_item(session, job_id, cluster_id, annotator)
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
            item.holder = item.holder if held else None
        return []

    return retrying(sessions, take_back)


def release(sessions: sessionmaker[Session], job_id: int, *, annotator: str) -> int:
    """Give back the clusters of ``annotator``'s job that were not annotated; returns how many."""

    def give_back(session: Session) -> int:
        _read_committed(session)
        _serialise_on_sqlite(session)
        job = _own_job(session, job_id, annotator)
        items = session.scalars(
            select(JobItem)
            .where(JobItem.job_id == job_id, JobItem.status == "leased")
            .with_for_update()
        ).all()
        for item in items:
            item.status, item.finished_at, item.holder = "released", utcnow(), None
            session.execute(
                update(TaskItem)
                .where(TaskItem.id == item.task_item_id)
                .values(leased=TaskItem.leased - 1)
            )
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


#: The lease a page's heartbeat keeps extending: short, so a closed page's job lapses soon.
HEARTBEAT_LEASE = dt.timedelta(minutes=3)
#: How long an annotator may sit idle before their job goes back: when others wait for
#: work, and when nobody does (as TrapTagger).
IDLE_WHEN_OTHERS_WAIT = dt.timedelta(minutes=3)
IDLE_OTHERWISE = dt.timedelta(minutes=30)


def heartbeat(
    sessions: sessionmaker[Session],
    job_id: int,
    lease: dt.timedelta = HEARTBEAT_LEASE,
    *,
    annotator: str,
) -> dt.datetime | None:
    """Extend the lease of ``annotator``'s job to ``lease`` from now (the page is still open).

    Only clusters still leased to the job are extended; a lease that already ran out
    and was reclaimed stays given back.

    Returns:
        The new expiry, or None when the job holds nothing any more (finished,
        released, or lapsed and reclaimed).
    """
    _check_lease(lease)

    def extend(session: Session) -> dt.datetime | None:
        _read_committed(session)
        job = _own_job(session, job_id, annotator)
        if job.status != "active":
            return None
        until = utcnow() + lease
        held = list(
            session.scalars(
                select(JobItem.id)
                .where(JobItem.job_id == job_id, JobItem.status == "leased")
                .with_for_update()
            )
        )
        if not held:
            return None
        session.execute(update(JobItem).where(JobItem.id.in_(held)).values(leased_until=until))
        job.expires_at = until
        return until

    return retrying(sessions, extend)


def idle_limit(session: Session, task_id: int) -> dt.timedelta:
    """How long an annotator may idle on a job of the task before it goes back: short when
    every open cluster is leased (others are waiting for it), long otherwise."""
    counts = progress(session, task_id)
    free = counts["annotations_needed"] - counts["annotations_done"] - counts["in_progress"]
    return IDLE_WHEN_OTHERS_WAIT if free <= 0 and counts["in_progress"] else IDLE_OTHERWISE


@dataclass(frozen=True)
class PastAnswer:
    """One sequence the annotator labelled, as they left it (for going back to correct it)."""

    job_id: int
    cluster_id: int
    labels: tuple[str, ...]
    tags: tuple[str, ...]
    note: str | None


def recent_answers(
    session: Session, task_id: int, annotator: str, limit: int = 50
) -> list[PastAnswer]:
    """The annotator's ``limit`` most recently labelled sequences of a task, newest first,
    each with its current (active) answer and the job it was labelled in."""
    from sqlalchemy import func

    name = annotator_name(annotator)
    latest = session.execute(
        select(Annotation.cluster_id, func.max(Annotation.id).label("last"))
        .where(
            Annotation.task_id == task_id,
            Annotation.annotator == name,
            Annotation.active.is_(True),
            Annotation.job_id.is_not(None),
        )
        .group_by(Annotation.cluster_id)
        .order_by(func.max(Annotation.id).desc())
        .limit(limit)
    ).all()
    clusters = [row.cluster_id for row in latest]
    rows = session.execute(
        select(Annotation.cluster_id, Annotation.job_id, Annotation.note, Label.name, Label.is_tag)
        .join(Label, Label.id == Annotation.label_id)
        .where(
            Annotation.task_id == task_id,
            Annotation.annotator == name,
            Annotation.active.is_(True),
            Annotation.cluster_id.in_(clusters),
        )
        .order_by(Annotation.id)
    ).all()
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        entry = found.setdefault(
            row.cluster_id, {"job": row.job_id, "labels": [], "tags": [], "note": row.note}
        )
        entry["tags" if row.is_tag else "labels"].append(row.name)
    return [
        PastAnswer(
            int(found[c]["job"]),
            int(c),
            tuple(found[c]["labels"]),
            tuple(found[c]["tags"]),
            found[c]["note"],
        )
        for c in clusters
        if c in found
    ]
