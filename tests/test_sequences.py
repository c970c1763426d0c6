"""Clustering: the pure grouping rules, and re-clustering that keeps annotations on their images."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from traptagger_lab.db.engine import transaction
from traptagger_lab.db.models import Annotation, Cluster, Image, JobItem, Label, Task, TaskItem
from traptagger_lab.errors import StaleWorkError
from traptagger_lab.sample import SampleSurvey
from traptagger_lab.sequences import SequenceParams, Shot, group_shots, members_hash

T0 = dt.datetime(2024, 3, 1, 6, 0, 0)


def _shot(i: int, seconds: float | None, camera: int = 1, video: int | None = None) -> Shot:
    when = T0 + dt.timedelta(seconds=seconds) if seconds is not None else None
    return Shot(i, 1, camera, video, when, f"c{camera}/{i:04d}.jpg")


def _ids(groups: list[list[Shot]]) -> list[list[int]]:
    return [[s.image_id for s in g] for g in groups]


def test_gap_splits_and_order() -> None:
    shots = [_shot(3, 130), _shot(1, 0), _shot(2, 59), _shot(4, 131)]
    assert _ids(group_shots(shots, SequenceParams(gap_s=60))) == [[1, 2], [3, 4]]
    assert _ids(group_shots(shots, SequenceParams(gap_s=75))) == [[1, 2, 3, 4]]


def test_long_runs_are_split_at_max_minutes() -> None:
    shots = [_shot(i, i * 30) for i in range(40)]  # one shot every 30 s for 20 minutes
    groups = group_shots(shots, SequenceParams(gap_s=60, max_minutes=5))
    assert all((g[-1].time - g[0].time) <= dt.timedelta(minutes=5) for g in groups)  # type: ignore[operator]
    assert sum(len(g) for g in groups) == 40
    assert len(groups) == 4


def test_sites_cluster_across_cameras_unless_per_camera() -> None:
    shots = [_shot(1, 0, camera=1), _shot(2, 10, camera=2), _shot(3, 20, camera=1)]
    assert _ids(group_shots(shots, SequenceParams())) == [[1, 2, 3]]
    assert _ids(group_shots(shots, SequenceParams(per_camera=True))) == [[1, 3], [2]]


def test_untimed_images_and_videos_stand_alone() -> None:
    shots = [
        _shot(1, 0),
        _shot(2, None),
        _shot(3, None),
        _shot(4, 1, video=9),
        _shot(5, 2, video=9),
    ]
    groups = _ids(group_shots(shots, SequenceParams()))
    assert sorted(groups) == [[1], [2], [3], [4, 5]]


def test_deterministic_whatever_the_input_order() -> None:
    shots = [_shot(i, (i * 37) % 500) for i in range(60)]
    first = _ids(group_shots(shots, SequenceParams()))
    assert _ids(group_shots(list(reversed(shots)), SequenceParams())) == first
    assert members_hash([3, 1, 2]) == members_hash([1, 2, 3])


def _annotate(lab: Any, cluster_id: int, label: str) -> int:
    with transaction(lab.sessions) as session:
        task = session.scalar(select(Task).where(Task.name == "default"))
        if task is None:
            survey_id = session.get(Cluster, cluster_id).survey_id  # type: ignore[union-attr]
            task = Task(survey_id=survey_id, name="default", params={})
            session.add(task)
            session.flush()
        row = Label(task_id=task.id, name=label)
        session.add(row)
        session.flush()
        annotation = Annotation(
            task_id=task.id, cluster_id=cluster_id, label_id=row.id, annotator="ann"
        )
        session.add(annotation)
        session.flush()
        return annotation.id


def test_reclustering_keeps_ids_and_carries_annotations(
    database_url: str, sample_survey: SampleSurvey, lab_factory: Any
) -> None:
    lab = lab_factory(database_url=database_url)
    lab.ingest(str(sample_survey.root), survey="S")
    report = lab.sequences("S", gap_s=60)
    # One cluster per burst, one per untimed photo, one for the video.
    assert report.clusters == sample_survey.bursts + len(sample_survey.without_timestamp) + 1
    table = lab.images("S")
    photos = table[table.failure_reason.isna()]
    assert photos.cluster_id.notna().all()

    again = lab.sequences("S", gap_s=60)
    assert (again.kept, again.created, again.retired) == (report.clusters, 0, 0)
    assert lab.images("S").cluster_id.equals(table.cluster_id)

    with lab.sessions() as session:
        big = session.scalars(
            select(Cluster).where(Cluster.video_id.is_(None)).order_by(Cluster.image_count.desc())
        ).first()
        assert big is not None
        assert big.image_count >= 3
        member_ids = set(session.scalars(select(Image.id).where(Image.cluster_id == big.id)))
    original = _annotate(lab, big.id, "zebra")

    split = lab.sequences("S", gap_s=0.5)  # every shot of a burst is now its own cluster
    assert split.retired == 1
    assert split.annotations_carried == len(member_ids)
    with lab.sessions() as session:
        carried = session.scalars(
            select(Annotation).where(Annotation.carried_from_id == original)
        ).all()
        holders = {
            i
            for a in carried
            for i in session.scalars(select(Image.id).where(Image.cluster_id == a.cluster_id))
        }
        assert holders == member_ids  # each label stays on the images it was made on
        old = session.get(Cluster, big.id)
        assert old is not None
        assert not old.active
        assert not session.get(Annotation, original).active  # type: ignore[union-attr]

    merged = lab.sequences("S", gap_s=60)  # back to bursts: the copies merge into one cluster
    assert merged.retired == len(member_ids)
    with lab.sessions() as session:
        cluster_ids = set(session.scalars(select(Image.cluster_id).where(Image.id.in_(member_ids))))
        assert len(cluster_ids) == 1
        labels = session.scalars(
            select(Annotation).where(
                Annotation.cluster_id == cluster_ids.pop(), Annotation.active.is_(True)
            )
        ).all()
        assert len(labels) == 1  # the one label the annotator made, back on its images
        assert labels[0].carried_from_id == original


def _cluster_of_image(lab: Any) -> dict[int, int]:
    with lab.sessions() as session:
        rows = session.execute(
            select(Image.id, Image.cluster_id).where(Image.cluster_id.is_not(None))
        )
        return {image_id: cluster_id for image_id, cluster_id in rows}


def _task_clusters(lab: Any, task: Any) -> tuple[set[int], set[int]]:
    """The clusters a task holds, and the survey's active clusters."""
    with lab.sessions() as session:
        held = set(session.scalars(select(TaskItem.cluster_id).where(TaskItem.task_id == task.id)))
        active = set(session.scalars(select(Cluster.id).where(Cluster.active.is_(True))))
    return held, active


