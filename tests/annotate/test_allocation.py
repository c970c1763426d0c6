"""Allocation that never misleads, on every backend: one hold per person and cluster,
jobs bound to their annotator, stale submissions refused, "no work" only when none is left."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from traptagger_lab.annotate.simulate import synthetic_clusters
from traptagger_lab.db.engine import make_engine, transaction, upgrade
from traptagger_lab.db.models import JobItem, TaskItem
from traptagger_lab.errors import AccessError, ConfigurationError, StaleWorkError


def _task(lab: Any, clusters: int, copies: int = 1, name: str = "T") -> Any:
    with transaction(lab.sessions) as session:
        synthetic_clusters(session, name, clusters, sites=4)
    return lab.tasks.create(
        name, "species", labels=["Impala", "Zebra"], annotations_per_cluster=copies
    )


def _expire(lab: Any, job: Any) -> None:
    with transaction(lab.sessions) as session:
        session.execute(
            update(JobItem)
            .where(JobItem.job_id == job.id)
            .values(leased_until=dt.datetime(2000, 1, 1))
        )


def test_one_person_in_many_tabs_never_gets_a_cluster_twice(
    database_url: str, lab_factory: Any
) -> None:
    """Six tabs of one annotator race for a task that wants three people per cluster."""
    lab = lab_factory(database_url=database_url, database_pool_size=12)
    task = _task(lab, 60, copies=3)
    start = threading.Barrier(6)

    def tab(number: int) -> list[int]:
        start.wait()
        taken: list[int] = []
        while (job := lab.annotate.next_job(task, "Ann" if number % 2 else "ann", 4)) is not None:
            taken.extend(job.clusters)
        return taken

    with ThreadPoolExecutor(6) as pool:
        held = [c for part in pool.map(tab, range(6)) for c in part]
    assert Counter(held).most_common(1)[0][1] == 1  # "Ann" and "ann" are one person
    assert len(held) == 60  # and she got every cluster once
    with lab.sessions() as session:
        assert {row.leased for row in session.execute(select(TaskItem.leased))} == {1}
    assert lab.annotate.next_job(task, "bob", 100) is not None  # the other copies are free


def test_the_database_refuses_a_second_hold(database_url: str, lab_factory: Any) -> None:
    """The rule is the database's (unique holder per work item), not only the allocator's."""
    lab = lab_factory(database_url=database_url)
    task = _task(lab, 3, copies=2)
    job = lab.annotate.next_job(task, "ann", 1)
    with lab.sessions() as session:
        first = session.scalar(select(JobItem).where(JobItem.job_id == job.id))
        second = JobItem(
            job_id=job.id,
            task_id=task.id,
            task_item_id=first.task_item_id,
            cluster_id=first.cluster_id,
            annotator="ANN",
            holder="ann",
            status="leased",
            leased_until=first.leased_until,
        )
        session.add(second)
        with pytest.raises(IntegrityError):
            session.commit()


def test_consensus_needs_distinct_people(database_url: str, lab_factory: Any) -> None:
    lab = lab_factory(database_url=database_url)
    task = _task(lab, 4, copies=2)
    first = lab.annotate.next_job(task, "ann", 10)
    for cluster in first.clusters:
        lab.annotate.submit(first, cluster, labels=["Impala"])
    assert lab.annotate.next_job(task, " ANN ", 10) is None  # the same person, in capitals
    assert lab.tasks.final_labels(task).empty  # one person's labels are no consensus
    second = lab.annotate.next_job(task, "bob", 10)
    for cluster in second.clusters:
        lab.annotate.submit(second, cluster, labels=["Impala"])
    final = lab.tasks.final_labels(task)
    assert len(final) == 4
    assert set(final.settled_by) == {"agreed"}


def test_a_stale_submission_is_refused_and_a_free_one_kept(
    database_url: str, lab_factory: Any
) -> None:
    lab = lab_factory(database_url=database_url)
    task = _task(lab, 4)
    ann = lab.annotate.next_job(task, "ann", 2)
    _expire(lab, ann)
    bob = lab.annotate.next_job(task, "bob", 1)  # takes ann's first, now expired, cluster
    assert bob.clusters == ann.clusters[:1]
    with pytest.raises(StaleWorkError, match="went to someone else"):
        lab.annotate.submit(ann, ann.clusters[0], labels=["Zebra"])
    lab.annotate.submit(ann, ann.clusters[1], labels=["Zebra"])  # expired but still free
    lab.annotate.submit(bob, bob.clusters[0], labels=["Impala"])
    final = lab.tasks.final_labels(task).set_index("cluster_id")
    assert final.loc[ann.clusters[0], "labels"] == "impala"  # bob's, and only bob's
    assert final.loc[ann.clusters[1], "labels"] == "zebra"
    progress = lab.tasks.progress(task)
    assert (progress["annotations_done"], progress["in_progress"]) == (2, 0)
    rest = lab.annotate.next_job(task, "ann", 10)
    assert len(rest.clusters) == 2  # the two clusters no one has had
    assert not set(rest.clusters) & set(ann.clusters)


def test_jobs_are_bound_to_their_annotator(database_url: str, lab_factory: Any) -> None:
    lab = lab_factory(database_url=database_url)
    task = _task(lab, 4)
    ann = lab.annotate.next_job(task, "ann", 2)
    with pytest.raises(AccessError, match="another annotator"):
        lab.annotate.submit(ann.id, ann.clusters[0], labels=["Zebra"], annotator="bob")
    with pytest.raises(AccessError):
        lab.annotate.release(ann.id, annotator="bob")
    with pytest.raises(AccessError):
        lab.annotate.undo(ann.id, ann.clusters[0], annotator="bob")
    with pytest.raises(ConfigurationError, match="which annotator"):
        lab.annotate.submit(ann.id, ann.clusters[0], labels=["Zebra"])
    assert lab.annotate.submit(ann.id, ann.clusters[0], labels=["Zebra"], annotator="ANN")
    assert lab.annotate.release(ann.id, annotator="ann") == 1
    assert lab.tasks.progress(task)["in_progress"] == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"annotator": ""}, "needs a name"),
        ({"annotator": "   "}, "needs a name"),
        ({"annotator": "a\x00b"}, "printable"),
        ({"annotator": "x" * 201}, "printable"),
        ({"lease_minutes": 0}, "between"),
        ({"lease_minutes": -5}, "between"),
        ({"lease_minutes": 10**9}, "between"),
        ({"lease_minutes": float("nan")}, "not a duration"),
        ({"size": 0}, "1 to"),
        ({"size": 10**6}, "1 to"),
    ],
)
def test_bad_allocation_arguments(
    lab_factory: Any, tmp_path: Any, arguments: dict[str, Any], message: str
) -> None:
    lab = lab_factory(database_url=f"sqlite:///{tmp_path / 'lab.db'}")
    task = _task(lab, 2)
    call = {"annotator": "ann", "size": 1, "lease_minutes": 30.0, **arguments}
    with pytest.raises(ConfigurationError, match=message):
        lab.annotate.next_job(task, **call)
    job = lab.annotate.next_job(task, "ann", 1)
    with pytest.raises(ConfigurationError, match="whole number"):
        lab.annotate.submit(job, job.clusters[0], labels=["Zebra"], counts={"Zebra": 2.5})


def test_busy_work_is_waited_for_not_reported_as_none(database_url: str, lab_factory: Any) -> None:
    """While another allocation holds every open row, next_job waits; it never says "none"."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite allocations are serialised by its single write lock")
    lab = lab_factory(database_url=database_url)
    task = _task(lab, 30)
    blocker = make_engine(database_url)
    result: list[Any] = []
    try:
        with blocker.connect() as connection, connection.begin() as held:
            rows = connection.execute(
                text("SELECT id FROM task_item WHERE task_id = :t FOR UPDATE"), {"t": task.id}
            ).all()
            assert len(rows) == 30
            worker = threading.Thread(
                target=lambda: result.append(lab.annotate.next_job(task, "ann", 3))
            )
            worker.start()
            worker.join(timeout=2)
            assert worker.is_alive()
            assert not result
            held.rollback()  # the other allocation took nothing
        worker.join(timeout=60)
        assert result
        assert result[0] is not None
        assert len(result[0].clusters) == 3
    finally:
        blocker.dispose()


