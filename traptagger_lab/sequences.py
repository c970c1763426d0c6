"""Images -> clusters (sequences): per site, by capture-time gap.

Within a site (or a camera, with ``per_camera=True``) images sorted by
corrected time form one cluster while each is at most ``gap_s`` seconds after
the previous one; a run longer than ``max_minutes`` is split. An image
without a timestamp is a cluster of its own, and so is each video's set of
stills.

Re-clustering is deterministic. A cluster whose members did not change keeps
its id (and everything attached to it). A cluster that was split or merged is
retired, not deleted, and its annotations are carried to every new cluster
holding one of its images, so no label is lost and each stays on the images
it was made on. Annotation work follows the photos too (:func:`carry_work`):
each task that held a replaced cluster holds the clusters its photos went to,
a person's finished work counts on a new cluster when they finished every
cluster it was made from, and a job still holding a replaced cluster is told
"this sequence changed, reload" when it submits (the cluster is ``replaced``
in that job, never silently gone).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from traptagger_lab.db.engine import chunks, transaction
from traptagger_lab.db.models import (
    Annotation,
    Camera,
    Cluster,
    Image,
    JobItem,
    Site,
    Survey,
    TaskItem,
)
from traptagger_lab.params import StageParams
from traptagger_lab.runs import add_counts, closing_run, start_run
from traptagger_lab.surveys import SurveyRef, get_survey
from traptagger_lab.workspace import Workspace


class SequenceParams(StageParams):
    """How images are grouped into clusters (remembered with the survey)."""

    gap_s: float = Field(
        default=60.0,
        gt=0,
        description="Largest gap between consecutive images of one cluster (seconds).",
    )
    max_minutes: float = Field(
        default=15.0,
        gt=0,
        description="Longest a cluster may last before it is split (minutes).",
    )
    per_camera: bool = Field(
        default=False,
        description="Cluster each camera of a site separately (else a site's cameras together).",
    )


@dataclass(frozen=True)
class Shot:
    """The facts about one image that clustering needs."""

    image_id: int
    site_id: int
    camera_id: int
    video_id: int | None
    time: dt.datetime | None
    path: str


def group_shots(shots: Iterable[Shot], params: SequenceParams) -> list[list[Shot]]:
    """The pure core: shots of one site -> ordered groups (each a cluster)."""
    by_key: dict[Any, list[Shot]] = defaultdict(list)
    groups: list[list[Shot]] = []
    videos: dict[int, list[Shot]] = defaultdict(list)
    for shot in shots:
        if shot.video_id is not None:
            videos[shot.video_id].append(shot)
        elif shot.time is None:
            groups.append([shot])
        else:
            by_key[(shot.site_id, shot.camera_id if params.per_camera else None)].append(shot)
    gap = dt.timedelta(seconds=params.gap_s)
    longest = dt.timedelta(minutes=params.max_minutes)
    for key in sorted(by_key, key=lambda k: (k[0], k[1] or 0)):
        ordered = sorted(by_key[key], key=lambda s: (s.time, s.path))
        current: list[Shot] = []
        for shot in ordered:
            assert shot.time is not None
            if current and (
                shot.time - current[-1].time > gap  # type: ignore[operator]
                or shot.time - current[0].time > longest  # type: ignore[operator]
            ):
                groups.append(current)
                current = []
            current.append(shot)
        if current:
            groups.append(current)
    groups.extend(sorted(videos[v], key=lambda s: s.path) for v in sorted(videos))
    groups.sort(key=lambda g: (g[0].time or dt.datetime.max, g[0].path))
    return groups


def members_hash(image_ids: Sequence[int]) -> str:
    """A signature of a cluster's members: the same images give the same signature."""
    text = ",".join(str(i) for i in sorted(image_ids))
    return hashlib.sha1(text.encode()).hexdigest()


@dataclass
class SequenceReport:
    """What a clustering run did."""

    clusters: int = 0
    kept: int = 0
    created: int = 0
    retired: int = 0
    deleted: int = 0
    annotations_carried: int = 0
    task_items_carried: int = 0
    jobs_told_to_reload: int = 0


def _site_shots(session: Session, site_id: int) -> list[Shot]:
    rows = session.execute(
        select(Image.id, Image.camera_id, Image.video_id, Image.corrected_timestamp, Image.path)
        .join(Camera, Camera.id == Image.camera_id)
        .where(Camera.site_id == site_id)
    ).all()
    return [Shot(r[0], site_id, r[1], r[2], r[3], r[4]) for r in rows]


