"""Annotation soak: many annotators, reloads, abandoned tabs and expired leases, for minutes.

    python benchmarks/annotate_soak.py [--server URL ...] [--minutes 20] [--annotators 50]
                                       [--clusters 40000] [--copies 2] [--think 1.0]

Each server gets a scratch database and a task wanting ``--copies`` people per
cluster. ``--annotators`` people work it at once as threads (a fifth of them
in two tabs, which share their name), each cluster taking them ``--think``
seconds on average. While they work they misbehave as people do: a tab is
reloaded (a new job while the old one stays leased), a job is abandoned
half-way (its one-minute lease runs out and others get it), and a late
answer is sent on an abandoned job after its lease ran out. At the end the
database is checked against what every annotator was told:

- allocations: jobs handed out; expiries: leases that ran out and were reclaimed;
- duplicates: a person holding or labelling one cluster twice (must be 0);
- lost submissions: a submission that was accepted but whose label is not the
  one in force for that person and cluster (must be 0); a late one refused as
  stale is counted apart, since the annotator was told;
- counter drift: task items whose done/leased counters differ from their job rows (must be 0);
- false "all done": next_job said no work was left while some was (must be 0);
- next-job and submit latency p50/p99, and the same for a calm baseline run
  (one annotator, no misbehaviour) in the same process.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import create_engine, func, select, text

LEASE_MINUTES = 1.0
#: Per cluster looked at: chance of reloading the tab, of walking away from the job.
RELOAD, ABANDON = 0.01, 0.01
#: Per abandoned job: chance the annotator comes back after the lease ran out and answers.
LATE_ANSWER = 0.3


@dataclass
class Person:
    """What one tab was told, and how long each call took."""

    name: str
    accepted: dict[tuple[int, int], list[int]] = field(default_factory=dict)  # (job, cluster)
    refused_stale: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    jobs: int = 0
    false_none: int = 0
    next_job_s: list[float] = field(default_factory=list)
    submit_s: list[float] = field(default_factory=list)
    abandoned: list[Any] = field(default_factory=list)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def _open_left(lab: Any, task_id: int, name: str) -> int:
    """Clusters still open to ``name`` (wanted more often than held, and not theirs)."""
    from traptagger_lab.db.models import JobItem, TaskItem

    with lab.sessions() as session:
        mine = select(JobItem.task_item_id).where(JobItem.holder == name.casefold())
        return int(
            session.scalar(
                select(func.count())
                .select_from(TaskItem)
                .where(
                    TaskItem.task_id == task_id,
                    TaskItem.done + TaskItem.leased < TaskItem.required,
                    TaskItem.id.not_in(mine),
                )
            )
            or 0
        )


def _submit(lab: Any, person: Person, job: Any, cluster: int) -> None:
    from traptagger_lab.errors import StaleWorkError

    labels = [random.choice(["Impala", "Zebra"])]
    began = time.perf_counter()
    try:
        ids = lab.annotate.submit(job, cluster, labels=labels)
    except StaleWorkError:
        person.refused_stale += 1
        return
    except Exception as exc:  # counted and shown: the soak goes on
        person.errors[f"{type(exc).__name__}: {exc}"[:120]] += 1
        return
    finally:
        person.submit_s.append(time.perf_counter() - began)
    person.accepted[(job.id, cluster)] = ids


def _work(lab: Any, task: Any, person: Person, deadline: float, think_s: float, calm: bool) -> None:
    """One tab until the deadline or until no work is left for it."""
    from traptagger_lab.db.models import utcnow

    rng = random.Random(person.name + str(id(person)))
    while time.monotonic() < deadline:
        for old in [j for j in person.abandoned if j.expires_at < utcnow()]:
            person.abandoned.remove(old)  # back after the lease ran out: a late answer
            _submit(lab, person, old, old.clusters[-1])
        began = time.perf_counter()
        try:
            job = lab.annotate.next_job(task, person.name, size=10, lease_minutes=LEASE_MINUTES)
        except Exception as exc:
            person.errors[f"{type(exc).__name__}: {exc}"[:120]] += 1
            time.sleep(0.5)
            continue
        person.next_job_s.append(time.perf_counter() - began)
        if job is None:
            if _open_left(lab, task.id, person.name) and not calm:
                person.false_none += 1  # re-checked below: others may have freed some since
            return
        person.jobs += 1
        for cluster in job.clusters:
            if time.monotonic() >= deadline:
                return
            time.sleep(rng.expovariate(1 / think_s) if think_s else 0)
            if not calm and rng.random() < RELOAD:
                break  # the tab reloads: a new job, this one stays leased until it expires
            if not calm and rng.random() < ABANDON:
                if rng.random() < LATE_ANSWER:
                    person.abandoned.append(job)
                break
            _submit(lab, person, job, cluster)
        else:
            lab.annotate.release(job)


def _check(lab: Any, task: Any, people: list[Person]) -> dict[str, int]:
    """Compare the database with what every annotator was told."""
    from traptagger_lab.db.models import Annotation, JobItem, TaskItem

    with lab.sessions() as session:
        active = {
            (row.job_id, row.cluster_id, row.annotator.casefold()): row.id
            for row in session.execute(
                select(
                    Annotation.id, Annotation.job_id, Annotation.cluster_id, Annotation.annotator
                ).where(Annotation.task_id == task.id, Annotation.active.is_(True))
            )
        }
        per_person = Counter((c, a) for _, c, a in active)
        holders = session.execute(
            select(JobItem.task_item_id, JobItem.holder, func.count())
            .where(JobItem.task_id == task.id, JobItem.holder.is_not(None))
            .group_by(JobItem.task_item_id, JobItem.holder)
            .having(func.count() > 1)
        ).all()
        counted = {
            (row.id): (row.done, row.leased)
            for row in session.execute(
                select(TaskItem.id, TaskItem.done, TaskItem.leased).where(
                    TaskItem.task_id == task.id
                )
            )
        }
        rows = Counter(
            (item, status)
            for item, status in session.execute(
                select(JobItem.task_item_id, JobItem.status).where(JobItem.task_id == task.id)
            )
        )
        expired = sum(n for (_, status), n in rows.items() if status == "expired")
        allocations = int(
            session.scalar(text("SELECT count(*) FROM job WHERE task_id = :t"), {"t": task.id}) or 0
        )
    lost = 0
    for person in people:
        for (job_id, cluster), ids in person.accepted.items():
            if active.get((job_id, cluster, person.name.casefold())) not in ids:
                lost += 1
    drift = sum(
        1
        for item, (done, leased) in counted.items()
        if (done, leased) != (rows[(item, "done")], rows[(item, "leased")])
    )
    duplicates = len(holders) + sum(1 for n in per_person.values() if n > 1)
    return {
        "allocations": allocations,
        "expiries": expired,
        "duplicates": duplicates,
        "lost": lost,
        "drift": drift,
    }


def soak(
    server: str,
    minutes: float,
    annotators: int,
    clusters: int,
    copies: int,
    think_s: float,
    calm: bool,
) -> str:
    from traptagger_lab.annotate.simulate import synthetic_clusters
    from traptagger_lab.db.engine import transaction
    from traptagger_lab.lab import open_lab

    name = f"tt_soak_{uuid.uuid4().hex[:10]}"
    admin_db = "/postgres" if server.startswith("postgresql") else ""
    admin = create_engine(server + admin_db, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        with (
            tempfile.TemporaryDirectory() as scratch,
            open_lab(
                scratch,
                database_url=f"{server}/{name}",
                dask_scheduler="sync",
                database_pool_size=annotators + annotators // 5 + 5,
            ) as lab,
        ):
            with transaction(lab.sessions) as session:
                synthetic_clusters(session, "Soak", clusters)
            task = lab.tasks.create(
                "Soak", "soak", labels=["Impala", "Zebra"], annotations_per_cluster=copies
            )
            people = [Person(f"Annotator-{i:02d}") for i in range(annotators)]
            if not calm:  # a fifth work in two tabs, one of them typing their name in lower case
                people += [Person(p.name.lower()) for p in people[: max(1, annotators // 5)]]
            deadline = time.monotonic() + 60 * minutes
            began = time.perf_counter()
            threads = [
                threading.Thread(target=_work, args=(lab, task, p, deadline, think_s, calm))
                for p in people
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - began
            found = _check(lab, task, people)
            false_none = sum(p.false_none for p in people)
            if false_none:  # re-check: a "none" is false only if work is still open now
                false_none = sum(
                    1 for p in people if p.false_none and _open_left(lab, task.id, p.name)
                )
            progress = lab.tasks.progress(task)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()
    nexts = [t for p in people for t in p.next_job_s]
    submits = [t for p in people for t in p.submit_s]
    accepted = sum(len(p.accepted) for p in people)
    errors = Counter[str]()
    for p in people:
        errors.update(p.errors)
    line = (
        f"{'calm baseline' if calm else 'soak'} on {server.split('+')[0]}: {len(people)} tabs, "
        f"{seconds / 60:.1f} min | allocations {found['allocations']}, submissions accepted "
        f"{accepted}, refused as stale {sum(p.refused_stale for p in people)}, expiries "
        f"{found['expiries']} | duplicates {found['duplicates']}, lost {found['lost']}, "
        f"counter drift {found['drift']}, false 'all done' {false_none}, errors "
        f"{sum(errors.values())} | next-job p50 {1000 * statistics.median(nexts):.1f} ms "
        f"p99 {1000 * _percentile(nexts, 0.99):.1f} ms | submit p50 "
        f"{1000 * statistics.median(submits):.1f} ms p99 {1000 * _percentile(submits, 0.99):.1f} ms"
        f" | task {progress['complete']} of {progress['clusters']} clusters complete"
    )
    for message, count in errors.most_common(5):
        line += f"\n    {count} x {message}"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--server",
        nargs="*",
        default=[
            "mysql+pymysql://root@127.0.0.1:3306",
            "postgresql+psycopg://postgres@127.0.0.1:5432",
        ],
    )
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--clusters", type=int, default=40000)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds per cluster")
    args = parser.parse_args()
    print(
        f"{args.annotators} annotators (+{max(1, args.annotators // 5)} second tabs), "
        f"{args.clusters} clusters x {args.copies} copies, {args.think:g} s per cluster, "
        f"leases of {LEASE_MINUTES:g} min, {args.minutes:g} min per server"
    )
    for server in args.server:
        baseline_minutes = min(1.0, args.minutes / 10)
        print(soak(server, baseline_minutes, 1, 2000, 1, args.think / 10, calm=True), flush=True)
        print(
            soak(
                server, args.minutes, args.annotators, args.clusters, args.copies, args.think, False
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
