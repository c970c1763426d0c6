"""Helpers of the hub tests: a Voila page's kernel, and messages sent over its websocket.

A test client of the kernel websocket (``/api/kernels/<id>/channels``) written from the
protocols' documentation rather than with jupyter_server's own code. It speaks either
protocol: the legacy one (JSON text frames, binary ones for messages with buffers) or
``v1.kernel.websocket.jupyter.org`` (binary frames: offsets, channel, the message's
parts). It authenticates with whatever headers it is given: ``Authorization: token ...``
for a server started with a token, or the ``Cookie`` of a hub login.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import struct
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import urlencode

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"
#: How :func:`send_over_kernel_websocket` speaks: the legacy protocol or v1.
WebsocketProtocol = Literal["legacy", "v1"]
#: The channels a kernel replies on (iopub carries the side effects: status, outputs...).
REPLY_CHANNELS = ("shell", "control", "stdin")

_CONFIG = re.compile(
    r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', re.S
)
_OUTPUT = re.compile(r'<script type="application/vnd.voila.cell-output\+json">(.*?)</script>', re.S)
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def kernel_id_of(voila_html: str) -> str:
    """The id of the kernel Voila started for a rendered page (from its page config)."""
    found = _CONFIG.search(voila_html)
    if found is None:
        raise ValueError("no jupyter-config-data in the page")
    return str(json.loads(found.group(1))["kernelId"])


def widget_ids_of(voila_html: str) -> list[str]:
    """The model ids (= comm ids) of the widgets a rendered page displays, in page order."""
    ids = []
    for found in _OUTPUT.finditer(voila_html):
        output = json.loads(found.group(1))
        view = output.get("data", {}).get(_WIDGET_VIEW)
        if view:
            ids.append(str(view["model_id"]))
    return ids


def message(
    msg_type: str,
    content: Mapping[str, Any] | None = None,
    channel: str = "shell",
    buffers: Sequence[bytes] = (),
) -> dict[str, Any]:
    """A Jupyter message from a client, ready for :func:`send_over_kernel_websocket`."""
    return {
        "channel": channel,
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": msg_type,
            "session": uuid.uuid4().hex,
            "username": "test",
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "version": "5.4",
        },
        "parent_header": {},
        "metadata": {},
        "content": dict(content or {}),
        "buffers": list(buffers),
    }


def comm_message(
    comm_id: str, data: Mapping[str, Any], buffers: Sequence[bytes] = ()
) -> dict[str, Any]:
    """A ``comm_msg`` to the widget (comm) ``comm_id``: e.g. a button's click is
    ``{"method": "custom", "content": {"event": "click"}}``."""
    return message("comm_msg", {"comm_id": comm_id, "data": dict(data)}, buffers=buffers)


def send_over_kernel_websocket(
    base_ws_url: str,
    kernel_id: str,
    headers: Mapping[str, str],
    messages: Sequence[Mapping[str, Any]],
    protocol: WebsocketProtocol = "legacy",
    wait: float = 30.0,
    query: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Send ``messages`` in order over the kernel's websocket; the kernel's answers to them.

    Args:
        base_ws_url: the server's URL with its base URL, ``ws://host:port/user/<name>``.
        kernel_id: the kernel (see :func:`kernel_id_of`).
        headers: what authenticates the connection (``Authorization`` or ``Cookie``).
        messages: built with :func:`message`; each has its ``channel``.
        protocol: ``"legacy"`` (no subprotocol asked) or ``"v1"`` (asks for it).
        wait: the most seconds to wait for the reply to the last message.
        query: more query arguments of the websocket URL (``_xsrf`` behind a hub...).

    Returns:
        Every message the kernel sent whose parent is one of ``messages`` (replies and
        iopub side effects), each with its ``channel``, in the order received; collected
        until the last message's reply (a kernel answers a channel's requests in order,
        so the earlier ones' replies, if any, came before it) or for ``wait`` seconds.
    """
    return asyncio.run(
        _exchange(base_ws_url, kernel_id, headers, messages, protocol, wait, query or {})
    )


