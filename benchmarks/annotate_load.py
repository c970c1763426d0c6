"""Annotation under load: next-job and submit latency (p50/p99) and throughput for N annotators.

    python benchmarks/annotate_load.py [--server URL] [--clusters 2000] [--annotators 1 10 50]

Each N (1, 10, 50) works a fresh task of ``--clusters`` clusters to the end on
a scratch database of the server; N=1 is the baseline of the same run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid

from sqlalchemy import create_engine, text


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def run(server: str, annotators: int, clusters: int) -> str:
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
            began = time.perf_counter()
            logs = crowd(lab, task, annotators, size=10)
            seconds = time.perf_counter() - began
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()
    nexts = [t for log in logs for t in log.next_job_s]
    submits = [t for log in logs for t in log.submit_s]
    done = sum(len(log.clusters) for log in logs)
    return (
        f"N={annotators:>2}: next-job p50 {1000 * statistics.median(nexts):6.1f} ms "
        f"p99 {1000 * _percentile(nexts, 0.99):6.1f} ms | submit p50 "
        f"{1000 * statistics.median(submits):6.1f} ms "
        f"p99 {1000 * _percentile(submits, 0.99):6.1f} ms"
        f" | {done / seconds:7.1f} clusters/s ({done} in {seconds:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", default="mysql+pymysql://root@127.0.0.1:3306")
    parser.add_argument("--clusters", type=int, default=2000)
    parser.add_argument("--annotators", type=int, nargs="*", default=[1, 10, 50])
    args = parser.parse_args()
    print(f"server: {args.server}; {args.clusters} clusters per run; jobs of 10 clusters")
    for annotators in args.annotators:
        print(run(args.server, annotators, args.clusters), flush=True)


if __name__ == "__main__":
    main()
