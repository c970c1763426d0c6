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
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from sqlalchemy import DateTime, ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from traptagger_hub.provision import Provisioner, slug_for
from traptagger_lab.db.engine import make_engine, session_factory
from traptagger_lab.db.models import Survey, utcnow
from traptagger_lab.errors import ConfigurationError, NotFoundError

ROLES = ("admin", "member", "annotator")
INVITATION_LIFETIME = dt.timedelta(days=7)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ConfigurationError(f"role {role!r}: use one of {ROLES}")


class RegistryBase(DeclarativeBase):
    """Tables of the hub's registry (not of any organisation's database)."""


class Organisation(RegistryBase):
    """An organisation: requested, then approved (and provisioned) or rejected."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="requested")
    contact: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(100))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    member_url: Mapped[str | None] = mapped_column(Text)
    annotator_url: Mapped[str | None] = mapped_column(Text)
    storage_url: Mapped[str | None] = mapped_column(Text)


class Membership(RegistryBase):
    """One person's role in one organisation."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("organisation_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Invitation(RegistryBase):
    """A link that lets whoever opens it (once, before it expires) join in a role."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    accepted_by: Mapped[str | None] = mapped_column(String(100))
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class Share(RegistryBase):
    """One survey of an organisation shared with another, read-only or read-write."""

    __tablename__ = "share"
    __table_args__ = (UniqueConstraint("organisation_id", "survey_id", "with_organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    survey_id: Mapped[int]
    survey_name: Mapped[str] = mapped_column(String(200))
    with_organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE")
    )
    mode: Mapped[str] = mapped_column(String(16))
    database_url: Mapped[str | None] = mapped_column(Text)
    storage_options: Mapped[str] = mapped_column(Text, default="{}")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


@dataclass(frozen=True)
class SharedSurvey:
    """A share as people see it (no credentials)."""

    id: int
    owner: str
    survey: str
    shared_with: str
    mode: str
    created_by: str


class StorageLogin(RegistryBase):
    """The fsspec options (a login limited to its prefix) of one role's store access."""

    __tablename__ = "storage_login"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    options: Mapped[str] = mapped_column(Text)


class Account(RegistryBase):
    """A hub login with a password (the local authenticator's; OAuth deployments need none)."""

    __tablename__ = "account"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$salt$hash`` for a password (the salt is random unless given)."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (constant-time compare)."""
    scheme, salt, _ = stored.split("$")
    if scheme != "scrypt":
        return False
    return hmac.compare_digest(hash_password(password, bytes.fromhex(salt)), stored)


@dataclass(frozen=True)
class Role:
    """A person's role in an organisation, as the hub needs it at login and spawn."""

    organisation: str
    name: str
    role: str