def test_the_upgrade_keeps_one_hold_per_person(database_url: str) -> None:
    """Rows from before the rule: a person's second hold on a cluster loses its hold."""
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0008")
        with engine.begin() as connection:
            insert = _seed_old_schema(connection)
            insert("job_item", id=1, annotator="Ann", status="done")
            insert("job_item", id=2, annotator="ann", status="leased")  # the bug's double
            insert("job_item", id=3, annotator="bob", status="released")
            insert("job_item", id=4, annotator="bob", status="leased")
        upgrade(engine)
        with engine.connect() as connection:
            holders = dict(connection.execute(text("SELECT id, holder FROM job_item")).all())
        assert holders == {1: "ann", 2: None, 3: None, 4: "bob"}
    finally:
        engine.dispose()


def _seed_old_schema(connection: Any) -> Any:
    """A survey with one cluster in one task and job, written without the models (any
    other required column gets an empty value of its type)."""
    now = dt.datetime(2026, 1, 1)
    metadata = sa.MetaData()
    metadata.reflect(connection)
    given = {
        "survey": {"settings": "{}"},  # MariaDB reflects JSON as checked text
        "site": {"survey_id": 1},
        "cluster": {"survey_id": 1, "site_id": 1, "active": True},
        "task": {"survey_id": 1, "params": "{}"},
        "task_item": {"task_id": 1, "cluster_id": 1, "site_id": 1, "required": 3},
        "job": {"task_id": 1, "annotator": "ann"},
        "job_item": {"job_id": 1, "task_id": 1, "task_item_id": 1, "cluster_id": 1},
    }

    def empty(column: sa.Column[Any]) -> Any:
        kind = column.type.python_type if not isinstance(column.type, sa.JSON) else dict
        return {str: "x", int: 0, bool: False, float: 0.0, dict: {}, dt.datetime: now}[kind]

    def insert(table: str, **values: Any) -> None:
        columns = metadata.tables[table].columns
        row = {
            c.name: empty(c)
            for c in columns
            if not c.nullable and not c.primary_key and c.server_default is None
        }
        row.update({**given.get(table, {}), **values})
        connection.execute(metadata.tables[table].insert().values(**row))

    for table in ("survey", "site", "cluster", "task", "task_item", "job"):
        insert(table, id=1)
    return insert
