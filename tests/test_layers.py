"""The import rule, read from the source: faces -> Lab -> stages -> workspace/db/storage/compute,
never upward. Each rule the code keeps today is enforced here; the reader is tested too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "traptagger_lab"

#: The bottom of the house: these import no stage, no Lab, no face.
FOUNDATION = ("db", "storage", "compute", "settings", "errors")
#: Stages and faces (what the foundation must never import).
ABOVE_FOUNDATION = (
    "ingest", "detect", "classify", "annotate", "results", "exports", "training",
    "sequences", "clock", "lab", "widgets", "cli", "demo", "plots",
)  # fmt: skip


def imports_of(source: str, module: str) -> set[str]:
    """Every module a source file imports (absolute names; relative ones resolved against
    ``module``), including imports inside functions and under ``TYPE_CHECKING``."""
    found: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _modules() -> dict[str, set[str]]:
    """Module name -> the traptagger_lab modules it imports."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        graph[name] = {
            i for i in imports_of(path.read_text(), name) if i.startswith("traptagger_lab.")
        }
    return graph


def _layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def _breaches(importers: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} imports {target}"
        for module, targets in _modules().items()
        if _layer(module) in importers
        for target in targets
        if _layer(target) in forbidden
    )


def test_the_reader_sees_every_kind_of_import() -> None:
    source = (
        "import traptagger_lab.db\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from traptagger_lab.lab import Lab\n"
        "def f():\n    from ..results import api\n"
        "from . import views\n"
    )
    found = imports_of(source, "traptagger_lab.widgets.app")
    assert {"traptagger_lab.db", "traptagger_lab.lab", "traptagger_lab.results.api"} <= found
    assert "traptagger_lab.widgets.views" in found


def test_the_rule_fails_when_broken(tmp_path: Path) -> None:
    """A widget that imports the database would be caught (the check is not vacuous)."""
    offending = "from traptagger_lab.db.models import Image\n"
    found = imports_of(offending, "traptagger_lab.widgets.tagger")
    assert any(_layer(i) == "db" for i in found)


def test_the_foundation_imports_nothing_above_it() -> None:
    assert _breaches(FOUNDATION, ABOVE_FOUNDATION) == []


def test_widgets_never_touch_the_database() -> None:
    """Widgets hold view state and call the library through Lab; no SQL of their own."""
    assert _breaches(("widgets",), ("db",)) == []
    for path in (PACKAGE / "widgets").rglob("*.py"):
        assert "sqlalchemy" not in {i.split(".")[0] for i in imports_of(path.read_text(), "x.y")}


@pytest.mark.parametrize("face", ["widgets", "cli", "lab"])
def test_nothing_below_imports_a_face(face: str) -> None:
    """Stages and the foundation never import the faces above them (widgets, CLI, hub)."""
    below = ("db", "storage", "compute", "settings", "errors", "ingest", "detect", "classify")
    assert _breaches(below, (face,)) == []
