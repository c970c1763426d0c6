"""Tasks and job allocation on every backend: leases, consensus, history, expiry, release."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from traptagger_lab.db.models import Annotation, ClusterSuggestion, Job, JobItem
from traptagger_lab.errors import ConfigurationError, NotFoundError, StaleWorkError


def test_annotate_a_task_to_the_end(lab: Any, tmp_path: Path) -> None:
    task = lab.tasks.create(
        "S", "species", labels={"Antelope": ["Impala"], "Zebra": []}, tags=["juvenile"]
    )
    clusters = lab.status_counts("S")["clusters"]
    assert lab.tasks.progress(task)["clusters"] == clusters
    first = lab.annotate.next_job(task, "ann", size=4)
    second = lab.annotate.next_job(task, "bob", size=4)
    assert len(first.clusters) == 4
    assert not set(first.clusters) & set(second.clusters)

    ids = lab.annotate.submit(first, first.clusters[0], labels=["Impala"], tags=["juvenile"])
    assert len(ids) == 2
    correction = lab.annotate.submit(first, first.clusters[0], labels=["Zebra"])
    with lab.sessions() as session:
        rows = session.scalars(
            select(Annotation).where(Annotation.cluster_id == first.clusters[0])
        ).all()
        active = [r for r in rows if r.active]
        assert len(rows) == 3
        assert [r.id for r in active] == correction
        assert active[0].previous_id in ids  # history kept: the correction points back
    with pytest.raises(NotFoundError, match="unknown label"):
        lab.annotate.submit(first, first.clusters[1], labels=["Unicorn"])
    with pytest.raises(NotFoundError, match="not in job"):
        lab.annotate.submit(first, second.clusters[0], labels=["Zebra"])

    assert lab.annotate.release(first) == 3  # three clusters were still leased
    done = {first.clusters[0]}
    while (job := lab.annotate.next_job(task, "ann", size=5)) is not None:
        for cluster in job.clusters:
            lab.annotate.submit(job, cluster, labels=["Nothing"])
            done.add(cluster)
    progress = lab.tasks.progress(task)
    assert progress["in_progress"] == len(second.clusters)  # bob still holds his
    for cluster in second.clusters:
        lab.annotate.submit(second, cluster, labels=["Impala"])
    progress = lab.tasks.progress(task)
    assert progress["complete"] == clusters
    assert progress["in_progress"] == 0

    lab.tasks.export_labels(task, tmp_path / "labels.csv")
    copy = lab.tasks.create("S", "again", labels=tmp_path / "labels.csv")
    assert lab.tasks.labels(copy).equals(lab.tasks.labels(task))


def test_consensus_expiry_and_no_repeats(lab: Any) -> None:
    task = lab.tasks.create("S", "double", labels=["Impala"], annotations_per_cluster=2)
    total = lab.tasks.progress(task)["clusters"]
    job = lab.annotate.next_job(task, "ann", size=total)
    assert len(job.clusters) == total
    assert lab.annotate.next_job(task, "ann", size=5) is None  # never the same cluster twice
    other = lab.annotate.next_job(task, "bob", size=total)
    assert set(other.clusters) == set(job.clusters)  # the second copy of each
    assert lab.annotate.next_job(task, "cat", size=5) is None  # both copies are leased

    with lab.sessions() as session, session.begin():  # ann walked away: her lease runs out
        session.execute(
            update(JobItem)
            .where(JobItem.job_id == job.id)
            .values(leased_until=dt.datetime(2000, 1, 1))
        )
    late = lab.annotate.next_job(task, "cat", size=total)
    assert late is not None
    assert set(late.clusters) == set(job.clusters)
    with pytest.raises(StaleWorkError, match="went to someone else"):  # cat has it now
        lab.annotate.submit(job, job.clusters[0], labels=["Impala"])
    lab.annotate.release(late)  # cat gives them back: late work on a free cluster is kept
    lab.annotate.submit(job, job.clusters[0], labels=["Impala"])
    with lab.sessions() as session:
        kept = session.scalars(select(Annotation).where(Annotation.job_id == job.id)).all()
        assert len(kept) == 1
    assert lab.tasks.progress(task)["annotations_done"] == 1


def test_bad_task_arguments(lab: Any) -> None:
    with pytest.raises(ConfigurationError, match="task kind"):
        lab.tasks.create("S", "x", labels=["A"], kind="everything")
    lab.tasks.create("S", "x", labels=["A"])
    with pytest.raises(ConfigurationError, match="already has a task"):
        lab.tasks.create("S", "x", labels=["A"])
    with pytest.raises(ConfigurationError, match="twice"):
        lab.tasks.create("S", "y", labels=["A", "a"])


def test_annotator_statistics(lab: Any) -> None:
    task = lab.tasks.create("S", "pairs", labels=["Impala", "Zebra"], annotations_per_cluster=2)
    ann = lab.annotate.next_job(task, "ann", size=4)
    bob = lab.annotate.next_job(task, "bob", size=4)
    assert set(ann.clusters) == set(bob.clusters)
    for index, cluster in enumerate(ann.clusters):
        lab.annotate.submit(ann, cluster, labels=["Impala"])
        lab.annotate.submit(bob, cluster, labels=["Impala" if index < 3 else "Zebra"])
    with lab.sessions() as session, session.begin():  # the AI said zebra for the last one
        session.add(ClusterSuggestion(cluster_id=ann.clusters[3], model="m", label="Zebra"))
    stats = lab.tasks.annotator_stats(task).set_index("annotator")
    assert stats.loc["ann", "agreement_with_ai"] == 0.0
    assert stats.loc["bob", "agreement_with_ai"] == 1.0
    assert stats.loc["ann", "clusters"] == 4
    assert stats.loc["bob", "clusters"] == 4
    assert stats.loc["ann", "agreement_with_others"] == 0.75
    assert stats.loc["bob", "agreement_with_others"] == 0.75
    assert stats.loc["ann", "images"] >= 4
    assert stats.loc["ann", "hours"] >= 0

    pace = lab.tasks.pace(task, "ann")
    total = lab.tasks.progress(task)["clusters"]
    assert (pace.complete, pace.clusters, pace.mine) == (4, total, 4)
    assert pace.task_per_hour == 8  # both annotators' submissions of the last hour
    assert pace.annotations_left == 2 * total - 8
    assert pace.eta_hours == pytest.approx((2 * total - 8) / 8)
    assert pace.describe().startswith(f"task: 4 of {total} sequences done, about ")
    assert "you: 4 sequences" in pace.describe()
    assert lab.tasks.pace(task, "nobody").mine == 0
    assert pace.my_per_hour is None  # seconds of work give no meaningful rate
    with lab.sessions() as session, session.begin():  # ann started two hours ago
        job_row = session.get(Job, ann.id)
        job_row.created_at -= dt.timedelta(hours=2)
    slow = lab.tasks.pace(task, "ann")
    assert slow.my_per_hour == pytest.approx(2.0, rel=0.01)
    assert "(2 per hour)" in slow.describe()


def test_undo_restores_the_previous_value(lab: Any) -> None:
    task = lab.tasks.create("S", "undo", labels=["Impala", "Zebra"], tags=["juvenile"])
    job = lab.annotate.next_job(task, "ann", size=2)
    cluster = job.clusters[0]

    first = lab.annotate.submit(job, cluster, labels=["Impala"], tags=["juvenile"])
    lab.annotate.submit(job, cluster, labels=["Zebra"])
    assert sorted(lab.annotate.undo(job, cluster)) == sorted(first)  # Impala + juvenile again
    assert lab.tasks.progress(task)["complete"] == 1
    assert lab.annotate.undo(job, cluster) == []  # undo the first one too: unlabelled again
    progress = lab.tasks.progress(task)
    assert progress["complete"] == 0
    assert progress["in_progress"] == 2
    with lab.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Annotation)) == 3  # history kept
    lab.annotate.submit(job, cluster, labels=["Zebra"])  # and it can be labelled again
    assert lab.tasks.progress(task)["complete"] == 1


def test_knocked_down_makes_an_outage(lab: Any) -> None:
    task = lab.tasks.create("S", "kd", labels=["Impala"])
    job = lab.annotate.next_job(task, "ann", size=2)
    lab.annotate.submit(job, job.clusters[0], labels=["Knocked down"])
    outages = lab.tasks.outages("S")
    assert len(outages) >= 1
    assert outages.end.isna().all()
    assert (outages.created_by == "ann").all()
    outage_id = int(outages.outage_id.iloc[0])
    start = outages.start.iloc[0].to_pydatetime()
    with pytest.raises(ValueError, match="before it starts"):
        lab.tasks.end_outage(outage_id, start - dt.timedelta(days=1))
    lab.tasks.end_outage(outage_id, start + dt.timedelta(days=3))
    assert lab.tasks.outages("S").set_index("outage_id").end[outage_id] == start + dt.timedelta(
        days=3
    )
    lab.annotate.submit(
        job, job.clusters[0], labels=["Impala"]
    )  # a correction: no outage after all
    assert lab.tasks.outages("S").empty
    lab.annotate.undo(job, job.clusters[0])  # back to "Knocked down": the outage returns
    assert len(lab.tasks.outages("S")) >= 1


def test_sublabel_task_refines_one_label(lab: Any) -> None:
    broad = lab.tasks.create("S", "broad", labels=["Antelope", "Zebra"])
    job = lab.annotate.next_job(broad, "ann", size=4)
    for index, cluster in enumerate(job.clusters):
        lab.annotate.submit(job, cluster, labels=["Antelope" if index < 3 else "Zebra"])
    fine = lab.tasks.create(
        "S", "antelopes", labels=["Impala", "Kudu"], kind="sublabel", refine=(broad, "antelope")
    )
    assert lab.tasks.progress(fine)["clusters"] == 3
    again = lab.annotate.next_job(fine, "bob", size=10)
    assert set(again.clusters) == set(job.clusters[:3])
    with pytest.raises(ConfigurationError, match="needs refine"):
        lab.tasks.create("S", "nothing to refine", labels=["Impala"], kind="sublabel")


def test_a_lease_not_renewed_lapses(lab: Any) -> None:
    """A page's heartbeat keeps its job; without one the short lease lapses and the
    sequences go back to the pool (the page was closed or the annotator left)."""
    task = lab.tasks.create("S", "species", labels=["Impala", "Zebra"])
    job = lab.annotate.next_job(task, "ann", size=3, lease_minutes=3)
    before = lab.tasks.progress(task)["in_progress"]
    assert before == 3
    extended = lab.annotate.heartbeat(job, minutes=3)
    assert extended is not None
    assert extended >= job.expires_at
    with lab.sessions() as session:  # the leased items follow the job's new expiry
        until = session.scalars(select(JobItem.leased_until).where(JobItem.job_id == job.id))
        assert {u.replace(tzinfo=None) for u in until} == {extended.replace(tzinfo=None)}
    from traptagger_lab.db.engine import transaction

    with transaction(lab.sessions) as session:  # three minutes without a heartbeat later
        session.execute(
            update(JobItem)
            .where(JobItem.job_id == job.id)
            .values(leased_until=dt.datetime(2000, 1, 1))
        )
    bob = lab.annotate.next_job(task, "bob", size=3)
    assert set(bob.clusters) == set(job.clusters)  # back in the pool, bob gets them
    assert lab.annotate.heartbeat(job, minutes=3) is None  # the lapsed job is not revived
    assert lab.annotate.idle_limit(task) == dt.timedelta(minutes=30)  # work is still free
    lab.annotate.release(bob)
    assert lab.annotate.heartbeat(bob, minutes=3) is None  # released: nothing to extend
    with pytest.raises(ConfigurationError):
        lab.annotate.heartbeat(job, minutes=0)


def test_history_of_answers_across_jobs(lab: Any) -> None:
    task = lab.tasks.create("S", "species", labels=["Impala", "Zebra"], tags=["juvenile"])
    one = lab.annotate.next_job(task, "ann", size=1)
    lab.annotate.submit(one, one.clusters[0], labels=["Impala", "Zebra"], tags=["juvenile"])
    lab.annotate.release(one)
    two = lab.annotate.next_job(task, "ann", size=1)
    lab.annotate.submit(two, two.clusters[0], labels=["Zebra"], note="far")
    past = lab.annotate.history(task, "ann")
    assert [(p.job_id, p.cluster_id) for p in past] == [
        (two.id, two.clusters[0]),
        (one.id, one.clusters[0]),
    ]
    assert past[0].labels == ("Zebra",)
    assert past[0].note == "far"
    assert past[1].labels == ("Impala", "Zebra")
    assert past[1].tags == ("juvenile",)
    lab.annotate.submit(one.id, one.clusters[0], labels=["Zebra"], annotator="ann")  # a fix
    assert lab.annotate.history(task, "ann", limit=1)[0].cluster_id == one.clusters[0]
