"""Browser-test helpers: free ports, served processes, Debian's headless Chromium, offline pages."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from traptagger_lab.widgets import VOILA_ARGS, voila_environment

CHROMIUM = "/usr/bin/chromium"
#: Hosts a served page may ask for: the servers on this machine.
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(command: list[str], env: dict[str, str], url: str) -> Iterator[None]:
    """Run a server process until it listens on ``url``'s port; stop it afterwards.

    Readiness is a TCP connection, not a request: a request for a Voila page would render
    the notebook in a kernel of its own, which then runs beside the browser's. The log goes
    to a file (an unread pipe fills up and blocks a talkative server) and is shown when the
    test fails while the server runs.
    """
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                if server.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"{command[:4]} exited: {log.read().decode()[-2000:]}")
                if _listening(url):
                    break
                time.sleep(0.5)
            yield
        except BaseException:
            log.seek(0)
            print(f"--- log of {command[:4]}:\n{log.read().decode(errors='replace')[-4000:]}")
            raise
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


@contextmanager
def chromium_page() -> Iterator[Any]:
    """A page in Debian's headless Chromium (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        try:
            yield browser.new_page(viewport={"width": 1200, "height": 1100})
        finally:
            browser.close()


def app_env(workspace: Path, annotator: str) -> dict[str, str]:
    env = {**os.environ, "TRAPTAGGER_WORKSPACE": str(workspace), "TRAPTAGGER_ANNOTATOR": annotator}
    for name in ("TRAPTAGGER_DATABASE_URL", "TRAPTAGGER_STORAGE_URL"):
        env.pop(name, None)
    return env


def _listening(url: str) -> bool:
    """Whether a server accepts connections on ``url``'s host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), 2):
            return True
    except OSError:
        return False


def voila_command(notebook: Path, port: int) -> list[str]:
    """A standalone Voila server for ``notebook`` with our offline template."""
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--show_tracebacks=True",
        *VOILA_ARGS,
    ]


def voila_env(workspace: Path, annotator: str) -> dict[str, str]:
    """:func:`app_env` with our Voila template on ``JUPYTER_PATH``."""
    return voila_environment(app_env(workspace, annotator))


def remote(url: str) -> bool:
    """Whether ``url`` is on a host off this machine (data: URLs and the like are not)."""
    return bool(re.match(r"https?://", url)) and urlsplit(url).hostname not in LOCAL_HOSTS


def offline(page: Any) -> list[str]:
    """Make ``page`` behave as on a closed network (every other host refused at once, so none
    can stall it); returns the list that collects every URL the page asks for."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.route(remote, lambda route: route.abort("internetdisconnected"))
    return requested
