"""TrapTagger Lab on JupyterHub: organisations, roles, and their isolated databases and storage.

Installed with the ``hub`` extra. Nothing here is imported by ``traptagger_lab``
itself; the hub configuration and services import it.
"""