def test_a_task_half_done_survives_reclustering(
    database_url: str, sample_survey: SampleSurvey, lab_factory: Any
) -> None:
    """Split, merge and a clock fix under a task mid-way: items follow the photos, finished
    work stays finished, a job loaded before the change is told to reload, nothing is lost."""
    lab = lab_factory(database_url=database_url)
    lab.ingest(str(sample_survey.root), survey="S")
    lab.sequences("S", gap_s=60)
    task = lab.tasks.create("S", "species", labels=["Impala", "Zebra"])
    pairs = lab.tasks.create("S", "pairs", labels=["Impala"], annotations_per_cluster=2)
    total = lab.tasks.progress(task)["clusters"]
    job = lab.annotate.next_job(task, "ann", size=total)
    half = total // 2
    labelled, in_flight = job.clusters[:half], job.clusters[half:]
    for cluster in labelled:
        lab.annotate.submit(job, cluster, labels=["Zebra"])
    pair_job = lab.annotate.next_job(pairs, "ann", size=total)
    for cluster in pair_job.clusters:
        lab.annotate.submit(pair_job, cluster, labels=["Impala"])
    before = _cluster_of_image(lab)

    split = lab.sequences("S", gap_s=0.5)  # every burst falls apart into single shots
    assert split.retired > 0
    assert split.jobs_told_to_reload > 0
    after = _cluster_of_image(lab)
    for each in (task, pairs):
        held, active = _task_clusters(lab, each)
        assert held == active  # every new piece is in the task, no item on a retired cluster
    pieces_of_labelled = {after[i] for i, old in before.items() if old in labelled}
    assert lab.tasks.progress(task)["complete"] == len(pieces_of_labelled)  # finished stays so
    assert lab.tasks.progress(task)["in_progress"] == len(set(in_flight) & set(after.values()))
    final = lab.tasks.final_labels(task)
    assert set(final.cluster_id) == pieces_of_labelled
    assert set(final.labels) == {"zebra"}

    changed = [c for c in in_flight if c not in set(after.values())]
    unchanged = [c for c in in_flight if c in set(after.values())]
    assert changed
    with pytest.raises(StaleWorkError, match="changed"):
        lab.annotate.submit(job, changed[0], labels=["Zebra"])
    for cluster in unchanged:  # an untouched sequence of the same job is still hers to label
        lab.annotate.submit(job, cluster, labels=["Zebra"])
    lab.annotate.release(job)
    while (more := lab.annotate.next_job(task, "ann", size=10)) is not None:
        for cluster in more.clusters:
            lab.annotate.submit(more, cluster, labels=["Impala"])
    progress = lab.tasks.progress(task)
    assert progress["complete"] == progress["clusters"] == len(set(after.values()))
    assert lab.annotate.next_job(pairs, "ann", size=10) is None  # ann finished every piece
    bob = lab.annotate.next_job(pairs, "bob", size=500)
    for cluster in bob.clusters:
        lab.annotate.submit(bob, cluster, labels=["Impala"])
    agreed = lab.tasks.final_labels(pairs)
    assert len(agreed) == len(set(after.values()))
    assert set(agreed.settled_by) == {"agreed"}

    lab.sequences("S", gap_s=60)  # the pieces merge back: done by everyone who did all pieces
    for each in (task, pairs):
        held, active = _task_clusters(lab, each)
        assert held == active
        progress = lab.tasks.progress(each)
        assert progress["complete"] == progress["clusters"] == len(active)
    assert len(lab.tasks.final_labels(pairs)) == len(active)

    lab.set_clock_offset("S", "Site01/CamB", 3600)  # a clock fix re-clusters too
    held, active = _task_clusters(lab, task)
    assert held == active
    with lab.sessions() as session:
        lost = session.scalar(
            select(func.count()).select_from(JobItem).where(JobItem.status == "leased")
        )
        assert lost == 0  # no lease left behind on a sequence that is gone


def test_sequence_params_defaults_and_ranges() -> None:
    assert SequenceParams().model_dump() == {
        "gap_s": 60.0,
        "max_minutes": 15.0,
        "per_camera": False,
    }
    for bad in ({"gap_s": 0}, {"max_minutes": -1}):
        with pytest.raises(ValidationError) as caught:
            SequenceParams(**bad)
        assert [e["loc"] for e in caught.value.errors()] == [(next(iter(bad)),)]
