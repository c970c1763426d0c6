"""What an annotator's single-user server allows: the annotation app and what it needs.

The hub starts annotators' servers with JupyterLab and terminals switched off and
three locks (:data:`ANNOTATOR_SERVER_ARGS`):

- :class:`AnnotatorAuthorizer` refuses every Jupyter REST API (contents, kernels,
  sessions, terminals...) except the websocket and state of a kernel Voila started for
  the page, and the extension's images and task progress;
- the ``traptagger_hub.server`` server extension refuses every Voila URL except the
  annotation app (:data:`ANNOTATOR_NOTEBOOK`), the files its page loads, and the
  shutdown of its kernel: no other notebook is rendered, no folder listed (Voila's own
  handlers never ask the authorizer);
- :class:`WidgetOnlyConnection` carries widget messages only from the page to its kernel,
  so a script in the annotator's browser cannot run code there (no ``execute_request``).

Whatever reaches the kernel still runs with the annotator's database login only, which
the database server limits to annotating.
"""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.services.kernels.connection.base import (
    deserialize_binary_message,
    deserialize_msg_from_ws_v1,
    serialize_msg_to_ws_v1,
)
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from tornado import web
from tornado.httputil import HTTPServerRequest
from tornado.routing import Matcher, Rule

#: The authorization resource of the extension's endpoints.
RESOURCE = "traptagger"

#: The one notebook Voila renders for annotators (``/voila/render/annotate.ipynb``).
ANNOTATOR_NOTEBOOK = "annotate.ipynb"

#: Handlers an annotator's browser needs besides Voila's own: the channels of the page's
#: kernel (which carry widget messages only, see :class:`WidgetOnlyConnection`), and
#: reading that kernel's state (by its id; listing kernels stays refused).
_ALLOWED = {("KernelWebsocketHandler", "execute"), ("KernelWebsocketHandler", "read"),
            ("KernelHandler", "read")}  # fmt: skip

#: The URLs under ``voila/`` (after the server's base URL) an annotator's page loads
#: besides the app itself: Voila's static files, templates' files, themes and
#: labextensions (the widget manager), and the shutdown of its kernel when the page closes.
_VOILA_ASSETS = (
    "voila/static/",
    "voila/templates/",
    "voila/api/themes/",
    "voila/labextensions/",
    "voila/api/shutdown/",
)

#: The client messages an annotator's page may send its kernel, all on the shell channel:
#: what Voila's widget manager (ipywidgets 8) and its kernel connection send.
WIDGET_MESSAGES = frozenset(
    {
        "kernel_info_request",  # the kernel connection asks it on (re)connecting
        "comm_open",  # the manager opens the ``jupyter.widget.control`` comm to fetch states
        "comm_msg",  # widget updates, state requests and events (a button's click)
        "comm_close",  # the manager closes the control comm and widgets it disposes
        "comm_info_request",  # its fallback when the control comm fails: the widgets' comms
    }
)

_V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"


def voila_request_allowed(path: str, base_url: str = "/") -> bool:
    """Whether an annotator's server lets a request for ``path`` reach Voila.

    Args:
        path: the request's path as sent (still URL-encoded, without the query).
        base_url: the server's base URL (``/user/<name>/`` behind the hub).

    Returns:
        True for paths that are not Voila's (the authorizer rules those), for the
        annotation app at exactly ``voila/render/annotate.ipynb`` and for the files its
        page loads; False for every other Voila URL: other notebooks, the tree, Voila's
        contents API, the files of the server's folder. A Voila path in another spelling
        (URL-encoded, with ``.`` or ``..`` segments, doubled slashes, backslashes, other
        capitals) is refused, never interpreted.
    """
    prefix = f"{base_url.rstrip('/')}/"
    if not path.lower().startswith(f"{prefix}voila".lower()):  # all Voila's routes start so
        return True
    if path == f"{prefix}voila/render/{ANNOTATOR_NOTEBOOK}":
        return True
    rest = path[len(prefix) :]
    segments = rest.split("/")
    return (
        path.startswith(prefix)
        and rest.startswith(_VOILA_ASSETS)
        and not any(c in rest for c in "%\\")
        and not any(s in (".", "..") for s in segments)
        and "" not in segments[:-1]
    )


