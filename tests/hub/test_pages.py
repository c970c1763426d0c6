"""The hub introduces itself: its login page, the public enquiry form, invitation links,
the organisations page, and a service that stays responsive while it provisions.

The pure parts (rate limiter, who may be removed, escaping) are tested without a hub; the
rest goes through a real JupyterHub and configurable-http-proxy (the ``hub`` fixture).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
import uuid

import pytest
from sqlalchemy import select
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine
from traptagger_hub import pages
from traptagger_hub.identities import USERNAME_RULE
from traptagger_hub.provision import Provisioner
from traptagger_hub.registry_tables import InvitationInfo, Organisation, Role
from traptagger_hub.service import (
    EnquiryLimiter,
    client_address,
    enquiry_problem,
    invitation_problem,
)

from tests.conftest import ARTIFACTS, MYSQL_SERVER
from tests.hub.hubs import PASSWORD, Hub, post_form

LINKS = pages.Links("/services/organisations/", "/hub/", "https://hub.example.org")
SERVICE = "/services/organisations/"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- without a hub ---------------------------------------------------------------------------


def test_enquiry_limiter_per_address_and_overall() -> None:
    clock = Clock()
    limiter = EnquiryLimiter(per_client=5, overall=50, window=3600, clock=clock)
    for _ in range(5):
        assert limiter.take("203.0.113.1") == 0.0
        clock.now += 60
    assert limiter.take("203.0.113.1") == pytest.approx(3600 - 300)  # the 6th waits
    assert limiter.take("203.0.113.2") == 0.0  # another address is still welcome
    clock.now += 3600 - 300
    assert limiter.take("203.0.113.1") == 0.0  # its first attempt has left the window

    everyone = EnquiryLimiter(per_client=5, overall=50, window=3600, clock=clock)
    for n in range(50):
        assert everyone.take(f"198.51.100.{n}") == 0.0
    assert everyone.take("192.0.2.1") == pytest.approx(3600)  # the overall cap
    clock.now += 3600
    assert everyone.take("192.0.2.1") == 0.0


def test_client_address_is_the_one_the_proxy_saw() -> None:
    line = RequestStartLine("POST", "/services/organisations/enquire", "HTTP/1.1")
    claimed = HTTPHeaders({"Host": "hub", "X-Forwarded-For": "203.0.113.9, 198.51.100.4"})
    proxied = HTTPServerRequest(start_line=line, headers=claimed)
    assert client_address(proxied) == "198.51.100.4"  # what the client claimed is ignored
    direct = HTTPServerRequest(start_line=line, headers=HTTPHeaders({"Host": "hub"}))
    direct.remote_ip = "192.0.2.4"
    assert client_address(direct) == "192.0.2.4"


def test_form_and_link_checks() -> None:
    good = {"name": "Owls", "contact": "a@b.org", "purpose": "owls", "username": "a",
            "password": "x" * 8}  # fmt: skip
    assert enquiry_problem(good) == ""
    assert "e-mail" in enquiry_problem({**good, "contact": "not-an-address"})
    assert "user name" in enquiry_problem({**good, "username": " "})
    assert "at most 200" in enquiry_problem({**good, "name": "x" * 201})
    now = dt.datetime(2026, 1, 1)
    later = now + dt.timedelta(days=1)
    assert invitation_problem(InvitationInfo("o", "O", "member", "a", later, None), now) is None
    used = invitation_problem(InvitationInfo("o", "O", "member", "a", later, "bob"), now)
    assert used is not None
    assert used[0] == 410
    assert "used already" in used[1]
    old = invitation_problem(InvitationInfo("o", "O", "member", "a", now, None), later)
    assert old is not None
    assert old[0] == 410
    assert "expired" in old[1]


def test_no_remove_for_oneself_nor_the_last_admin() -> None:
    people = [("ann", "admin"), ("bob", "member")]
    assert not pages.removable("ann", "admin", people, viewer="ann")  # oneself, last admin
    assert pages.removable("bob", "member", people, viewer="ann")
    two = [("ann", "admin"), ("bob", "admin")]
    assert pages.removable("bob", "admin", two, viewer="ann")  # another admin remains
    assert not pages.removable("ann", "admin", two, viewer="ann")  # never oneself
    assert not pages.removable("ann", "admin", people, viewer="bob")  # the last admin


def test_pages_escape_what_people_typed() -> None:
    name, role = "<script>alert(1)</script> & Co", "<b>boss</b>"
    expires = dt.datetime(2026, 12, 4, 11, 31)
    invitation = InvitationInfo("co", name, role, "<i>ann</i>", expires, None, "tok-1")
    org = pages.OrganisationAdmin(
        "co", name, [("ann", "admin"), ("<u>bob</u>", role)], [invitation], ["S<1>"], [],
        [("other", "Other & <Sons>")],
    )  # fmt: skip
    pending = Organisation(slug="p", name=name, contact="<c1>", purpose="<p1>", requested_by="x")
    pending.created_at = expires
    view = pages.HomeView("ann", [Role("co", name, role)], [org], [pending], invitation, "<n1>")
    text = pages.home_page(view, LINKS, "")
    text += pages.join_page(LINKS, "", invitation, USERNAME_RULE, "<u1>", "<e1>")
    typed = {"name": name, "purpose": "</textarea><t1>", "username": "'><q1>"}
    text += pages.enquiry_page(LINKS, "", USERNAME_RULE, typed, "<e2>")
    for raw in (name, role, "<u>bob</u>", "<i>ann</i>", "S<1>", "<c1>", "<p1>", "<n1>", "<u1>",
                "<e1>", "Other & <Sons>", "<t1>", "<q1>", "<e2>"):  # fmt: skip
        assert raw not in text, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in text
    assert "<option value='other'>Other &amp; &lt;Sons&gt;</option>" in text
    assert "https://hub.example.org/services/organisations/join/tok-1" in text
    assert "2026-12-04 11:31 UTC" in text


# -- through a real hub ----------------------------------------------------------------------


def _enquiry(username: str, name: str, **changes: str) -> dict[str, str]:
    return {"name": name, "contact": "someone@example.org", "purpose": "bats in the Karoo",
            "username": username, "password": PASSWORD, **changes}  # fmt: skip


def _send_enquiry(session: object, hub: Hub, fields: dict[str, str], address: str = "") -> object:
    """Post the public form as a visitor at ``address`` (the proxy adds the real one after)."""
    url = f"{hub.url}{SERVICE}enquire"
    page = session.get(url, timeout=60)  # type: ignore[attr-defined]
    token = re.search(r"name=\"_xsrf\" value=\"([^\"]+)\"", page.text)
    assert token, page.text[:300]
    headers = {"X-Forwarded-For": address} if address else {}
    return session.post(  # type: ignore[attr-defined]
        url, data={**fields, "_xsrf": token.group(1)}, headers=headers, timeout=60
    )


def _row(text: str, first_cell: str) -> str:
    """The table row whose first cell is ``first_cell``."""
    found = re.search(rf"<tr><td>{re.escape(first_cell)}</td>.*?</tr>", text)
    assert found, f"no row for {first_cell}"
    return found.group(0)


@pytest.mark.hub
@pytest.mark.mysql
@pytest.mark.slow
def test_login_page_and_public_enquiry(hub: Hub) -> None:
    import requests

    login = requests.get(f"{hub.url}/hub/login", timeout=60)
    assert login.status_code == 200
    assert "<title>TrapTagger Lab</title>" in login.text
    assert "camera traps' photos" in login.text
    assert "occupancy" in login.text
    link = re.search(r'id="enquiry-link"[^>]*href="([^"]+)">Ask for an organisation<', login.text)
    assert link
    assert link.group(1) == SERVICE + "enquire"
    assert re.findall(r"(?:src|href)=\"(https?:)", login.text) == []  # nothing from elsewhere

    visitor = requests.Session()
    form = visitor.get(f"{hub.url}{SERVICE}enquire", timeout=60)
    assert form.status_code == 200
    assert "Ask for an organisation" in form.text
    assert "1 to 64 characters" in form.text  # the user-name rule

    name = f"Bats {uuid.uuid4().hex[:6]}"
    username = f"Visitor{uuid.uuid4().hex[:4]}"  # any case: the account is lower-case
    for fields, status, sentence in (
        (_enquiry("Bad Name!", name), 400, "is not allowed"),
        (_enquiry("member", name, password="not-the-password"), 400, "is taken"),
        (_enquiry(username, hub.registry.roles("admin")[0].name), 400, "exists already"),
        (_enquiry(username, name, contact="nobody"), 400, "does not look like an e-mail"),
        (_enquiry(username, name), 200, "A platform admin will decide"),
    ):
        answer = _send_enquiry(visitor, hub, fields)
        assert answer.status_code == status, answer.text[:500]  # type: ignore[attr-defined]
        assert sentence in answer.text  # type: ignore[attr-defined]
        assert "Traceback" not in answer.text  # type: ignore[attr-defined]
    assert f"log in as <b>{username.lower()}</b>" in answer.text  # type: ignore[attr-defined]
    (enquiry,) = [o for o in hub.registry.pending() if o.name == name]
    assert (enquiry.requested_by, enquiry.contact) == (username.lower(), "someone@example.org")
    with pytest.raises(PermissionError):  # no login until a platform admin approves
        hub.login(username.lower())
    waiting = requests.Session()  # and the login page says so, to the right password only
    page = waiting.get(f"{hub.url}/hub/login", timeout=60)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    form = {"username": username, "password": PASSWORD}
    refused = waiting.post(
        f"{hub.url}/hub/login", data={**form, **({"_xsrf": xsrf.group(1)} if xsrf else {})}
    )
    assert refused.status_code == 403
    assert f"Your enquiry for {name} is waiting" in refused.text
    forged = requests.post(f"{hub.url}{SERVICE}enquire", data=_enquiry("x", "X"), timeout=60)
    assert forged.status_code == 403  # no xsrf token, no enquiry

    # ten enquiries an hour from one address (the five above count); the next is refused,
    # saying when to retry, whatever address the client claims to be forwarded from
    for n in range(5):
        sent = _send_enquiry(visitor, hub, _enquiry(f"flood{n}", f"Flood {n}"), f"203.0.113.{n}")
        assert sent.status_code == 200, sent.text[:300]  # type: ignore[attr-defined]
    refused = _send_enquiry(visitor, hub, _enquiry("flood5", "Flood 5"), "203.0.113.7")
    assert refused.status_code == 429  # type: ignore[attr-defined]
    assert re.search(r"try again after \d\d:\d\d UTC", refused.text)  # type: ignore[attr-defined]
    assert int(refused.headers["Retry-After"]) > 3000  # type: ignore[attr-defined]
    assert "Flood 5" not in [o.name for o in hub.registry.pending()]


@pytest.mark.hub
@pytest.mark.mysql
@pytest.mark.slow
def test_invitation_links_and_the_organisation_page(hub: Hub) -> None:
    import requests

    service = f"{hub.url}{SERVICE}"
    org_name = hub.registry.roles("admin")[0].name
    hub.registry.request("<i>Owls</i> & co", "o@example.org", "<b>owls</b>", "member")
    admin = hub.login("admin")
    page = admin.get(service, timeout=60).text  # type: ignore[attr-defined]
    assert "<option value='annotator' selected>" in page  # annotators are invited most
    assert "Remove" not in _row(page, "admin")  # oneself, and the last admin
    assert "Remove" in _row(page, "member")
    assert "Remove" in _row(page, "annotator")
    assert "&lt;i&gt;Owls&lt;/i&gt; &amp; co" in page
    assert "<i>Owls</i>" not in page
    assert "&lt;b&gt;owls&lt;/b&gt;" in page
    for link in ("/hub/home", "/hub/logout"):
        assert f"href='{link}'" in page

    invited = post_form(admin, f"{service}org/{hub.organisation}/invite", {"role": "annotator"})
    text = invited.text  # type: ignore[attr-defined]
    (info,) = hub.registry.invitations(hub.organisation)
    until = info.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    assert f"Joins <b>{org_name}</b> as <b>annotator</b>; valid until {until}" in text
    link = re.search(r"<input id='new-link' readonly value='(http[^']+/join/[\w-]+)'", text)
    assert link, text[:2000]
    assert link.group(1).endswith(info.token)
    assert "data-copy='new-link'>Copy</button>" in text
    assert "Open invitation links" in text
    assert text.count(info.token) == 2

    visitor = requests.Session()
    join = visitor.get(link.group(1), timeout=60)
    assert join.status_code == 200
    assert (
        f"You are invited to join <b>{org_name}</b> as <b>annotator</b> (link valid until {until})"
    ) in join.text
    assert "New here:" in join.text
    assert "Already have an account:" in join.text
    wrong = post_form(
        visitor, link.group(1), {"username": "member", "password": "wrong-pass"}, link.group(1)
    )
    assert wrong.status_code == 400
    assert "is taken" in wrong.text
    assert "<form" in wrong.text  # type: ignore[attr-defined]  # to try again
    joined = post_form(
        visitor, link.group(1), {"username": "Newbie", "password": PASSWORD}, link.group(1)
    )
    assert f"You are now annotator of <b>{org_name}</b>" in joined.text  # type: ignore[attr-defined]
    assert "href='/hub/login'>Log in</a>" in joined.text  # type: ignore[attr-defined]
    hub.login("newbie")
    assert hub.registry.invitations(hub.organisation) == []

    used = requests.get(link.group(1), timeout=60)
    assert used.status_code == 410
    assert "used already" in used.text
    assert "<form" not in used.text
    unknown = requests.get(f"{service}join/not-a-token", timeout=60)
    assert unknown.status_code == 404
    assert "not valid" in unknown.text
    assert "<form" not in unknown.text
    old = hub.registry.invite(hub.organisation, "member", "admin", dt.timedelta(seconds=-1))
    expired = requests.get(f"{service}join/{old}", timeout=60)
    assert expired.status_code == 410
    assert "expired" in expired.text
    assert "<form" not in expired.text


@pytest.mark.hub
@pytest.mark.mysql
@pytest.mark.slow
def test_pages_answer_while_an_approval_provisions(hub: Hub) -> None:
    """Approving provisions a database (seconds); meanwhile the service answers others."""
    import requests

    service = f"{hub.url}{SERVICE}"
    name = f"Third {uuid.uuid4().hex[:6]}"
    enquiry = hub.registry.request(name, "t@example.org", "frogs", "member")
    admin, member = hub.login("admin"), hub.login("member")
    form = admin.get(service, timeout=60)  # type: ignore[attr-defined]
    assert member.get(service, timeout=60).status_code == 200  # type: ignore[attr-defined]
    xsrf = re.search(r"name=\"_xsrf\" value=\"([^\"]+)\"", form.text)
    assert xsrf
    approval: dict[str, object] = {}

    def approve() -> None:
        approval["answer"] = admin.post(  # type: ignore[attr-defined]
            f"{service}approve/{enquiry.slug}",
            data={"_xsrf": xsrf.group(1)},
            allow_redirects=False,
            timeout=300,
        )
        approval["done"] = time.monotonic()

    def status() -> str | None:
        with hub.registry.sessions() as session:
            return session.scalar(
                select(Organisation.status).where(Organisation.slug == enquiry.slug)
            )

    try:
        started = time.monotonic()
        worker = threading.Thread(target=approve)
        worker.start()
        while status() == "requested" and worker.is_alive():
            time.sleep(0.02)
        assert status() == "provisioning", "the approval finished before it could be watched"
        pages_seen = []  # (answered at, latency, response) of the member's page, polled
        while worker.is_alive():
            asked = time.monotonic()
            home = member.get(service, timeout=60)  # type: ignore[attr-defined]
            pages_seen.append((time.monotonic(), time.monotonic() - asked, home))
            time.sleep(0.05)
        worker.join(300)
        assert isinstance(approval["answer"], requests.Response)
        assert approval["answer"].status_code == 302, approval["answer"].text[:300]
        first_answered, first_latency, home = pages_seen[0]
        assert home.status_code == 200
        assert "Your organisations" in home.text
        done = float(approval["done"])  # type: ignore[arg-type]
        assert first_answered < done, "the page waited for the approval to finish"
        timing = {
            "approval_s": round(done - started, 3),
            "first_page_while_provisioning_s": round(first_latency, 3),
            "slowest_page_while_provisioning_s": round(max(p[1] for p in pages_seen), 3),
            "pages_answered_while_provisioning": sum(1 for p in pages_seen if p[0] < done),
        }
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "hub_approval_timing.json").write_text(json.dumps(timing))
        print(f"approval and the pages during it: {timing}")
        assert hub.registry.role_of("member", enquiry.slug) == "admin"

        # the admin shares with another organisation chosen by name (its id is the value)
        page = admin.get(service, timeout=60).text  # type: ignore[attr-defined]
        (select_html,) = re.findall(r"<select name='with'[^>]*>(.*?)</select>", page)
        assert select_html == f"<option value='{enquiry.slug}'>{name}</option>"
    finally:
        Provisioner(MYSQL_SERVER, "unused").drop(enquiry.slug)


@pytest.mark.hub
@pytest.mark.browser
@pytest.mark.mysql
@pytest.mark.slow
def test_visitor_asks_and_a_platform_admin_approves_in_the_browser(hub: Hub) -> None:
    from tests.browser import chromium_page, offline, remote

    ARTIFACTS.mkdir(exist_ok=True)
    name = f"Owl Survey {uuid.uuid4().hex[:6]}"
    username = f"owler{uuid.uuid4().hex[:4]}"
    slug = name.lower().replace(" ", "_")
    try:
        with chromium_page() as page:
            page.set_viewport_size({"width": 1366, "height": 768})
            requested = offline(page)
            page.goto(f"{hub.url}/hub/login", timeout=60_000)
            page.get_by_text("From camera-trap photos to species records").wait_for()
            page.screenshot(path=str(ARTIFACTS / "hub_login.png"))
            page.get_by_role("link", name="Ask for an organisation").click()
            page.wait_for_url(re.compile(r".*/services/organisations/enquire$"))
            page.fill("#e-name", name)
            page.fill("#e-contact", "owls@example.org")
            page.fill("#e-purpose", "Owls on 40 camera traps in the Cederberg")
            page.fill("#e-username", username)
            page.fill("#e-password", PASSWORD)
            page.screenshot(path=str(ARTIFACTS / "hub_enquiry.png"))
            page.get_by_role("button", name="Send the enquiry").click()
            page.get_by_text("A platform admin will decide").wait_for(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "hub_enquiry_sent.png"))

            page.goto(f"{hub.url}/hub/login?next=%2Fservices%2Forganisations%2F")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", PASSWORD)
            page.click("input[type=submit], button[type=submit]")
            page.wait_for_url(re.compile(r".*/services/organisations/$"), timeout=60_000)
            row = page.locator("tr", has_text=name)
            row.get_by_role("button", name="Approve").click()
            page.get_by_text(f"{name} is approved: {username} is its admin").wait_for(
                timeout=180_000
            )
            page.get_by_role("button", name="Make an invitation link").first.click()
            page.get_by_text("New invitation link").wait_for(timeout=60_000)
            page.locator("button[data-copy='new-link']").click()
            page.get_by_role("button", name="Copied").wait_for(timeout=10_000)
            page.screenshot(path=str(ARTIFACTS / "hub_organisations.png"), full_page=True)
            assert "Traceback" not in page.inner_text("body")
        assert [u for u in requested if remote(u)] == []  # the pages ask no outside host
        hub.login(username)  # the one who asked can log in now
        assert hub.registry.role_of(username, slug) == "admin"
    finally:
        Provisioner(MYSQL_SERVER, "unused").drop(slug)