def _cluster_site(
    session: Session, survey_id: int, site_id: int, params: SequenceParams, run_id: int
) -> SequenceReport:
    report = SequenceReport()
    shots = _site_shots(session, site_id)
    old_of_image = _image_clusters(session, [s.image_id for s in shots])
    old_clusters = {
        c.members_hash: c
        for c in session.scalars(
            select(Cluster).where(Cluster.site_id == site_id, Cluster.active.is_(True))
        )
    }
    new_of_image: dict[int, int] = {}
    for group in group_shots(shots, params):
        ids = [s.image_id for s in group]
        signature = members_hash(ids)
        cluster = old_clusters.pop(signature, None)
        if cluster is None:
            times = [s.time for s in group if s.time is not None]
            cluster = Cluster(
                survey_id=survey_id,
                site_id=site_id,
                camera_id=group[0].camera_id if params.per_camera or group[0].video_id else None,
                video_id=group[0].video_id,
                start=min(times) if times else None,
                end=max(times) if times else None,
                image_count=len(ids),
                members_hash=signature,
                active=True,
                run_id=run_id,
            )
            session.add(cluster)
            session.flush()
            report.created += 1
        else:
            report.kept += 1
        report.clusters += 1
        new_of_image.update((i, cluster.id) for i in ids)
    changes = [
        {"id": i, "cluster_id": c} for i, c in new_of_image.items() if old_of_image.get(i) != c
    ]
    if changes:
        session.execute(update(Image), changes)
    replaced = list(old_clusters.values())
    carry_work(session, _lineage(replaced, old_of_image, new_of_image), report)
    _retire(session, replaced, old_of_image, new_of_image, report)
    return report


@dataclass(frozen=True)
class Lineage:
    """Where the photos of replaced clusters went, and where new clusters' photos came from."""

    #: replaced cluster -> the new clusters holding its photos
    targets: dict[int, list[int]]
    #: new cluster -> the replaced clusters its photos came from (None: a photo that had
    #: no cluster before, e.g. newly ingested)
    sources: dict[int, set[int | None]]


def _lineage(
    replaced: Sequence[Cluster], old_of_image: dict[int, int], new_of_image: dict[int, int]
) -> Lineage:
    gone = {c.id for c in replaced}
    targets: dict[int, set[int]] = defaultdict(set)
    sources: dict[int, set[int | None]] = defaultdict(set)
    for image_id, new in new_of_image.items():
        old = old_of_image.get(image_id)
        if old in gone:
            targets[old].add(new)
            sources[new].add(old)
        elif old is None:
            sources[new].add(None)
    return Lineage({k: sorted(v) for k, v in targets.items()}, dict(sources))


def carry_work(session: Session, lineage: Lineage, report: SequenceReport) -> None:
    """Move annotation work from replaced clusters to the clusters that now hold their photos.

    Every task item on a replaced cluster gives way to items (same task, the
    largest ``required``) on its target clusters. A person's finished work
    counts on a target when they finished every replaced cluster it was made
    from and it holds no photo from elsewhere: a split piece is done, a merge of
    a done and an undone sequence is not (they see the whole of it again). Job
    rows on replaced clusters become ``replaced`` (no longer holding anything),
    so a submission from a job loaded before the change is refused with
    "sequence changed, reload" instead of being lost or failing.
    """
    if not lineage.targets:
        return
    old_items = [
        item
        for part in chunks(list(lineage.targets))
        for item in session.scalars(select(TaskItem).where(TaskItem.cluster_id.in_(part)))
    ]
    if not old_items:
        return
    new_clusters = {
        c.id: c
        for part in chunks(list(lineage.sources))
        for c in session.scalars(select(Cluster).where(Cluster.id.in_(part)))
    }
    old_item_of = {(i.task_id, i.cluster_id): i for i in old_items}
    job_items = [
        row
        for part in chunks([i.id for i in old_items])
        for row in session.scalars(select(JobItem).where(JobItem.task_item_id.in_(part)))
    ]
    finished: dict[int, dict[str, JobItem]] = defaultdict(dict)  # old item -> person -> row
    for row in job_items:
        if row.status == "done" and row.holder:
            finished[row.task_item_id][row.holder] = row
    new_items: dict[tuple[int, int], TaskItem] = {}
    for old in old_items:
        for target in lineage.targets[old.cluster_id]:
            key = (old.task_id, target)
            if key in new_items:
                new_items[key].required = max(new_items[key].required, old.required)
                continue
            cluster = new_clusters[target]
            new_items[key] = TaskItem(
                task_id=old.task_id,
                cluster_id=target,
                site_id=cluster.site_id,
                start=cluster.start,
                required=old.required,
                done=0,
                leased=0,
            )
    session.add_all(new_items.values())
    session.flush()
    done_rows = []
    for (task_id, target), item in new_items.items():
        came_from = [old_item_of.get((task_id, s)) if s else None for s in lineage.sources[target]]
        if not came_from or any(source is None for source in came_from):
            continue  # photos from outside the task's replaced clusters: nobody has seen all
        people = set.intersection(*(set(finished[source.id]) for source in came_from if source))
        for person in sorted(people):
            row = finished[came_from[0].id][person]  # type: ignore[union-attr]
            done_rows.append(
                JobItem(
                    job_id=row.job_id,
                    task_id=task_id,
                    task_item_id=item.id,
                    cluster_id=target,
                    annotator=row.annotator,
                    holder=person,
                    status="done",
                    leased_until=row.leased_until,
                    finished_at=row.finished_at,
                )
            )
        item.done = len(people)
    first_item = {
        old.id: new_items[(old.task_id, lineage.targets[old.cluster_id][0])] for old in old_items
    }
    for row in job_items:
        if row.status == "leased":
            report.jobs_told_to_reload += 1
        if row.status in ("leased", "done"):
            row.status, row.holder = "replaced", None
        row.task_item_id = first_item[row.task_item_id].id
    session.flush()
    session.add_all(done_rows)
    for part in chunks([i.id for i in old_items]):
        session.execute(delete(TaskItem).where(TaskItem.id.in_(part)))
    report.task_items_carried += len(new_items)


