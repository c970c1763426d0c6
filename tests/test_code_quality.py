"""The package stays lint-clean (ruff) and type-clean (mypy), as STYLE.md asks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def _tool(name: str) -> str:
    """The tool beside the running interpreter (the suite's own environment), else on PATH."""
    here = str(Path(sys.executable).parent)
    path = shutil.which(name, path=here) or shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (it comes with the dev extra)")
    return path


def test_ruff() -> None:
    targets = ["traptagger_lab", "extension", "tests", "benchmarks"]
    for args in (["check", *targets], ["format", "--check", *targets]):
        result = subprocess.run([_tool("ruff"), *args], cwd=REPO, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
