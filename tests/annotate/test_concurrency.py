"""50 annotators at once on the real MariaDB and PostgreSQL: nothing doubled, nothing lost."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from traptagger_lab.annotate.simulate import crowd, synthetic_clusters
from traptagger_lab.db.engine import transaction
from traptagger_lab.db.models import Annotation, JobItem, TaskItem

CLUSTERS = 5000
ANNOTATORS = 50


@pytest.mark.slow
@pytest.mark.parametrize("copies", [1, 2])
def test_fifty_annotators_work_a_task_to_the_end(
    database_url: str, lab_factory: Any, copies: int
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has a single writer; the many-annotator test is for the servers")
    lab = lab_factory(database_url=database_url, database_pool_size=ANNOTATORS + 5)
    with transaction(lab.sessions) as session:
        synthetic_clusters(session, "Load", CLUSTERS if copies == 1 else CLUSTERS // 5)
    clusters = CLUSTERS if copies == 1 else CLUSTERS // 5
    task = lab.tasks.create("Load", "crowd", labels=["Impala"], annotations_per_cluster=copies)

    logs = crowd(lab.workspace, task, ANNOTATORS, size=10)

    per_cluster = Counter(c for log in logs for c in log.clusters)
    assert len(per_cluster) == clusters
    assert set(per_cluster.values()) == {copies}  # exactly the copies asked for, no more
    for log in logs:
        assert len(log.clusters) == len(set(log.clusters))  # nobody saw a cluster twice
    with lab.sessions() as session:
        annotations = session.scalar(select(func.count()).select_from(Annotation))
        assert annotations == clusters * copies  # every submission is in the database
        items = session.execute(select(TaskItem.done, TaskItem.leased)).all()
        assert {tuple(i) for i in items} == {(copies, 0)}
        assert (
            session.scalar(
                select(func.count()).select_from(JobItem).where(JobItem.status != "done")
            )
            == 0
        )
    busy = sum(1 for log in logs if log.clusters)
    assert busy > ANNOTATORS // 2  # the work really was shared