class AnnotatorAuthorizer(Authorizer):
    """Allow Voila's app and its kernel channels; refuse the rest of the Jupyter server API."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        """Whether ``user`` may take ``action`` on ``resource`` through ``handler``."""
        kind = type(handler)
        if kind.__module__.split(".")[0] == "voila":  # none asks today; the same rule if one did
            return voila_request_allowed(handler.request.path, handler.base_url)
        if (kind.__name__, action) in _ALLOWED:
            return True
        if resource == RESOURCE and action == "read":  # the org's images and progress
            return True
        self.log.info(
            "refused %s %s to annotator %s (%s)", action, resource, user.username, kind.__name__
        )
        return False


class _RefusedVoilaPaths(Matcher):
    """Matches the requests for Voila URLs an annotator may not open."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def match(self, request: HTTPServerRequest) -> dict[str, Any] | None:
        """An empty match (route to the refusal) or None (route on as usual)."""
        return None if voila_request_allowed(request.path or "", self.base_url) else {}


class VoilaRefusalHandler(JupyterHandler):
    """``403`` for the Voila URLs an annotator may not open (after logging in, as usual)."""

    async def prepare(self) -> None:  # type: ignore[override]
        """Authenticate as every page does (which may send to the login page), then refuse."""
        await super().prepare()
        if self._finished:  # sent to log in
            return
        user = getattr(self.current_user, "username", None)
        self.log.info("refused %s to annotator %s", self.request.path, user)
        raise web.HTTPError(403)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The annotators' extension: Voila's app only (``traptagger_hub.server=True``)."""
    return [{"module": "traptagger_hub.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Route the Voila URLs annotators may not open to a refusal, ahead of every handler."""
    web_app = serverapp.web_app
    guard = Rule(_RefusedVoilaPaths(web_app.settings["base_url"]), VoilaRefusalHandler)
    web_app.default_router.rules.insert(0, guard)


class WidgetOnlyConnection(ZMQChannelsWebsocketConnection):
    """A kernel websocket that carries widget messages only from the browser to the kernel.

    Every client message other than :data:`WIDGET_MESSAGES` on the shell channel is
    dropped and logged (no reply: its sender waits in vain); messages from the kernel
    pass as usual. Both websocket protocols are read: the legacy one (JSON text frames,
    or binary frames with buffers) and ``v1.kernel.websocket.jupyter.org``, whose header
    is forwarded as read here, so the kernel sees the message type that was checked.
    """

    def handle_incoming_message(self, incoming_msg: Any) -> None:
        """Forward ``incoming_msg`` to the kernel if it is a widget message; drop it if not."""
        if not self.channels:  # closed: the base class ignores every message
            super().handle_incoming_message(incoming_msg)
            return
        try:
            channel, msg_type, frame = self._read(incoming_msg)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, struct.error) as exc:
            channel, msg_type, frame = "?", f"an unreadable message ({exc!r})", None
        if frame is None or channel != "shell" or msg_type not in WIDGET_MESSAGES:
            user = getattr(self.websocket_handler.current_user, "username", None)
            self.log.info(
                "refused %s on the %s channel of kernel %s to annotator %s",
                msg_type,
                channel,
                self.kernel_id,
                user,
            )
            return
        super().handle_incoming_message(frame)

    def _read(self, ws_msg: Any) -> tuple[Any, str, Any]:
        """The channel and message type of a client's frame, read as the base class reads
        them, and the frame to forward (v1: rebuilt around the header as read here)."""
        if self.subprotocol == _V1_PROTOCOL:
            channel, parts = deserialize_msg_from_ws_v1(ws_msg)
            header = self.session.unpack(parts[0])
            frame = serialize_msg_to_ws_v1([self.session.pack(header), *parts[1:]], channel)
        else:
            msg = (
                json.loads(ws_msg)
                if isinstance(ws_msg, str)
                else deserialize_binary_message(ws_msg)
            )
            channel, header, frame = msg.get("channel"), msg["header"], ws_msg
        msg_type = header["msg_type"]
        if not isinstance(msg_type, str):
            raise TypeError(f"msg_type {msg_type!r}")
        return ("shell" if channel is None else channel), msg_type, frame


#: ``jupyter_server`` settings for annotators' servers (passed on the command line).
ANNOTATOR_SERVER_ARGS = [
    "--ServerApp.terminals_enabled=False",
    "--ServerApp.authorizer_class=traptagger_hub.server.AnnotatorAuthorizer",
    "--ServerApp.kernel_websocket_connection_class=traptagger_hub.server.WidgetOnlyConnection",
    "--ServerApp.jpserver_extensions=jupyterlab=False",
    "--ServerApp.jpserver_extensions=notebook=False",
    "--ServerApp.jpserver_extensions=voila=True",
    "--ServerApp.jpserver_extensions=traptagger_hub.server=True",
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
