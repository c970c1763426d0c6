"""The one base of stage parameters: every stage's parameters refuse unknown fields, document
each field, and a bad value reaches people as one line naming the field."""

from __future__ import annotations

import ast
import importlib
from typing import Any

import pytest
from pydantic import Field, ValidationError

from tests.conftest import REPO
from traptagger_lab.messages import explain
from traptagger_lab.params import StageParams

PACKAGE = REPO / "traptagger_lab"

#: The parameter sets of the stages today (more may come; none may go unnoticed).
KNOWN = {
    "SequenceParams", "StaticParams", "TrainConfig", "AutoLabelRule",
    "DetectParams", "ClassifyParams", "BatchParams", "CropParams",
}  # fmt: skip


def _subclasses(cls: type[StageParams]) -> list[type[StageParams]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def stage_params() -> list[type[StageParams]]:
    """Every StageParams subclass of the package, once each module naming the base is loaded."""
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name != "params.py" and "StageParams" in path.read_text():
            parts = path.relative_to(REPO).with_suffix("").parts
            importlib.import_module(".".join(p for p in parts if p != "__init__"))
    return sorted(
        (c for c in _subclasses(StageParams) if c.__module__.startswith("traptagger_lab.")),
        key=lambda c: c.__name__,
    )


class _Example(StageParams):
    """A small parameter set for the base's own tests."""

    size: int = Field(default=8, ge=1, description="Items per batch (items).")
    label: str = Field(description="What it is called.")


def test_every_stage_params_class_is_found() -> None:
    assert {c.__name__ for c in stage_params()} >= KNOWN


@pytest.mark.parametrize("cls", stage_params(), ids=lambda c: c.__name__)
def test_unknown_fields_are_refused(cls: type[StageParams]) -> None:
    assert cls.model_config.get("extra") == "forbid"
    with pytest.raises(ValidationError) as caught:
        cls.model_validate({"no_such_field": 1})
    refused = [e for e in caught.value.errors() if e["type"] == "extra_forbidden"]
    assert [e["loc"] for e in refused] == [("no_such_field",)]


@pytest.mark.parametrize("cls", stage_params(), ids=lambda c: c.__name__)
def test_every_field_is_documented(cls: type[StageParams]) -> None:
    assert (cls.__doc__ or "").strip()
    undocumented = [n for n, f in cls.model_fields.items() if not (f.description or "").strip()]
    assert undocumented == []


@pytest.mark.parametrize("cls", stage_params(), ids=lambda c: c.__name__)
def test_parameters_are_frozen(cls: type[StageParams]) -> None:
    assert cls.model_config.get("frozen") is True


def test_a_bad_value_names_the_field_in_one_line() -> None:
    with pytest.raises(ValidationError) as caught:
        _Example(size=0, label="x")
    assert explain(caught.value) == (
        "invalid _Example: size: Input should be greater than or equal to 1"
    )
    with pytest.raises(ValidationError) as caught:
        _Example(label="x", sise=3)  # type: ignore[call-arg]
    assert explain(caught.value) == "invalid _Example: sise: Extra inputs are not permitted"


def test_replace_checks_the_new_values() -> None:
    params = _Example(label="x")
    changed = params.replace(size=3)
    assert (changed.size, changed.label, params.size) == (3, "x", 8)
    with pytest.raises(ValidationError, match="size"):
        params.replace(size=0)
    with pytest.raises(ValidationError, match="colour"):
        params.replace(colour="red")
    with pytest.raises(ValidationError, match="frozen"):
        params.size = 3  # type: ignore[misc]


def test_describe_lists_each_field() -> None:
    rows: list[dict[str, Any]] = _Example(size=3, label="x").describe()
    assert rows == [
        {"field": "size", "value": 3, "default": 8, "description": "Items per batch (items)."},
        {
            "field": "label",
            "value": "x",
            "default": "required",
            "description": "What it is called.",
        },
    ]


def test_the_base_imports_pydantic_only() -> None:
    tree = ast.parse((PACKAGE / "params.py").read_text())
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "typing", "pydantic"}


def test_the_cli_says_which_value_is_wrong_in_one_line(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from traptagger_lab.cli import app

    monkeypatch.setenv("TRAPTAGGER_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.setenv("TRAPTAGGER_DASK_SCHEDULER", "sync")
    result = CliRunner().invoke(app, ["train", "fit", "bird", "--data", "birds", "--epochs", "0"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: invalid TrainConfig: epochs: Input should be greater than or equal to 1"
    ]
