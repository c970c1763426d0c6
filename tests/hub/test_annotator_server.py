"""An annotator's Jupyter server on its own (no hub): a real ``jupyter server`` process with
the hub's annotator settings, behind a hub-like base URL, serving a folder of two notebooks.

Voila renders the annotation app and nothing else (no other notebook, no listing), the
Jupyter APIs stay refused, and the app's kernel websocket carries widget messages only:
code sent over it never runs, in either websocket protocol, while the widgets still work.
"""

from __future__ import annotations

import http.client
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from traptagger_hub.server import (
    ANNOTATOR_NOTEBOOK,
    ANNOTATOR_SERVER_ARGS,
    EXTENSION_ARGS,
    voila_request_allowed,
)

from tests.browser import chromium_page, free_port, offline, served
from tests.hub.kernels import (
    WebsocketProtocol,
    comm_message,
    kernel_id_of,
    message,
    send_over_kernel_websocket,
    widget_ids_of,
)
from traptagger_lab.widgets import VOILA_ARGS, voila_environment

#: Behind the hub, an annotator's server lives under this prefix.
BASE = "/user/annotator/"
SECRET = "TOP-SECRET-NOTES"
PROTOCOLS: list[WebsocketProtocol] = ["legacy", "v1"]
#: The app: a slider, and a button whose click leaves a marker file named after the kernel.
APP_CELL = """\
import os
from pathlib import Path

import ipywidgets as widgets
from ipykernel.connect import get_connection_file
from IPython.display import display

kernel_id = Path(get_connection_file()).stem.removeprefix("kernel-")
button = widgets.Button(description="Mark")
button.on_click(lambda _: Path(os.environ["MARKERS"], f"clicked-{kernel_id}").touch())
display(widgets.IntSlider(), button)
"""
SECRET_CELL = f"""\
import os
from pathlib import Path

Path(os.environ["MARKERS"], "secret-ran").touch()
print("{SECRET}")
"""


@dataclass
class Server:
    """A running Jupyter server: where it is, how to authenticate, where markers appear."""

    url: str  # with the base URL, no trailing slash
    token: str
    markers: Path

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def get(self, path: str, method: str = "GET") -> tuple[int, str]:
        """Status and body of a request for ``path`` sent exactly as written (no client
        resolves its ``..`` or decodes it first)."""
        host = self.url.split("//", 1)[1].split("/", 1)[0]
        connection = http.client.HTTPConnection(host, timeout=120)
        try:
            connection.request(method, path, headers=self.headers)
            answer = connection.getresponse()
            return answer.status, answer.read().decode(errors="replace")
        finally:
            connection.close()

    def open_app(self) -> tuple[str, str]:
        """Render the app as the browser would: its kernel's id and its button's comm id."""
        status, page = self.get(f"{BASE}voila/render/{ANNOTATOR_NOTEBOOK}")
        assert status == 200, page[-2000:]
        _slider, button = widget_ids_of(page)
        return kernel_id_of(page), button


def _write_notebooks(root: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    app = new_notebook(cells=[new_code_cell(APP_CELL)], metadata=kernel)
    secret = new_notebook(
        cells=[new_markdown_cell(SECRET), new_code_cell(SECRET_CELL)], metadata=kernel
    )
    nbformat.write(app, root / ANNOTATOR_NOTEBOOK)
    nbformat.write(secret, root / "secret.ipynb")


def _serve(folder: Path, annotator_args: list[str]) -> Iterator[Server]:
    """A Jupyter server started as the hub starts an annotator's, with ``annotator_args``."""
    root, markers = folder / "notebooks", folder / "markers"
    root.mkdir()
    markers.mkdir()
    _write_notebooks(root)
    port, token = free_port(), uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRAPTAGGER_", "JUPYTER"))}
    env.update(
        MARKERS=str(markers),
        JUPYTER_CONFIG_DIR=str(folder / "config"),  # not the caller's ~/.jupyter
        JUPYTER_RUNTIME_DIR=str(folder / "runtime"),
    )
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.base_url={BASE}",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        *(["--allow-root"] if os.geteuid() == 0 else []),
        *EXTENSION_ARGS,
        *VOILA_ARGS,
        *annotator_args,
    ]
    url = f"http://127.0.0.1:{port}{BASE}".rstrip("/")
    with served(command, voila_environment(env), url):
        yield Server(url, token, markers)


