"""ipywidgets tools for notebooks and Voila apps; the logic lives in library functions."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

#: A Jupyter data folder holding our Voila template, ``traptagger``: Voila's lab template
#: without the stylesheets it links from a CDN, so that pages render on closed networks.
JUPYTER_DATA = Path(__file__).with_name("jupyter")
VOILA_TEMPLATE = "traptagger"
#: Command-line arguments that make a Voila server (or a Jupyter server's Voila extension)
#: use it; the process also needs :func:`voila_environment`.
VOILA_ARGS = (f"--VoilaConfiguration.template={VOILA_TEMPLATE}",)


def voila_environment(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with our Jupyter data folder first on ``JUPYTER_PATH`` (where Voila looks for
    templates)."""
    paths = [str(JUPYTER_DATA), *filter(None, env.get("JUPYTER_PATH", "").split(os.pathsep))]
    return {**env, "JUPYTER_PATH": os.pathsep.join(paths)}
