"""One-line explanations of failures users can act on."""

from __future__ import annotations

import pytest

from traptagger_lab.messages import explain, missing_extra


@pytest.mark.parametrize(
    ("module", "extra"),
    [("pymysql", "mysql"), ("psycopg", "postgres"), ("s3fs", "aws"), ("torch.nn", "detect")],
)
def test_a_module_of_an_extra_names_the_extra(module: str, extra: str) -> None:
    exc = ModuleNotFoundError(f"No module named {module!r}", name=module)
    said = explain(exc)
    assert said == missing_extra(exc)
    assert said is not None
    assert f"pip install 'traptagger-lab[{extra}]'" in said
    assert said.startswith(f"{module} is not installed")


def test_other_missing_modules_stay_unexpected() -> None:
    assert explain(ModuleNotFoundError("No module named 'nope'", name="nope")) is None
    assert missing_extra(ImportError("cannot import name x")) is None
