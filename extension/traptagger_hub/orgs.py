"""Organisations and their people: enquiries, approval, roles and invitations.

The registry is the hub's own database (separate from every organisation's
data): who belongs to which organisation in which role, and each
organisation's connection settings, which only the hub reads and hands to a
user's server when it starts. Roles:

- ``admin``: runs the organisation (invites and removes people) and works as a member;
- ``member``: notebooks and Voila apps on the organisation's data;
- ``annotator``: the Voila annotation app only, with the annotator database login.

A person may hold roles in several organisations (annotators often work for many).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from pathlib import Path
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.expression import Update

from traptagger_hub.identities import (
    canonical_username,
    check_new_password,
    hash_password,
    password_matches,
)
from traptagger_hub.provision import Provisioner, slug_for
from traptagger_hub.registry_shares import SurveySharing
from traptagger_hub.registry_tables import (
    Account,
    Invitation,
    InvitationInfo,
    Membership,
    Organisation,
    PersonLogin,
    RegistryBase,
    Role,
    Share,
    ShareStore,
    StorageLogin,
)
from traptagger_lab.db.engine import make_engine, session_factory
from traptagger_lab.db.models import utcnow
from traptagger_lab.errors import ConfigurationError, NotFoundError

ROLES = ("admin", "member", "annotator")
#: Roles by what they may do: an invitation never lowers a person's role.
_RANK = {"annotator": 0, "member": 1, "admin": 2}
INVITATION_LIFETIME = dt.timedelta(days=7)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ConfigurationError(f"role {role!r}: use one of {ROLES}")


def _changed(session: Session, statement: Update) -> int:
    """Run a conditional UPDATE; how many rows it changed (0: the condition no longer held)."""
    result = cast(CursorResult[Any], session.execute(statement))
    return int(result.rowcount)


def _keep_private(url: str) -> None:
    """A registry in a file is the hub's alone (0600; a new folder for it 0700): it holds
    every organisation's database logins. SQLite's journal files copy the file's mode."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)