async def _exchange(
    base_ws_url: str,
    kernel_id: str,
    headers: Mapping[str, str],
    messages: Sequence[Mapping[str, Any]],
    protocol: str,
    wait: float,
    query: Mapping[str, str],
) -> list[dict[str, Any]]:
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    arguments = urlencode({"session_id": uuid.uuid4().hex, **query})
    url = f"{base_ws_url.rstrip('/')}/api/kernels/{kernel_id}/channels?{arguments}"
    request = HTTPRequest(url, headers=dict(headers), request_timeout=wait)
    v1 = protocol == "v1"
    socket = await websocket_connect(request, subprotocols=[V1_PROTOCOL] if v1 else None)
    try:
        if (socket.selected_subprotocol == V1_PROTOCOL) != v1:
            raise AssertionError(f"asked for {protocol}, got {socket.selected_subprotocol}")
        ours = {m["header"]["msg_id"] for m in messages}
        for msg in messages:
            outgoing = encode_v1(msg) if v1 else encode_legacy(msg)
            await socket.write_message(outgoing, binary=isinstance(outgoing, bytes))
        last = messages[-1]["header"]["msg_id"]
        answers: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = await asyncio.wait_for(socket.read_message(), left)
            except TimeoutError:
                break
            if frame is None:
                raise ConnectionError(f"the server closed the websocket ({socket.close_reason})")
            msg = decode_v1(frame) if v1 else decode_legacy(frame)
            if msg["parent_header"].get("msg_id") not in ours:
                continue  # the server's own requests (its nudge) and others' traffic
            answers.append(msg)
            if msg["channel"] in REPLY_CHANNELS and msg["parent_header"]["msg_id"] == last:
                break
        return answers
    finally:
        socket.close()


def encode_v1(msg: Mapping[str, Any]) -> bytes:
    """``msg`` as a ``v1.kernel.websocket.jupyter.org`` frame: the count of offsets, the
    offsets (little-endian 64-bit), the channel, then header, parent header, metadata,
    content and buffers."""
    parts = [
        msg["channel"].encode(),
        *(json.dumps(msg[k]).encode() for k in ("header", "parent_header", "metadata", "content")),
        *msg.get("buffers", []),
    ]
    offsets = [8 * (len(parts) + 2)]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    head = [len(offsets).to_bytes(8, "little"), *(o.to_bytes(8, "little") for o in offsets)]
    return b"".join([*head, *parts])


def decode_v1(frame: bytes | str) -> dict[str, Any]:
    """A ``v1.kernel.websocket.jupyter.org`` frame as a message dict (see :func:`encode_v1`)."""
    if isinstance(frame, str):
        raise ValueError("a v1 frame is binary")
    count = int.from_bytes(frame[:8], "little")
    offsets = [int.from_bytes(frame[8 * (i + 1) : 8 * (i + 2)], "little") for i in range(count)]
    parts = [frame[start:stop] for start, stop in itertools.pairwise(offsets)]
    msg: dict[str, Any] = {"channel": parts[0].decode()}
    for key, part in zip(
        ("header", "parent_header", "metadata", "content"), parts[1:5], strict=True
    ):
        msg[key] = json.loads(part)
    msg["buffers"] = parts[5:]
    return msg


def encode_legacy(msg: Mapping[str, Any]) -> str | bytes:
    """``msg`` as a legacy frame: JSON text, or with buffers binary (see :func:`decode_legacy`)."""
    buffers = list(msg.get("buffers", []))
    text = json.dumps({k: v for k, v in msg.items() if k != "buffers"})
    if not buffers:
        return text
    parts = [text.encode(), *buffers]
    offsets = [4 * (len(parts) + 1)]
    for part in parts[:-1]:
        offsets.append(offsets[-1] + len(part))
    return struct.pack(f"!{len(parts) + 1}I", len(parts), *offsets) + b"".join(parts)


def decode_legacy(frame: bytes | str) -> dict[str, Any]:
    """A legacy frame as a message dict: JSON text, or (with buffers) binary: the count of
    parts and their offsets (big-endian 32-bit), the JSON message, then the buffers."""
    if isinstance(frame, str):
        return dict(json.loads(frame))
    count = struct.unpack("!I", frame[:4])[0]
    offsets = [*struct.unpack(f"!{count}I", frame[4 : 4 * (count + 1)]), len(frame)]
    parts = [frame[start:stop] for start, stop in itertools.pairwise(offsets)]
    msg = dict(json.loads(parts[0]))
    msg["buffers"] = parts[1:]
    return msg
