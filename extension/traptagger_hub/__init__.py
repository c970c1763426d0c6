"""TrapTagger Lab on JupyterHub: organisations, roles, and their isolated databases and storage.

Installed with the ``hub`` extra. Nothing here is imported by ``traptagger_lab``
itself; the hub configuration and services import it.
"""


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    """The jupyter-server extension (endpoints for images and task progress)."""
    from traptagger_hub.server import TrapTaggerServer

    return [{"module": "traptagger_hub.server", "app": TrapTaggerServer}]
