"""What the hub starts stops when JupyterHub asks, even when the hub was started with SIGINT
ignored (a shell's background job is, and its children inherit that).

JupyterHub stops its services and servers with SIGINT and sends SIGTERM only after
``interrupt_timeout`` (30 s): a process that ignores SIGINT made every hub stop wait that
out (and the hub fixture's, killed after 30 s, left the service and the proxy running).
The hub fixture starts every hub that way and fails when one does not stop cleanly; these
tests pin the two causes down without a hub.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config import Config
from traptagger_hub.hub import OrganisationAccountSpawner, OrganisationSpawner

from tests.browser import free_port
from tests.hub.hubs import wait_listening

#: What a child process prints: whether Python turns its SIGINT into KeyboardInterrupt.
SHOWS_SIGINT = [
    sys.executable,
    "-c",
    "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)",
]


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _started_by_a_hub_ignoring_sigint(preexec: Callable[[], None] | None) -> str:
    """Start :data:`SHOWS_SIGINT` as a hub ignoring SIGINT would, with a spawner's preexec."""

    def inherited_then_preexec() -> None:
        _ignore_sigint()
        if preexec is not None:
            preexec()

    shown = subprocess.run(
        SHOWS_SIGINT, preexec_fn=inherited_then_preexec, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.strip()


def test_servers_get_back_the_default_sigint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TRAPTAGGER_HUB_REGISTRY", f"sqlite:///{tmp_path / 'registry.db'}")
    config = Config()
    config.SimpleLocalProcessSpawner.home_dir_template = str(tmp_path / "{username}")
    spawner = OrganisationSpawner(config=config, user=SimpleNamespace(name="member"))
    assert _started_by_a_hub_ignoring_sigint(None) == "False"  # the control: inherited
    assert _started_by_a_hub_ignoring_sigint(spawner.make_preexec_fn("member")) == "True"
    assert (tmp_path / "member").is_dir()  # and the spawner's own preparation still ran


@pytest.mark.skipif(os.geteuid() != 0, reason="servers run as system accounts under root only")
def test_account_servers_get_back_the_default_sigint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TRAPTAGGER_HUB_REGISTRY", f"sqlite:///{tmp_path / 'registry.db'}")
    spawner = OrganisationAccountSpawner()
    monkeypatch.setattr(spawner, "_account", lambda: "root")  # the account the test runs as
    assert _started_by_a_hub_ignoring_sigint(spawner.make_preexec_fn("member")) == "True"


def test_the_service_stops_on_sigint_even_when_started_ignoring_it(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "JUPYTERHUB_SERVICE_PREFIX": "/services/organisations/",
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
        "TRAPTAGGER_HUB_REGISTRY": f"sqlite:///{tmp_path / 'registry.db'}",
        "TRAPTAGGER_HUB_ORGANISATIONS": str(tmp_path / "organisations"),
    }
    with (tmp_path / "service.log").open("w") as log:
        service = subprocess.Popen(
            [sys.executable, "-m", "traptagger_hub.service"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_ignore_sigint,
        )
        try:
            wait_listening(port, service)
            service.send_signal(signal.SIGINT)  # what JupyterHub sends first
            assert service.wait(timeout=10) == 0, (tmp_path / "service.log").read_text()
        finally:
            if service.poll() is None:
                service.kill()
                service.wait()
    assert "Traceback" not in (tmp_path / "service.log").read_text()  # a clean stop
