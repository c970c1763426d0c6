"""Simulated annotators: for load tests, benchmarks and demos of concurrent annotation."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from traptagger_lab.db.engine import chunks
from traptagger_lab.db.models import Camera, Cluster, Site, Survey


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
    lab: Any, task: Any, name: str, size: int, labels: Sequence[str], think_s: float = 0.0
) -> AnnotatorLog:
    """Take jobs and label every cluster until the task has no work left.

    ``think_s`` is how long the annotator looks at each cluster before submitting.
    """
    log = AnnotatorLog(name)
    while True:
        began = time.perf_counter()
        job = lab.annotate.next_job(task, name, size=size)
        log.next_job_s.append(time.perf_counter() - began)
        if job is None:
            return log
        for cluster in job.clusters:
            if think_s:
                time.sleep(think_s)
            began = time.perf_counter()
            lab.annotate.submit(job, cluster, labels=list(labels))
            log.submit_s.append(time.perf_counter() - began)
            log.clusters.append(cluster)


def crowd(
    lab: Any,
    task: Any,
    annotators: int,
    size: int = 10,
    labels: Sequence[str] = ("Nothing",),
    think_s: float = 0.0,
) -> list[AnnotatorLog]:
    """``annotators`` threads working the task to the end at once."""
    with ThreadPoolExecutor(max_workers=annotators) as pool:
        futures = [
            pool.submit(work_until_done, lab, task, f"annotator-{i:02d}", size, labels, think_s)
            for i in range(annotators)
        ]
        return [f.result() for f in futures]
