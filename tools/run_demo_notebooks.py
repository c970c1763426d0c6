"""Run the user notebooks as the demo hub's member would, in the demo's own environment.

``make demo-notebooks`` (after ``DEMO_SERVE=0 make demo``) runs ``getting_started``,
``results`` and ``train_classifier`` with the member's server environment (the demo
organisation's database login, store and workspace, as the hub's spawner sets them),
from the organisation's own copy of the notebooks, with the kernel of this Python.
Each notebook must run to the end with no error; what each one printed last and how long
it took is shown. ``--quick`` (CI) trains a small network for a few epochs.
"""

from __future__ import annotations

import argparse
import os
import pwd
import sys
import time
from pathlib import Path

NOTEBOOKS = ("getting_started", "results", "train_classifier")
#: The training notebook's own knobs (environment variables), small enough for a CPU in CI.
QUICK_TRAINING = {
    "TRAPTAGGER_TRAIN_ARCH": "resnet18",
    "TRAPTAGGER_TRAIN_IMAGE_SIZE": "64",
    "TRAPTAGGER_TRAIN_EPOCHS": "3",
}


def member_environment(state: Path) -> tuple[dict[str, str], Path]:
    """The environment the demo hub gives its member's server, and the notebooks folder."""
    from traptagger_hub.demo import ORGANISATION, REPO
    from traptagger_hub.hub import copy_notebooks, organisation_environment
    from traptagger_hub.orgs import Registry
    from traptagger_hub.provision import slug_for

    registry = Registry(f"sqlite:///{state.resolve() / 'registry.db'}")
    try:
        env = organisation_environment(registry, "member", slug_for(ORGANISATION))
    finally:
        registry.close()
    return env, copy_notebooks(REPO / "notebooks", Path(env["TRAPTAGGER_WORKSPACE"]))


def run(name: str, folder: Path) -> str:
    """Execute ``folder/<name>.ipynb`` in place; returns its last text output."""
    import nbformat
    from nbclient import NotebookClient

    path = folder / f"{name}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    runs = folder.parent / "notebook-runs"  # beside the notebooks people open, not among them
    runs.mkdir(exist_ok=True)
    nbformat.write(notebook, runs / f"{name}.ipynb")
    texts = [
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.outputs
    ]
    return next((t.strip() for t in reversed(texts) if t.strip()), "")[-300:]


def main(argv: list[str] | None = None) -> int:
    """``run_demo_notebooks.py [--state demo-hub] [--quick] [NOTEBOOK ...]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--state", type=Path, default=Path("demo-hub"))
    parser.add_argument("--quick", action="store_true", help="small, short training")
    parser.add_argument("notebooks", nargs="*", default=list(NOTEBOOKS))
    args = parser.parse_args(argv)
    if not (args.state / "registry.db").is_file():
        print(f"no demo in {args.state}: run `DEMO_SERVE=0 make demo` first", file=sys.stderr)
        return 2
    env, folder = member_environment(args.state)
    os.environ.update(env)
    os.environ["TRAPTAGGER_DASK_WORKERS"] = os.environ.get("TRAPTAGGER_DASK_WORKERS", "2")
    if args.quick:
        os.environ.update(QUICK_TRAINING)
    failed = 0
    for name in args.notebooks:
        started = time.perf_counter()
        try:
            last = run(name, folder)
        except Exception as exc:  # nbclient's CellExecutionError names the cell and the error
            failed += 1
            print(f"FAILED {name} ({time.perf_counter() - started:.0f} s):\n{exc}", flush=True)
            continue
        print(f"ok {name} ({time.perf_counter() - started:.0f} s): {last}", flush=True)
    give_back(env)
    return 1 if failed else 0


def give_back(env: dict[str, str]) -> None:
    """What the notebooks wrote as this (root) account goes to the organisation's system
    accounts, when the demo's servers run as them."""
    from traptagger_hub.accounts import account_names, lock_store

    accounts = account_names(env["TRAPTAGGER_ORGANISATION"])
    try:
        pwd.getpwnam(accounts.member)
    except KeyError:  # servers run as this account: nothing to give back
        return
    lock_store(Path(env["TRAPTAGGER_WORKSPACE"]), accounts)


if __name__ == "__main__":
    sys.exit(main())
