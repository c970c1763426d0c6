"""A real JupyterHub + configurable-http-proxy with an organisation on the real MariaDB.

A member's server starts with the organisation's settings; an annotator lands
in the Voila app and cannot reach JupyterLab, terminals or the kernels API.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from traptagger_hub.provision import Provisioner

from tests.conftest import MYSQL_SERVER
from tests.hub.hubs import (
    PASSWORD,
    Hub,
    post_form,
    server_environment,
    servers_of,
    wait_for_server,
    with_os_accounts,
)
from traptagger_lab.db.engine import make_engine


def _check_extension_endpoints(hub: Hub, member: object, annotator: object) -> None:
    """The organisation's images and task progress, for its people only, from its own store."""
    import requests
    from sqlalchemy import func, select

    from traptagger_lab.db.models import Image, Task

    engine = make_engine(hub.member_url)
    with engine.connect() as connection:
        image_id, last_id = connection.execute(
            select(func.min(Image.id), func.max(Image.id)).where(Image.thumbnail_key.is_not(None))
        ).one()
        task_id = connection.execute(select(Task.id)).scalar()
    engine.dispose()
    for user, session in (("member", member), ("annotator", annotator)):
        base = f"{hub.url}/user/{user}/traptagger"
        picture = session.get(f"{base}/images/{image_id}/thumbnail", timeout=30)  # type: ignore[attr-defined]
        assert picture.status_code == 200, (user, picture.status_code)
        assert picture.headers["Content-Type"] == "image/jpeg"
        assert picture.content[:2] == b"\xff\xd8"
        missing = session.get(f"{base}/images/{last_id + 1000}/thumbnail", timeout=30)  # type: ignore[attr-defined]
        assert missing.status_code == 404  # not this organisation's image
        progress = session.get(f"{base}/tasks/{task_id}/progress", timeout=30).json()  # type: ignore[attr-defined]
        assert progress["clusters"] > 0
    outsider = requests.get(
        f"{hub.url}/user/member/traptagger/images/{image_id}/thumbnail",
        timeout=30,
        allow_redirects=False,
    )
    assert outsider.status_code in (302, 403)  # no login, no picture
    foreign = annotator.get(  # type: ignore[attr-defined]
        f"{hub.url}/user/member/traptagger/images/{image_id}/thumbnail", timeout=30
    )
    assert foreign.status_code == 403 or "/hub/" in foreign.url  # another user's server


@pytest.mark.hub
@pytest.mark.mysql
@pytest.mark.slow
def test_members_get_lab_and_annotators_only_the_app(hub: Hub) -> None:
    member = hub.login("member")
    lab = wait_for_server(member, hub, "member", "/lab")
    assert lab.status_code == 200  # type: ignore[attr-defined]
    env = server_environment(hub, "member")
    assert env["TRAPTAGGER_ORGANISATION"] == hub.organisation
    assert env["TRAPTAGGER_ROLE"] == "member"
    assert env["TRAPTAGGER_DATABASE_URL"] == hub.member_url
    assert env["TRAPTAGGER_STORAGE_URL"] == hub.storage_url
    own = Path(hub.storage_url.removeprefix("file://")) / "notebooks"
    assert {n.name for n in own.glob("*.ipynb")} >= {"annotate.ipynb", "getting_started.ipynb"}

    annotator = hub.login("annotator")
    app = wait_for_server(annotator, hub, "annotator", "/voila/render/annotate.ipynb")
    assert app.status_code == 200, app.text[:300]  # type: ignore[attr-defined]
    assert "annotation_app" not in app.text  # type: ignore[attr-defined]  # Voila hides code
    env = server_environment(hub, "annotator")
    assert env["TRAPTAGGER_ROLE"] == "annotator"
    # a database login of the annotator's own (not the member's, nor one shared by all)
    assert (
        env["TRAPTAGGER_DATABASE_URL"]
        == hub.registry.server_environment("annotator", hub.organisation)["TRAPTAGGER_DATABASE_URL"]
    )
    assert env["TRAPTAGGER_DATABASE_URL"] != hub.member_url
    for path in ("/lab", "/terminals/1", "/api/kernels", "/api/contents", "/api/sessions"):
        refused = annotator.get(  # type: ignore[attr-defined]
            f"{hub.url}/user/annotator{path}", timeout=30, allow_redirects=False
        )
        assert refused.status_code in (403, 404), (path, refused.status_code)
    for path in ("/api/kernels", "/api/contents"):  # the same requests work for a member
        allowed = member.get(f"{hub.url}/user/member{path}", timeout=30)  # type: ignore[attr-defined]
        assert allowed.status_code == 200, (path, allowed.status_code)

    _check_extension_endpoints(hub, member, annotator)

    with pytest.raises(PermissionError):
        hub.login("stranger")
    with pytest.raises(PermissionError):
        hub.login("member", "not-the-password")