@pytest.fixture(scope="module")
def annotator_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _serve(tmp_path_factory.mktemp("annotator"), ANNOTATOR_SERVER_ARGS)


@pytest.fixture(scope="module")
def unfiltered_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The same, with jupyter_server's own kernel websocket (the control of the probe)."""
    option = "--ServerApp.kernel_websocket_connection_class="
    args = [a for a in ANNOTATOR_SERVER_ARGS if not a.startswith(option)]
    assert len(args) == len(ANNOTATOR_SERVER_ARGS) - 1
    yield from _serve(tmp_path_factory.mktemp("unfiltered"), args)


def _eventually(condition: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _code_probe(marker: Path) -> list[dict[str, Any]]:
    """Requests that would run code (or stop the kernel) if they reached it, then a
    ``kernel_info_request``: the kernel answers its shell requests in order, so by the time
    that reply arrives, an execute that reached the kernel has run and been answered."""
    execute = {
        "code": f"open({str(marker)!r}, 'w').close()",
        "silent": False,
        "store_history": False,
        "user_expressions": {},
        "allow_stdin": False,
        "stop_on_error": True,
    }
    return [
        message("execute_request", execute),
        message("execute_request", execute, buffers=[b"\0"]),  # legacy: a binary frame
        message("execute_request", execute, channel="control"),
        message("inspect_request", {"code": "os", "cursor_pos": 2, "detail_level": 0}),
        message("complete_request", {"code": "os.", "cursor_pos": 3}),
        message(
            "history_request", {"output": False, "raw": True, "hist_access_type": "tail", "n": 5}
        ),
        message("shutdown_request", {"restart": False}, channel="control"),
        message("kernel_info_request"),
    ]


def _types(answers: list[dict[str, Any]]) -> list[str]:
    return [a["header"]["msg_type"] for a in answers]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/user/a/voila/render/annotate.ipynb", True),
        ("/user/a/voila/static/voila.js", True),
        ("/user/a/voila/labextensions/@voila-dashboards/widgets-manager8/static/x.js", True),
        ("/user/a/voila/api/shutdown/0b4e0e4a-5ea5-4bb6-8dc5-d7cf8dc8f1c6", True),
        ("/user/a/api/kernels", True),  # not Voila's: the authorizer's
        ("/user/a/voila/render/secret.ipynb", False),
        ("/user/a/voila/render/annotate.ipynb/../secret.ipynb", False),
        ("/user/a/voila/render/%61nnotate.ipynb", False),
        ("/user/a/voila/tree", False),
        ("/user/a/voila", False),
        ("/user/a/voila/api/contents", False),
        ("/user/a/voila/files/secret.png", False),
        ("/user/a/voila/static/../render/secret.ipynb", False),
        ("/user/a/voila/static/%2e%2e/render/secret.ipynb", False),
        ("/user/a/voila/static//x.js", False),
        ("/user/a/voila/static/..", False),
        ("/user/a/voila/static\\..\\render", False),
        ("/user/a/Voila/render/secret.ipynb", False),
        ("/user/a/voila/Static/voila.js", False),
        ("/user/a/voilatree", False),
    ],
)
def test_which_voila_urls_annotators_may_open(path: str, allowed: bool) -> None:
    assert voila_request_allowed(path, "/user/a/") is allowed


@pytest.mark.hub
@pytest.mark.slow
def test_voila_renders_the_annotation_app_and_nothing_else(annotator_server: Server) -> None:
    status, page = annotator_server.get(f"{BASE}voila/render/{ANNOTATOR_NOTEBOOK}")
    assert status == 200, page[-2000:]
    assert kernel_id_of(page)
    refused = (
        "voila/render/secret.ipynb",
        "voila/render/./secret.ipynb",
        "voila/render/%73ecret.ipynb",
        "voila/render//secret.ipynb",
        "voila/render/Secret.ipynb",
        "voila/Render/secret.ipynb",
        "VOILA/render/secret.ipynb",
        "voila/render/annotate.ipynb/../secret.ipynb",
        "voila/render/../x",
        "voila/render/%2e%2e/notebooks/secret.ipynb",
        "voila/static/../render/secret.ipynb",
        "voila//render/secret.ipynb",
        "voila/tree",
        "voila/tree/",
        "voila",
        "voila/",
        "voila/api/contents",
        "voila/api/contents/secret.ipynb",
        "voila/files/secret.ipynb",
    )
    for path in refused:
        status, body = annotator_server.get(BASE + path)
        assert (status, SECRET in body, "secret.ipynb" in body) == (403, False, False), path
    status, body = annotator_server.get("/voila/render/secret.ipynb")  # outside the base URL
    assert (status, SECRET in body) == (404, False)
    assert not (annotator_server.markers / "secret-ran").exists()