def _image_clusters(session: Session, image_ids: list[int]) -> dict[int, int]:
    """Current cluster of each image that has one."""
    found: dict[int, int] = {}
    for part in chunks(image_ids):
        rows = session.execute(
            select(Image.id, Image.cluster_id).where(
                Image.id.in_(part), Image.cluster_id.is_not(None)
            )
        ).all()
        found.update((r[0], r[1]) for r in rows if r[1] is not None)
    return found


def _retire(
    session: Session,
    replaced: Iterable[Cluster],
    old_of_image: dict[int, int],
    new_of_image: dict[int, int],
    report: SequenceReport,
) -> None:
    """Retire replaced clusters; carry their annotations to the clusters holding their images."""
    carried: set[tuple[int, int]] = set()
    images_of_old: dict[int, set[int]] = defaultdict(set)
    for image_id, cluster_id in old_of_image.items():
        images_of_old[cluster_id].add(image_id)
    for cluster in replaced:
        annotations = session.scalars(
            select(Annotation).where(
                Annotation.cluster_id == cluster.id, Annotation.active.is_(True)
            )
        ).all()
        if not annotations and not _in_any_job(session, cluster.id):
            session.execute(delete(Cluster).where(Cluster.id == cluster.id))
            report.deleted += 1
            continue
        targets = sorted({new_of_image[i] for i in images_of_old[cluster.id] if i in new_of_image})
        copies = []
        for a in annotations:
            root = a.carried_from_id or a.id  # the annotation as the person made it
            for target in targets:
                if (target, root) in carried:
                    continue  # merged pieces of one labelled cluster carry one label, not several
                carried.add((target, root))
                copies.append(
                    {
                        "task_id": a.task_id,
                        "cluster_id": target,
                        "detection_id": a.detection_id,
                        "label_id": a.label_id,
                        "job_id": a.job_id,
                        "previous_id": None,
                        "carried_from_id": root,
                        "annotator": a.annotator,
                        "count": a.count,
                        "note": a.note,
                        "active": True,
                        "created_at": a.created_at,
                    }
                )
        if copies:
            session.execute(insert(Annotation), copies)
        for annotation in annotations:
            annotation.active = False
        cluster.active = False
        report.retired += 1
        report.annotations_carried += len(copies)


def _in_any_job(session: Session, cluster_id: int) -> bool:
    """Whether a job row names the cluster (kept, retired, so the job can say it changed)."""
    return (
        session.scalar(select(JobItem.id).where(JobItem.cluster_id == cluster_id).limit(1))
        is not None
    )


def cluster_survey(
    sessions: sessionmaker[Session], survey_id: int, params: SequenceParams
) -> SequenceReport:
    """(Re-)cluster every site of a survey; one transaction per site."""
    with transaction(sessions) as session:
        run = start_run(session, survey_id, "sequences", params.model_dump())
        site_ids = list(session.scalars(select(Site.id).where(Site.survey_id == survey_id)))
    total = SequenceReport()
    with closing_run(sessions, run.id, lambda: dict(vars(total))):
        for site_id in site_ids:
            with transaction(sessions) as session:
                part = _cluster_site(session, survey_id, site_id, params, run.id)
            add_counts(total, part)
    return total


def sequence_survey(
    sessions: sessionmaker[Session], survey_id: int, params: SequenceParams
) -> SequenceReport:
    """Store ``params`` as the survey's ``sequences`` setting (a clock correction re-clusters
    with them) and (re-)cluster the survey with them (:func:`cluster_survey`)."""
    with transaction(sessions) as session:
        stored = session.get(Survey, survey_id)
        assert stored is not None
        stored.settings = {**(stored.settings or {}), "sequences": params.model_dump()}
    return cluster_survey(sessions, survey_id, params)


def sequences(
    workspace: Workspace,
    survey: SurveyRef,
    gap_s: float = 60.0,
    max_minutes: float = 15.0,
    per_camera: bool = False,
) -> SequenceReport:
    """Group a survey's images into clusters (see :mod:`traptagger_lab.sequences`); the
    settings are remembered, so a clock fix re-clusters with them."""
    row = get_survey(workspace, survey)
    params = SequenceParams(gap_s=gap_s, max_minutes=max_minutes, per_camera=per_camera)
    return sequence_survey(workspace.sessions, row.id, params)


def recluster_if_clustered(sessions: sessionmaker[Session], survey_id: int) -> None:
    """Cluster the survey again with its remembered settings, if it was ever clustered."""
    with sessions() as session:
        stored = session.get(Survey, survey_id)
        params = (stored.settings or {}).get("sequences") if stored else None
    if params:
        cluster_survey(sessions, survey_id, SequenceParams(**params))
