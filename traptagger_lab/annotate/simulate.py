"""Simulated annotators: for load tests, benchmarks and demos of concurrent annotation."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from traptagger_lab.annotate.tasks import TaskRef
from traptagger_lab.db.engine import chunks
from traptagger_lab.db.models import (
    Annotation,
    Camera,
    Cluster,
    Detection,
    Image,
    Label,
    Site,
    Survey,
    Task,
    TaskItem,
)

if TYPE_CHECKING:
    from traptagger_lab.workspace import Workspace


def synthetic_clusters(session: Session, survey_name: str, clusters: int, sites: int = 20) -> int:
    """A survey of ``clusters`` empty clusters over ``sites`` sites (no photos); returns its id."""
    survey = Survey(name=survey_name, settings={})
    session.add(survey)
    session.flush()
    site_ids = []
    for number in range(sites):
        site = Site(survey_id=survey.id, name=f"S{number:03d}")
        session.add(site)
        session.flush()
        session.add(Camera(site_id=site.id, name="cam", clock_offset_s=0.0))
        site_ids.append(site.id)
    start = dt.datetime(2024, 1, 1)
    rows = [
        {
            "survey_id": survey.id,
            "site_id": site_ids[i % sites],
            "start": start + dt.timedelta(minutes=i),
            "end": start + dt.timedelta(minutes=i, seconds=5),
            "image_count": 3,
            "members_hash": f"{i:040d}",
            "active": True,
        }
        for i in range(clusters)
    ]
    for part in chunks(rows, 1000):
        session.execute(insert(Cluster), list(part))
    return survey.id


@dataclass
class AnnotatorLog:
    """What one simulated annotator did and how long each call took (seconds)."""

    name: str
    clusters: list[int] = field(default_factory=list)
    next_job_s: list[float] = field(default_factory=list)
    submit_s: list[float] = field(default_factory=list)


def work_until_done(
    workspace: Workspace,
    task: TaskRef,
    name: str,
    size: int,
    labels: Sequence[str],
    think_s: float = 0.0,
) -> AnnotatorLog:
    """Take jobs and label every cluster until the task has no work left.

    ``think_s`` is how long the annotator looks at each cluster before submitting.
    """
    from traptagger_lab.annotate.api import Annotate

    annotate = Annotate(workspace)
    log = AnnotatorLog(name)
    while True:
        began = time.perf_counter()
        job = annotate.next_job(task, name, size=size)
        log.next_job_s.append(time.perf_counter() - began)
        if job is None:
            return log
        for cluster in job.clusters:
            if think_s:
                time.sleep(think_s)
            began = time.perf_counter()
            annotate.submit(job, cluster, labels=list(labels))
            log.submit_s.append(time.perf_counter() - began)
            log.clusters.append(cluster)


def crowd(
    workspace: Workspace,
    task: TaskRef,
    annotators: int,
    size: int = 10,
    labels: Sequence[str] = ("Nothing",),
    think_s: float = 0.0,
) -> list[AnnotatorLog]:
    """``annotators`` threads working the task to the end at once."""
    with ThreadPoolExecutor(max_workers=annotators) as pool:
        futures = [
            pool.submit(
                work_until_done, workspace, task, f"annotator-{i:02d}", size, labels, think_s
            )
            for i in range(annotators)
        ]
        return [f.result() for f in futures]


def synthetic_survey(
    session: Session,
    name: str,
    images: int,
    clusters: int,
    sites: int,
    species: int = 20,
    empty_share: float = 0.6,
    days: int = 365,
    cameras: int = 1,
    seed: int = 0,
    progress: bool = False,
) -> Task:
    """A labelled survey for results at scale (no photos on disk); returns its species task.

    ``clusters`` sequences of 1 to many photos, two seconds apart, spread over
    ``days`` at ``sites`` sites with ``cameras`` cameras each (a sequence's photos
    taking turns). ``empty_share`` of them are labelled
    Nothing; the others one of ``species`` species (Zipf-like shares; 3% with
    a second species), each photo with one or two MegaDetector boxes.
    """
    from tqdm.auto import tqdm

    from traptagger_lab.annotate.tasks import create_task

    if images < clusters or clusters < sites:
        raise ValueError("need at least one image per cluster and one cluster per site")
    rng = np.random.default_rng(seed)
    survey = Survey(name=name, settings={})
    session.add(survey)
    session.flush()
    site_ids: list[int] = []
    camera_ids: list[list[int]] = []
    for number in range(sites):
        site = Site(
            survey_id=survey.id,
            name=f"S{number:03d}",
            latitude=-2.0 - number % 20 * 0.01,
            longitude=34.0 + number // 20 * 0.01,
        )
        session.add(site)
        session.flush()
        mounted = [Camera(site_id=site.id, name=f"cam{k}") for k in range(cameras)]
        session.add_all(mounted)
        session.flush()
        site_ids.append(site.id)
        camera_ids.append([c.id for c in mounted])

    # clusters: sizes adding up to ``images``; per site, sorted non-overlapping starts
    sizes = 1 + rng.multinomial(images - clusters, np.full(clusters, 1 / clusters))
    site_of = np.sort(rng.integers(0, sites, clusters))
    site_of[:sites] = np.arange(sites)  # every site has a cluster
    site_of.sort()
    begin = np.datetime64("2024-01-01T00:00:00") + rng.integers(0, 30, sites).astype(
        "timedelta64[D]"
    )
    seconds = rng.integers(0, days * 86400, clusters)
    order = np.lexsort((seconds, site_of))
    site_of, seconds = site_of[order], seconds[order]
    for number in range(sites):  # no two sequences of a site overlap
        where = np.flatnonzero(site_of == number)
        ends = seconds[where] + 2 * (sizes[where] - 1) + 60
        seconds[where[1:]] = np.maximum(seconds[where[1:]], np.maximum.accumulate(ends[:-1]))
    starts = begin[site_of] + seconds.astype("timedelta64[s]")
    weights = 1 / np.arange(1, species + 1)
    animal = rng.random(clusters) >= empty_share
    first = rng.choice(species, clusters, p=weights / weights.sum())
    second = np.where(rng.random(clusters) < 0.03, (first + 1) % species, -1)

    cluster_base = _next_id(session, Cluster)
    image_base = _next_id(session, Image)
    detection_base = _next_id(session, Detection)
    bar = tqdm(total=images + clusters, desc="synthetic survey", disable=not progress)
    cluster_rows = [
        {
            "id": cluster_base + c,
            "survey_id": survey.id,
            "site_id": site_ids[site_of[c]],
            "camera_id": camera_ids[site_of[c]][0] if cameras == 1 else None,
            "start": starts[c].item(),
            "end": (starts[c] + np.timedelta64(2 * int(sizes[c] - 1), "s")).item(),
            "image_count": int(sizes[c]),
            "members_hash": f"{cluster_base + c:040d}",
            "active": True,
        }
        for c in range(clusters)
    ]
    for part in chunks(cluster_rows, 5000):
        session.execute(insert(Cluster), list(part))
        bar.update(len(part))
    del cluster_rows
    image_id, detection_id = image_base, detection_base
    image_rows: list[dict[str, Any]] = []
    box_rows: list[dict[str, Any]] = []
    for c in range(clusters):
        at = int(site_of[c])
        for k in range(int(sizes[c])):
            path = f"S{at:03d}/cam{k % cameras}/IMG_{image_id:07d}.JPG"
            moment = (starts[c] + np.timedelta64(2 * k, "s")).item()
            image_rows.append(
                {
                    "id": image_id,
                    "survey_id": survey.id,
                    "camera_id": camera_ids[at][k % cameras],
                    "path": path,
                    "path_hash": f"{image_id:040x}",
                    "hash": f"{image_id:064x}",
                    "width": 2048,
                    "height": 1536,
                    "timestamp": moment,
                    "timestamp_source": "exif_original",
                    "corrected_timestamp": moment,
                    "cluster_id": cluster_base + c,
                }
            )
            for _ in range(1 + (image_id % 3 == 0) if animal[c] else 0):
                box_rows.append(
                    {
                        "id": detection_id,
                        "image_id": image_id,
                        "category": 1,
                        "score": 0.9,
                        "x": 0.1,
                        "y": 0.2,
                        "w": 0.3,
                        "h": 0.2,
                        "source": "MDV5A",
                        "status": "active",
                    }
                )
                detection_id += 1
            image_id += 1
        if len(image_rows) >= 20000:
            _flush(session, Image, image_rows, bar)
            _flush(session, Detection, box_rows)
    _flush(session, Image, image_rows, bar)
    _flush(session, Detection, box_rows)
    if session.get_bind().dialect.name == "postgresql":  # ids given: move the sequences on
        for table in ("cluster", "image", "detection"):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )

    names = [
        f"Species {chr(65 + s // 26) if s >= 26 else ''}{chr(65 + s % 26)}" for s in range(species)
    ]
    task = create_task(session, survey.id, "Species", names)
    stored = session.execute(select(Label.name, Label.id).where(Label.task_id == task.id))
    label_ids = {name: id_ for name, id_ in stored}
    notes = []
    for c in range(clusters):
        chosen = [names[first[c]], *([names[second[c]]] if second[c] >= 0 else [])]
        for label in chosen if animal[c] else ["Nothing"]:
            notes.append(
                {
                    "task_id": task.id,
                    "cluster_id": cluster_base + c,
                    "label_id": label_ids[label],
                    "annotator": "synthetic",
                    "active": True,
                }
            )
        if len(notes) >= 20000:
            _flush(session, Annotation, notes)
    _flush(session, Annotation, notes)
    session.execute(update(TaskItem).where(TaskItem.task_id == task.id).values(done=1))
    bar.close()
    return task


def _next_id(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.max(model.id))) or 0) + 1


def _flush(session: Session, model: Any, rows: list[dict[str, Any]], bar: Any = None) -> None:
    """Insert the rows and empty the list."""
    for part in chunks(rows, 5000):
        session.execute(insert(model), list(part))
    if bar is not None:
        bar.update(len(rows))
    rows.clear()
