"""Provision an organisation: its own database, database users and storage prefix.

Isolation is enforced by the servers, not by Python checks a notebook user
could bypass: every organisation gets a database on the shared server and two
logins that can reach only that database. The member login owns it (notebooks,
processing); the annotator login may read everything in it but write only what
annotating writes (annotations, jobs, outages, corrected boxes). The hub keeps
those two for itself (schema upgrades, share views, the annotator's grants);
each person gets a login of their own with the rights of one of them, so
removing a person ends their database access. Blobs live under a
per-organisation prefix (locally a directory only its owner can open).

Passwords are sent to the servers as the verifiers they store, never in
plaintext (see :mod:`traptagger_hub.passwords`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from traptagger_hub.accounts import ensure_accounts, lock_store, remove_accounts
from traptagger_hub.passwords import new_password
from traptagger_hub.s3 import S3Stores
from traptagger_hub.server_admin import ANNOTATOR_WRITES, ServerAdmin
from traptagger_hub.sharing import MODES, shared_tables, view_sql
from traptagger_lab.db.engine import make_engine, upgrade
from traptagger_lab.errors import ConfigurationError, NotFoundError

#: Whose rights each person's role gets: the organisation login of that name.
PERSON_RIGHTS: dict[str, str] = {"admin": "member", "member": "member", "annotator": "annotator"}

_SLUG = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
_KEY = re.compile(r"^[a-z0-9]{1,12}$")


def slug_for(name: str) -> str:
    """A database-safe identifier for an organisation name ("Kruger Park" -> "kruger_park")."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:30]
    if not slug or not slug[0].isalpha():
        slug = f"org_{slug}"[:30]
    if not _SLUG.match(slug):
        raise ConfigurationError(f"cannot make an identifier from organisation name {name!r}")
    return slug


def _check_slug(slug: str) -> None:
    if not _SLUG.match(slug):
        raise ConfigurationError(f"organisation id {slug!r}: use a-z, 0-9 and _ only")


def _person_login(slug: str, key: str) -> str:
    """The login name of person ``key`` of organisation ``slug`` (at most 48 characters)."""
    _check_slug(slug)
    if not _KEY.match(key):
        raise ConfigurationError(f"person key {key!r}: use 1 to 12 of a-z and 0-9")
    return f"tt_{slug}_u{key}"


@dataclass(frozen=True)
class OrgCredentials:
    """What the hub hands to an organisation's servers: one login per role, and the store."""

    slug: str
    database: str
    member_url: str
    annotator_url: str
    storage_url: str
    member_storage_options: dict[str, Any] = field(default_factory=dict)
    annotator_storage_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ShareLogin:
    """What a share's receivers get: a database login of one survey, and store read access."""

    database_url: str
    storage_options: dict[str, Any] = field(default_factory=dict)
    #: Where the share's blobs are read, when not the owner's store (an S3 share's own prefix).
    storage_url: str = ""


