"""Every third-party import is declared: by the base install, or by the extra its code needs.

The code -> extra map lives once, in ``[tool.traptagger-lab.extras]`` of pyproject.toml.
Imports under ``if TYPE_CHECKING:`` and imports guarded by ``except ImportError`` are
optional and not checked. Import names are mapped to distributions through the installed
packages' own metadata (``importlib.metadata``), so no network is needed.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import importlib.util
import re
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement

from tests.conftest import REPO

PACKAGES = {
    "traptagger_lab": REPO / "traptagger_lab",
    "traptagger_hub": REPO / "extension/traptagger_hub",
}
PROJECT = "traptagger-lab"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class ImportSite:
    """One ``import`` statement: where it is and what it names."""

    file: Path
    line: int
    scope: str  # "package.module" or "package.module:function" (outermost def/class)
    top: str  # the top-level module imported


def _module_name(package: str, root: Path, file: Path) -> str:
    parts = [package, *file.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _optional(node: ast.Try) -> bool:
    names: list[str] = []
    for handler in node.handlers:
        kinds = handler.type
        items = kinds.elts if isinstance(kinds, ast.Tuple) else [kinds]
        names += [i.id for i in items if isinstance(i, ast.Name)]
    return any(n in ("ImportError", "ModuleNotFoundError") for n in names)


def _walk(node: ast.AST, module: str, scope: str, file: Path) -> Iterator[ImportSite]:
    """The imports in ``node``'s children and below, each with the scope it sits in."""
    for child in ast.iter_child_nodes(node):
        yield from _visit(child, module, scope, file)


def _visit(node: ast.AST, module: str, scope: str, file: Path) -> Iterator[ImportSite]:
    if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
        for part in node.orelse:  # type-only imports are not needed at run time
            yield from _visit(part, module, scope, file)
        return
    if isinstance(node, ast.Try) and _optional(node):
        for part in (*node.handlers, *node.orelse, *node.finalbody):  # the body may fail
            yield from _visit(part, module, scope, file)
        return
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield ImportSite(file, node.lineno, scope, alias.name.split(".")[0])
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        yield ImportSite(file, node.lineno, scope, node.module.split(".")[0])
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and ":" not in scope:
        scope = f"{module}:{node.name}"
    yield from _walk(node, module, scope, file)


def third_party_imports() -> list[ImportSite]:
    """Every import of a module outside the standard library and our own packages."""
    sites = []
    for package, root in PACKAGES.items():
        for file in sorted(root.rglob("*.py")):
            module = _module_name(package, root, file)
            tree = ast.parse(file.read_text(), str(file))
            sites += [
                s
                for s in _walk(tree, module, module, file)
                if s.top not in sys.stdlib_module_names and s.top not in PACKAGES
            ]
    return sites


@cache
def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _profiles() -> ModuleType:
    """tools/check_profile.py, which holds the one reading of the map."""
    spec = importlib.util.spec_from_file_location("check_profile", REPO / "tools/check_profile.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def extra_map() -> dict[str, str]:
    """pyproject's code -> extra map."""
    return _profiles().extras_map(REPO / "pyproject.toml")


def extra_of(scope: str, extras: dict[str, str]) -> str:
    """The extra a module or function needs (see tools/check_profile.py)."""
    return _profiles().extra_of(scope, extras)


def _requirements(profile: str) -> list[str]:
    project = _project()["project"]
    if profile == "base":
        return list(project["dependencies"])
    return list(project["dependencies"]) + list(project["optional-dependencies"][profile])


@cache
def _provided_by(profile: str) -> frozenset[str]:
    return frozenset(provided(_requirements(profile)))


def provided(requirements: list[str]) -> set[str]:
    """Distributions the requirements name directly, with the extras they ask for expanded."""
    found: set[str] = set()
    pending = [Requirement(r) for r in requirements]
    while pending:
        requirement = pending.pop()
        name = _canonical(requirement.name)
        if name == PROJECT:
            for extra in requirement.extras:
                pending += [Requirement(r) for r in _requirements(extra)]
            continue
        found.add(name)
        for extra in requirement.extras:
            for text in metadata.requires(requirement.name) or []:
                needed = Requirement(text)
                if needed.marker is not None and needed.marker.evaluate({"extra": extra}):
                    pending.append(needed)
    return found


@cache
def _packages() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def distributions(top: str) -> set[str]:
    """The installed distributions that provide the import name ``top``."""
    return {_canonical(d) for d in _packages().get(top, [])}


def undeclared() -> list[str]:
    """One line per import that its code's install profile does not provide."""
    extras = extra_map()
    problems = []
    for site in third_party_imports():
        profile = extra_of(site.scope, extras)
        dists = distributions(site.top)
        where = f"{site.file.relative_to(REPO)}:{site.line} ({site.scope})"
        if not dists:
            problems.append(f"{where}: {site.top!r} is not installed here, so not declared")
        elif not dists & _provided_by(profile):
            problems.append(
                f"{where}: {site.top!r} ({', '.join(sorted(dists))}) is not declared by the "
                f"{profile} install"
            )
    return problems


def test_every_import_is_declared_by_its_profile() -> None:
    problems = undeclared()
    assert problems == [], "\n".join(problems)


def test_the_map_names_real_code_and_real_extras() -> None:
    project = _project()["project"]
    known = {"base", *project["optional-dependencies"]}
    for scope, extra in extra_map().items():
        assert extra in known, f"{scope}: no extra {extra!r}"
        module, _, function = scope.partition(":")
        package, _, rest = module.partition(".")
        root = PACKAGES[package]
        path = root.joinpath(*rest.split(".")) if rest else root
        file = path.with_suffix(".py") if path.with_suffix(".py").exists() else path
        assert file.exists(), f"{scope}: no module {module}"
        if function:
            assert re.search(rf"^\s*(def|class) {function}\b", file.read_text(), re.M), scope


def test_walker_sees_imports_inside_functions_and_skips_guarded_ones(tmp_path: Path) -> None:
    code = (
        "from typing import TYPE_CHECKING\n"
        "import numpy\n"
        "if TYPE_CHECKING:\n    import torch\n"
        "def f():\n    import scipy.stats\n"
        "    try:\n        import IPython\n    except ImportError:\n        pass\n"
        "class C:\n    def g(self):\n        from cv2 import resize\n"
    )
    file = tmp_path / "m.py"
    file.write_text(code)
    sites = list(_walk(ast.parse(code), "pkg.m", "pkg.m", file))
    assert [(s.top, s.scope) for s in sites] == [
        ("typing", "pkg.m"),
        ("numpy", "pkg.m"),
        ("scipy", "pkg.m:f"),
        ("cv2", "pkg.m:C"),
    ]
    assert extra_of("pkg.m:f", {"pkg": "hub", "pkg.m:f": "detect"}) == "detect"
    assert extra_of("pkg.m:g", {"pkg": "hub", "pkg.m:f": "detect"}) == "hub"
    assert extra_of("other", {"pkg": "hub"}) == "base"


@pytest.mark.parametrize("profile", ["base", "detect", "hub", "aws"])
def test_profiles_resolve(profile: str) -> None:
    assert "numpy" in provided(_requirements(profile))