class Registry:
    """The hub's registry of organisations, memberships and invitations."""

    def __init__(self, url: str, provisioner: Provisioner | None = None) -> None:
        self.engine = make_engine(url)
        RegistryBase.metadata.create_all(self.engine)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        self.provisioner = provisioner

    # -- organisations ----------------------------------------------------------------------

    def request(self, name: str, contact: str, purpose: str, requested_by: str) -> Organisation:
        """File the enquiry for a new organisation (a platform admin approves it)."""
        slug = slug_for(name)
        with self.sessions() as session, session.begin():
            if session.scalar(select(Organisation).where(Organisation.slug == slug)):
                raise ConfigurationError(f"an organisation called {name!r} exists already")
            org = Organisation(
                slug=slug, name=name, contact=contact, purpose=purpose, requested_by=requested_by
            )
            session.add(org)
        return org

    def pending(self) -> list[Organisation]:
        """Enquiries waiting for a decision, oldest first."""
        with self.sessions() as session:
            query = select(Organisation).where(Organisation.status == "requested")
            return list(session.scalars(query.order_by(Organisation.id)))

    def approve(self, slug: str, note: str = "") -> Organisation:
        """Approve an enquiry: provision its database, logins and store; the requester is admin."""
        if self.provisioner is None:
            raise ConfigurationError("this registry has no provisioner: it cannot approve")
        with self.sessions() as session, session.begin():
            org = self._organisation(session, slug)
            if org.status != "requested":
                raise ConfigurationError(f"organisation {slug!r} is {org.status}, not requested")
            credentials = self.provisioner.create(org.slug)
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
        return org

    def reject(self, slug: str, note: str) -> None:
        """Turn an enquiry down, saying why."""
        with self.sessions() as session, session.begin():
            org = self._organisation(session, slug)
            org.status, org.decided_at, org.decision_note = "rejected", utcnow(), note

    # -- people -----------------------------------------------------------------------------

    def set_password(self, username: str, password: str) -> None:
        """Create the login, or change its password."""
        if len(password) < 8:
            raise ConfigurationError("a password needs at least 8 characters")
        with self.sessions() as session, session.begin():
            account = session.get(Account, username)
            if account is None:
                session.add(Account(username=username, password_hash=hash_password(password)))
            else:
                account.password_hash = hash_password(password)

    def check_password(self, username: str, password: str) -> bool:
        """Whether the login exists and the password is right."""
        with self.sessions() as session:
            account = session.get(Account, username)
        return account is not None and password_matches(password, account.password_hash)

    def add(self, slug: str, username: str, role: str) -> None:
        """Give ``username`` a role in the organisation (replacing any role they had there)."""
        _check_role(role)
        with self.sessions() as session, session.begin():
            org = self._active(session, slug)
            existing = session.scalar(
                select(Membership).where(
                    Membership.organisation_id == org.id, Membership.username == username
                )
            )
            if existing is not None:
                existing.role = role
            else:
                session.add(Membership(organisation_id=org.id, username=username, role=role))

    def remove(self, slug: str, username: str) -> None:
        """Take ``username`` out of the organisation (the last admin cannot leave)."""
        with self.sessions() as session, session.begin():
            org = self._organisation(session, slug)
            members = session.scalars(
                select(Membership).where(Membership.organisation_id == org.id)
            ).all()
            mine = [m for m in members if m.username == username]
            if not mine:
                raise NotFoundError(f"{username!r} is not in organisation {slug!r}")
            admins = [m for m in members if m.role == "admin"]
            if mine[0].role == "admin" and len(admins) == 1:
                raise ConfigurationError(f"{username!r} is the last admin of {slug!r}")
            session.delete(mine[0])

    def invite(
        self, slug: str, role: str, by: str, lifetime: dt.timedelta = INVITATION_LIFETIME
    ) -> str:
        """A one-use invitation token for a role (sent as a link); only admins may invite."""
        _check_role(role)
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

    def accept(self, token: str, username: str) -> Role:
        """Join through an invitation; each token works once, until it expires."""
        with self.sessions() as session, session.begin():
            invitation = session.scalar(select(Invitation).where(Invitation.token == token))
            if invitation is None:
                raise NotFoundError("this invitation link is not valid")
            if invitation.accepted_by is not None:
                raise ConfigurationError("this invitation link has been used already")
            if invitation.expires_at < utcnow():
                raise ConfigurationError("this invitation link has expired: ask for a new one")
            invitation.accepted_by, invitation.accepted_at = username, utcnow()
            org = session.get(Organisation, invitation.organisation_id)
            assert org is not None
            slug, role = org.slug, invitation.role
        self.add(slug, username, role)
        return Role(slug, org.name, role)

    def roles(self, username: str) -> list[Role]:
        """Every active organisation ``username`` belongs to, with their role there."""
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

    # -- sharing surveys between organisations ----------------------------------------------

    def share(self, slug: str, survey: str, with_slug: str, mode: str, by: str) -> SharedSurvey:
        """Share one survey of ``slug`` with organisation ``with_slug`` (admins of ``slug`` only).

        The other organisation's members get a database login that sees that
        survey alone; ``read-write`` also lets them (and their annotators) annotate it.
        """
        if self.provisioner is None:
            raise ConfigurationError("this registry has no provisioner: it cannot share")
        if self.role_of(by, slug) != "admin":
            raise ConfigurationError(f"{by!r} is not an admin of {slug!r}: only admins share")
        if with_slug == slug:
            raise ConfigurationError("a survey is shared with another organisation, not its own")
        with self.sessions() as session, session.begin():
            org, other = self._active(session, slug), self._active(session, with_slug)
            survey_id = self._survey_id(org, survey)
            if session.scalar(
                select(Share.id).where(
                    Share.organisation_id == org.id,
                    Share.survey_id == survey_id,
                    Share.with_organisation_id == other.id,
                )
            ):
                raise ConfigurationError(f"survey {survey!r} is shared with {with_slug!r} already")
            share = Share(
                organisation_id=org.id,
                survey_id=survey_id,
                survey_name=survey,
                with_organisation_id=other.id,
                mode=mode,
                created_by=by,
            )
            session.add(share)
            session.flush()
            try:
                login = self.provisioner.share(slug, survey_id, share.id, mode)
                share.database_url = login.database_url
                share.storage_options = json.dumps(login.storage_options)
            except Exception:
                self.provisioner.unshare(slug, share.id)  # leave no half-made views or login
                raise
        return self._as_shared(share, slug, with_slug)

    def unshare(self, share_id: int, by: str) -> None:
        """End a share: its login and views go (admins of the owning organisation only)."""
        if self.provisioner is None:
            raise ConfigurationError("this registry has no provisioner: it cannot unshare")
        with self.sessions() as session, session.begin():
            share = session.get(Share, share_id)
            if share is None:
                raise NotFoundError(f"no share {share_id}")
            owner = session.get(Organisation, share.organisation_id)
            assert owner is not None
            if self.role_of(by, owner.slug) != "admin":
                raise ConfigurationError(f"{by!r} is not an admin of {owner.slug!r}")
            self.provisioner.unshare(owner.slug, share.id)
            session.delete(share)

    def surveys(self, slug: str) -> list[str]:
        """Names of the organisation's surveys (what its admins may share)."""
        with self.sessions() as session:
            org = self._active(session, slug)
        return list(self._survey_ids(org))

    def shares(self, slug: str) -> list[SharedSurvey]:
        """Shares from and to the organisation, oldest first."""
        with self.sessions() as session:
            org = self._organisation(session, slug)
            rows = session.scalars(
                select(Share)
                .where((Share.organisation_id == org.id) | (Share.with_organisation_id == org.id))
                .order_by(Share.id)
            ).all()
            slugs = {i: s for i, s in session.execute(select(Organisation.id, Organisation.slug))}
        return [
            self._as_shared(s, slugs[s.organisation_id], slugs[s.with_organisation_id])
            for s in rows
        ]

    # -- what a server gets -----------------------------------------------------------------

    def server_environment(self, username: str, slug: str) -> dict[str, str]:
        """What the hub sets in the user's server for this organisation: the login of
        their role (annotators get the annotator login), the store, who they are, and
        the surveys other organisations share with it (annotators: read-write ones)."""
        role = self.role_of(username, slug)
        if role is None:
            raise NotFoundError(f"{username!r} is not in organisation {slug!r}")
        with self.sessions() as session:
            org = self._active(session, slug)
            url = org.annotator_url if role == "annotator" else org.member_url
            if url is None or org.storage_url is None:
                raise ConfigurationError(f"organisation {slug!r} was never provisioned")
            shared = []
            for share, owner in session.execute(
                select(Share, Organisation)
                .join(Organisation, Organisation.id == Share.organisation_id)
                .where(Share.with_organisation_id == org.id, Organisation.status == "active")
                .order_by(Share.id)
            ):
                if role == "annotator" and share.mode != "read-write":
                    continue
                shared.append(
                    {
                        "organisation": owner.slug,
                        "survey": share.survey_name,
                        "mode": share.mode,
                        "database_url": share.database_url,
                        "storage_url": owner.storage_url,
                        "storage_options": json.loads(share.storage_options),
                    }
                )
            login = session.get(
                StorageLogin, (org.id, "annotator" if role == "annotator" else "member")
            )
            return {
                "TRAPTAGGER_ORGANISATION": slug,
                "TRAPTAGGER_ROLE": role,
                "TRAPTAGGER_DATABASE_URL": url,
                "TRAPTAGGER_STORAGE_URL": org.storage_url,
                "TRAPTAGGER_ANNOTATOR": username,
                "TRAPTAGGER_SHARED_SURVEYS": json.dumps(shared),
                "TRAPTAGGER_STORAGE_OPTIONS": login.options if login is not None else "{}",
            }

    def close(self) -> None:
        """Close the registry's connections."""
        self.engine.dispose()

    # -- internals --------------------------------------------------------------------------

    @staticmethod
    def _organisation(session: Session, slug: str) -> Organisation:
        org = session.scalar(select(Organisation).where(Organisation.slug == slug))
        if org is None:
            raise NotFoundError(f"no organisation {slug!r}")
        return org

    @classmethod
    def _survey_id(cls, org: Organisation, survey: str) -> int:
        """The id of survey ``survey`` in the organisation's own database."""
        found = cls._survey_ids(org).get(survey)
        if found is None:
            raise NotFoundError(f"organisation {org.slug!r} has no survey {survey!r}")
        return found

    @staticmethod
    def _survey_ids(org: Organisation) -> dict[str, int]:
        """Survey name -> id, read from the organisation's own database."""
        if org.member_url is None:
            raise ConfigurationError(f"organisation {org.slug!r} was never provisioned")
        engine = make_engine(org.member_url, pool_size=1)
        try:
            with engine.connect() as connection:
                rows = connection.execute(select(Survey.name, Survey.id).order_by(Survey.name))
                return {name: survey_id for name, survey_id in rows}
        finally:
            engine.dispose()

    @staticmethod
    def _as_shared(share: Share, owner: str, shared_with: str) -> SharedSurvey:
        return SharedSurvey(
            share.id, owner, share.survey_name, shared_with, share.mode, share.created_by
        )

    def _active(self, session: Session, slug: str) -> Organisation:
        org = self._organisation(session, slug)
        if org.status != "active":
            raise ConfigurationError(f"organisation {slug!r} is {org.status}, not active")
        return org
