"""Packaging: environment.yml mirrors pyproject.toml, torch stays pinned, pip check is clean."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from tests.conftest import REPO

ALIASES = {
    "dask[distributed]": ["dask", "distributed"],
    "psycopg[binary]": ["psycopg"],
    "moto[server,s3]": ["moto"],
}


def _names(requirements: list[str]) -> set[str]:
    names: set[str] = set()
    for requirement in requirements:
        head = re.split(r"[<>=!~ ;]", requirement, maxsplit=1)[0].strip().lower()
        names.update(ALIASES.get(head, [re.sub(r"\[.*\]", "", head)]))
    return names


def test_environment_yml_mirrors_pyproject() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = _names(project["dependencies"])
    for extra in ("aws", "mysql", "postgres", "hub", "dev"):
        wanted |= _names([r for r in extras[extra] if not r.startswith("traptagger-lab")])
    text = (REPO / "environment.yml").read_text()
    listed = {
        m.group(1).lower() for m in re.finditer(r"^\s*-\s+([A-Za-z0-9_.-]+)", text, re.MULTILINE)
    }
    assert wanted - listed == set(), "add these to environment.yml"


def test_torch_is_pinned_and_outside_the_core() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not any(r.startswith("torch") for r in project["dependencies"])
    detect = set(project["optional-dependencies"]["detect"])
    assert detect >= {"torch==2.14.1", "torchvision==0.29.1", "setuptools<82"}


def test_pip_check_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
