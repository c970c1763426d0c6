"""Our Voila template: found where Voila looks, built on Voila's lab template, no CDN links.

The browser tests (annotation app, results dashboard, the hub) serve pages with it and
assert that they ask for no host off the machine.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from traptagger_lab.widgets import JUPYTER_DATA, VOILA_ARGS, VOILA_TEMPLATE, voila_environment


def test_voila_finds_the_template_on_jupyter_path() -> None:
    from voila.paths import collect_template_paths

    env = voila_environment({"JUPYTER_PATH": "/somewhere/else"})
    assert env["JUPYTER_PATH"].split(os.pathsep) == [str(JUPYTER_DATA), "/somewhere/else"]
    folder = JUPYTER_DATA / "voila" / "templates" / VOILA_TEMPLATE
    assert json.loads((folder / "conf.json").read_text())["base_template"] == "lab"
    paths = collect_template_paths(
        ["voila", "nbconvert"], VOILA_TEMPLATE, root_dirs=[str(JUPYTER_DATA), *_roots()]
    )
    assert paths[0] == str(folder)
    assert any(p.endswith(os.path.join("voila", "templates", "lab")) for p in paths)
    assert (f"--VoilaConfiguration.template={VOILA_TEMPLATE}",) == VOILA_ARGS


def test_the_template_drops_every_cdn_link_of_voilas_lab_template() -> None:
    ours = (JUPYTER_DATA / "voila/templates/traptagger/index.html.j2").read_text()
    lab = next(
        p / "voila/templates/lab/index.html.j2"
        for p in map(Path, _roots())
        if (p / "voila/templates/lab/index.html.j2").exists()
    )
    links = [line.strip() for line in lab.read_text().splitlines() if "cdn." in line]
    assert links, "Voila's lab template links nothing from a CDN any more: drop our template"
    for link in links:
        assert link in ours  # each one is replaced by nothing
    # and MathJax, which Voila's page would load from a CDN, is off
    assert 'page_config.update(fullMathjaxUrl="null", mathjaxConfig="null")' in ours


def _roots() -> list[str]:
    from jupyter_core.paths import jupyter_path

    return jupyter_path()
