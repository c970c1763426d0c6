"""The organisations service: web pages for the people who run organisations.

A JupyterHub-managed service (``/services/organisations/``), logged in
through the hub (OAuth). What each person sees depends on their role:

- everyone: their organisations and roles, and the enquiry form for a new one;
- platform admins (``TRAPTAGGER_PLATFORM_ADMINS``): pending enquiries to approve or reject
  (approving provisions the organisation's database, logins and store);
- organisation admins: their people, with invitation links to create and people to remove,
  and their surveys to share with another organisation (read-only or read-write);
- anyone holding an invitation link: a page to join (choosing a password on the
  local demo hub, where there is no OAuth provider).
"""

from __future__ import annotations

import html
import os
from typing import Any

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import ioloop, web

from traptagger_hub.orgs import ROLES, Registry
from traptagger_hub.provision import Provisioner
from traptagger_lab.errors import TrapTaggerError

STYLE = (
    "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
    "table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd}"
    ".note{background:#eef;padding:.5em}</style>"
)


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><title>{html.escape(title)}</title>{STYLE}</head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


class _Base(HubOAuthenticated, web.RequestHandler):
    @property
    def registry(self) -> Registry:
        registry: Registry = self.settings["registry"]
        return registry

    @property
    def username(self) -> str:
        user: dict[str, Any] = self.get_current_user()
        return str(user["name"])

    def is_platform_admin(self) -> bool:
        return self.username in self.settings["platform_admins"]

    def link(self, *parts: str) -> str:
        return url_path_join(self.settings["prefix"], *parts)

    def form(self, action: str, fields: str, button: str) -> str:
        return (
            f"<form method='post' action='{self.link(action)}' style='display:inline'>"
            f"{self.xsrf_form_html()}{fields}<button>{html.escape(button)}</button></form>"
        )

    def back(self, note: str = "") -> None:
        self.redirect(self.link("") + (f"?note={web.escape.url_escape(note)}" if note else ""))


