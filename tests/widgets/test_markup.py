"""The apps' markup: template files, values always escaped."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest

from traptagger_lab.widgets.markup import Markup, join, render

HOSTILE = "<img src=x onerror=alert(1)>"


def test_values_are_escaped_and_fragments_kept() -> None:
    status = render("status", text=HOSTILE)
    assert HOSTILE not in status
    assert "&lt;img src=x onerror=alert(1)&gt;" in status
    nested = render("opinions", opinions=HOSTILE, rest=render("status", text="ok"))
    assert '<span style="color:#555">ok</span>' in nested  # a rendered fragment stays markup
    assert HOSTILE not in nested
    assert isinstance(join([render("photo_strip_item", number=1)]), Markup)


def test_a_missing_value_is_an_error_not_a_blank() -> None:
    with pytest.raises(KeyError):
        render("status")


def test_every_template_is_used_by_the_widgets() -> None:
    """No dead templates: each file is named by some widget module."""
    package = files("traptagger_lab.widgets")
    names = {p.name[: -len(".html")] for p in package.joinpath("templates").iterdir()}
    sources = "".join(p.read_text() for p in package.iterdir() if p.name.endswith(".py"))
    used = set(re.findall(r'"([a-z_]+)"', sources))
    assert names <= used, names - used
