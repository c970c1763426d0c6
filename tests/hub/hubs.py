"""Helpers of the hub tests: a running hub's people and servers, logins and forms."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from traptagger_hub.orgs import Registry

from tests.conftest import REPO
from traptagger_lab.sample import SampleSurvey

PROXY = REPO / "hub_config/proxy/node_modules/.bin/configurable-http-proxy"
PASSWORD = "wildlife-2026"


@dataclass
class Hub:
    """A running hub: its address, organisation and people."""

    url: str
    api_url: str
    registry: Registry
    organisation: str
    member_url: str
    storage_url: str
    people: dict[str, str]  # username -> role
    registry_path: Path
    log_path: Path

    def login(self, username: str, password: str = PASSWORD) -> object:
        """A requests session logged in as ``username`` (password login form)."""
        import requests

        session = requests.Session()
        page = session.get(f"{self.url}/hub/login", timeout=30)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        form = {"username": username, "password": password}
        if xsrf:
            form["_xsrf"] = xsrf.group(1)
        answer = session.post(f"{self.url}/hub/login", data=form, timeout=180)
        if not answer.ok:
            raise PermissionError(f"login as {username} refused ({answer.status_code})")
        return session


def prepare_organisation(registry: Registry, name: str, survey: SampleSurvey) -> None:
    from traptagger_lab.lab import open_lab
    from traptagger_lab.sample import truth_label_table

    registry.request(name, "hub@example.org", "tests", requested_by="admin")
    slug = registry.pending()[0].slug
    registry.approve(slug)
    registry.add(slug, "member", "member")
    registry.add(slug, "annotator", "annotator")
    for person in ("admin", "member", "annotator"):
        registry.set_password(person, PASSWORD)
    env = registry.server_environment("member", slug)
    with open_lab(
        env["TRAPTAGGER_STORAGE_URL"].removeprefix("file://"),
        database_url=env["TRAPTAGGER_DATABASE_URL"],
        storage_url=env["TRAPTAGGER_STORAGE_URL"],
        dask_scheduler="sync",
    ) as lab:
        lab.ingest(str(survey.root), survey="S")
        lab.sequences("S")
        task = lab.tasks.create("S", "species", labels=["Impala", "Zebra"])
        # one site labelled (as if imported from elsewhere), for the members' results
        labels = truth_label_table(survey.root, survey.root.parent / "labels.csv", ["Site01"])
        lab.import_labels("S", "csv", str(labels), task=task, add_labels=True)


def others_can_run_python() -> bool:
    """Whether an unprivileged account can start this interpreter."""
    probe = subprocess.run(
        ["runuser", "-u", "nobody", "--", sys.executable, "-c", "pass"], capture_output=True
    )
    return probe.returncode == 0


def wait_listening(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    """Wait until ``process`` accepts connections on ``port`` of 127.0.0.1 (fail if it exits)."""
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args!r} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), 1):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"nothing listened on port {port} in {seconds} s")


def wait_for_hub(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    import requests

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterHub exited:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    pytest.fail(f"JupyterHub did not answer in 90 s:\n{log.read_text()[-3000:]}")


def wait_for_server(session: object, hub: Hub, user: str, path: str) -> object:
    """Follow the spawn until the user's server answers ``path``."""
    deadline = time.monotonic() + 180
    answer = None
    while time.monotonic() < deadline:
        answer = session.get(f"{hub.url}/user/{user}{path}", timeout=60)  # type: ignore[attr-defined]
        if answer.status_code != 503 and "/hub/spawn-pending" not in answer.url:
            return answer
        time.sleep(1)
    status = None if answer is None else (answer.status_code, answer.url)  # type: ignore[attr-defined]
    pytest.fail(f"{user}'s server did not start: {status}")


def servers_of(api_url: str) -> Iterator[tuple[Any, dict[str, str]]]:
    """The single-user server processes started by the hub at ``api_url``, with their env."""
    import psutil

    for process in psutil.process_iter(["cmdline"]):
        if "jupyterhub.singleuser" not in " ".join(process.info["cmdline"] or []):
            continue
        try:
            env = process.environ()
        except psutil.Error:
            continue
        if env.get("JUPYTERHUB_API_URL") == api_url:
            yield process, dict(env)