@pytest.mark.hub
@pytest.mark.slow
def test_the_authorizer_still_refuses_the_jupyter_apis(annotator_server: Server) -> None:
    for path in ("api/kernels", "api/contents", "api/sessions", "api/kernelspecs"):
        assert annotator_server.get(BASE + path)[0] == 403, path
    assert annotator_server.get(f"{BASE}files/secret.ipynb")[0] == 403
    assert annotator_server.get(f"{BASE}api/kernels", method="POST")[0] == 403


@pytest.mark.hub
@pytest.mark.slow
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_code_sent_over_the_kernel_websocket_never_runs(
    annotator_server: Server, protocol: WebsocketProtocol
) -> None:
    kernel_id, _ = annotator_server.open_app()
    marker = annotator_server.markers / f"code-{protocol}"
    probe = _code_probe(marker)
    answers = send_over_kernel_websocket(
        annotator_server.ws_url, kernel_id, annotator_server.headers, probe, protocol
    )
    replies = [a for a in answers if a["channel"] != "iopub"]
    assert _types(replies) == ["kernel_info_reply"], _types(answers)
    assert "execute_input" not in _types(answers)
    assert not marker.exists()
    alive = [message("kernel_info_request")]  # the shutdown did not reach it either
    again = send_over_kernel_websocket(
        annotator_server.ws_url, kernel_id, annotator_server.headers, alive, protocol
    )
    assert "kernel_info_reply" in _types(again)
    assert not marker.exists()


@pytest.mark.hub
@pytest.mark.slow
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_widget_messages_reach_the_kernel(
    annotator_server: Server, protocol: WebsocketProtocol
) -> None:
    kernel_id, button = annotator_server.open_app()
    ws_url, headers = annotator_server.ws_url, annotator_server.headers
    listed = send_over_kernel_websocket(
        ws_url,
        kernel_id,
        headers,
        [message("comm_info_request", {"target_name": "jupyter.widget"})],
        protocol,
    )
    (reply,) = [a for a in listed if a["channel"] == "shell"]
    assert reply["header"]["msg_type"] == "comm_info_reply"
    assert button in reply["content"]["comms"]
    clicked = annotator_server.markers / f"clicked-{kernel_id}"
    assert not clicked.exists()
    event = {"method": "custom", "content": {"event": "click"}}
    click = comm_message(button, event, buffers=[b"\0"])  # legacy: a binary frame
    answers = send_over_kernel_websocket(
        ws_url, kernel_id, headers, [click, message("kernel_info_request")], protocol
    )
    assert "kernel_info_reply" in _types(answers)
    assert _eventually(clicked.exists)


@pytest.mark.hub
@pytest.mark.slow
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_probe_sees_code_run_on_an_unfiltered_kernel(
    unfiltered_server: Server, protocol: WebsocketProtocol
) -> None:
    """The control: the probe above, with jupyter_server's own websocket, runs the code."""
    kernel_id, _ = unfiltered_server.open_app()
    marker = unfiltered_server.markers / f"code-{protocol}"
    probe = [_code_probe(marker)[0], message("kernel_info_request")]
    answers = send_over_kernel_websocket(
        unfiltered_server.ws_url, kernel_id, unfiltered_server.headers, probe, protocol
    )
    replies = [a["header"]["msg_type"] for a in answers if a["channel"] == "shell"]
    assert replies == ["execute_reply", "kernel_info_reply"]
    assert marker.exists()


@pytest.mark.hub
@pytest.mark.browser
@pytest.mark.slow
def test_the_app_works_in_the_browser(annotator_server: Server) -> None:
    """Voila's own frontend, through the filter: the page loads, a click reaches the kernel,
    and nothing the page asks for is refused."""
    failed: list[str] = []
    with chromium_page() as page:
        offline(page)
        page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
        app = f"{annotator_server.url}/voila/render/{ANNOTATOR_NOTEBOOK}"
        page.goto(f"{app}?token={annotator_server.token}")
        page.get_by_role("button", name="Mark").click(timeout=120_000)
        clicked = annotator_server.markers / f"clicked-{kernel_id_of(page.content())}"
        assert _eventually(clicked.exists)
    assert failed == []