class Provisioner(ServerAdmin):
    """Creates and removes organisations' databases, logins and storage prefixes.

    ``admin_url`` is a server login allowed to create databases and users
    (MariaDB/MySQL or PostgreSQL); ``storage_root`` is a local folder under
    which each organisation gets a private directory (with ``os_accounts``,
    owned by the organisation's system accounts: see :mod:`traptagger_hub.accounts`), or ``s3://bucket/prefix``
    under which each gets a prefix with IAM logins limited to it (see
    :mod:`traptagger_hub.s3`; ``s3_endpoint_url`` for an S3 other than AWS's).
    ``admin_url="sqlite"``
    (a laptop demo without a server) puts each organisation's SQLite file in
    its private directory: isolation is then the file system's alone, and
    everyone shares the one file (SQLite has no logins), so use a server for
    real deployments.
    """

    def __init__(
        self,
        admin_url: str,
        storage_root: str | Path,
        s3_endpoint_url: str | None = None,
        os_accounts: bool = False,
    ) -> None:
        self.admin_url = make_url("sqlite://" if admin_url == "sqlite" else admin_url)
        self.backend = self.admin_url.get_backend_name()
        if self.backend not in ("mysql", "mariadb", "postgresql", "sqlite"):
            raise ConfigurationError(
                f"organisations need a database server (MariaDB/MySQL or PostgreSQL) "
                f"or 'sqlite' for a local demo, not {self.backend}"
            )
        if self.backend == "sqlite" and self.admin_url.database:
            raise ConfigurationError("give 'sqlite' alone: each organisation gets its own file")
        self.s3: S3Stores | None = None
        if str(storage_root).startswith("s3://"):
            self.s3 = S3Stores(str(storage_root), s3_endpoint_url)
        self.storage_root = Path(storage_root)
        self.os_accounts = os_accounts
        if os_accounts and (self.s3 is not None or self.backend == "sqlite"):
            raise ConfigurationError(
                "system accounts per organisation are for local stores with a database "
                "server (annotators cannot write a SQLite file they may only read)"
            )

    # -- public -----------------------------------------------------------------------------

    def create(self, slug: str) -> OrgCredentials:
        """Make the organisation's database, its two logins and its storage directory."""
        _check_slug(slug)
        if self.s3 is not None:
            if self.backend == "sqlite":
                raise ConfigurationError("an S3 store needs a database server, not 'sqlite'")
            logins = self.s3.create(slug)
            storage_url = logins.storage_url
            options = (logins.member_options, logins.annotator_options)
        else:
            storage = self.storage_root / slug
            storage.mkdir(parents=True, exist_ok=True)
            os.chmod(storage, 0o700)
            if self.os_accounts:
                lock_store(storage, ensure_accounts(slug, storage.resolve()))
            if self.backend == "sqlite":
                return self._create_sqlite(slug, storage)
            storage_url, options = storage.resolve().as_uri(), ({}, {})
        database, member, annotator = self._names(slug)
        member_password, annotator_password = new_password(), new_password()
        if self.backend == "postgresql":
            self._create_postgres(database, member, member_password, annotator, annotator_password)
        else:
            self._create_mysql(database, member, member_password, annotator, annotator_password)
        member_url = self._url(database, member, member_password)
        engine = make_engine(member_url)
        try:
            upgrade(engine)
            self.grant_annotator(engine, annotator)
        finally:
            engine.dispose()
        return OrgCredentials(
            slug,
            database,
            member_url,
            self._url(database, annotator, annotator_password),
            storage_url,
            *options,
        )

    def grant_annotator(self, member_engine: Engine, annotator: str) -> None:
        """(Re)grant the annotator login its rights; run again after a schema upgrade."""
        with member_engine.begin() as connection:
            for grant in self._annotator_grants(str(member_engine.url.database), annotator):
                connection.execute(text(grant))

    def create_login(self, slug: str, key: str, role: str) -> str:
        """A database login of one person of organisation ``slug``; returns its URL.

        The login, ``tt_<slug>_u<key>``, has the rights of the organisation's
        member login for an "admin" or "member", of its annotator login for an
        "annotator" (:data:`PERSON_RIGHTS`). On PostgreSQL a member's sessions
        act as the owner role, so what they create (tables, migrations) is the
        organisation's, not the person's. For an existing login this sets a new
        password and ``role``'s rights, and ends its open connections. SQLite
        has no logins: this returns the organisation's shared SQLite URL.

        Args:
            slug: The organisation.
            key: The person within it: 1 to 12 of a-z and 0-9.
            role: "admin", "member" or "annotator".

        Raises:
            ConfigurationError: a bad ``slug``, ``key`` or ``role``.
        """
        user = _person_login(slug, key)
        if role not in PERSON_RIGHTS:
            raise ConfigurationError(f"role {role!r}: use one of {', '.join(PERSON_RIGHTS)}")
        if self.backend == "sqlite":
            return self._sqlite_url(slug)
        database, member, annotator = self._names(slug)
        password = new_password()
        with self._admin() as connection:
            existed = self._login_exists(connection, user)
        rights = member if PERSON_RIGHTS[role] == "member" else annotator
        if self.backend == "postgresql":
            self._person_postgres(slug, user, password, rights, existed)
        else:
            self._person_mysql(database, user, password, rights == member)
        if existed:  # its rights may have changed: no session keeps the old ones
            self._end_sessions(user)
        return self._url(database, user, password)

    def rotate_login(self, slug: str, key: str) -> str:
        """Give a person's login a new password and end its open connections; returns its URL.

        SQLite has no logins: this returns the organisation's shared SQLite URL.

        Raises:
            ConfigurationError: a bad ``slug`` or ``key``.
            NotFoundError: the person has no login.
        """
        user = _person_login(slug, key)
        if self.backend == "sqlite":
            return self._sqlite_url(slug)
        password = new_password()
        verb = "ROLE" if self.backend == "postgresql" else "USER"
        with self._admin() as connection:
            if not self._login_exists(connection, user):
                raise NotFoundError(f"organisation {slug!r} has no login for person {key!r}")
            self._with_password(connection, f"ALTER {verb} {self._quote_user(user)}", password)
        self._end_sessions(user)
        return self._url(self._names(slug)[0], user, password)

    def drop_login(self, slug: str, key: str) -> None:
        """Remove a person's login and end its open connections (idempotent).

        On PostgreSQL what the person owns in the organisation's database (made
        outside the owner role) passes to the organisation's member login.
        """
        user = _person_login(slug, key)
        database, member, _ = self._names(slug)
        if self.backend == "postgresql":
            self._drop_postgres_login(database, user, member)
        elif self.backend != "sqlite":
            with self._admin() as connection:
                connection.execute(text(f"DROP USER IF EXISTS {self._quote_user(user)}"))
            self._end_sessions(user)  # MariaDB keeps a dropped user's sessions open

    def login_keys(self, slug: str) -> list[str]:
        """Keys of the organisation's person logins that exist on the server."""
        _check_slug(slug)
        if self.backend == "sqlite":
            return []
        if self.backend == "postgresql":
            query = "SELECT rolname FROM pg_roles WHERE rolname ~ :pattern"
        else:
            query = "SELECT User FROM mysql.user WHERE Host = '%' AND User REGEXP :pattern"
        # the key has no "_", so another organisation's names never match
        pattern = f"^tt_{slug}_u[a-z0-9]+$"
        with self._admin() as connection:
            names = connection.scalars(text(query), {"pattern": pattern}).all()
        return sorted(name.removeprefix(f"tt_{slug}_u") for name in names)

    def drop(self, slug: str) -> None:
        """Remove the organisation's database and logins (its stored blobs stay)."""
        if self.s3 is not None:
            self.s3.drop(slug)
        if self.os_accounts:
            remove_accounts(slug)
        if self.backend == "sqlite":
            (self.storage_root / slug / "lab.db").unlink(missing_ok=True)
            return
        database, member, annotator = self._names(slug)
        for share_id in self.share_ids(slug):
            self.unshare(slug, share_id)
        for key in self.login_keys(slug):
            self.drop_login(slug, key)
        with self._admin() as connection:
            if self.backend == "postgresql":
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": database},
                )
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}"'))
                for user in (annotator, member):
                    connection.execute(text(f'DROP ROLE IF EXISTS "{user}"'))
            else:
                connection.execute(text(f"DROP DATABASE IF EXISTS `{database}`"))
                for user in (annotator, member):
                    connection.execute(text(f"DROP USER IF EXISTS {self._quote_user(user)}"))

    def share(
        self, slug: str, survey_id: int, share_id: int, mode: str, keys: Sequence[str] = ()
    ) -> ShareLogin:
        """Give a new login the rows of one survey of organisation ``slug``.

        The login sees views named like the tables, holding that survey's rows
        only (see :mod:`traptagger_hub.sharing`); ``read-write`` also lets it
        write annotations, jobs and boxes of that survey through them. On S3
        the survey's blobs (``keys``) are copied under a prefix of the share's
        own, and a login that may read that prefix alone, not list it, goes with it.
        """
        if mode not in MODES:
            raise ConfigurationError(f"share mode {mode!r}: use one of {MODES}")
        if self.backend == "sqlite":
            raise ConfigurationError(
                "sharing a survey needs a database server: a SQLite file cannot hide "
                "the other surveys from the organisation it is shared with"
            )
        database, member, _ = self._names(slug)
        name = f"tt_share_{int(share_id)}"
        password = new_password()
        writes = ANNOTATOR_WRITES if mode == "read-write" else {}
        if self.backend == "postgresql":
            self._share_postgres(database, member, name, password, survey_id, writes)
            url = self._url(database, name, password)
        else:
            self._share_mysql(database, member, name, password, survey_id, writes)
            url = self._url(name, name, password)
        if self.s3 is None:
            return ShareLogin(url)
        storage_url, options = self.s3.share(slug, share_id, list(keys))
        return ShareLogin(url, options, storage_url)

    def share_ids(self, slug: str) -> list[int]:
        """Ids of the shares of the organisation's surveys that exist on the server."""
        database, member, _ = self._names(slug)
        if self.backend == "sqlite":
            return []
        if self.backend == "postgresql":
            if not self._postgres_database_exists(database):
                return []
            query = "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tt\\_share\\_%'"
            with self._admin(database) as connection:
                names = connection.scalars(text(query)).all()
        else:
            query = (
                "SELECT DISTINCT table_schema FROM information_schema.views "
                "WHERE table_schema LIKE 'tt\\_share\\_%' AND definer = :definer"
            )
            with self._admin() as connection:
                names = connection.scalars(text(query), {"definer": f"{member}@%"}).all()
        return sorted(int(name.removeprefix("tt_share_")) for name in names)

    def unshare(self, slug: str, share_id: int) -> None:
        """Drop a share's views and login (idempotent)."""
        database, member, _ = self._names(slug)
        name = f"tt_share_{int(share_id)}"
        if self.backend == "postgresql":
            self._drop_postgres_login(database, name, member)
            with self._admin(database) as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        elif self.backend != "sqlite":
            with self._admin() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
                connection.execute(text(f"DROP USER IF EXISTS {self._quote_user(name)}"))
            self._end_sessions(name)
        if self.s3 is not None:
            self.s3.unshare(share_id)

    # -- internals --------------------------------------------------------------------------

    def _share_mysql(
        self,
        database: str,
        member: str,
        name: str,
        password: str,
        survey_id: int,
        writes: dict[str, tuple[str, ...]],
    ) -> None:
        with self._admin() as connection:
            connection.execute(text(f"CREATE DATABASE `{name}`"))
            for table in shared_tables():
                # the views run with the source organisation's member rights, never the admin's
                sql = view_sql("mysql", name, database, table, survey_id)
                definer = f"DEFINER = {self._quote_user(member)} "
                connection.execute(text(sql.replace("SQL SECURITY", definer + "SQL SECURITY")))
            self._with_password(connection, f"CREATE USER {self._quote_user(name)}", password)
            connection.execute(text(f"GRANT SELECT ON `{name}`.* TO {self._quote_user(name)}"))
            for table, rights in writes.items():
                connection.execute(
                    text(
                        f"GRANT {', '.join(rights)} ON `{name}`.`{table}` "
                        f"TO {self._quote_user(name)}"
                    )
                )

    def _share_postgres(
        self,
        database: str,
        member: str,
        name: str,
        password: str,
        survey_id: int,
        writes: dict[str, tuple[str, ...]],
    ) -> None:
        with self._admin() as connection:
            self._with_password(connection, f'CREATE ROLE "{name}" LOGIN', password)
        with self._admin(database) as connection:
            connection.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{name}"'))
            connection.execute(text(f'CREATE SCHEMA "{name}" AUTHORIZATION "{member}"'))
            # the views belong to the member login, so they read with its rights only
            connection.execute(text(f'SET ROLE "{member}"'))
            for table in shared_tables():
                connection.execute(text(view_sql("postgresql", name, "public", table, survey_id)))
            connection.execute(text(f'GRANT USAGE ON SCHEMA "{name}" TO "{name}"'))
            connection.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{name}" TO "{name}"'))
            for table, rights in writes.items():
                connection.execute(
                    text(f'GRANT {", ".join(rights)} ON "{name}"."{table}" TO "{name}"')
                )
                if "INSERT" in rights:
                    connection.execute(
                        text(f'GRANT USAGE ON SEQUENCE public.{table}_id_seq TO "{name}"')
                    )
            connection.execute(text("RESET ROLE"))
            connection.execute(
                text(f'ALTER ROLE "{name}" IN DATABASE "{database}" SET search_path = "{name}"')
            )

    @staticmethod
    def _create_sqlite(slug: str, storage: Path) -> OrgCredentials:
        database = storage.resolve() / "lab.db"
        url = f"sqlite:///{database}"
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        return OrgCredentials(slug, str(database), url, url, storage.resolve().as_uri())

    def _sqlite_url(self, slug: str) -> str:
        return f"sqlite:///{(self.storage_root / slug).resolve() / 'lab.db'}"

    def _create_mysql(
        self, database: str, member: str, member_pw: str, annotator: str, annotator_pw: str
    ) -> None:
        with self._admin() as connection:
            connection.execute(
                text(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            )
            for user, password in ((member, member_pw), (annotator, annotator_pw)):
                self._with_password(connection, f"CREATE USER {self._quote_user(user)}", password)
            # the member login owns its database, and may hand its annotator read/annotate rights
            connection.execute(
                text(
                    f"GRANT ALL PRIVILEGES ON `{database}`.* TO {self._quote_user(member)} "
                    "WITH GRANT OPTION"
                )
            )

    def _create_postgres(
        self, database: str, member: str, member_pw: str, annotator: str, annotator_pw: str
    ) -> None:
        with self._admin() as connection:
            for user, password in ((member, member_pw), (annotator, annotator_pw)):
                self._with_password(connection, f'CREATE ROLE "{user}" LOGIN', password)
            connection.execute(text(f'CREATE DATABASE "{database}" OWNER "{member}"'))
            connection.execute(text(f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC'))
            connection.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{annotator}"'))
