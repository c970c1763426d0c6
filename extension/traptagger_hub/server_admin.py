"""The SQL of logins on a database server: made, hashed, granted, ended, dropped.

The base of :class:`traptagger_hub.provision.Provisioner`: one place for the statements
each server (MariaDB/MySQL or PostgreSQL) needs, so the provisioner reads as what it does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from traptagger_hub.passwords import password_clause
from traptagger_lab.db.engine import make_engine

#: What the annotator login may change, table by table; it may read every table.
ANNOTATOR_WRITES: dict[str, tuple[str, ...]] = {
    "annotation": ("INSERT", "UPDATE"),
    "job": ("INSERT", "UPDATE"),
    "job_item": ("INSERT", "UPDATE"),
    "task_item": ("UPDATE",),
    "camera_outage": ("INSERT", "UPDATE", "DELETE"),
    "detection": ("INSERT", "UPDATE"),
}


class ServerAdmin:
    """Login statements run with the server's admin login (``admin_url``)."""

    admin_url: URL
    backend: str

    @staticmethod
    def _names(slug: str) -> tuple[str, str, str]:
        return f"tt_org_{slug}", f"tt_{slug}_member", f"tt_{slug}_annotator"

    def _quote_user(self, user: str) -> str:
        return f'"{user}"' if self.backend == "postgresql" else f"'{user}'@'%'"

    def _url(self, database: str, user: str, password: str) -> str:
        url: URL = self.admin_url.set(username=user, password=password, database=database)
        return url.render_as_string(hide_password=False)

    @contextmanager
    def _admin(self, database: str | None = None) -> Iterator[Connection]:
        """An autocommit connection of the admin login (CREATE DATABASE cannot run in a
        transaction on PostgreSQL), to ``database`` or the server's default one."""
        if database is None and self.backend == "postgresql":
            database = "postgres"
        engine = make_engine(self.admin_url.set(database=database).render_as_string(False))
        try:
            with engine.connect() as connection:
                yield connection.execution_options(isolation_level="AUTOCOMMIT")
        finally:
            engine.dispose()

    def _annotator_grants(self, database: str, user: str) -> list[str]:
        """The statements that give ``user`` the annotator's rights in ``database``."""
        quoted = self._quote_user(user)
        if self.backend == "postgresql":
            grants = [
                f"GRANT USAGE ON SCHEMA public TO {quoted}",
                f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {quoted}",
                f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
            ]
        else:
            grants = [f"GRANT SELECT ON `{database}`.* TO {quoted}"]
        for table, rights in ANNOTATOR_WRITES.items():
            target = table if self.backend == "postgresql" else f"`{database}`.`{table}`"
            grants.append(f"GRANT {', '.join(rights)} ON {target} TO {quoted}")
        return grants

    def _person_postgres(
        self, slug: str, user: str, password: str, rights: str, existed: bool
    ) -> None:
        """``user`` logs in with ``password`` and inherits organisation role ``rights`` alone."""
        database, member, annotator = self._names(slug)
        with self._admin() as connection:
            verb = "ALTER" if existed else "CREATE"
            self._with_password(connection, f'{verb} ROLE "{user}" LOGIN INHERIT', password)
            if existed:  # from an earlier role
                other = annotator if rights == member else member
                connection.execute(text(f'REVOKE "{other}" FROM "{user}"'))
            connection.execute(text(f'GRANT "{rights}" TO "{user}"'))
            connection.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO "{user}"'))
            # a member's sessions act as the owner role: what they create is the organisation's
            setting = f"SET role = '{member}'" if rights == member else "RESET role"
            connection.execute(text(f'ALTER ROLE "{user}" IN DATABASE "{database}" {setting}'))

    def _person_mysql(self, database: str, user: str, password: str, member: bool) -> None:
        """``user`` logs in with ``password`` and has the member's or the annotator's rights."""
        quoted = self._quote_user(user)
        with self._admin() as connection:
            # made anew, so that an earlier role's grants go
            connection.execute(text(f"DROP USER IF EXISTS {quoted}"))
            self._with_password(connection, f"CREATE USER {quoted}", password)
            if member:
                grants = [f"GRANT ALL PRIVILEGES ON `{database}`.* TO {quoted}"]
            else:
                grants = self._annotator_grants(database, user)
            for grant in grants:
                connection.execute(text(grant))

    def _with_password(self, connection: Connection, statement: str, password: str) -> None:
        """Run ``statement`` (CREATE or ALTER of a login) setting ``password``, hashed."""
        sql = f"{statement} {password_clause(self.backend, password)}"
        connection.execute(text(sql.replace(":", "\\:")))  # a verifier's "=:" is no parameter

    def _login_exists(self, connection: Connection, user: str) -> bool:
        if self.backend == "postgresql":
            query = "SELECT 1 FROM pg_roles WHERE rolname = :user"
        else:
            query = "SELECT 1 FROM mysql.user WHERE User = :user AND Host = '%'"
        return bool(connection.scalar(text(query), {"user": user}))

    def _postgres_database_exists(self, database: str) -> bool:
        with self._admin() as connection:
            query = "SELECT 1 FROM pg_database WHERE datname = :name"
            return bool(connection.scalar(text(query), {"name": database}))

    def _end_sessions(self, user: str) -> None:
        """End ``user``'s open connections: a changed or dropped login does not end them."""
        with self._admin() as connection:
            if self.backend == "postgresql":
                # waits up to 5 s for each to end, so it holds no locks afterwards
                query = (
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                    "WHERE usename = :user"
                )
                connection.execute(text(query), {"user": user})
                return
            query = "SELECT id FROM information_schema.processlist WHERE user = :user"
            for thread in connection.scalars(text(query), {"user": user}).all():
                try:
                    connection.execute(text(f"KILL CONNECTION {int(thread)}"))
                except DBAPIError as exc:  # it ended meanwhile (ER_NO_SUCH_THREAD)
                    if "1094" not in str(exc.orig):
                        raise

    def _drop_postgres_login(self, database: str, user: str, heir: str) -> None:
        """Lock ``user`` out, end its sessions, give what it owns to ``heir``, and drop it."""
        with self._admin() as connection:
            if not self._login_exists(connection, user):
                return
            connection.execute(text(f'ALTER ROLE "{user}" NOLOGIN'))
        self._end_sessions(user)
        # its grants (database, sequences) and objects are in the organisation's database
        here = database if self._postgres_database_exists(database) else None
        with self._admin(here) as connection:
            if here is not None:
                connection.execute(text(f'REASSIGN OWNED BY "{user}" TO "{heir}"'))
                connection.execute(text(f'DROP OWNED BY "{user}"'))
            connection.execute(text(f'DROP ROLE "{user}"'))
