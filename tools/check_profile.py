"""Check an install profile on its own: import every module it covers, then use it.

``make check-base`` runs this with the base install's Python (``pip install .`` in a
clean virtual environment, no extras): every module of ``traptagger_lab`` that
pyproject's ``[tool.traptagger-lab.extras]`` map leaves to the base install is
imported, then the CLI takes a generated sample survey through ingest, sequences,
import-detections, import-labels, results and two exports. Any failure exits non-zero
with the step and the reason.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import os
import pkgutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path


def extras_map(project: Path) -> dict[str, str]:
    """pyproject's code -> extra map (``package.module`` or ``package.module:function``)."""
    return dict(tomllib.loads(project.read_text())["tool"]["traptagger-lab"]["extras"])


def extra_of(scope: str, extras: dict[str, str]) -> str:
    """The extra a module or function needs: the most specific entry of the map covering it."""
    module = scope.split(":")[0]
    candidates = [scope] + [module.rsplit(".", i)[0] for i in range(module.count(".") + 1)]
    for name in candidates:
        if name in extras:
            return extras[name]
    return "base"


def modules_of(profile: str, extras: dict[str, str], package: str = "traptagger_lab") -> list[str]:
    """Every module of the installed ``package`` whose module-level code ``profile`` covers."""
    root = importlib.import_module(package)
    names = [package] + [m.name for m in pkgutil.walk_packages(root.__path__, prefix=f"{package}.")]
    return sorted(n for n in names if extra_of(n, extras) == profile and ".migrations" not in n)


def _cli(*args: str, env: dict[str, str]) -> str:
    command = [str(Path(sys.executable).with_name("traptagger")), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"`traptagger {' '.join(args)}` failed:\n{done.stdout}\n{done.stderr}")
    print(f"ok: traptagger {' '.join(args)}")
    return done.stdout


def use_the_cli(folder: Path) -> None:
    """Sample survey -> ingest -> sequences -> detections -> labels -> results -> exports."""
    from traptagger_lab.sample import sample_detections, truth_label_table

    env = {**os.environ, "TRAPTAGGER_WORKSPACE": str(folder / "workspace")}
    env.pop("TRAPTAGGER_DATABASE_URL", None)
    env.pop("TRAPTAGGER_STORAGE_URL", None)
    env["TRAPTAGGER_DASK_SCHEDULER"] = "sync"
    data = folder / "data"
    _cli("--help", env=env)
    _cli("sample", str(data), "--bursts", "3", "--width", "640", "--height", "480", env=env)
    _cli("ingest", str(data), "--survey", "Smoke", env=env)
    _cli("sequences", "Smoke", env=env)
    _cli("import-detections", "Smoke", str(sample_detections(data)), env=env)
    labels = truth_label_table(data, folder / "labels.csv")
    _cli("import-labels", "Smoke", "--from", "csv", str(labels), "--add-labels", env=env)
    table = _cli("results", "Smoke", "--table", "record-table", "--csv", env=env)
    rows = list(csv.DictReader(io.StringIO(table)))
    if not rows or not all(r["Species"] for r in rows):
        raise SystemExit(f"the record table is empty or lacks species:\n{table}")
    print(f"ok: {len(rows)} records of {sorted({r['Species'] for r in rows})}")
    _cli("results", "Smoke", "--table", "rai", "--csv", env=env)
    _cli("export", "Smoke", str(folder / "out.csv"), "--format", "csv", "--per", "image", env=env)
    _cli("export", "Smoke", str(folder / "dp"), "--format", "camtrap-dp", env=env)
    for made in (folder / "out.csv", folder / "dp" / "datapackage.json"):
        if not made.is_file() or made.stat().st_size == 0:
            raise SystemExit(f"the export did not write {made}")
    server = {**env, "TRAPTAGGER_DATABASE_URL": "mysql+pymysql://root@127.0.0.1:3306/tt_base"}
    command = [str(Path(sys.executable).with_name("traptagger")), "surveys"]
    done = subprocess.run(command, env=server, capture_output=True, text=True, check=False)
    if done.returncode == 0 or "pip install 'traptagger-lab[mysql]'" not in done.stderr:
        raise SystemExit(f"a MariaDB URL without the mysql extra is not explained:\n{done.stderr}")
    print("ok: a MariaDB URL without the mysql extra names the extra")


def main(argv: list[str] | None = None) -> int:
    """``check_profile.py --project pyproject.toml [--profile base]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--project", type=Path, required=True, help="the repo's pyproject.toml")
    parser.add_argument("--profile", default="base")
    args = parser.parse_args(argv)
    extras = extras_map(args.project)
    modules = modules_of(args.profile, extras)
    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # report every module that fails, then stop
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
    if failed:
        print(f"modules of the {args.profile} install that do not import:", *failed, sep="\n  ")
        return 1
    print(f"ok: {len(modules)} modules of the {args.profile} install import")
    if args.profile == "base":
        with tempfile.TemporaryDirectory() as folder:
            use_the_cli(Path(folder))
    print(f"the {args.profile} install works on its own")
    return 0


if __name__ == "__main__":
    sys.exit(main())
