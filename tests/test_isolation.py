"""The suite never reads the caller's deployment settings (their real database or store)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO, SUITE_SETTINGS

#: Settings a server user exports (as the README tells them), pointing nowhere usable.
POISON = {
    "TRAPTAGGER_DATABASE_URL": "mysql+pymysql://poison:poison@127.0.0.1:9/poison",
    "TRAPTAGGER_STORAGE_URL": "/nonexistent/poisoned-store",
    "TRAPTAGGER_WORKSPACE": "/nonexistent/poisoned-workspace",
    "TRAPTAGGER_DASK_SCHEDULER": "tcp://127.0.0.1:9",
}


def test_no_deployment_setting_reaches_a_test() -> None:
    leaked = [n for n in os.environ if n.startswith("TRAPTAGGER_") and n not in SUITE_SETTINGS]
    assert leaked == []


def test_a_poisoned_environment_changes_nothing() -> None:
    """The suite, run by someone whose shell points at a real deployment: the tests that
    open labs and run the CLI still use their own temporary databases and stores."""
    env = {**os.environ, **POISON}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/test_isolation.py::test_no_deployment_setting_reaches_a_test",
            "tests/test_cli.py",
            "tests/test_settings.py",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout
