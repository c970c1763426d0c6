"""The organisations service: web pages for the people who run organisations.

A JupyterHub-managed service (``/services/organisations/``), logged in
through the hub (OAuth). What each person sees depends on their role:

- everyone: their organisations and roles, and the enquiry form for a new one;
- platform admins (``ServiceSettings.platform_admins``): pending enquiries to approve or reject
  (approving provisions the organisation's database, logins and store);
- organisation admins: their people, with invitation links to create and people to remove,
  and their surveys to share with another organisation (read-only or read-write).

Two pages need no hub login: ``enquire`` (a visitor asks for an organisation, choosing
the user name and password they log in with once it is approved; rate limited per
address and overall) and ``join/<token>`` (an invitation link).

Handlers stay thin: the registry's work (database, provisioning: seconds) runs in a
thread, never on the event loop, and :mod:`traptagger_hub.pages` renders the HTML.
Its settings are :class:`traptagger_hub.settings.ServiceSettings`, made once by
:func:`main` (from the environment JupyterHub gives the service, and the command line).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import re
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.escape import url_escape
from tornado.httputil import HTTPServerRequest
from traitlets import TraitError
from traitlets.config import Application

from traptagger_hub import pages
from traptagger_hub.identities import USERNAME_RULE, canonical_username
from traptagger_hub.orgs import Registry
from traptagger_hub.provision import Provisioner
from traptagger_hub.registry_tables import InvitationInfo
from traptagger_hub.settings import ServiceSettings
from traptagger_lab.db.models import utcnow
from traptagger_lab.errors import NotFoundError, TrapTaggerError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: The enquiry form's fields and the longest value each may hold.
ENQUIRY_FIELDS = {"name": 200, "contact": 200, "purpose": 2000, "username": 64, "password": 1024}


class EnquiryLimiter:
    """How many enquiries the public form takes: at most ``per_client`` from one address
    and ``overall`` from everyone within any ``window`` seconds (a sliding window).

    Every attempt counts, refused ones included, so the form cannot be used to guess an
    account's password. ``clock`` returns seconds (monotonic); tests pass their own.
    """

    def __init__(
        self,
        per_client: int = 10,
        overall: int = 50,
        window: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_client, self.overall, self.window, self.clock = per_client, overall, window, clock
        self._everyone: deque[float] = deque()
        self._clients: dict[str, deque[float]] = {}

    def take(self, client: str) -> float:
        """Count an attempt from ``client`` and return 0.0, or, over a limit, count nothing
        and return the seconds until the client may try again."""
        now = self.clock()
        for times in (self._everyone, *self._clients.values()):
            while times and times[0] <= now - self.window:
                times.popleft()
        self._clients = {c: times for c, times in self._clients.items() if times}
        mine = self._clients.get(client, deque())
        waits = [
            times[0] + self.window - now
            for times, limit in ((mine, self.per_client), (self._everyone, self.overall))
            if len(times) >= limit
        ]
        if waits:
            return max(waits)
        mine.append(now)
        self._everyone.append(now)
        self._clients[client] = mine
        return 0.0


def client_address(request: HTTPServerRequest) -> str:
    """Who is asking: the last address of ``X-Forwarded-For`` (the one the hub's proxy
    added: the addresses before it are whatever the client claimed), else the connection's."""
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
    return forwarded or str(request.remote_ip)


def enquiry_problem(values: dict[str, str]) -> str:
    """What is wrong with an enquiry before the registry sees it ("" when nothing)."""
    labels = {"name": "an organisation name", "contact": "a contact e-mail",
              "purpose": "what you will use it for", "username": "a user name",
              "password": "a password"}  # fmt: skip
    for name, longest in ENQUIRY_FIELDS.items():
        if not values[name].strip():
            return f"Please give {labels[name]}."
        if len(values[name]) > longest:
            return f"{labels[name].capitalize()} may hold at most {longest} characters."
    if not _EMAIL.match(values["contact"].strip()):
        return f"{values['contact'].strip()!r} does not look like an e-mail address."
    return ""


def invitation_problem(info: InvitationInfo, now: dt.datetime) -> tuple[int, str] | None:
    """Why a known invitation link no longer works (status and sentence), or None."""
    if info.accepted_by is not None:
        return 410, "This invitation link has been used already: ask the admin for a new one."
    if info.expires_at < now:
        return 410, "This invitation link has expired: ask the admin for a new one."
    return None


def home_view(
    registry: Registry, username: str, platform_admin: bool, invited: str, note: str
) -> pages.HomeView:
    """Gather what the home page shows ``username`` (blocking: run it in a thread)."""
    roles = registry.roles(username)
    everyone = registry.organisations()
    administered = [
        pages.OrganisationAdmin(
            role.organisation,
            role.name,
            registry.people(role.organisation),
            registry.invitations(role.organisation),
            registry.surveys(role.organisation),
            registry.shares(role.organisation),
            [(slug, name) for slug, name in everyone if slug != role.organisation],
        )
        for role in roles
        if role.role == "admin"
    ]
    new = None
    if invited:
        try:
            info = registry.invitation(invited)
        except NotFoundError:
            info = None
        if info is not None and any(o.slug == info.organisation for o in administered):
            new = dataclasses.replace(info, token=invited)
    pending = registry.pending() if platform_admin else None
    return pages.HomeView(username, roles, administered, pending, new, note)


class _Page(web.RequestHandler):
    """What every page of the service shares: the registry, links and error pages."""

    @property
    def registry(self) -> Registry:
        registry: Registry = self.settings["registry"]
        return registry

    @property
    def links(self) -> pages.Links:
        links: pages.Links = dataclasses.replace(
            self.settings["links"], origin=f"{self.request.protocol}://{self.request.host}"
        )
        return links

    def show(self, status: int, html: str) -> None:
        self.set_status(status)
        self.finish(html)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """A page with a sentence, never a traceback."""
        error = kwargs.get("exc_info", (None, None, None))[1]
        sentence = getattr(error, "log_message", None) or self._reason
        self.finish(pages.error_page(self.links, f"{status_code}: {self._reason}", sentence))


class _Signed(HubOAuthenticated, _Page):
    """Pages for people logged in to the hub."""

    async def prepare(self) -> None:
        """Ask the hub who this is without blocking the event loop (then it is cached)."""
        await self.hub_auth.get_user(self, sync=False)

    @property
    def username(self) -> str:
        user: dict[str, Any] = self.get_current_user()
        return str(user["name"])

    def is_platform_admin(self) -> bool:
        return self.username in self.settings["platform_admins"]

    def back(self, note: str = "", **arguments: str) -> None:
        """To the home page, with a note to show (or other arguments)."""
        query = {**({"note": note} if note else {}), **arguments}
        self.redirect(self.links.service() + (f"?{_query(query)}" if query else ""))

    async def require_admin(self, slug: str) -> None:
        role = await asyncio.to_thread(self.registry.role_of, self.username, slug)
        if role != "admin":
            raise web.HTTPError(403, f"only admins of {slug} manage it")


def _query(arguments: dict[str, str]) -> str:
    return "&".join(f"{k}={url_escape(v)}" for k, v in arguments.items())


class HomeHandler(_Signed):
    """The person's organisations, and what their roles let them do."""

    @web.authenticated
    async def get(self) -> None:
        """Render the page."""
        view = await asyncio.to_thread(
            home_view,
            self.registry,
            self.username,
            self.is_platform_admin(),
            self.get_argument("invited", ""),
            self.get_argument("note", ""),
        )
        self.finish(pages.home_page(view, self.links, self.xsrf_form_html()))


class RequestOrganisationHandler(_Signed):
    """File an enquiry for a new organisation (someone with a login already)."""

    @web.authenticated
    async def post(self) -> None:
        """Record it; a platform admin decides."""
        try:
            await asyncio.to_thread(
                self.registry.request,
                self.get_argument("name"),
                self.get_argument("contact"),
                self.get_argument("purpose", ""),
                self.username,
            )
        except TrapTaggerError as exc:
            return self.back(str(exc))
        self.back("Thank you: a platform admin will look at your request.")


class DecisionHandler(_Signed):
    """Approve or reject an enquiry (platform admins only)."""

    @web.authenticated
    async def post(self, decision: str, slug: str) -> None:
        """Approve (provisioning it: seconds, in a thread) or reject with a note."""
        if not self.is_platform_admin():
            raise web.HTTPError(403, "only platform admins decide on enquiries")
        try:
            if decision == "reject":
                await asyncio.to_thread(self.registry.reject, slug, self.get_argument("note", ""))
                return self.back(f"The enquiry {slug} is rejected.")
            org = await asyncio.to_thread(self.registry.approve, slug)
        except TrapTaggerError as exc:
            return self.back(str(exc))
        self.back(f"{org.name} is approved: {org.requested_by} is its admin and can log in.")


class PeopleHandler(_Signed):
    """Invite or remove people, or renew one's database password (organisation admins only)."""

    @web.authenticated
    async def post(self, slug: str, action: str) -> None:
        """Make an invitation link (shown on the home page), or take someone out."""
        await self.require_admin(slug)
        try:
            if action == "invite":
                token = await asyncio.to_thread(
                    self.registry.invite, slug, self.get_argument("role"), self.username
                )
                return self.back(invited=token)
            username = self.get_argument("username")
            if action == "rotate":
                await asyncio.to_thread(self.registry.rotate_login, slug, username)
                return self.back(
                    f"{username} has a new database password: their open connections have "
                    "ended, and their server gets it when it next starts"
                )
            await asyncio.to_thread(self.registry.remove, slug, username)
        except TrapTaggerError as exc:
            return self.back(str(exc))
        self.back(f"{username} is no longer in {slug}")


class ShareHandler(_Signed):
    """Share a survey with another organisation, or stop (organisation admins only)."""

    @web.authenticated
    async def post(self, slug: str, share_id: str | None = None) -> None:
        """Make the share (its login and views), or drop it."""
        try:
            if share_id is None:
                shared = await asyncio.to_thread(
                    self.registry.share,
                    slug,
                    self.get_argument("survey"),
                    self.get_argument("with").strip(),
                    self.get_argument("mode"),
                    self.username,
                )
                return self.back(
                    f"{shared.survey} is now shared {shared.mode} with {shared.shared_with}"
                )
            await asyncio.to_thread(self.registry.unshare, int(share_id), self.username)
        except TrapTaggerError as exc:
            return self.back(str(exc))
        self.back("sharing stopped")


class EnquiryHandler(_Page):
    """A visitor asks for an organisation (no hub login: they have none yet)."""

    def get(self) -> None:
        """The empty form."""
        self.finish(pages.enquiry_page(self.links, self.xsrf_form_html(), USERNAME_RULE))

    async def post(self) -> None:
        """File it (making their account, with no role until approval), or say why not."""
        values = {name: self.get_argument(name, "") for name in ENQUIRY_FIELDS}
        wait = self.settings["enquiry_limiter"].take(client_address(self.request))
        if wait:
            again = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait)
            self.set_header("Retry-After", str(int(wait) + 1))
            sentence = (
                "Too many enquiries have come from your address (or from everyone) in the "
                f"last hour: please try again after {again:%H:%M} UTC "
                f"(in {int(wait // 60) + 1} minutes)."
            )
            return self.show(429, pages.error_page(self.links, "Please wait", sentence))
        problem = enquiry_problem(values)
        if not problem:
            try:
                org = await asyncio.to_thread(
                    self.registry.enquire,
                    values["name"].strip(),
                    values["contact"].strip(),
                    values["purpose"].strip(),
                    values["username"],
                    values["password"],
                )
            except TrapTaggerError as exc:
                problem = str(exc)
        if problem:
            form = pages.enquiry_page(
                self.links, self.xsrf_form_html(), USERNAME_RULE, values, problem
            )
            return self.show(400, form)
        self.finish(pages.enquiry_thanks(self.links, org.name, org.requested_by))


class JoinHandler(_Page):
    """Join an organisation through an invitation link (no hub login needed yet)."""

    async def get(self, token: str) -> None:
        """The form: choose a user name and password, or give one's own."""
        info = await self._open_invitation(token)
        if info is not None:
            self.finish(pages.join_page(self.links, self.xsrf_form_html(), info, USERNAME_RULE))

    async def post(self, token: str) -> None:
        """Accept the invitation under a new (or the same person's) login."""
        info = await self._open_invitation(token)
        if info is None:
            return
        username = self.get_argument("username", "")
        try:
            role = await asyncio.to_thread(
                self.registry.join, token, username, self.get_argument("password", "")
            )
        except TrapTaggerError as exc:
            form = pages.join_page(
                self.links, self.xsrf_form_html(), info, USERNAME_RULE, username, str(exc)
            )
            return self.show(400, form)
        self.finish(pages.joined_page(self.links, role, canonical_username(username)))

    async def _open_invitation(self, token: str) -> InvitationInfo | None:
        """The invitation when its link still works; else answer with why not (None)."""
        try:
            info = await asyncio.to_thread(self.registry.invitation, token)
        except NotFoundError:
            sentence = "This invitation link is not valid: check it, or ask for a new one."
            self.show(404, pages.error_page(self.links, "Invitation not found", sentence))
            return None
        problem = invitation_problem(info, utcnow())
        if problem is not None:
            status, sentence = problem
            self.show(status, pages.error_page(self.links, "Invitation closed", sentence))
            return None
        return info


def make_app(settings: ServiceSettings) -> web.Application:
    """The service's web application, with its registry and links, as ``settings`` say."""
    prefix = settings.service_prefix
    provisioner = Provisioner(
        settings.database_server,
        settings.organisations,
        s3_endpoint_url=settings.s3_endpoint_url or None,
        os_accounts=settings.os_accounts,
    )
    registry = Registry(settings.registry_url, provisioner)
    registry.ensure_logins()  # people from before per-person database logins get theirs
    return web.Application(
        [
            (prefix, HomeHandler),
            (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
            (url_path_join(prefix, "request"), RequestOrganisationHandler),
            (url_path_join(prefix, "enquire"), EnquiryHandler),
            (url_path_join(prefix, r"(approve|reject)/(\w+)"), DecisionHandler),
            (url_path_join(prefix, r"org/(\w+)/(invite|remove|rotate)"), PeopleHandler),
            (url_path_join(prefix, r"org/(\w+)/share"), ShareHandler),
            (url_path_join(prefix, r"org/(\w+)/unshare/(\d+)"), ShareHandler),
            (url_path_join(prefix, r"join/([\w-]+)"), JoinHandler),
        ],
        cookie_secret=os.urandom(32),
        xsrf_cookies=True,
        prefix=prefix,
        links=pages.Links(prefix, url_path_join(settings.hub_base_url, "hub/")),
        registry=registry,
        platform_admins=frozenset(settings.platform_admins),
        enquiry_limiter=EnquiryLimiter(),
    )


class OrganisationsService(Application):
    """``python -m traptagger_hub.service``: the service JupyterHub starts; settings on the
    command line (``--ServiceSettings.<name>=<value>``) win over the environment's."""

    name = "traptagger-organisations"
    description = "The organisations service of TrapTagger Lab's JupyterHub."
    classes = [ServiceSettings]  # noqa: RUF012 - traitlets reads it as a class attribute

    def start(self) -> None:
        """Check every setting, then serve where ``service_url`` says until stopped."""
        settings = ServiceSettings(parent=self)
        settings.check()
        asyncio.run(serve(settings))


async def serve(settings: ServiceSettings) -> None:
    """Serve until SIGINT or SIGTERM, then stop listening and close the registry.

    JupyterHub stops its services with SIGINT (SIGTERM only after 30 s): the handlers are
    our own, so that a service started by a hub that ignores SIGINT (as a shell's
    background job does, and its children inherit) still stops at once.
    """
    app = make_app(settings)
    address = urlparse(settings.service_url)
    server = app.listen(address.port or 80, address.hostname or "127.0.0.1")
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await stopping.wait()
    finally:
        server.stop()
        await server.close_all_connections()
        app.settings["registry"].close()


def main(argv: list[str] | None = None) -> None:
    """Run the service; a bad or missing setting stops it with one line naming the setting."""
    service = OrganisationsService()
    try:
        service.initialize(argv)
        service.start()
    except TraitError as exc:
        sys.exit(f"{service.name}: {exc}")


if __name__ == "__main__":
    main()
