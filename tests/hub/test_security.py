"""The hub as a hostile person tries it, through the real hub and proxy: every attack refused.

Each test names the finding it covers: account takeover by a name's case, state and
credentials readable by others, annotators running code, removed people keeping database
access, and two hubs on one machine.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from sqlalchemy.exc import DBAPIError

from tests.browser import free_port
from tests.conftest import REPO
from tests.hub.hubs import PASSWORD, PROXY, Hub, post_form, wait_for_hub
from traptagger_lab.db.engine import make_engine

pytestmark = [pytest.mark.hub, pytest.mark.mysql, pytest.mark.slow]


def _invitation(hub: Hub, role: str) -> str:
    """A fresh invitation link made by the organisation's admin on its page."""
    service = f"{hub.url}/services/organisations/"
    made = post_form(hub.login("admin"), f"{service}org/{hub.organisation}/invite", {"role": role})
    link = re.search(r"(http\S+/join/[\w-]+)", made.text)  # type: ignore[attr-defined]
    assert link, made.text[:500]  # type: ignore[attr-defined]
    return link.group(1)


def test_a_name_in_capitals_cannot_take_an_account_over(hub: Hub) -> None:
    """Finding: join as ``Member`` with your own password, log in as ``Member``: you were
    ``member``. Now the join is refused, and only member's own password logs in."""
    link = _invitation(hub, "annotator")
    joined = post_form(
        requests.Session(), link, {"username": "Member", "password": "mallory-2026"}, link
    )
    assert joined.status_code == 400, joined.text[:300]  # type: ignore[attr-defined]
    assert "taken" in joined.text  # type: ignore[attr-defined]
    with pytest.raises(PermissionError):
        hub.login("Member", "mallory-2026")
    assert hub.registry.role_of("member", hub.organisation) == "member"  # not demoted
    home = hub.login("MEMBER").get(f"{hub.url}/hub/home", timeout=60)  # type: ignore[attr-defined]
    signed_in = re.search(r'<span class="me-1">([^<]+)</span>', home.text)  # type: ignore[attr-defined]
    assert signed_in and signed_in.group(1) == "member"  # one account, whatever the case typed
    # the refused attempt did not use the link up: a real newcomer still joins with it
    newcomer = post_form(
        requests.Session(), link, {"username": "Nomsa", "password": "nomsa-2026"}, link
    )
    assert newcomer.status_code == 200, newcomer.text[:300]  # type: ignore[attr-defined]
    assert hub.registry.role_of("nomsa", hub.organisation) == "annotator"


def test_the_registry_and_the_hub_state_are_the_hubs_alone(hub: Hub) -> None:
    """Finding: ``registry.db`` (every organisation's database passwords) was 0644."""
    assert stat.S_IMODE(hub.registry_path.stat().st_mode) == 0o600
    state = hub.log_path.parent / "hub-state"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "jupyterhub.sqlite").stat().st_mode) & 0o077 == 0
    text = hub.log_path.read_text()
    passwords = [u.split(":")[2].split("@")[0] for u in [hub.member_url]]
    assert all(p not in text for p in passwords)  # no database password in the hub's log


def test_a_removed_member_loses_database_access(hub: Hub) -> None:
    """Finding: removing a person deleted their membership only; the shared login stayed."""
    engine = make_engine(hub.member_url)
    with engine.connect() as connection:  # their login works while they belong
        connection.exec_driver_sql("SELECT 1")
    engine.dispose()
    service = f"{hub.url}/services/organisations/"
    removed = post_form(
        hub.login("admin"), f"{service}org/{hub.organisation}/remove", {"username": "member"}
    )
    assert removed.status_code == 200, removed.text[:300]  # type: ignore[attr-defined]
    assert hub.registry.role_of("member", hub.organisation) is None
    engine = make_engine(hub.member_url)
    with pytest.raises(DBAPIError), engine.connect():
        pass
    engine.dispose()
    with pytest.raises(PermissionError):  # and no hub login: they belong nowhere now
        hub.login("member")


def test_two_hubs_run_side_by_side(hub: Hub, tmp_path: Path) -> None:
    """Finding: a second hub failed (the proxy API's port 8001 was fixed)."""
    port = free_port()
    env = {
        **os.environ,
        "TRAPTAGGER_HUB_REGISTRY": f"sqlite:///{tmp_path / 'second' / 'registry.db'}",
        "TRAPTAGGER_HUB_STATE": str(tmp_path / "second" / "hub-state"),
        "TRAPTAGGER_HUB_PORT": str(port),
        "TRAPTAGGER_HUB_PROXY": str(PROXY),
    }
    for variable in list(env):  # nothing but the public port is given
        if variable.endswith(("_API_PORT", "_SERVICE_PORT")):
            env.pop(variable)
    log = tmp_path / "second.log"
    with log.open("w") as out:
        second = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(REPO / "hub_config/jupyterhub_config.py")],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_hub(f"http://127.0.0.1:{port}/hub/api", second, log)
            for url in (hub.url, f"http://127.0.0.1:{port}"):
                page = requests.get(f"{url}/hub/login", timeout=30)
                assert page.status_code == 200
                assert "TrapTagger Lab" in page.text
        finally:
            second.terminate()
            try:
                second.wait(timeout=30)
            except subprocess.TimeoutExpired:
                second.kill()
