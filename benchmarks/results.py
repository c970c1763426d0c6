"""Results at scale: each analysis of a 1,000,000-image survey, timed, next to the baseline.

    python benchmarks/results.py [--server mysql+pymysql://root@127.0.0.1:3306]
                                 [--images 1000000] [--clusters 300000] [--sites 200] [--rebuild]

Builds (once; kept in database ``tt_bench_results_<size>`` for later runs) a
synthetic survey of labelled sequences on the server, then times every results
table on a fresh :class:`~traptagger_lab.results.api.Results`. The baseline, in
the same run, is the record table built from the per-image observations with
their boxes (what the exports read), which is how every analysis started before
the record path was pushed into SQL.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, text


def _timed(name: str, work: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - began
    size = getattr(result, "shape", None) or (len(result) if hasattr(result, "__len__") else "")
    print(f"  {name:<34} {seconds:8.2f} s   {size}", flush=True)
    return seconds, result


def _database(server: str, name: str, rebuild: bool) -> bool:
    """Create the scratch database; True when it has to be filled."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(text(f"SHOW DATABASES LIKE '{name}'")).first() is not None
        if exists and rebuild:
            connection.execute(text(f"DROP DATABASE {name}"))
            exists = False
        if not exists:
            connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return not exists


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="mysql+pymysql://root@127.0.0.1:3306")
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--clusters", type=int, default=300_000)
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--rebuild", action="store_true", help="build the survey again")
    args = parser.parse_args()

    from traptagger_lab.annotate.simulate import synthetic_survey
    from traptagger_lab.db.engine import transaction
    from traptagger_lab.lab import open_lab
    from traptagger_lab.results import camtrap
    from traptagger_lab.results.api import Results
    from traptagger_lab.results.observations import observations

    name = f"tt_bench_results_{args.images}_{args.clusters}_{args.sites}"
    fill = _database(args.server, name, args.rebuild)
    with (
        tempfile.TemporaryDirectory() as scratch,
        open_lab(scratch, database_url=f"{args.server}/{name}", dask_scheduler="sync") as lab,
    ):
        if fill:
            began = time.perf_counter()
            with transaction(lab.sessions) as session:
                synthetic_survey(
                    session, "Scale", args.images, args.clusters, args.sites, progress=True
                )
            print(f"built the survey in {time.perf_counter() - began:.0f} s")
        task = lab.tasks.get("Species", "Scale")
        print(
            f"{args.images:,} images, {args.clusters:,} clusters, {args.sites} sites "
            f"on {lab.engine.dialect.name}"
        )

        print("baseline: the record table from per-image observations with boxes")
        base_obs, seen = _timed(
            "observations (with boxes)", lambda: observations(lab.workspace, task)
        )
        base_rt, _ = _timed(
            "record table from them",
            lambda: camtrap.independent_records(
                camtrap.records_from_observations(seen).drop(
                    columns=["Individual", "Camera", "cluster_id"]
                )
            ),
        )
        baseline = base_obs + base_rt

        print("ours: each analysis on a fresh Results (the first one reads the records)")
        results = Results(lab.workspace, task, min_delta_minutes=60)
        timings = {}
        timings["record_table"], table = _timed("record_table", results.record_table)
        species = table["Species"].value_counts().index[:2].tolist()
        for label, work in [
            ("record_table (by camera)", lambda: results.record_table(by="camera")),
            ("camera_operation", results.camera_operation),
            ("relative_abundance", results.relative_abundance),
            ("diversity", results.diversity),
            ("accumulation", lambda: results.accumulation(permutations=20)),
            ("detections_over_time", results.detections_over_time),
            ("detection_history", lambda: results.detection_history(species[0])),
            ("activity", lambda: results.activity(species[0])),
            ("activity (sun time)", lambda: results.activity(species[0], clock="sun")),
            ("overlap (99 bootstraps)", lambda: results.overlap(*species, n_boot=99)),
            ("occupancy", lambda: results.occupancy(species[0])),
            ("sites_summary", results.sites_summary),
        ]:
            timings[label], _ = _timed(label, work)
        fresh = Results(lab.workspace, task, min_delta_minutes=60)
        timings["record_table (last independent)"], _ = _timed(
            "record_table (last independent)",
            lambda: fresh.record_table("last_independent_record"),
        )
        print(
            f"record table: {timings['record_table']:.2f} s vs baseline {baseline:.2f} s "
            f"({baseline / timings['record_table']:.1f}x); slowest analysis after it: "
            f"{max(v for k, v in timings.items() if k != 'record_table'):.2f} s"
        )


if __name__ == "__main__":
    main()
