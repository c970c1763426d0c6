"""The registry's tables (the hub's own database) and the records its pages show.

Kept apart from :mod:`traptagger_hub.orgs`, which holds the rules over them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from traptagger_lab.db.models import utcnow


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


class ShareStore(RegistryBase):
    """Where a share's receivers read its blobs, when not the owner's store (S3 shares get
    a prefix of their own holding the survey's blobs alone)."""

    __tablename__ = "share_store"

    share_id: Mapped[int] = mapped_column(
        ForeignKey("share.id", ondelete="CASCADE"), primary_key=True
    )
    storage_url: Mapped[str] = mapped_column(Text)


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


class PersonLogin(RegistryBase):
    """One person's own database login in one organisation (dropped when they leave)."""

    __tablename__ = "person_login"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(12), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class InvitationInfo:
    """An invitation as its pages show it (``token`` is set for its organisation's admins)."""

    organisation: str
    name: str
    role: str
    created_by: str
    expires_at: dt.datetime
    accepted_by: str | None
    token: str = ""


@dataclass(frozen=True)
class Role:
    """A person's role in an organisation, as the hub needs it at login and spawn."""

    organisation: str
    name: str
    role: str