@pytest.mark.hub
@pytest.mark.mysql
@pytest.mark.slow
@with_os_accounts
def test_servers_run_as_the_organisations_system_accounts(hub: Hub) -> None:
    import psutil
    from traptagger_hub.accounts import account_names

    accounts = account_names(hub.organisation)
    member = hub.login("member")
    assert wait_for_server(member, hub, "member", "/lab").status_code == 200  # type: ignore[attr-defined]
    annotator = hub.login("annotator")
    app = wait_for_server(annotator, hub, "annotator", "/voila/render/annotate.ipynb")
    assert app.status_code == 200, app.text[:300]  # type: ignore[attr-defined]
    owners = {
        env["JUPYTERHUB_USER"]: psutil.Process(process.pid).username()
        for process, env in servers_of(hub.api_url)
    }
    assert owners == {"member": accounts.member, "annotator": accounts.annotator}
    store = Path(hub.storage_url.removeprefix("file://"))
    assert (store.owner(), store.group()) == (accounts.member, accounts.annotator)
    assert (store / "notebooks" / "annotate.ipynb").owner() == accounts.member
    # the organisation's people still reach its images through the extension
    _check_extension_endpoints(hub, member, annotator)


@pytest.mark.hub
@pytest.mark.browser
@pytest.mark.mysql
@pytest.mark.slow
def test_annotator_and_member_in_the_browser(hub: Hub) -> None:
    from sqlalchemy import func, select

    from tests.browser import chromium_page, offline, remote
    from tests.conftest import ARTIFACTS
    from traptagger_lab.db.models import Annotation

    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_page() as page:
        requested = offline(page)
        page.goto(f"{hub.url}/hub/login", timeout=60_000)
        page.fill("input[name=username]", "annotator")
        page.fill("input[name=password]", PASSWORD)
        page.click("input[type=submit], button[type=submit]")
        page.get_by_text("Start annotating").click(timeout=180_000)
        page.get_by_text("Zebra (z)").wait_for(timeout=60_000)
        page.get_by_text("Sequence 1 of").hover()
        page.keyboard.press("z")
        page.get_by_text("Sequence 2 of").wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "hub_annotator.png"), full_page=True)
        assert "/user/annotator/voila/" in page.url
    assert [u for u in requested if remote(u)] == []  # the app needs no outside host
    engine = make_engine(hub.member_url)
    deadline = time.monotonic() + 15
    with engine.connect() as connection:
        while time.monotonic() < deadline:
            count = connection.execute(
                select(func.count())
                .select_from(Annotation)
                .where(Annotation.annotator == "annotator")
            ).scalar()
            if count:
                break
            time.sleep(0.5)
            connection.rollback()
    engine.dispose()
    assert count == 1  # the annotator's key press is in the organisation's database

    with chromium_page() as page:
        page.goto(f"{hub.url}/hub/login", timeout=60_000)
        page.fill("input[name=username]", "member")
        page.fill("input[name=password]", PASSWORD)
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_url(re.compile(r".*/user/member/lab.*"), timeout=180_000)
        page.goto(f"{hub.url}/user/member/lab/tree/getting_started.ipynb", timeout=120_000)
        page.locator(".jp-RenderedMarkdown").first.wait_for(timeout=120_000)
        page.screenshot(path=str(ARTIFACTS / "hub_member_lab.png"), full_page=True)
        assert page.locator(".jp-Notebook").count() == 1

        # the results dashboard, as the member sees it in Voila through the hub
        page.set_viewport_size({"width": 1366, "height": 768})
        requested = offline(page)
        page.goto(f"{hub.url}/user/member/voila/render/results.ipynb", wait_until="commit")
        page.get_by_text("independent records").wait_for(timeout=180_000)
        page.locator("table").first.wait_for(timeout=60_000)
        page.get_by_role("tab", name="Over time").click()
        page.locator("img[src^='data:image/png']:visible").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "hub_member_results.png"), full_page=True)
        text = page.inner_text("body")
        assert "Site01" in text
        assert "Traceback" not in text
        assert "There was an error" not in text
        assert [u for u in requested if remote(u)] == []  # the dashboard needs no outside host
    member_args = " ".join(
        " ".join(p.cmdline())
        for p, e in servers_of(hub.api_url)
        if e["JUPYTERHUB_USER"] == "member"
    )
    annotator_args = " ".join(
        " ".join(p.cmdline())
        for p, e in servers_of(hub.api_url)
        if e["JUPYTERHUB_USER"] == "annotator"
    )
    assert "show_tracebacks=True" in member_args  # members debug their dashboards
    assert annotator_args
    assert "show_tracebacks" not in annotator_args
    for args in (member_args, annotator_args):  # closed pages' kernels end, never pile up
        assert "--MappingKernelManager.cull_idle_timeout=1800" in args
    secret = make_url(hub.member_url).password
    assert secret
    assert secret not in member_args + annotator_args  # no password in the process list


