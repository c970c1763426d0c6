"""Annotation under load: next-job and submit latency (p50/p99) and throughput for N annotators.

    python benchmarks/annotate_load.py [--server URL] [--clusters 2000] [--annotators 1 10 50]
                                       [--processes] [--think 0.5]

Each N (1, 10, 50) works a fresh task of ``--clusters`` clusters to the end on
a scratch database of the server; N=1 is the baseline of the same run. By
default the annotators are threads of this process with no pause between
clusters (the worst case); ``--processes`` gives each its own process and
database connection (as each annotator's Voila kernel has), and ``--think``
makes them look at every cluster for that many seconds first, as people do.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import time
import uuid
from typing import Any

from sqlalchemy import create_engine, text


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def _annotator(url: str, workspace: str, number: int, think_s: float, start: Any) -> Any:
    """One annotator in its own process with its own connection, as in a Voila kernel."""
    from traptagger_lab.annotate.simulate import work_until_done
    from traptagger_lab.lab import open_lab

    with open_lab(workspace, database_url=url, dask_scheduler="sync", database_pool_size=1) as lab:
        task = lab.tasks.get("crowd", "Load")
        start.wait()
        began = time.time()
        name = f"annotator-{number:02d}"
        log = work_until_done(lab.workspace, task, name, 10, ["Nothing"], think_s)
        return log, began, time.time()


def _crowd_of_processes(
    url: str, workspace: str, annotators: int, think_s: float
) -> tuple[list[Any], float]:
    """The annotators' logs, and the seconds from their common start to the last one's end."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Barrier(annotators)
        with context.Pool(annotators) as pool:
            results = pool.starmap(
                _annotator, [(url, workspace, i, think_s, start) for i in range(annotators)]
            )
    seconds = max(end for _, _, end in results) - min(began for _, began, _ in results)
    return [log for log, _, _ in results], seconds


def run(server: str, annotators: int, clusters: int, processes: bool, think_s: float) -> str:
    from traptagger_lab.annotate.simulate import crowd, synthetic_clusters
    from traptagger_lab.db.engine import transaction
    from traptagger_lab.lab import open_lab

    name = f"tt_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        with (
            tempfile.TemporaryDirectory() as scratch,
            open_lab(
                scratch,
                database_url=f"{server}/{name}",
                dask_scheduler="sync",
                database_pool_size=annotators + 5,
            ) as lab,
        ):
            with transaction(lab.sessions) as session:
                synthetic_clusters(session, "Load", clusters)
            task = lab.tasks.create("Load", "crowd", labels=["Impala"])
            if processes:
                logs, seconds = _crowd_of_processes(
                    f"{server}/{name}", scratch, annotators, think_s
                )
            else:
                began = time.perf_counter()
                logs = crowd(lab.workspace, task, annotators, size=10, think_s=think_s)
                seconds = time.perf_counter() - began
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()
    nexts = [t for log in logs for t in log.next_job_s]
    later = [t for log in logs for t in log.next_job_s[1:]]  # not the all-at-once start
    submits = [t for log in logs for t in log.submit_s]
    done = sum(len(log.clusters) for log in logs)
    return (
        f"N={annotators:>2}: next-job p50 {1000 * statistics.median(nexts):6.1f} ms "
        f"p99 {1000 * _percentile(nexts, 0.99):6.1f} ms "
        f"(after the first: p99 {1000 * _percentile(later, 0.99):6.1f} ms) | submit p50 "
        f"{1000 * statistics.median(submits):6.1f} ms "
        f"p99 {1000 * _percentile(submits, 0.99):6.1f} ms"
        f" | {done / seconds:7.1f} clusters/s ({done} in {seconds:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default="mysql+pymysql://root@127.0.0.1:3306")
    parser.add_argument("--clusters", type=int, default=2000)
    parser.add_argument("--annotators", type=int, nargs="*", default=[1, 10, 50])
    parser.add_argument("--processes", action="store_true", help="one process per annotator")
    parser.add_argument("--think", type=float, default=0.0, help="seconds spent on each cluster")
    args = parser.parse_args()
    print(
        f"server: {args.server}; {args.clusters} clusters per run; jobs of 10 clusters; "
        f"annotators as {'processes' if args.processes else 'threads'}, "
        f"{args.think:g} s per cluster"
    )
    for annotators in args.annotators:
        print(run(args.server, annotators, args.clusters, args.processes, args.think), flush=True)


if __name__ == "__main__":
    main()
