"""What an annotator's single-user server allows: the Voila app and its kernel, nothing else.

The hub starts annotators' servers with JupyterLab and terminals switched off
and this authorizer, which refuses every Jupyter REST API (contents, kernels,
sessions, terminals...) except the websocket and state of a kernel Voila
started for the page. Whatever code reaches that kernel still runs with the annotator's
database login only, which the database server limits to annotating.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.authorizer import Authorizer

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