def server_environment(hub: Hub, user: str) -> dict[str, str]:
    """The environment of ``user``'s single-user server process started by ``hub``."""
    for _, env in servers_of(hub.api_url):
        if env.get("JUPYTERHUB_USER") == user:
            return env
    raise AssertionError(f"no server process for {user}")


def post_form(session: object, url: str, fields: dict[str, str], page_url: str = "") -> object:
    """Post a form of the organisations service with the xsrf token of the page that
    shows it (the service's home page unless ``page_url`` says otherwise), as a browser would."""
    if not page_url:
        page_url = url.split("/services/organisations/")[0] + "/services/organisations/"
    page = session.get(page_url, timeout=60)  # type: ignore[attr-defined]
    token = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    assert token, page.text[:300]
    return session.post(url, data={**fields, "_xsrf": token.group(1)}, timeout=120)  # type: ignore[attr-defined]


def start_hub(env: dict[str, str], cwd: Path, log: Any) -> subprocess.Popen[bytes]:
    """JupyterHub with our config (``hub_config/jupyterhub_config.py``), logging to ``log``.

    Started as a shell's background job is (``make demo &``), with SIGINT ignored: what the
    hub starts inherits that unless it sees to it, and JupyterHub stops its service and
    servers with SIGINT, so :func:`stop` finds out whether they still stop at once.
    """
    config = REPO / "hub_config/jupyterhub_config.py"
    return subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(config)],
        env=env,
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_ignore_interrupts,
    )


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


#: How long a hub may take to stop its proxy, service and servers (it takes seconds).
STOP_S = 30


def stop(process: subprocess.Popen[bytes]) -> list[str]:
    """Stop a hub as its admin would (SIGTERM): it stops its proxy, service and servers.

    Returns what went wrong, ended here: the hub when it had not stopped within
    :data:`STOP_S`, and every process it started that was still running once it had.
    """
    import psutil

    try:
        started = psutil.Process(process.pid).children()  # proxy, service and servers
    except psutil.Error:
        started = []
    family = [*started, *(p for s in started for p in _descendants(s))]  # and kernels
    process.terminate()
    problems = []
    try:
        process.wait(timeout=STOP_S)
    except subprocess.TimeoutExpired:
        problems.append(f"the hub did not stop within {STOP_S} s")
        process.kill()
        process.wait()
    _, left = psutil.wait_procs(started, timeout=5)  # the proxy may end just after the hub
    problems.extend(f"left running: {' '.join(_cmdline(p))[:200]}" for p in left)
    for straggler in family:  # kernels end on their own once their server has gone
        with contextlib.suppress(psutil.Error):
            straggler.terminate()
    _, stuck = psutil.wait_procs(family, timeout=10)
    for straggler in stuck:
        with contextlib.suppress(psutil.Error):
            straggler.kill()
    return problems


def _descendants(process: Any) -> list[Any]:
    import psutil

    try:
        return list(process.children(recursive=True))
    except psutil.Error:
        return []


def _cmdline(process: Any) -> list[str]:
    import psutil

    try:
        return list(process.cmdline())
    except psutil.Error:
        return [str(process.pid)]


def with_os_accounts(test: Any) -> Any:
    """Run ``test`` on a hub whose servers run as the organisation's system accounts
    (skipped where that cannot be: not root, or a Python other accounts cannot start)."""
    for mark in (
        pytest.mark.parametrize("hub", [True], indirect=True, ids=["os-accounts"]),
        pytest.mark.skipif(
            os.geteuid() == 0 and not others_can_run_python(),
            reason=f"{sys.executable} lies where other accounts cannot go (e.g. under /root): "
            "servers cannot run as the organisations' accounts on this machine",
        ),
        pytest.mark.skipif(os.geteuid() != 0, reason="system accounts need a hub running as root"),
    ):
        test = mark(test)
    return test
