"""The organisations service's pages: plain data in, escaped HTML out.

Pure functions, no handler and no registry: :mod:`traptagger_hub.service` gathers
the data (off the event loop) and hands it here. Everything people typed
(organisation names, user names, roles, notes, purposes) is escaped on the
way out. Styles and the one small script are inline: the pages load nothing
from another host.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jupyterhub.utils import url_path_join

if TYPE_CHECKING:
    from traptagger_hub.registry_tables import InvitationInfo, Organisation, Role, SharedSurvey

PRODUCT = "TrapTagger Lab"
#: Roles, most limited first (the invitation form's order: annotators are invited most).
INVITE_ROLES = ("annotator", "member", "admin")
ROLE_HINTS = {
    "annotator": "the annotation app only",
    "member": "notebooks and apps on the organisation's data",
    "admin": "a member who also invites people and shares surveys",
}

STYLE = """<style>
:root{--ink:#1f2b23;--muted:#5d6b62;--brand:#2e6b3b;--dark:#1d4527;--line:#dde4de;
--bg:#f4f6f3;--card:#fff;--bad:#a5281f}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
color:var(--ink);background:var(--bg)}
a{color:var(--brand)}
.top{background:var(--dark);color:#fff}
.top .bar{max-width:72rem;margin:0 auto;padding:.65rem 1.5rem;display:flex;align-items:center;
gap:1.5rem}
.top .product{color:#fff;font-weight:700;font-size:1.2rem;text-decoration:none;display:flex;
align-items:center;gap:.55rem}
.top nav{margin-left:auto;display:flex;gap:1.3rem;align-items:center}
.top nav a{color:#e3efe4;text-decoration:none}.top nav a:hover{text-decoration:underline}
.top .who{color:#b9cfbc;font-size:.9rem}
main{max-width:72rem;margin:1.6rem auto 3rem;padding:0 1.5rem}
h1{font-size:1.65rem;margin:0 0 1rem}h2{font-size:1.2rem;margin:0 0 .7rem}
h3{font-size:1rem;margin:1.1rem 0 .5rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;
padding:1.1rem 1.4rem;margin:0 0 1.2rem}
.narrow{max-width:46rem}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.45rem .7rem;border-bottom:1px solid var(--line);
vertical-align:middle}
th{font-size:.8rem;color:var(--muted);font-weight:600;text-transform:uppercase;
letter-spacing:.04em}
.note{background:#e6f2e8;border-left:4px solid var(--brand);padding:.6rem .9rem;
margin:0 0 1.2rem}
.error{background:#fbeae8;border-left:4px solid var(--bad);padding:.6rem .9rem;
margin:0 0 1.2rem}
button{background:var(--brand);color:#fff;border:0;border-radius:5px;padding:.4rem .95rem;
font:inherit;cursor:pointer}button:hover{background:var(--dark)}
button:disabled{opacity:.6;cursor:wait}
button.quiet{background:#e8ede8;color:var(--ink)}button.quiet:hover{background:#d9e1da}
button.danger{background:#fff;color:var(--bad);border:1px solid #e2b3ae}
input,select,textarea{font:inherit;padding:.35rem .55rem;border:1px solid #b7c3ba;
border-radius:5px;background:#fff;color:var(--ink)}
textarea{width:100%;min-height:5rem}
.grid{display:grid;grid-template-columns:13rem 1fr;gap:.75rem 1rem;align-items:start}
.grid label{padding-top:.35rem;font-weight:600}.grid input{width:100%}
.hint{color:var(--muted);font-size:.9rem;margin:.2rem 0 0}.card>.hint{margin:0 0 .8rem}
.inline{display:inline}.inline+.inline{margin-left:.4rem}.row{display:flex;gap:.5rem;align-items:center;flex-wrap:wrap}
.link{display:flex;gap:.5rem;align-items:center}
.link input{flex:1;min-width:20rem;font-family:ui-monospace,Menlo,Consolas,monospace;
font-size:.85rem}
.role{display:inline-block;padding:0 .55rem;border-radius:1rem;background:#e3eee5;
font-size:.85rem}
.new{border-color:var(--brand);box-shadow:0 0 0 2px #cfe3d3}
.muted{color:var(--muted)}
</style>"""

#: A small camera-trap mark drawn inline (no image file, no outside host).
LOGO = (
    "<svg width='26' height='26' viewBox='0 0 26 26' aria-hidden='true'>"
    "<rect x='2' y='6' width='22' height='16' rx='3' fill='#8fc49a'/>"
    "<circle cx='13' cy='14' r='5' fill='#1d4527'/><circle cx='13' cy='14' r='2.2' "
    "fill='#e3efe4'/><rect x='5' y='3' width='6' height='4' rx='1' fill='#8fc49a'/></svg>"
)

#: Copy buttons (clipboard API, else select and copy), and busy buttons while a form posts.
SCRIPT = """<script>
document.querySelectorAll('button[data-copy]').forEach(function (button) {
  button.addEventListener('click', function () {
    var input = document.getElementById(button.dataset.copy);
    var done = function () { button.textContent = 'Copied'; };
    var fallback = function () { input.select(); document.execCommand('copy'); done(); };
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, fallback);
    } else { fallback(); }
  });
});
document.querySelectorAll('form').forEach(function (form) {
  form.addEventListener('submit', function () {
    var button = form.querySelector('button[type=submit]');
    if (button) { setTimeout(function () { button.disabled = true; }, 0); }
  });
});
</script>"""


def esc(value: object) -> str:
    """``value`` as HTML text (quotes included, so it is safe in attributes too)."""
    return html.escape(str(value), quote=True)


def when(moment: dt.datetime) -> str:
    """A naive UTC time as people read it: ``2026-12-04 11:31 UTC``."""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Links:
    """Where the pages point: the service's own prefix, the hub, and this host's origin."""

    prefix: str  # "/services/organisations/"
    hub: str = "/hub/"
    origin: str = ""  # "https://hub.example.org", for links people send to others

    def service(self, *parts: str) -> str:
        """A path in the service."""
        return url_path_join(self.prefix, *parts) if parts else self.prefix

    def join(self, token: str) -> str:
        """The full invitation link for ``token``."""
        return self.origin + self.service("join", token)


@dataclass(frozen=True)
class OrganisationAdmin:
    """What an organisation's admin manages: people, open invitations and shares."""

    slug: str
    name: str
    people: list[tuple[str, str]]
    invitations: list[InvitationInfo]
    surveys: list[str]
    shares: list[SharedSurvey]
    others: list[tuple[str, str]]  # (slug, name) of the organisations one may share with


@dataclass(frozen=True)
class HomeView:
    """Everything the service's home page shows one person."""

    username: str
    roles: list[Role]
    administered: list[OrganisationAdmin] = field(default_factory=list)
    pending: list[Organisation] | None = None  # None: not a platform admin
    invited: InvitationInfo | None = None  # the invitation just made, with its token
    note: str = ""


# -- the frame -------------------------------------------------------------------------------


def page(title: str, body: str, links: Links, signed_in: str | None = None) -> str:
    """A whole page: the product header (with the person's links when signed in), the body."""
    if signed_in:
        nav = (
            f"<a href='{esc(url_path_join(links.hub, 'home'))}'>Your workspace</a>"
            f"<a href='{esc(links.service())}'>Organisations</a>"
            f"<span class='who'>{esc(signed_in)}</span>"
            f"<a href='{esc(url_path_join(links.hub, 'logout'))}'>Log out</a>"
        )
    else:
        nav = f"<a href='{esc(url_path_join(links.hub, 'login'))}'>Log in</a>"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(title)} · {PRODUCT}</title>{STYLE}</head><body>"
        f"<header class='top'><div class='bar'><a class='product' href='{esc(links.hub)}'>"
        f"{LOGO}{PRODUCT}</a><nav>{nav}</nav></div></header>"
        f"<main><h1>{esc(title)}</h1>{body}</main>{SCRIPT}</body></html>"
    )


def form(action: str, xsrf: str, fields: str, button: str, css: str = "quiet") -> str:
    """A small POST form (``fields`` is HTML made by the caller, already escaped)."""
    return (
        f"<form method='post' action='{esc(action)}' class='inline'>{xsrf}{fields}"
        f"<button type='submit' class='{css}'>{esc(button)}</button></form>"
    )


def message(text: str, css: str = "note") -> str:
    """A note (or an ``error``) above a page's content; nothing for no text."""
    return f"<p class='{css}'>{esc(text)}</p>" if text else ""


def error_page(links: Links, title: str, sentence: str) -> str:
    """A page that only says what went wrong (no form, no traceback)."""
    return page(title, f"<div class='card narrow'>{message(sentence, 'error')}</div>", links)


# -- the home page ---------------------------------------------------------------------------


def home_page(view: HomeView, links: Links, xsrf: str) -> str:
    """The signed-in person's page: their organisations, and what their roles let them do."""
    parts = [message(view.note)]
    if view.invited is not None:
        parts.append(new_invitation(view.invited, links))
    if view.roles:
        items = "".join(
            f"<li><b>{esc(r.name)}</b> <span class='role'>{esc(r.role)}</span></li>"
            for r in view.roles
        )
        mine = (
            f"<ul>{items}</ul><p><a href='{esc(url_path_join(links.hub, 'home'))}'>"
            "Open your workspace</a></p>"
        )
    else:
        mine = "<p>None yet: ask for a new organisation below, or for an invitation link.</p>"
    parts.append(f"<section class='card'><h2>Your organisations</h2>{mine}</section>")
    parts.extend(admin_section(org, view.username, links, xsrf) for org in view.administered)
    if view.pending is not None:
        parts.append(pending_section(view.pending, links, xsrf))
    request = (
        f"<form method='post' action='{esc(links.service('request'))}'>{xsrf}<div class='grid'>"
        "<label for='r-name'>Organisation name</label>"
        "<input id='r-name' name='name' required maxlength='200'>"
        "<label for='r-contact'>Contact e-mail</label>"
        "<input id='r-contact' name='contact' type='email' required maxlength='200'>"
        "<label for='r-purpose'>What will you use it for?</label>"
        "<textarea id='r-purpose' name='purpose'></textarea>"
        "<span></span><div><button type='submit'>Send</button></div></div></form>"
    )
    parts.append(
        "<section class='card'><h2>Ask for a new organisation</h2>"
        f"<p class='hint'>You will be its admin once a platform admin approves it.</p>{request}"
        "</section>"
    )
    return page("Organisations", "".join(parts), links, signed_in=view.username)


def new_invitation(info: InvitationInfo, links: Links) -> str:
    """The invitation just made: for whom, until when, and its link to copy."""
    return (
        "<section class='card new'><h2>New invitation link</h2>"
        f"<p>Joins <b>{esc(info.name)}</b> as <b>{esc(info.role)}</b>; valid until "
        f"{esc(when(info.expires_at))}, for one person. Send this link:</p>"
        f"{link_box('new-link', links.join(info.token))}</section>"
    )


def link_box(element_id: str, url: str) -> str:
    """A read-only input holding ``url`` and a Copy button for it."""
    return (
        f"<div class='link'><input id='{esc(element_id)}' readonly value='{esc(url)}' "
        f"aria-label='invitation link'> <button type='button' class='quiet' "
        f"data-copy='{esc(element_id)}'>Copy</button></div>"
    )


def removable(username: str, role: str, people: Sequence[tuple[str, str]], viewer: str) -> bool:
    """Whether the page offers to remove ``username``: never oneself, nor the last admin."""
    admins = [name for name, their_role in people if their_role == "admin"]
    return username != viewer and not (role == "admin" and len(admins) == 1)


def admin_section(org: OrganisationAdmin, viewer: str, links: Links, xsrf: str) -> str:
    """An administered organisation: its people, its open invitations and its shares."""
    rows = "".join(
        f"<tr><td>{esc(username)}</td><td><span class='role'>{esc(role)}</span></td><td>"
        + form(
            links.service("org", org.slug, "rotate"),
            xsrf,
            f"<input type='hidden' name='username' value='{esc(username)}'>",
            "New database password",
            css="quiet",
        )
        + (
            form(
                links.service("org", org.slug, "remove"),
                xsrf,
                f"<input type='hidden' name='username' value='{esc(username)}'>",
                "Remove",
                css="danger",
            )
            if removable(username, role, org.people, viewer)
            else ""
        )
        + "</td></tr>"
        for username, role in org.people
    )
    options = "".join(
        f"<option value='{role}'{' selected' if role == 'annotator' else ''}>"
        f"{role}: {esc(ROLE_HINTS[role])}</option>"
        for role in INVITE_ROLES
    )
    invite = form(
        links.service("org", org.slug, "invite"),
        xsrf,
        f"<label for='role-{esc(org.slug)}'>Invite someone as </label>"
        f"<select id='role-{esc(org.slug)}' name='role'>{options}</select> ",
        "Make an invitation link",
        css="",
    )
    return (
        f"<section class='card'><h2>{esc(org.name)}: people</h2>"
        f"<table><tr><th>who</th><th>role</th><th></th></tr>{rows}</table>"
        f"<h3>Invite</h3><div class='row'>{invite}</div>"
        f"{open_invitations(org.invitations, links)}</section>" + shares_section(org, links, xsrf)
    )


def open_invitations(invitations: Sequence[InvitationInfo], links: Links) -> str:
    """The organisation's unused, unexpired invitation links."""
    if not invitations:
        return "<p class='hint'>No open invitation links.</p>"
    rows = "".join(
        f"<tr><td><span class='role'>{esc(i.role)}</span></td><td>{esc(i.created_by)}</td>"
        f"<td>{esc(when(i.expires_at))}</td>"
        f"<td>{link_box(f'link-{n}-{i.organisation}', links.join(i.token))}</td></tr>"
        for n, i in enumerate(invitations)
    )
    return (
        "<h3>Open invitation links</h3><table><tr><th>role</th><th>made by</th>"
        f"<th>valid until</th><th>link</th></tr>{rows}</table>"
    )


def shares_section(org: OrganisationAdmin, links: Links, xsrf: str) -> str:
    """Surveys shared from and with the organisation, and the form to share one."""
    rows = "".join(
        f"<tr><td>{esc(s.survey)}</td><td>{esc(s.owner)}</td><td>{esc(s.shared_with)}</td>"
        f"<td>{esc(s.mode)}</td><td>"
        + (
            form(links.service("org", org.slug, "unshare", str(s.id)), xsrf, "", "Stop sharing")
            if s.owner == org.slug
            else ""
        )
        + "</td></tr>"
        for s in org.shares
    )
    table = (
        "<table><tr><th>survey</th><th>owner</th><th>shared with</th><th>mode</th><th></th>"
        f"</tr>{rows}</table>"
        if org.shares
        else "<p>No survey is shared from or with it.</p>"
    )
    if not org.surveys:
        share = "<p class='hint'>It has no survey to share yet.</p>"
    elif not org.others:
        share = "<p class='hint'>There is no other organisation to share with yet.</p>"
    else:
        surveys = "".join(f"<option>{esc(survey)}</option>" for survey in org.surveys)
        others = "".join(
            f"<option value='{esc(slug)}'>{esc(name)}</option>" for slug, name in org.others
        )
        fields = (
            f"Share <select name='survey' aria-label='survey'>{surveys}</select> with "
            f"<select name='with' aria-label='organisation'>{others}</select> "
            "<select name='mode' aria-label='mode'><option>read-only</option>"
            "<option>read-write</option></select> "
        )
        share = (
            "<div class='row'>"
            + form(links.service("org", org.slug, "share"), xsrf, fields, "Share", css="")
            + "</div><p class='hint'>read-write also lets their annotators label it.</p>"
        )
    return f"<section class='card'><h2>{esc(org.name)}: shared surveys</h2>{table}{share}</section>"


def pending_section(pending: Sequence[Organisation], links: Links, xsrf: str) -> str:
    """Enquiries for a platform admin to approve (provisioning them) or reject."""
    if not pending:
        return "<section class='card'><h2>Enquiries waiting for approval</h2><p>None.</p></section>"
    rows = "".join(
        f"<tr><td><b>{esc(o.name)}</b></td><td>{esc(o.requested_by)}</td>"
        f"<td>{esc(o.contact)}</td><td>{esc(o.purpose)}</td>"
        f"<td>{esc(when(o.created_at))}</td><td><div class='row'>"
        + form(links.service("approve", o.slug), xsrf, "", "Approve", css="")
        + form(
            links.service("reject", o.slug),
            xsrf,
            "<input name='note' placeholder='why not' aria-label='why not'> ",
            "Reject",
        )
        + "</div></td></tr>"
        for o in pending
    )
    return (
        "<section class='card'><h2>Enquiries waiting for approval</h2>"
        "<p class='hint'>Approving creates the organisation's database, logins and store "
        "(a few seconds); the person who asked becomes its admin.</p>"
        "<table><tr><th>organisation</th><th>asked by</th><th>contact</th><th>purpose</th>"
        f"<th>asked</th><th></th></tr>{rows}</table></section>"
    )


# -- pages for visitors (no hub login) -------------------------------------------------------


def enquiry_page(
    links: Links, xsrf: str, rule: str, values: dict[str, str] | None = None, error: str = ""
) -> str:
    """The public form asking for an organisation, with what was typed (never the password)."""
    typed = values or {}

    def field(name: str, label: str, kind: str = "text", extra: str = "") -> str:
        value = "" if kind == "password" else esc(typed.get(name, ""))
        return (
            f"<label for='e-{name}'>{label}</label><div><input id='e-{name}' name='{name}' "
            f"type='{kind}' value='{value}' required {extra}>"
        )

    body = (
        message(error, "error")
        + "<div class='card narrow'><p>Tell us about the organisation you want: a platform "
        "admin reads every enquiry. Once it is approved you log in with the user name and "
        "password you choose here, as the organisation's admin, and invite your team.</p>"
        f"<form method='post' action='{esc(links.service('enquire'))}'>{xsrf}<div class='grid'>"
        + field("name", "Organisation name", extra="maxlength='200'")
        + "<p class='hint'>For example “Karoo Leopard Project”.</p></div>"
        + field("contact", "Contact e-mail", "email", "maxlength='200'")
        + "</div><label for='e-purpose'>What will you use it for?</label><div>"
        f"<textarea id='e-purpose' name='purpose' required maxlength='2000'>"
        f"{esc(typed.get('purpose', ''))}</textarea></div>"
        + field("username", "Your user name", extra="maxlength='64' autocomplete='username'")
        + f"<p class='hint'>{esc(rule)}. Already have an account? Use its name and password."
        "</p></div>"
        + field("password", "Password", "password", "minlength='8' autocomplete='new-password'")
        + "<p class='hint'>At least 8 characters.</p></div>"
        "<span></span><div><button type='submit'>Send the enquiry</button></div>"
        "</div></form></div>"
    )
    return page("Ask for an organisation", body, links)


def enquiry_thanks(links: Links, organisation: str, username: str) -> str:
    """What a visitor sees once their enquiry is filed."""
    body = (
        "<div class='card narrow'>"
        f"<p class='note'>Thank you: your enquiry for <b>{esc(organisation)}</b> is filed.</p>"
        "<p>A platform admin will decide on it. Once it is approved you can log in as "
        f"<b>{esc(username)}</b> with the password you chose, as the organisation's admin; "
        "until then the hub will not let you in.</p>"
        f"<p><a href='{esc(url_path_join(links.hub, 'login'))}'>Log in</a> (after approval)</p>"
        "</div>"
    )
    return page("Enquiry sent", body, links)


def join_page(
    links: Links, xsrf: str, info: InvitationInfo, rule: str, username: str = "", error: str = ""
) -> str:
    """The form behind an invitation link: who invites, as what, until when."""
    body = (
        message(error, "error") + "<div class='card narrow'>"
        f"<p>You are invited to join <b>{esc(info.name)}</b> as <b>{esc(info.role)}</b> "
        f"(link valid until {esc(when(info.expires_at))}).</p>"
        "<p><b>New here:</b> choose a user name and password. <b>Already have an account:</b> "
        "use your user name and password.</p>"
        f"<form method='post'>{xsrf}<div class='grid'>"
        "<label for='j-username'>User name</label><div>"
        f"<input id='j-username' name='username' value='{esc(username)}' required "
        "maxlength='64' autocomplete='username'>"
        f"<p class='hint'>{esc(rule)}.</p></div>"
        "<label for='j-password'>Password</label><div>"
        "<input id='j-password' name='password' type='password' required minlength='8' "
        "autocomplete='current-password'><p class='hint'>At least 8 characters.</p></div>"
        "<span></span><div><button type='submit'>Join</button></div></div></form></div>"
    )
    return page("Join an organisation", body, links)


def joined_page(links: Links, role: Role, username: str) -> str:
    """After joining: the role, the user name to log in with, and where."""
    body = (
        f"<div class='card narrow'><p class='note'>You are now {esc(role.role)} of "
        f"<b>{esc(role.name)}</b>.</p><p>Log in as <b>{esc(username)}</b> (user names are "
        f"lower-case here) with your password: <a href='{esc(url_path_join(links.hub, 'login'))}'>"
        "Log in</a></p></div>"
    )
    return page("Welcome", body, links)
