"""The hub fixture: a real JupyterHub and proxy with one organisation on the real MariaDB."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from traptagger_hub.orgs import Registry
from traptagger_hub.provision import Provisioner

from tests.browser import free_port
from tests.conftest import MYSQL_SERVER, REPO
from tests.hub.hubs import (
    PROXY,
    Hub,
    prepare_organisation,
    start_hub,
    stop,
    wait_for_hub,
)
from traptagger_lab.sample import SampleSurvey


@pytest.fixture
def hub(
    request: pytest.FixtureRequest, sample_survey: SampleSurvey, tmp_path: Path
) -> Iterator[Hub]:
    """A running hub (with ``indirect`` param True: servers run as organisations' accounts)."""
    if not PROXY.exists():
        pytest.skip("configurable-http-proxy is not installed (make test installs it)")
    os_accounts = bool(getattr(request, "param", False))
    stores = tmp_path / "stores"
    if os_accounts:  # the accounts must reach the stores: not under pytest's 0700 folder
        stores = Path(tempfile.mkdtemp(prefix="tt-hub-stores-"))
        os.chmod(stores, 0o755)
    provisioner = Provisioner(MYSQL_SERVER, stores, os_accounts=os_accounts)
    # the registry where any account could reach the file: only its mode keeps it private
    registry_path = (stores if os_accounts else tmp_path) / "registry.db"
    registry_url = f"sqlite:///{registry_path}"
    registry = Registry(registry_url, provisioner)
    name = f"Hub {uuid.uuid4().hex[:6]}"
    slug = name.lower().replace(" ", "_")
    port = free_port()
    api_port = free_port()
    env = {
        **os.environ,
        "TRAPTAGGER_HUB_REGISTRY": registry_url,
        "TRAPTAGGER_HUB_STATE": str(tmp_path / "hub-state"),
        "TRAPTAGGER_HUB_NOTEBOOKS": str(REPO / "notebooks"),
        "TRAPTAGGER_HUB_PORT": str(port),
        "TRAPTAGGER_HUB_API_PORT": str(api_port),
        "TRAPTAGGER_HUB_PROXY": str(PROXY),
        "TRAPTAGGER_HUB_ORGANISATIONS": str(stores),
        "TRAPTAGGER_HUB_OS_ACCOUNTS": "1" if os_accounts else "0",
        "TRAPTAGGER_HUB_DATABASE_SERVER": MYSQL_SERVER,
        "TRAPTAGGER_PLATFORM_ADMINS": "admin",
    }
    for variable in (  # the proxy's and the service's ports: chosen free by the config
        "TRAPTAGGER_DATABASE_URL",
        "TRAPTAGGER_STORAGE_URL",
        "TRAPTAGGER_WORKSPACE",
        "TRAPTAGGER_HUB_PROXY_API_PORT",
        "TRAPTAGGER_HUB_SERVICE_PORT",
    ):
        env.pop(variable, None)
    log = (tmp_path / "hub.log").open("w")
    server: subprocess.Popen[bytes] | None = None
    try:
        prepare_organisation(registry, name, sample_survey)
        if os_accounts:  # what the test prepared as root goes to the organisation's account
            from traptagger_hub.accounts import account_names, lock_store

            lock_store(stores / slug, account_names(slug))
        server = start_hub(env, tmp_path, log)
        url = f"http://127.0.0.1:{port}"
        wait_for_hub(f"{url}/hub/api", server, tmp_path / "hub.log")
        member_env = registry.server_environment("member", slug)
        yield Hub(
            url,
            f"http://127.0.0.1:{api_port}/hub/api",
            registry,
            slug,
            member_env["TRAPTAGGER_DATABASE_URL"],
            member_env["TRAPTAGGER_STORAGE_URL"],
            {"admin": "admin", "member": "member", "annotator": "annotator"},
            registry_path,
            tmp_path / "hub.log",
        )
    finally:
        problems = stop(server) if server is not None else []
        log.close()
        registry.close()
        provisioner.drop(slug)
        if os_accounts:
            shutil.rmtree(stores, ignore_errors=True)
    assert not problems, f"the hub did not stop cleanly: {problems}"