class Registry(SurveySharing):
    """The hub's registry of organisations, memberships and invitations."""

    def __init__(self, url: str, provisioner: Provisioner | None = None) -> None:
        _keep_private(url)
        self.engine = make_engine(url)
        RegistryBase.metadata.create_all(self.engine)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        self.provisioner = provisioner

    # -- organisations ----------------------------------------------------------------------

    def request(self, name: str, contact: str, purpose: str, requested_by: str) -> Organisation:
        """File the enquiry for a new organisation (a platform admin approves it)."""
        slug = slug_for(name)
        requested_by = canonical_username(requested_by)
        with self.sessions() as session, session.begin():
            if session.scalar(select(Organisation).where(Organisation.slug == slug)):
                raise ConfigurationError(f"an organisation called {name!r} exists already")
            org = Organisation(
                slug=slug, name=name, contact=contact, purpose=purpose, requested_by=requested_by
            )
            session.add(org)
        return org

    def enquire(
        self, name: str, contact: str, purpose: str, username: str, password: str
    ) -> Organisation:
        """A visitor asks for an organisation: their account is made (or, when the name
        exists, must be theirs: its password), then the enquiry is filed. They can log in
        once a platform admin approves it, as its admin."""
        username = canonical_username(username)
        slug = slug_for(name)  # refuse what cannot be filed before making an account
        with self.sessions() as session:
            if session.scalar(select(Organisation.id).where(Organisation.slug == slug)):
                raise ConfigurationError(f"an organisation called {name!r} exists already")
        self._account_for(username, password)
        return self.request(name, contact, purpose, username)

    def organisations(self) -> list[tuple[str, str]]:
        """(slug, name) of every active organisation, by name."""
        with self.sessions() as session:
            rows = session.execute(
                select(Organisation.slug, Organisation.name)
                .where(Organisation.status == "active")
                .order_by(Organisation.name)
            ).all()
        return [(slug, name) for slug, name in rows]

    def pending(self) -> list[Organisation]:
        """Enquiries waiting for a decision, oldest first."""
        with self.sessions() as session:
            query = select(Organisation).where(Organisation.status == "requested")
            return list(session.scalars(query.order_by(Organisation.id)))

    def approve(self, slug: str, note: str = "") -> Organisation:
        """Approve an enquiry: provision its database, logins and store; the requester is admin.

        The enquiry is claimed first (one approval wins when two admins click at once) and
        provisioned outside any registry transaction; a failed provisioning puts it back.
        """
        provisioner = self._provisioner("approve")
        with self.sessions() as session, session.begin():
            claimed = _changed(
                session,
                update(Organisation)
                .where(Organisation.slug == slug, Organisation.status == "requested")
                .values(status="provisioning"),
            )
            if claimed != 1:
                org = self._organisation(session, slug)
                raise ConfigurationError(f"organisation {slug!r} is {org.status}, not requested")
        try:
            credentials = provisioner.create(slug)
        except BaseException:
            with self.sessions() as session, session.begin():
                self._organisation(session, slug).status = "requested"
            raise
        with self.sessions() as session, session.begin():
            org = self._organisation(session, slug)
            org.member_url, org.annotator_url = credentials.member_url, credentials.annotator_url
            org.storage_url = credentials.storage_url
            for role, options in (
                ("member", credentials.member_storage_options),
                ("annotator", credentials.annotator_storage_options),
            ):
                if options:
                    session.add(
                        StorageLogin(organisation_id=org.id, role=role, options=json.dumps(options))
                    )
            org.status, org.decided_at, org.decision_note = "active", utcnow(), note
            session.add(Membership(organisation_id=org.id, username=org.requested_by, role="admin"))
            requester = org.requested_by
        self._give_login(slug, requester, "admin")
        return org

    def reject(self, slug: str, note: str) -> None:
        """Turn an enquiry down, saying why."""
        with self.sessions() as session, session.begin():
            org = self._organisation(session, slug)
            if org.status != "requested":
                raise ConfigurationError(f"organisation {slug!r} is {org.status}, not requested")
            org.status, org.decided_at, org.decision_note = "rejected", utcnow(), note

    # -- people -----------------------------------------------------------------------------

    def set_password(self, username: str, password: str) -> None:
        """Create the login, or change its password (an administrator's tool, not a page's)."""
        username = canonical_username(username)
        check_new_password(password)
        with self.sessions() as session, session.begin():
            account = session.get(Account, username)
            if account is None:
                session.add(Account(username=username, password_hash=hash_password(password)))
            else:
                account.password_hash = hash_password(password)

    def check_password(self, username: str, password: str) -> bool:
        """Whether the login exists and the password is right (any case of the name)."""
        try:
            username = canonical_username(username)
        except ConfigurationError:
            return False
        with self.sessions() as session:
            account = session.get(Account, username)
        return account is not None and password_matches(password, account.password_hash)

    def add(self, slug: str, username: str, role: str) -> None:
        """Give ``username`` a role in the organisation (replacing any role they had there),
        with a database login of their own for it; the last admin cannot stop being one."""
        _check_role(role)
        username = canonical_username(username)
        with self.sessions() as session, session.begin():
            org = self._active(session, slug)
            existing = self._membership(session, org.id, username)
            if existing is None:
                session.add(Membership(organisation_id=org.id, username=username, role=role))
            else:
                self._check_not_last_admin(session, existing, role)
                existing.role = role
        self._give_login(slug, username, role)

    def remove(self, slug: str, username: str) -> None:
        """Take ``username`` out of the organisation (the last admin cannot leave); their
        database login is dropped and its open connections end."""
        username = canonical_username(username)
        with self.sessions() as session, session.begin():
            org = self._organisation(session, slug)
            mine = self._membership(session, org.id, username)
            if mine is None:
                raise NotFoundError(f"{username!r} is not in organisation {slug!r}")
            self._check_not_last_admin(session, mine, None)
            session.delete(mine)
        self._take_login(slug, username)

    def ensure_logins(self) -> int:
        """Give everyone in an active organisation who has no database login of their own
        one (registries from before per-person logins); how many were made."""
        with self.sessions() as session:
            missing = session.execute(
                select(Organisation.slug, Membership.username, Membership.role)
                .join(Membership, Membership.organisation_id == Organisation.id)
                .outerjoin(
                    PersonLogin,
                    (PersonLogin.organisation_id == Organisation.id)
                    & (PersonLogin.username == Membership.username),
                )
                .where(Organisation.status == "active", PersonLogin.key.is_(None))
            ).all()
        for slug, username, role in missing:
            self._give_login(slug, username, role)
        return len(missing)

    def rotate_login(self, slug: str, username: str) -> None:
        """A new database password for ``username`` in the organisation (their server gets
        it when it next starts; connections made with the old one end now)."""
        username = canonical_username(username)
        with self.sessions() as session:
            org = self._active(session, slug)
            login = session.get(PersonLogin, (org.id, username))
        if login is None:
            raise NotFoundError(f"{username!r} has no database login in {slug!r}")
        url = self._provisioner("rotate logins").rotate_login(slug, login.key)
        with self.sessions() as session, session.begin():
            stored = session.get(PersonLogin, (org.id, username))
            if stored is not None:
                stored.url = url

    def invite(
        self, slug: str, role: str, by: str, lifetime: dt.timedelta = INVITATION_LIFETIME
    ) -> str:
        """A one-use invitation token for a role (sent as a link); only admins may invite."""
        _check_role(role)
        by = canonical_username(by)
        if self.role_of(by, slug) != "admin":
            raise ConfigurationError(f"{by!r} is not an admin of {slug!r}: only admins invite")
        token = secrets.token_urlsafe(32)
        with self.sessions() as session, session.begin():
            org = self._active(session, slug)
            session.add(
                Invitation(
                    token=token,
                    organisation_id=org.id,
                    role=role,
                    created_by=by,
                    expires_at=utcnow() + lifetime,
                )
            )
        return token

    def invitation(self, token: str) -> InvitationInfo:
        """What an invitation link offers (for its join page); NotFoundError when unknown."""
        with self.sessions() as session:
            row = session.execute(
                select(Invitation, Organisation)
                .join(Organisation, Organisation.id == Invitation.organisation_id)
                .where(Invitation.token == token)
            ).one_or_none()
            if row is None:
                raise NotFoundError("this invitation link is not valid")
            return self._as_info(*row)

    def invitations(self, slug: str) -> list[InvitationInfo]:
        """The organisation's open invitations (unused, unexpired), newest first, with tokens."""
        with self.sessions() as session:
            org = self._organisation(session, slug)
            rows = session.scalars(
                select(Invitation)
                .where(
                    Invitation.organisation_id == org.id,
                    Invitation.accepted_by.is_(None),
                    Invitation.expires_at >= utcnow(),
                )
                .order_by(Invitation.id.desc())
            ).all()
            return [self._as_info(i, org, with_token=True) for i in rows]

    def join(self, token: str, username: str, password: str) -> Role:
        """Join through an invitation link, as a new account or an existing one.

        A new user name gets an account with ``password``; an existing one must give its
        own password (no invitation changes a password). The link works once: of several
        people using it at the same moment, one joins and the others are told it was used.
        """
        username = canonical_username(username)
        offered = self.invitation(token)  # a link that cannot work says so before any
        if offered.accepted_by is not None:  # account is made (accept checks again, atomically)
            raise ConfigurationError("this invitation link has been used already")
        if offered.expires_at < utcnow():
            raise ConfigurationError("this invitation link has expired: ask for a new one")
        self._account_for(username, password)
        return self.accept(token, username)

    def accept(self, token: str, username: str) -> Role:
        """Join ``username`` (already authenticated: OAuth, or :meth:`join`) through an
        invitation; each token works once, until it expires. An invitation never lowers a
        role: an admin who accepts a member's link stays admin."""
        username = canonical_username(username)
        with self.sessions() as session, session.begin():
            invitation = session.scalar(select(Invitation).where(Invitation.token == token))
            if invitation is None:
                raise NotFoundError("this invitation link is not valid")
            claimed = _changed(
                session,
                update(Invitation)
                .where(
                    Invitation.id == invitation.id,
                    Invitation.accepted_by.is_(None),
                    Invitation.expires_at >= utcnow(),
                )
                .values(accepted_by=username, accepted_at=utcnow()),
            )
            if claimed != 1:  # (this transaction's snapshot may not show who used it)
                if invitation.accepted_by is None and invitation.expires_at < utcnow():
                    raise ConfigurationError("this invitation link has expired: ask for a new one")
                raise ConfigurationError("this invitation link has been used already")
            org = session.get(Organisation, invitation.organisation_id)
            assert org is not None
            if org.status != "active":
                raise ConfigurationError(f"organisation {org.name!r} is {org.status}")
            slug, name, role = org.slug, org.name, invitation.role
            existing = self._membership(session, org.id, username)
            if existing is None:
                session.add(Membership(organisation_id=org.id, username=username, role=role))
            elif _RANK[existing.role] >= _RANK[role]:
                role = existing.role
            else:
                existing.role = role
        self._give_login(slug, username, role)
        return Role(slug, name, role)

    def roles(self, username: str) -> list[Role]:
        """Every active organisation ``username`` belongs to, with their role there."""
        try:
            username = canonical_username(username)
        except ConfigurationError:
            return []
        with self.sessions() as session:
            rows = session.execute(
                select(Organisation.slug, Organisation.name, Membership.role)
                .join(Membership, Membership.organisation_id == Organisation.id)
                .where(Membership.username == username, Organisation.status == "active")
                .order_by(Organisation.slug)
            ).all()
        return [Role(*row) for row in rows]

    def people(self, slug: str) -> list[tuple[str, str]]:
        """(username, role) of everyone in the organisation, by name."""
        with self.sessions() as session:
            org = self._organisation(session, slug)
            rows = session.execute(
                select(Membership.username, Membership.role)
                .where(Membership.organisation_id == org.id)
                .order_by(Membership.username)
            ).all()
        return [(username, role) for username, role in rows]

    def role_of(self, username: str, slug: str) -> str | None:
        """``username``'s role in the organisation, or None."""
        return next((r.role for r in self.roles(username) if r.organisation == slug), None)

    # -- what a server gets -----------------------------------------------------------------

    def server_environment(self, username: str, slug: str) -> dict[str, str]:
        """What the hub sets in the user's server for this organisation: the login of
        their role (annotators get the annotator login), the store, who they are, and
        the surveys other organisations share with it (annotators: read-write ones)."""
        username = canonical_username(username)
        role = self.role_of(username, slug)
        if role is None:
            raise NotFoundError(f"{username!r} is not in organisation {slug!r}")
        with self.sessions() as session:
            org = self._active(session, slug)
            if org.member_url is None or org.storage_url is None:
                raise ConfigurationError(f"organisation {slug!r} was never provisioned")
            login = session.get(PersonLogin, (org.id, username))
            if login is not None:
                url = login.url
            elif org.member_url.startswith("sqlite"):  # one file: no logins to tell apart
                url = org.member_url
            else:
                raise ConfigurationError(
                    f"{username!r} has no database login of their own in {slug!r}: "
                    "an admin of the organisation adds them again"
                )
            shared = []
            for share, owner in session.execute(
                select(Share, Organisation)
                .join(Organisation, Organisation.id == Share.organisation_id)
                .where(Share.with_organisation_id == org.id, Organisation.status == "active")
                .order_by(Share.id)
            ):
                if role == "annotator" and share.mode != "read-write":
                    continue
                store = session.get(ShareStore, share.id)
                shared.append(
                    {
                        "organisation": owner.slug,
                        "survey": share.survey_name,
                        "mode": share.mode,
                        "database_url": share.database_url,
                        "storage_url": store.storage_url if store else owner.storage_url,
                        "storage_options": json.loads(share.storage_options),
                    }
                )
            store_login = session.get(
                StorageLogin, (org.id, "annotator" if role == "annotator" else "member")
            )
            return {
                "TRAPTAGGER_ORGANISATION": slug,
                "TRAPTAGGER_ROLE": role,
                "TRAPTAGGER_DATABASE_URL": url,
                "TRAPTAGGER_STORAGE_URL": org.storage_url,
                "TRAPTAGGER_ANNOTATOR": username,
                "TRAPTAGGER_SHARED_SURVEYS": json.dumps(shared),
                "TRAPTAGGER_STORAGE_OPTIONS": store_login.options if store_login else "{}",
            }

    def close(self) -> None:
        """Close the registry's connections."""
        self.engine.dispose()

    # -- internals --------------------------------------------------------------------------

    def _provisioner(self, doing: str) -> Provisioner:
        if self.provisioner is None:
            raise ConfigurationError(f"this registry has no provisioner: it cannot {doing}")
        return self.provisioner

    def _account_for(self, username: str, password: str) -> None:
        """Make the account when the name is new; else the password must be the account's."""
        if self.check_password(username, password):
            return
        with self.sessions() as session:
            taken = session.get(Account, username) is not None
        if not taken:
            check_new_password(password)
            try:
                with self.sessions() as session, session.begin():
                    session.add(Account(username=username, password_hash=hash_password(password)))
                return
            except IntegrityError:  # someone took the name this instant
                pass
        raise ConfigurationError(
            f"the user name {username!r} is taken: give its password, or choose another name"
        )

    @staticmethod
    def _membership(session: Session, organisation_id: int, username: str) -> Membership | None:
        return session.scalar(
            select(Membership).where(
                Membership.organisation_id == organisation_id, Membership.username == username
            )
        )

    @staticmethod
    def _check_not_last_admin(session: Session, membership: Membership, role: str | None) -> None:
        """Refuse a change that leaves the organisation without an admin (``role`` None:
        the person leaves). The organisation's row is locked so two changes queue."""
        if membership.role != "admin" or role == "admin":
            return
        session.execute(
            select(Organisation.id)
            .where(Organisation.id == membership.organisation_id)
            .with_for_update()
        )
        admins = session.scalars(
            select(Membership.username).where(
                Membership.organisation_id == membership.organisation_id,
                Membership.role == "admin",
            )
        ).all()
        if list(admins) == [membership.username]:
            raise ConfigurationError(
                f"{membership.username!r} is the organisation's last admin: make someone else "
                "admin first"
            )

    def _give_login(self, slug: str, username: str, role: str) -> None:
        """The person's own database login for ``role`` (made, or remade when the role's
        rights changed); nothing when this registry cannot provision (the hub's own)."""
        if self.provisioner is None:
            return
        kind = "annotator" if role == "annotator" else "member"
        with self.sessions() as session:
            org = self._active(session, slug)
            login = session.get(PersonLogin, (org.id, username))
        if login is not None and login.role == kind:
            return
        if login is not None:
            self.provisioner.drop_login(slug, login.key)
        key = login.key if login is not None else secrets.token_hex(4)
        url = self.provisioner.create_login(slug, key, role)
        with self.sessions() as session, session.begin():
            stored = session.get(PersonLogin, (org.id, username))
            if stored is None:
                session.add(
                    PersonLogin(
                        organisation_id=org.id, username=username, key=key, role=kind, url=url
                    )
                )
            else:
                stored.role, stored.url = kind, url

    def _take_login(self, slug: str, username: str) -> None:
        """Drop the person's database login in the organisation (and its connections)."""
        with self.sessions() as session, session.begin():
            org = self._organisation(session, slug)
            login = session.get(PersonLogin, (org.id, username))
            if login is None:
                return
            key = login.key
            session.delete(login)
        self._provisioner("drop logins").drop_login(slug, key)

    @staticmethod
    def _as_info(
        invitation: Invitation, org: Organisation, with_token: bool = False
    ) -> InvitationInfo:
        return InvitationInfo(
            org.slug,
            org.name,
            invitation.role,
            invitation.created_by,
            invitation.expires_at,
            invitation.accepted_by,
            invitation.token if with_token else "",
        )

    @staticmethod
    def _organisation(session: Session, slug: str) -> Organisation:
        org = session.scalar(select(Organisation).where(Organisation.slug == slug))
        if org is None:
            raise NotFoundError(f"no organisation {slug!r}")
        return org

    def _active(self, session: Session, slug: str) -> Organisation:
        org = self._organisation(session, slug)
        if org.status != "active":
            raise ConfigurationError(f"organisation {slug!r} is {org.status}, not active")
        return org