@pytest.mark.hub
@pytest.mark.mysql
@pytest.mark.slow
def test_organisation_pages_enquiry_approval_and_invitation(hub: Hub) -> None:
    import requests

    service = f"{hub.url}/services/organisations/"
    member = hub.login("member")
    home = member.get(service, timeout=60)  # type: ignore[attr-defined]
    assert home.status_code == 200, home.text[:300]
    assert "Your organisations" in home.text
    assert "Enquiries waiting" not in home.text  # members are no platform admins
    name = f"Second {uuid.uuid4().hex[:6]}"
    slug = name.lower().replace(" ", "_")
    try:
        sent = post_form(
            member,
            f"{service}request",
            {"name": name, "contact": "m@example.org", "purpose": "bats"},
        )
        assert "a platform admin will look" in sent.text  # type: ignore[attr-defined]
        refused = post_form(member, f"{service}approve/{slug}", {})
        assert refused.status_code == 403  # type: ignore[attr-defined]

        admin = hub.login("admin")
        page = admin.get(service, timeout=60)  # type: ignore[attr-defined]
        assert "Enquiries waiting" in page.text
        assert name in page.text
        approved = post_form(admin, f"{service}approve/{slug}", {})
        assert approved.status_code == 200  # type: ignore[attr-defined]
        assert [r.role for r in hub.registry.roles("member") if r.organisation == slug] == [
            "admin"
        ]  # the one who asked runs the new organisation, on its own new database

        # the admin shares survey S with the new organisation, read-only, and stops again
        assert "<option>S</option>" in admin.get(service, timeout=60).text  # type: ignore[attr-defined]
        shared = post_form(
            admin,
            f"{service}org/{hub.organisation}/share",
            {"survey": "S", "with": slug, "mode": "read-only"},
        )
        assert f"S is now shared read-only with {slug}" in shared.text  # type: ignore[attr-defined]
        seen = member.get(service, timeout=60).text  # type: ignore[attr-defined]
        assert f"<td>S</td><td>{hub.organisation}</td><td>{slug}</td>" in seen  # the guest sees it
        offered = hub.registry.server_environment("member", slug)["TRAPTAGGER_SHARED_SURVEYS"]
        assert '"survey": "S"' in offered
        (share,) = hub.registry.shares(slug)
        refused = post_form(member, f"{service}org/{hub.organisation}/unshare/{share.id}", {})
        assert "not an admin" in refused.text  # type: ignore[attr-defined]
        stopped = post_form(admin, f"{service}org/{hub.organisation}/unshare/{share.id}", {})
        assert "sharing stopped" in stopped.text  # type: ignore[attr-defined]
        assert hub.registry.shares(slug) == []

        invited = post_form(admin, f"{service}org/{hub.organisation}/invite", {"role": "annotator"})
        link = re.search(r"(http\S+/join/[\w-]+)", invited.text)  # type: ignore[attr-defined]
        assert link, invited.text[:500]  # type: ignore[attr-defined]
        newcomer = requests.Session()
        joined = post_form(
            newcomer, link.group(1), {"username": "newbie", "password": PASSWORD}, link.group(1)
        )
        assert "You are now annotator" in joined.text  # type: ignore[attr-defined]
        again = requests.get(link.group(1), timeout=60)
        assert again.status_code == 410  # one use only: a used link offers no form
        assert "used already" in again.text
        hub.login("newbie")  # the new person can log in
        assert hub.registry.role_of("newbie", hub.organisation) == "annotator"
    finally:
        Provisioner(MYSQL_SERVER, "unused").drop(slug)


@pytest.mark.hub
@pytest.mark.mysql
@pytest.mark.slow
def test_a_person_in_two_organisations_chooses_one(hub: Hub) -> None:
    name = f"Second {uuid.uuid4().hex[:6]}"
    slug = name.lower().replace(" ", "_")
    try:
        hub.registry.request(name, "x@example.org", "bats", requested_by="admin")
        hub.registry.approve(slug)
        hub.registry.add(slug, "member", "annotator")  # a member here, an annotator there
        member = hub.login("member")
        form = member.get(f"{hub.url}/hub/spawn", timeout=60)  # type: ignore[attr-defined]
        assert "Work in organisation" in form.text
        assert f"<option value='{slug}'>{name} (annotator)</option>" in form.text
        token = re.search(r'xsrf_token: "([^"]+)"', form.text)  # (the page's script sends it)
        assert token
        member.post(  # type: ignore[attr-defined]
            form.url, data={"organisation": slug, "_xsrf": token.group(1)}, timeout=180
        )
        app = wait_for_server(member, hub, "member", "/voila/render/annotate.ipynb")
        assert app.status_code == 200  # type: ignore[attr-defined]
        env = server_environment(hub, "member")
        assert (env["TRAPTAGGER_ORGANISATION"], env["TRAPTAGGER_ROLE"]) == (slug, "annotator")
        assert (
            env["TRAPTAGGER_DATABASE_URL"]
            == hub.registry.server_environment("member", slug)["TRAPTAGGER_DATABASE_URL"]
        )
    finally:
        Provisioner(MYSQL_SERVER, "unused").drop(slug)
