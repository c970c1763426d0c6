"""What an annotator's single-user server allows: the Voila app and its kernel, nothing else.

The hub starts annotators' servers with JupyterLab and terminals switched off
and this authorizer, which refuses every Jupyter REST API (contents, kernels,
sessions, terminals...) except the websocket and state of a kernel Voila
started for the page. Whatever code reaches that kernel still runs with the annotator's
database login only, which the database server limits to annotating.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.extension.application import ExtensionApp
from tornado import web

#: The authorization resource of the extension's endpoints.
RESOURCE = "traptagger"

#: Handlers an annotator's browser needs besides Voila's own: the channels of the page's
#: kernel, and reading that kernel's state (by its id; listing kernels stays refused).
_ALLOWED = {("KernelWebsocketHandler", "execute"), ("KernelWebsocketHandler", "read"),
            ("KernelHandler", "read")}  # fmt: skip


class AnnotatorAuthorizer(Authorizer):
    """Allow Voila and its kernel channels; refuse the rest of the Jupyter server API."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        """Whether ``user`` may take ``action`` on ``resource`` through ``handler``."""
        kind = type(handler)
        if kind.__module__.split(".")[0] == "voila":
            return True
        if (kind.__name__, action) in _ALLOWED:
            return True
        if resource == RESOURCE and action == "read":  # the org's images and progress
            return True
        self.log.info(
            "refused %s %s to annotator %s (%s)", action, resource, user.username, kind.__name__
        )
        return False


#: ``jupyter_server`` settings for annotators' servers (passed on the command line).
ANNOTATOR_SERVER_ARGS = [
    "--ServerApp.terminals_enabled=False",
    "--ServerApp.authorizer_class=traptagger_hub.server.AnnotatorAuthorizer",
    "--ServerApp.jpserver_extensions=jupyterlab=False",
    "--ServerApp.jpserver_extensions=notebook=False",
    "--ServerApp.jpserver_extensions=voila=True",
]

#: Every organisation server (members' and annotators') runs the extension.
EXTENSION_ARGS = ["--ServerApp.jpserver_extensions=traptagger_hub=True"]


# -- the jupyter-server extension: endpoints the widgets and apps use ----------------------------


class _LabHandler(JupyterHandler):
    """Base of the extension's endpoints: the server's lab (its organisation's, from the env)."""

    auth_resource = RESOURCE

    @property
    def lab(self) -> Any:
        return self.settings["traptagger_lab"]()


class ImageHandler(_LabHandler):
    """``GET /traptagger/images/<id>/<thumbnail|compressed>``: the JPEG bytes."""

    @web.authenticated
    @authorized
    async def get(self, image_id: str, size: str) -> None:
        """The image copy from the organisation's store, or 404."""
        from traptagger_lab.errors import NotFoundError

        try:
            data = await asyncio.to_thread(self.lab.thumbnail, int(image_id), size)
        except NotFoundError as exc:
            raise web.HTTPError(404, str(exc)) from exc
        self.set_header("Content-Type", "image/jpeg")
        self.set_header("Cache-Control", "private, max-age=3600")
        self.finish(data)


class ProgressHandler(_LabHandler):
    """``GET /traptagger/tasks/<id>/progress``: the task's progress as JSON."""

    @web.authenticated
    @authorized
    async def get(self, task_id: str) -> None:
        """Clusters done, in progress and remaining, or 404 for a task this org lacks."""
        from traptagger_lab.errors import NotFoundError

        try:
            progress = await asyncio.to_thread(self.lab.tasks.progress, int(task_id))
        except NotFoundError as exc:
            raise web.HTTPError(404, str(exc)) from exc
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(progress))


class TrapTaggerServer(ExtensionApp):
    """Serves the organisation's images and task progress to its users' browsers."""

    name = "traptagger_hub"

    def initialize_settings(self) -> None:
        """Open the lab (from the server's TRAPTAGGER_* settings) on first use."""
        opened: list[Any] = []

        def lab() -> Any:
            if not opened:
                import traptagger_lab as ttl

                opened.append(ttl.open(dask_scheduler="sync"))
            return opened[0]

        self.settings["traptagger_lab"] = lab

    def initialize_handlers(self) -> None:
        """Register the endpoints under ``/traptagger``."""
        self.handlers.extend(
            [
                (r"/traptagger/images/(\d+)/(thumbnail|compressed)", ImageHandler),
                (r"/traptagger/tasks/(\d+)/progress", ProgressHandler),
            ]
        )