class HomeHandler(_Base):
    """The person's organisations, and what their roles let them do."""

    @web.authenticated
    def get(self) -> None:
        """Render the page."""
        note = self.get_argument("note", "")
        parts = [f"<p class='note'>{html.escape(note)}</p>" if note else ""]
        parts.append(f"<p>Signed in as <b>{html.escape(self.username)}</b></p>")
        roles = self.registry.roles(self.username)
        parts.append("<h2>Your organisations</h2>")
        parts.append(
            "<ul>" + "".join(f"<li>{html.escape(r.name)}: {r.role}</li>" for r in roles) + "</ul>"
            if roles
            else "<p>None yet.</p>"
        )
        for role in roles:
            if role.role == "admin":
                parts.append(self._admin_section(role.organisation, role.name))
        if self.is_platform_admin():
            parts.append(self._pending_section())
        fields = (
            "<p><input name='name' placeholder='organisation name' required> "
            "<input name='contact' placeholder='contact e-mail' required></p>"
            "<p><textarea name='purpose' placeholder='what will you use it for?'></textarea></p>"
        )
        parts.append("<h2>Ask for a new organisation</h2>" + self.form("request", fields, "Send"))
        self.finish(_page("Organisations", "".join(parts)))

    def _admin_section(self, slug: str, name: str) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(username)}</td><td>{role}</td><td>"
            + self.form(
                f"org/{slug}/remove",
                f"<input type='hidden' name='username' value='{html.escape(username)}'>",
                "Remove",
            )
            + "</td></tr>"
            for username, role in self.registry.people(slug)
        )
        options = "".join(f"<option>{r}</option>" for r in ROLES)
        invite = self.form(
            f"org/{slug}/invite", f"<select name='role'>{options}</select> ", "Invite"
        )
        return (
            f"<h2>{html.escape(name)}: people</h2><table><tr><th>who</th><th>role</th><th></th>"
            f"</tr>{rows}</table><p>New invitation link for a {invite}</p>"
            + self._shares_section(slug, name)
        )

    def _shares_section(self, slug: str, name: str) -> str:
        shares = self.registry.shares(slug)
        rows = "".join(
            f"<tr><td>{html.escape(s.survey)}</td><td>{html.escape(s.owner)}</td>"
            f"<td>{html.escape(s.shared_with)}</td><td>{s.mode}</td><td>"
            + (
                self.form(f"org/{slug}/unshare/{s.id}", "", "Stop sharing")
                if s.owner == slug
                else ""
            )
            + "</td></tr>"
            for s in shares
        )
        surveys = "".join(
            f"<option>{html.escape(survey)}</option>" for survey in self.registry.surveys(slug)
        )
        fields = (
            f"<select name='survey'>{surveys}</select> with organisation "
            "<input name='with' placeholder='organisation id' required> "
            "<select name='mode'><option>read-only</option><option>read-write</option></select> "
        )
        table = (
            "<table><tr><th>survey</th><th>owner</th><th>shared with</th><th>mode</th><th></th>"
            f"</tr>{rows}</table>"
            if shares
            else "<p>No survey is shared from or with it.</p>"
        )
        return (
            f"<h2>{html.escape(name)}: shared surveys</h2>{table}"
            f"<p>Share {self.form(f'org/{slug}/share', fields, 'Share')}</p>"
        )

    def _pending_section(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(o.name)}</td><td>{html.escape(o.requested_by)}</td>"
            f"<td>{html.escape(o.contact)}</td><td>{html.escape(o.purpose)}</td><td>"
            + self.form(f"approve/{o.slug}", "", "Approve")
            + self.form(f"reject/{o.slug}", "<input name='note' placeholder='why not'>", "Reject")
            + "</td></tr>"
            for o in self.registry.pending()
        )
        return (
            "<h2>Enquiries waiting for approval</h2><table><tr><th>organisation</th>"
            f"<th>asked by</th><th>contact</th><th>purpose</th><th></th></tr>{rows}</table>"
        )


class RequestHandler(_Base):
    """File an enquiry for a new organisation."""

    @web.authenticated
    def post(self) -> None:
        """Record it; a platform admin decides."""
        try:
            self.registry.request(
                self.get_argument("name"),
                self.get_argument("contact"),
                self.get_argument("purpose", ""),
                self.username,
            )
        except TrapTaggerError as exc:
            return self.back(str(exc))
        self.back("Thank you: a platform admin will look at your request.")


class DecisionHandler(_Base):
    """Approve or reject an enquiry (platform admins only)."""

    @web.authenticated
    def post(self, decision: str, slug: str) -> None:
        """Approve (provisioning it) or reject with a note."""
        if not self.is_platform_admin():
            raise web.HTTPError(403, "only platform admins decide on enquiries")
        try:
            if decision == "approve":
                self.registry.approve(slug)
            else:
                self.registry.reject(slug, self.get_argument("note", ""))
        except TrapTaggerError as exc:
            return self.back(str(exc))
        self.back(f"{slug}: {decision}d")


class PeopleHandler(_Base):
    """Invite or remove people (organisation admins only)."""

    @web.authenticated
    def post(self, slug: str, action: str) -> None:
        """Make an invitation link, or take someone out."""
        if self.registry.role_of(self.username, slug) != "admin":
            raise web.HTTPError(403, f"only admins of {slug} manage its people")
        try:
            if action == "invite":
                token = self.registry.invite(slug, self.get_argument("role"), self.username)
                url = self.request.full_url().split(self.settings["prefix"])[0]
                return self.back(f"Send this link: {url}{self.link('join', token)}")
            self.registry.remove(slug, self.get_argument("username"))
        except TrapTaggerError as exc:
            return self.back(str(exc))
        self.back("done")


