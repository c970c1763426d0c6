"""The import rule, read from the source: faces -> Lab -> stages -> workspace/db/storage/compute,
never upward. Each rule the code keeps today is enforced here; the reader is tested too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "traptagger_lab"

#: The bottom of the house: these import no stage, no Lab, no face.
FOUNDATION = ("db", "storage", "compute", "settings", "errors", "params")
#: Stages and faces (what the foundation must never import).
ABOVE_FOUNDATION = (
    "ingest", "detect", "classify", "annotate", "results", "exports", "training",
    "sequences", "clock", "lab", "widgets", "cli", "demo", "plots",
)  # fmt: skip


def imports_of(source: str, module: str, modules: set[str] | None = None) -> set[str]:
    """Every module a source file imports (absolute names; relative ones resolved against
    ``module``), including imports inside functions and under ``TYPE_CHECKING``. With
    ``modules`` known, ``from package import a, b`` of submodules does not count as
    importing the package itself."""
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
            named = {f"{base}.{alias.name}" for alias in node.names}
            found.update(named)
            if modules is None or not named <= modules:
                found.add(base)
    return found


def _modules(every_import: bool = False) -> dict[str, set[str]]:
    """Module name -> the traptagger_lab modules it imports (every module, when asked)."""
    ours = {
        ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for p in PACKAGE.rglob("*.py")
    }
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found = imports_of(path.read_text(), name, ours)
        graph[name] = found if every_import else {i for i in found if i in ours}
    return graph


def _layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def _breaches(
    importers: tuple[str, ...],
    forbidden: tuple[str, ...],
    graph: dict[str, set[str]] | None = None,
) -> list[str]:
    return sorted(
        f"{module} imports {target}"
        for module, targets in (graph if graph is not None else _modules()).items()
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


#: The stages: each takes a Workspace and reads other stages through their functions.
STAGES = (
    "ingest", "sequences", "clock", "detect", "classify", "annotate", "results", "exports",
    "training", "plots", "tables", "runs", "recovery", "leases", "messages", "deployments",
    "timestamps",
)  # fmt: skip
#: The faces above Lab, and Lab itself.
FACES = ("lab", "namespaces", "widgets", "cli", "demo")


@pytest.mark.parametrize("face", FACES)
def test_no_stage_imports_a_face(face: str) -> None:
    """Stages and the foundation never import Lab or a face, not even for type checking."""
    assert _breaches((*STAGES, *FOUNDATION, "surveys", "workspace"), (face,)) == []


def test_nothing_in_the_library_imports_the_hub() -> None:
    assert not [
        module
        for module, targets in _modules(every_import=True).items()
        if any(t.split(".")[0] == "traptagger_hub" for t in targets)
    ]


def test_a_stage_importing_lab_would_be_caught() -> None:
    graph = {"traptagger_lab.results.api": {"traptagger_lab.lab"}}
    assert _breaches(STAGES, ("lab",), graph) == [
        "traptagger_lab.results.api imports traptagger_lab.lab"
    ]


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The import cycles: strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_lab_is_in_no_import_cycle() -> None:
    """Lab sits above the stages it fronts: no cycle runs through it (the graph's size and
    its cycles are printed with ``-s``)."""
    graph = _modules()
    edges = sum(len(t) for t in graph.values())
    groups = cycles(graph)
    print(
        f"import graph: {len(graph)} modules, {edges} edges, cycles: {[sorted(g) for g in groups]}"
    )
    assert not [g for g in groups if "traptagger_lab.lab" in g]
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [{"a", "b"}]


def test_lab_only_composes() -> None:
    """Lab holds no SQL and no logic of its own: short, and every verb documented."""
    from traptagger_lab.lab import Lab

    source = (PACKAGE / "lab.py").read_text()
    assert len(source.splitlines()) < 300
    assert "select(" not in source
    assert "session.execute" not in source
    verbs = [name for name in dir(Lab) if not name.startswith("_")]
    undocumented = [name for name in verbs if not (getattr(Lab, name).__doc__ or "").strip()]
    assert undocumented == []
