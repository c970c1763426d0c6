"""Sharing one survey of an organisation with another: the registry's part.

A mixin of :class:`traptagger_hub.orgs.Registry`: the rules (admins of the owner only,
never with oneself, once per pair) and the records; the database views and logins are
:mod:`traptagger_hub.provision`'s and :mod:`traptagger_hub.sharing`'s, the S3 copies
:mod:`traptagger_hub.s3`'s.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from traptagger_hub.provision import Provisioner
from traptagger_hub.registry_tables import Organisation, Share, SharedSurvey, ShareStore
from traptagger_lab.db.engine import make_engine
from traptagger_lab.db.models import Image, Survey
from traptagger_lab.errors import ConfigurationError, NotFoundError


class SurveySharing:
    """Share, unshare and list shared surveys (the registry provides the rest)."""

    sessions: sessionmaker[Session]
    provisioner: Provisioner | None

    def role_of(self, username: str, slug: str) -> str | None:  # the registry's
        raise NotImplementedError

    def _active(self, session: Session, slug: str) -> Organisation:  # the registry's
        raise NotImplementedError

    @staticmethod
    def _organisation(session: Session, slug: str) -> Organisation:  # the registry's
        raise NotImplementedError

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
                keys = self._survey_keys(org, survey_id) if self.provisioner.s3 else []
                login = self.provisioner.share(slug, survey_id, share.id, mode, keys)
                share.database_url = login.database_url
                share.storage_options = json.dumps(login.storage_options)
                if login.storage_url:
                    session.add(ShareStore(share_id=share.id, storage_url=login.storage_url))
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
            store = session.get(ShareStore, share.id)
            if store is not None:
                session.delete(store)
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

    # -- internals --------------------------------------------------------------------------

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
    def _survey_keys(org: Organisation, survey_id: int) -> list[str]:
        """The blob keys of one survey's photos (what its guests may read)."""
        assert org.member_url is not None
        engine = make_engine(org.member_url, pool_size=1)
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    select(Image.compressed_key, Image.thumbnail_key).where(
                        Image.survey_id == survey_id
                    )
                ).all()
        finally:
            engine.dispose()
        return sorted({key for row in rows for key in row if key})

    @staticmethod
    def _as_shared(share: Share, owner: str, shared_with: str) -> SharedSurvey:
        return SharedSurvey(
            share.id, owner, share.survey_name, shared_with, share.mode, share.created_by
        )
