"""The apps' page markup: HTML fragments kept as template files (``templates/*.html``),
filled with values that are always escaped, so a label, a name or a reason from the
database can never become markup.

``render("status", text="3 done")`` fills ``templates/status.html``; a value that is
itself a rendered fragment is passed as :class:`Markup` and kept as it is.
"""

from __future__ import annotations

import html
from functools import cache
from importlib.resources import files
from string import Template


class Markup(str):
    """A fragment that is already HTML (made by :func:`render`): inserted unescaped."""


@cache
def _template(name: str) -> Template:
    text = files("traptagger_lab.widgets").joinpath("templates", f"{name}.html").read_text()
    return Template(text.strip())


def render(name: str, **values: object) -> Markup:
    """The template ``name`` with every value escaped (but :class:`Markup` ones).

    Raises:
        KeyError: when the template names a value that is not given.
    """
    filled = {
        key: value if isinstance(value, Markup) else html.escape(str(value), quote=True)
        for key, value in values.items()
    }
    return Markup(_template(name).substitute(filled))


def join(fragments: list[Markup], separator: str = " ") -> Markup:
    """Fragments side by side."""
    return Markup(html.escape(separator).join(fragments))
