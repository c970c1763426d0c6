"""TrapTagger Lab: camera-trap surveys in Jupyter.

    import traptagger_lab as ttl
    lab = ttl.open()

Importing the package is cheap; heavy modules load when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traptagger_lab.version import __version__

if TYPE_CHECKING:
    from distributed import Client

    from traptagger_lab.lab import Lab


def open(workspace: str | None = None, client: Client | None = None, **settings: Any) -> Lab:  # noqa: A001
    """Open (creating or upgrading) a workspace; see :func:`traptagger_lab.lab.open_lab`."""
    from traptagger_lab.lab import open_lab

    return open_lab(workspace, client=client, **settings)


__all__ = ["__version__", "open"]
