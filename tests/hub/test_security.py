"""The hub as a hostile person tries it, through the real hub and proxy: every attack refused.

Each test names the finding it covers: account takeover by a name's case, state and
credentials readable by others, annotators running code, removed people keeping database
access, and two hubs on one machine.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.exc import DBAPIError

from tests.browser import free_port
from tests.hub.hubs import (
    PROXY,
    Hub,
    post_form,
    start_hub,
    stop,
    wait_for_hub,
    wait_for_server,
    with_os_accounts,
)
from tests.hub.kernels import kernel_id_of, message, send_over_kernel_websocket
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
    assert signed_in
    assert signed_in.group(1) == "member"
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
        second = start_hub(env, tmp_path, out)
        try:
            wait_for_hub(f"http://127.0.0.1:{port}/hub/api", second, log)
            for url in (hub.url, f"http://127.0.0.1:{port}"):
                page = requests.get(f"{url}/hub/login", timeout=30)
                assert page.status_code == 200
                assert "TrapTagger Lab" in page.text
        finally:
            problems = stop(second)
    assert not problems, f"the second hub did not stop cleanly: {problems}"


def _websocket(hub: Hub, session: object, user: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """The base websocket URL of ``user``'s server behind the hub, with the login's cookie
    header and the ``_xsrf`` query argument a browser sends."""
    cookies = session.cookies  # type: ignore[attr-defined]
    header = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in cookies)}
    xsrf = _xsrf_of(session, user)
    base = hub.url.replace("http://", "ws://") + f"/user/{user}"
    return base, header, ({"_xsrf": xsrf} if xsrf else {})


def _xsrf_of(session: object, user: str) -> str | None:
    """The ``_xsrf`` cookie of ``user``'s server (the hub sets one of its own too)."""
    tokens = sorted(
        (not c.path.startswith(f"/user/{user}"), c.value)
        for c in session.cookies  # type: ignore[attr-defined]
        if c.name == "_xsrf"
    )
    return tokens[0][1] if tokens else None


def _execute(code: str) -> dict[str, Any]:
    return message(
        "execute_request",
        {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
    )


def test_an_annotator_runs_no_code_and_opens_no_other_notebook(hub: Hub) -> None:
    """Findings: the annotator's kernel websocket let ``execute_request`` through (arbitrary
    Python in the organisation's folder) and ``/voila/render/<any notebook>`` rendered."""
    annotator = hub.login("annotator")
    page = wait_for_server(annotator, hub, "annotator", "/voila/render/annotate.ipynb")
    kernel = kernel_id_of(page.text)  # type: ignore[attr-defined]
    base, header, query = _websocket(hub, annotator, "annotator")
    marker = Path(tempfile.gettempdir()) / f"tt-annotator-ran-{uuid.uuid4().hex}"
    for protocol in ("legacy", "v1"):
        execute = _execute(f"open({str(marker)!r}, 'w').write('ran')")
        # a kernel answers its shell requests in order: an execute that reached it would be
        # answered (after running) before the kernel_info_request sent after it
        answers = send_over_kernel_websocket(
            base,
            kernel,
            header,
            [execute, message("kernel_info_request")],
            protocol=protocol,  # type: ignore[arg-type]
            query=query,
        )
        assert "kernel_info_reply" in [a["header"]["msg_type"] for a in answers], protocol
        ours = execute["header"]["msg_id"]
        to_execute = [a for a in answers if a["parent_header"]["msg_id"] == ours]
        assert [a["header"]["msg_type"] for a in to_execute] == [], protocol  # no reply at all
    assert not marker.exists()  # and nothing ran
    # the same socket still carries what the app's widgets need
    info = send_over_kernel_websocket(
        base, kernel, header, [message("kernel_info_request")], wait=30, query=query
    )
    assert "kernel_info_reply" in [a["header"]["msg_type"] for a in info]
    for path in ("results.ipynb", "getting_started.ipynb", "%72esults.ipynb", "./results.ipynb"):
        refused = annotator.get(  # type: ignore[attr-defined]
            f"{hub.url}/user/annotator/voila/render/{path}", timeout=60, allow_redirects=False
        )
        assert refused.status_code in (403, 404), (path, refused.status_code)
        assert "independent records" not in refused.text
    listing = annotator.get(f"{hub.url}/user/annotator/voila/tree", timeout=60)  # type: ignore[attr-defined]
    assert listing.status_code in (403, 404)
    assert "results.ipynb" not in listing.text


def _run_in_own_kernel(hub: Hub, session: object, user: str, code: str) -> dict[str, Any]:
    """Run ``code`` in a new kernel of ``user``'s own server (a member may); its reply."""
    xsrf = _xsrf_of(session, user)
    made = session.post(  # type: ignore[attr-defined]
        f"{hub.url}/user/{user}/api/kernels", json={}, headers={"X-XSRFToken": xsrf}, timeout=60
    )
    assert made.status_code == 201, made.text[:300]
    base, header, query = _websocket(hub, session, user)
    answers = send_over_kernel_websocket(
        base, made.json()["id"], header, [_execute(code)], wait=60, query=query
    )
    (reply,) = [a for a in answers if a["header"]["msg_type"] == "execute_reply"]
    return dict(reply["content"])


@with_os_accounts
def test_no_user_server_can_read_the_registry(hub: Hub) -> None:
    """Finding: every server ran as the hub's account, so any kernel could read the
    registry (each organisation's database passwords). Now a member, running code in their
    own kernel, is refused the registry, the hub's state and the hub's environment."""
    member = hub.login("member")
    assert wait_for_server(member, hub, "member", "/lab").status_code == 200  # type: ignore[attr-defined]
    probe = (
        "import getpass, os\n"
        "refused = []\n"
        f"for path in ({str(hub.registry_path)!r}, {str(hub.log_path.parent / 'hub-state')!r}"
        ", '/proc/1/environ'):\n"
        "    try:\n"
        "        open(path, 'rb').read() if os.path.isfile(path) else os.listdir(path)\n"
        "    except PermissionError:\n"
        "        refused.append(path)\n"
        "print(getpass.getuser(), len(refused))\n"
        "assert len(refused) == 3, refused\n"
    )
    reply = _run_in_own_kernel(hub, member, "member", probe)
    assert reply["status"] == "ok", reply  # the code ran, and every read was refused


def test_an_admin_renews_a_persons_database_password(hub: Hub) -> None:
    """Logins are never rotated (finding): now an admin renews one from the people table."""
    old = make_engine(hub.member_url)
    connection = old.connect()
    connection.exec_driver_sql("SELECT 1")
    service = f"{hub.url}/services/organisations/"
    renewed = post_form(
        hub.login("admin"), f"{service}org/{hub.organisation}/rotate", {"username": "member"}
    )
    assert "has a new database password" in renewed.text  # type: ignore[attr-defined]
    with pytest.raises(DBAPIError):  # the open connection has ended...
        connection.exec_driver_sql("SELECT 1")
    connection.close()
    old.dispose()
    with pytest.raises(DBAPIError), make_engine(hub.member_url).connect():  # ...the password too
        pass
    new_url = hub.registry.server_environment("member", hub.organisation)["TRAPTAGGER_DATABASE_URL"]
    assert new_url != hub.member_url
    fresh = make_engine(new_url)
    with fresh.connect() as working:
        assert working.exec_driver_sql("SELECT 1").scalar() == 1
    fresh.dispose()