class ShareHandler(_Base):
    """Share a survey with another organisation, or stop (organisation admins only)."""

    @web.authenticated
    def post(self, slug: str, share_id: str | None = None) -> None:
        """Make the share (its login and views), or drop it."""
        try:
            if share_id is None:
                shared = self.registry.share(
                    slug,
                    self.get_argument("survey"),
                    self.get_argument("with").strip(),
                    self.get_argument("mode"),
                    by=self.username,
                )
                return self.back(
                    f"{shared.survey} is now shared {shared.mode} with {shared.shared_with}"
                )
            self.registry.unshare(int(share_id), by=self.username)
        except TrapTaggerError as exc:
            return self.back(str(exc))
        self.back("sharing stopped")


class JoinHandler(web.RequestHandler):
    """Join an organisation through an invitation link (no hub login needed yet)."""

    def get(self, token: str) -> None:
        """The form: choose a user name and password (the local hub's logins)."""
        self.finish(
            _page(
                "Join an organisation",
                f"<form method='post'>{self.xsrf_form_html()}"
                "<p><input name='username' placeholder='user name' required> "
                "<input name='password' type='password' placeholder='password (8+ characters)'"
                " required></p><button>Join</button></form>",
            )
        )

    def post(self, token: str) -> None:
        """Accept the invitation under a new (or the same person's) login."""
        registry: Registry = self.settings["registry"]
        username = self.get_argument("username").strip()
        password = self.get_argument("password")
        try:
            known = registry.check_password(username, password)
            if not known and registry.roles(username):
                raise web.HTTPError(403, "that user name is taken: use its password")
            if not known:
                registry.set_password(username, password)
            role = registry.accept(token, username)
        except TrapTaggerError as exc:
            self.set_status(400)
            self.finish(_page("Join an organisation", f"<p>{html.escape(str(exc))}</p>"))
            return
        self.finish(
            _page(
                "Welcome",
                f"<p>You are now {role.role} of {html.escape(role.name)}. "
                "<a href='/hub/login'>Log in</a>.</p>",
            )
        )


def make_app() -> web.Application:
    """The service's web application, configured from the environment JupyterHub gives it."""
    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    storage = os.environ.get("TRAPTAGGER_HUB_ORGANISATIONS", "organisations")
    server = os.environ.get("TRAPTAGGER_HUB_DATABASE_SERVER", "sqlite")
    endpoint = os.environ.get("TRAPTAGGER_HUB_S3_ENDPOINT_URL")
    accounts = os.environ.get("TRAPTAGGER_HUB_OS_ACCOUNTS", "") == "1"
    provisioner = Provisioner(server, storage, s3_endpoint_url=endpoint, os_accounts=accounts)
    registry = Registry(os.environ["TRAPTAGGER_HUB_REGISTRY"], provisioner)
    admins = {a for a in os.environ.get("TRAPTAGGER_PLATFORM_ADMINS", "").split(",") if a}
    return web.Application(
        [
            (prefix, HomeHandler),
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
            (url_path_join(prefix, "request"), RequestHandler),
            (url_path_join(prefix, r"(approve|reject)/(\w+)"), DecisionHandler),
            (url_path_join(prefix, r"org/(\w+)/(invite|remove)"), PeopleHandler),
            (url_path_join(prefix, r"org/(\w+)/share"), ShareHandler),
            (url_path_join(prefix, r"org/(\w+)/unshare/(\d+)"), ShareHandler),
            (url_path_join(prefix, r"join/([\w-]+)"), JoinHandler),
        ],
        cookie_secret=os.urandom(32),
        xsrf_cookies=True,
        prefix=prefix,
        registry=registry,
        platform_admins=admins,
    )


def main() -> None:
    """Run the service where JupyterHub says (``JUPYTERHUB_SERVICE_URL``)."""
    from urllib.parse import urlparse

    address = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    make_app().listen(address.port or 80, address.hostname or "127.0.0.1")
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
