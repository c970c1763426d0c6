"""Organisations are isolated by the database server itself, on the real MariaDB and PostgreSQL.

A user of organisation A holds A's logins (as a kernel would); the server
refuses them B's rows, and refuses annotators anything beyond annotating.
Each person's own login has the rights of their role and no more, and ends
(with its open connections) when the person is removed. No password reaches
a server in plaintext.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import shutil
import stat
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from traptagger_hub.passwords import mysql_native_hash, password_clause, scram_sha256_verifier
from traptagger_hub.provision import OrgCredentials, Provisioner, slug_for

from tests.conftest import MYSQL_SERVER, POSTGRES_SERVER, SERVERS
from traptagger_lab.db.engine import make_engine, session_factory, transaction
from traptagger_lab.db.models import Survey
from traptagger_lab.errors import ConfigurationError, NotFoundError


@pytest.fixture(params=SERVERS)
def two_orgs(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Provisioner, OrgCredentials, OrgCredentials]]:
    provisioner = Provisioner(request.param, tmp_path / "stores")
    tag = uuid.uuid4().hex[:8]
    slugs = [f"a{tag}", f"b{tag}"]
    try:
        a, b = (provisioner.create(slug) for slug in slugs)
        yield provisioner, a, b
    finally:
        for slug in slugs:
            provisioner.drop(slug)


@pytest.fixture(params=SERVERS)
def org(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Provisioner, str]]:
    """One provisioned organisation on each server; yields the provisioner and its slug."""
    provisioner = Provisioner(request.param, tmp_path / "stores")
    slug = f"p{uuid.uuid4().hex[:8]}"
    try:
        provisioner.create(slug)
        yield provisioner, slug
    finally:
        provisioner.drop(slug)


def _run(url: str, *statements: str) -> list[tuple[object, ...]]:
    engine = create_engine(make_url(url).set(drivername=_driver(url)))
    try:
        with engine.begin() as connection:
            rows: list[tuple[object, ...]] = []
            for statement in statements:
                result = connection.execute(text(statement))
                rows = [tuple(r) for r in result] if result.returns_rows else []
            return rows
    finally:
        engine.dispose()


def _driver(url: str) -> str:
    return "postgresql+psycopg" if url.startswith("postgresql") else "mysql+pymysql"


def _other_database(own: OrgCredentials, other: OrgCredentials) -> str:
    """``own``'s login pointed at ``other``'s database (what a curious kernel user would try)."""
    return make_url(own.member_url).set(database=other.database).render_as_string(False)


def test_members_reach_only_their_own_database(
    two_orgs: tuple[Provisioner, OrgCredentials, OrgCredentials],
) -> None:
    _, a, b = two_orgs
    engine = make_engine(a.member_url)  # the member works through the library, as usual
    with transaction(session_factory(engine)) as session:
        session.add(Survey(name="A survey", settings={}))
    engine.dispose()
    assert _run(a.member_url, "SELECT name FROM survey") == [("A survey",)]
    assert _run(b.member_url, "SELECT name FROM survey") == []
    with pytest.raises(DBAPIError):  # connecting to B's database is refused
        _run(_other_database(a, b), "SELECT name FROM survey")
    if a.member_url.startswith("mysql"):  # B's login name with A's password is refused
        guessed = make_url(b.member_url).set(password=make_url(a.member_url).password)
        with pytest.raises(DBAPIError, match="denied"):
            _run(guessed.render_as_string(False), "SELECT 1")
        # (PostgreSQL checks passwords only where pg_hba.conf says scram-sha-256; this test
        # machine trusts loopback logins, so that half is a deployment setting there.)
    if a.member_url.startswith("mysql"):  # and naming B's tables from A's database too
        with pytest.raises(DBAPIError, match="denied"):
            _run(a.member_url, f"SELECT name FROM `{b.database}`.survey")


def test_annotators_may_annotate_and_nothing_more(
    two_orgs: tuple[Provisioner, OrgCredentials, OrgCredentials],
) -> None:
    _, a, b = two_orgs
    assert _run(a.annotator_url, "SELECT count(*) FROM image") == [(0,)]
    assert _run(a.annotator_url, "SELECT count(*) FROM annotation") == [(0,)]
    for forbidden in (
        "DELETE FROM image",
        "UPDATE survey SET name = 'mine'",
        "DROP TABLE annotation",
        "CREATE TABLE loot (x INT)",
        "DELETE FROM annotation",  # history is never deleted, not even by its author
    ):
        with pytest.raises(DBAPIError, match=r"(?i)denied|must be owner"):
            _run(a.annotator_url, forbidden)
    with pytest.raises(DBAPIError):
        _run(make_url(a.annotator_url).set(database=b.database).render_as_string(False), "SELECT 1")


def test_each_org_gets_a_private_store_and_bad_names_are_refused(
    two_orgs: tuple[Provisioner, OrgCredentials, OrgCredentials],
) -> None:
    _, a, b = two_orgs
    for org in (a, b):
        folder = Path(org.storage_url.removeprefix("file://"))
        assert folder.is_dir()
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert a.storage_url != b.storage_url
    assert slug_for("Kruger Park: north!") == "kruger_park_north"
    assert slug_for("2024 survey team") == "org_2024_survey_team"
    with pytest.raises(ConfigurationError, match="a-z"):
        two_orgs[0].create("Robert'); DROP TABLE")
    with pytest.raises(ConfigurationError, match="'sqlite' alone"):
        Provisioner("sqlite:///x.db", "stores")
    with pytest.raises(ConfigurationError, match="database server"):
        Provisioner("oracle://scott@db", "stores")


def test_sqlite_organisations_for_a_laptop_demo(tmp_path: Path) -> None:
    provisioner = Provisioner("sqlite", tmp_path / "stores")
    org = provisioner.create("demo_trust")
    assert org.member_url == org.annotator_url  # SQLite has no logins: one file per org
    assert Path(org.database).parent == tmp_path.resolve() / "stores" / "demo_trust"
    assert stat.S_IMODE(Path(org.database).parent.stat().st_mode) == 0o700
    engine = make_engine(org.member_url)
    with engine.connect() as connection:  # the schema is in place
        assert connection.execute(text("SELECT count(*) FROM survey")).scalar() == 0
    engine.dispose()
    # no logins in SQLite: a person gets the organisation's file, and nothing is left to drop
    assert provisioner.create_login("demo_trust", "ann1", "annotator") == org.member_url
    assert provisioner.rotate_login("demo_trust", "ann1") == org.member_url
    assert provisioner.login_keys("demo_trust") == []
    provisioner.drop_login("demo_trust", "ann1")
    provisioner.drop("demo_trust")
    assert not Path(org.database).exists()


def _annotations_done(member_url: str, annotator_url: str) -> int:
    """The member sets a task of 6 clusters; the annotator labels 3 and undoes one."""
    from traptagger_lab.annotate import jobs
    from traptagger_lab.annotate.simulate import synthetic_clusters
    from traptagger_lab.annotate.tasks import create_task

    member = make_engine(member_url)
    with transaction(session_factory(member)) as session:
        survey = synthetic_clusters(session, f"Field {uuid.uuid4().hex[:6]}", 6, sites=2)
        task_id = create_task(session, survey, "species", ["Impala"]).id
    member.dispose()
    annotator = make_engine(annotator_url)
    try:
        sessions = session_factory(annotator)
        job = jobs.next_job(sessions, task_id, "ann", size=3)
        assert job is not None
        for cluster in job.clusters:
            jobs.submit(sessions, job.id, cluster, ["Impala"], annotator=job.annotator)
        jobs.undo(sessions, job.id, job.clusters[-1], annotator=job.annotator)
        with sessions() as session:
            return int(jobs.progress(session, task_id)["annotations_done"])
    finally:
        annotator.dispose()


def test_an_annotator_login_works_a_job_through_the_library(
    two_orgs: tuple[Provisioner, OrgCredentials, OrgCredentials],
) -> None:
    _, a, _ = two_orgs
    assert _annotations_done(a.member_url, a.annotator_url) == 2


@pytest.mark.mysql
@pytest.mark.skipif(os.geteuid() != 0, reason="system accounts need root")
def test_system_accounts_keep_each_organisations_folder_to_itself() -> None:
    from traptagger_hub.accounts import account_names

    base = Path(tempfile.mkdtemp(prefix="tt-accounts-"))  # not under pytest's 0700 tmp folder
    os.chmod(base, 0o755)
    provisioner = Provisioner(MYSQL_SERVER, base, os_accounts=True)
    tag = uuid.uuid4().hex[:6]
    slugs = [f"north_{tag}", f"south_{tag}"]
    try:
        a, b = (provisioner.create(slug) for slug in slugs)
        folder_a, folder_b = (Path(o.storage_url.removeprefix("file://")) for o in (a, b))
        accounts_a = account_names(slugs[0])
        assert folder_a.owner() == accounts_a.member
        assert folder_a.group() == accounts_a.annotator
        assert stat.S_IMODE(folder_a.stat().st_mode) == 0o2750

        def as_account(account: str, *command: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["runuser", "-u", account, "--", *command], capture_output=True, text=True
            )

        assert as_account(accounts_a.member, "touch", str(folder_a / "x.jpg")).returncode == 0
        assert as_account(accounts_a.annotator, "cat", str(folder_a / "x.jpg")).returncode == 0
        refused = as_account(accounts_a.annotator, "touch", str(folder_a / "y.jpg"))
        assert "Permission denied" in refused.stderr  # annotators read only
        for account in (accounts_a.member, accounts_a.annotator):  # B's folder is closed to A
            refused = as_account(account, "ls", str(folder_b))
            assert "Permission denied" in refused.stderr
        assert len(accounts_a.member) <= 32
    finally:
        for slug in slugs:
            provisioner.drop(slug)
        shutil.rmtree(base, ignore_errors=True)
    assert subprocess.run(["id", accounts_a.member], capture_output=True).returncode != 0
    with pytest.raises(ConfigurationError, match="system accounts"):
        Provisioner("sqlite", base, os_accounts=True)


# -- passwords: hashed on our side, exactly as the servers hash them ------------------------


def test_the_scram_verifier_follows_rfc_5802_step_by_step() -> None:
    password, salt = "pencil", base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    # Hi() of RFC 5802 written out: U1 = HMAC(password, salt + INT(1)), Ui = HMAC(password, Ui-1)
    block = hmac.new(password.encode(), salt + b"\0\0\0\1", "sha256").digest()
    salted = bytearray(block)
    for _ in range(4095):
        block = hmac.new(password.encode(), block, "sha256").digest()
        salted = bytearray(x ^ y for x, y in zip(salted, block, strict=True))
    client_key = hmac.new(bytes(salted), b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(bytes(salted), b"Server Key", "sha256").digest()
    expected = "SCRAM-SHA-256$4096:{}${}:{}".format(
        *(base64.b64encode(v).decode() for v in (salt, stored_key, server_key))
    )
    verifier = scram_sha256_verifier(password, salt)
    assert verifier == expected
    # and a server holding it accepts RFC 7677's sample login of "user" with "pencil"
    auth_message = (
        b"n=user,r=rOprNGfwEbeRWgbNEkqO,"
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,"
        b"i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    )
    proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    stored, server = (base64.b64decode(v) for v in verifier.split("$")[2].split(":"))
    signature = hmac.new(stored, auth_message, "sha256").digest()
    recovered_client_key = bytes(x ^ y for x, y in zip(proof, signature, strict=True))
    assert hashlib.sha256(recovered_client_key).digest() == stored
    server_signature = hmac.new(server, auth_message, "sha256").digest()
    assert base64.b64encode(server_signature) == b"6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    # a fresh random salt each time, and no plaintext inside
    assert scram_sha256_verifier(password) != scram_sha256_verifier(password)
    assert "pencil" not in scram_sha256_verifier(password)
    with pytest.raises(ConfigurationError, match="ASCII"):
        scram_sha256_verifier("pâté")


def test_the_native_hash_is_mariadbs() -> None:
    # MariaDB's own SELECT PASSWORD('password'), and SHA1(SHA1(x)) written out
    assert mysql_native_hash("password") == "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"
    inner = hashlib.sha1(b"s3cret").digest()
    assert mysql_native_hash("s3cret") == "*" + hashlib.sha1(inner).hexdigest().upper()


def _scram_matches(verifier: str, password: str) -> bool:
    """Whether ``verifier`` (as PostgreSQL stores it) was made from ``password``."""
    match = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$.+", verifier)
    assert match is not None, verifier
    salt, iterations = base64.b64decode(match[2]), int(match[1])
    return scram_sha256_verifier(password, salt, iterations) == verifier


def _stored_verifier(role: str) -> str:
    rows = _run(
        f"{POSTGRES_SERVER}/postgres", f"SELECT rolpassword FROM pg_authid WHERE rolname = '{role}'"
    )
    return str(rows[0][0])


@pytest.mark.postgres
def test_postgres_makes_the_same_verifier_from_the_plaintext() -> None:
    role, password = f"tt_test_{uuid.uuid4().hex[:8]}", "correct horse battery"
    admin = f"{POSTGRES_SERVER}/postgres"
    try:
        # the server hashes a plaintext with its own salt: ours, given that salt, is identical
        _run(
            admin,
            "SET password_encryption = 'scram-sha-256'",
            f"CREATE ROLE {role} LOGIN PASSWORD '{password}'",
        )
        by_server = _stored_verifier(role)
        assert _scram_matches(by_server, password)
        assert not _scram_matches(by_server, password + "!")
        # and PostgreSQL takes a verifier we send for one (stores it as it is, not re-hashed)
        sent = scram_sha256_verifier(password)
        _run(admin, f"ALTER ROLE {role} PASSWORD '{sent}'".replace(":", "\\:"))
        assert _stored_verifier(role) == sent
    finally:
        _run(admin, f"DROP ROLE IF EXISTS {role}")
    # (this server trusts loopback logins, so it would let the role in with any password)


@pytest.mark.mysql
def test_mariadb_takes_the_hash_and_checks_the_plaintext_against_it() -> None:
    user, password = f"tt_test_{uuid.uuid4().hex[:8]}", "correct horse battery"
    quoted = f"'{user}'@'%'"
    try:
        assert _run(MYSQL_SERVER, f"SELECT PASSWORD('{password}')") == [
            (mysql_native_hash(password),)
        ]
        _run(MYSQL_SERVER, f"CREATE USER {quoted} {password_clause('mysql', password)}")
        login = make_url(MYSQL_SERVER).set(username=user, password=password)
        assert _run(login.render_as_string(False), "SELECT CURRENT_USER()") == [(f"{user}@%",)]
        with pytest.raises(DBAPIError, match="denied"):
            _run(login.set(password=password + "!").render_as_string(False), "SELECT 1")
    finally:
        _run(MYSQL_SERVER, f"DROP USER IF EXISTS {quoted}")


# -- each person's own login -----------------------------------------------------------------


def test_person_logins_have_their_roles_rights_and_no_more(org: tuple[Provisioner, str]) -> None:
    provisioner, slug = org
    member = provisioner.create_login(slug, "m1", "member")
    admin = provisioner.create_login(slug, "a1", "admin")
    annotator = provisioner.create_login(slug, "n1", "annotator")
    assert make_url(member).username == f"tt_{slug}_um1"
    assert len({make_url(u).password for u in (member, admin, annotator)}) == 3
    assert provisioner.login_keys(slug) == ["a1", "m1", "n1"]
    # members work as the organisation: their tables belong to its owner login
    _run(member, "CREATE TABLE notes (id INT PRIMARY KEY)", "INSERT INTO notes VALUES (1)")
    assert _run(admin, "SELECT id FROM notes") == [(1,)]
    if member.startswith("postgresql"):
        owner = "SELECT tableowner FROM pg_tables WHERE tablename = 'notes'"
        assert _run(admin, owner) == [(f"tt_{slug}_member",)]
    engine = make_engine(admin)
    with transaction(session_factory(engine)) as session:
        session.add(Survey(name="S", settings={}))
    engine.dispose()
    _run(member, "UPDATE survey SET name = 'Renamed'")
    assert _run(annotator, "SELECT name FROM survey") == [("Renamed",)]
    # annotators annotate (through the library, as in their notebooks) and nothing more
    assert _annotations_done(member, annotator) == 2
    for forbidden in (
        "INSERT INTO image (survey_id) VALUES (1)",
        "UPDATE survey SET name = 'mine'",
        "CREATE TABLE loot (x INT)",
        "DELETE FROM annotation",
        "DROP TABLE notes",
    ):
        with pytest.raises(DBAPIError, match=r"(?i)denied|must be owner"):
            _run(annotator, forbidden)
    with pytest.raises(ConfigurationError, match="a-z and 0-9"):
        provisioner.create_login(slug, "Bob_1", "member")
    with pytest.raises(ConfigurationError, match="a-z and 0-9"):
        provisioner.create_login(slug, "k" * 13, "member")
    with pytest.raises(ConfigurationError, match="role 'owner'"):
        provisioner.create_login(slug, "m2", "owner")


def test_dropping_a_login_ends_its_connections_and_refuses_new_ones(
    org: tuple[Provisioner, str],
) -> None:
    provisioner, slug = org
    url = provisioner.create_login(slug, "gone", "member")
    if url.startswith("postgresql"):  # made outside the owner role: stays the organisation's
        _run(url, "SET ROLE NONE", "CREATE TABLE own_notes (id INT)")
    engine = create_engine(make_url(url).set(drivername=_driver(url)))
    try:
        with engine.connect() as connection:  # closed even if a check fails: no lock left
            assert connection.execute(text("SELECT count(*) FROM survey")).scalar() == 0
            provisioner.drop_login(slug, "gone")
            with pytest.raises(DBAPIError):  # the open connection is over
                connection.execute(text("SELECT count(*) FROM survey"))
    finally:
        engine.dispose()
    with pytest.raises(DBAPIError):  # and no new one opens
        _run(url, "SELECT 1")
    assert provisioner.login_keys(slug) == []
    provisioner.drop_login(slug, "gone")  # idempotent
    if url.startswith("postgresql"):
        owner = "SELECT tableowner FROM pg_tables WHERE tablename = 'own_notes'"
        assert _run(f"{POSTGRES_SERVER}/tt_org_{slug}", owner) == [(f"tt_{slug}_member",)]


def test_rotating_a_login_ends_the_old_password_and_connections(
    org: tuple[Provisioner, str],
) -> None:
    provisioner, slug = org
    old = provisioner.create_login(slug, "r1", "annotator")
    engine = create_engine(make_url(old).set(drivername=_driver(old)))
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM annotation")).scalar() == 0
            new = provisioner.rotate_login(slug, "r1")
            with pytest.raises(DBAPIError):
                connection.execute(text("SELECT count(*) FROM annotation"))
    finally:
        engine.dispose()
    old_password, new_password = make_url(old).password, make_url(new).password
    assert old_password != new_password
    assert make_url(new).set(password=old_password) == make_url(old)
    assert _run(new, "SELECT count(*) FROM annotation") == [(0,)]
    if old.startswith("mysql"):
        with pytest.raises(DBAPIError, match="denied"):
            _run(old, "SELECT 1")
    else:  # this server trusts loopback logins: check what it would check the password against
        stored = _stored_verifier(f"tt_{slug}_ur1")
        assert _scram_matches(stored, str(new_password))
        assert not _scram_matches(stored, str(old_password))
    with pytest.raises(NotFoundError, match="no login for person 'nobody'"):
        provisioner.rotate_login(slug, "nobody")


def test_creating_a_login_again_replaces_its_password_and_rights(
    org: tuple[Provisioner, str],
) -> None:
    provisioner, slug = org
    first = provisioner.create_login(slug, "c1", "annotator")
    promoted = provisioner.create_login(slug, "c1", "member")
    assert make_url(promoted).password != make_url(first).password
    _run(promoted, "CREATE TABLE promoted (id INT)")
    demoted = provisioner.create_login(slug, "c1", "annotator")
    with pytest.raises(DBAPIError, match=r"(?i)denied|must be owner"):
        _run(demoted, "DROP TABLE promoted")
    with pytest.raises(DBAPIError, match=r"(?i)denied"):
        _run(demoted, "INSERT INTO promoted VALUES (1)")
    assert _run(demoted, "SELECT count(*) FROM annotation") == [(0,)]
    assert provisioner.login_keys(slug) == ["c1"]


@pytest.mark.parametrize("server", SERVERS)
def test_dropping_an_organisation_drops_its_person_logins(server: str, tmp_path: Path) -> None:
    provisioner = Provisioner(server, tmp_path / "stores")
    slug = f"d{uuid.uuid4().hex[:8]}"
    neighbour = f"{slug}_ux"  # its logins start like slug's: tt_<slug>_ux_...
    try:
        for name in (slug, neighbour):
            provisioner.create(name)
        for key, role in (("1", "admin"), ("2", "member"), ("x", "annotator")):
            provisioner.create_login(slug, key, role)
        provisioner.create_login(neighbour, "1", "member")
        provisioner.drop(slug)
        assert provisioner.login_keys(slug) == []
        assert sorted(_logins_like(server, f"tt_{slug}_")) == [
            f"tt_{neighbour}_annotator",
            f"tt_{neighbour}_member",
            f"tt_{neighbour}_u1",
        ]
    finally:
        for name in (slug, neighbour):
            provisioner.drop(name)
    assert _logins_like(server, f"tt_{slug}_") == []


def _logins_like(server: str, prefix: str) -> list[str]:
    """The logins on ``server`` whose names start with ``prefix``."""
    pattern = prefix.replace("_", "\\_") + "%"
    if server.startswith("postgresql"):
        query = f"SELECT rolname FROM pg_roles WHERE rolname LIKE '{pattern}'"
        return [str(r[0]) for r in _run(f"{server}/postgres", query)]
    return [
        str(r[0]) for r in _run(server, f"SELECT User FROM mysql.user WHERE User LIKE '{pattern}'")
    ]


@pytest.mark.parametrize("server", SERVERS)
def test_no_plaintext_password_reaches_the_servers(server: str, tmp_path: Path) -> None:
    provisioner = Provisioner(server, tmp_path / "stores")
    slug = f"s{uuid.uuid4().hex[:8]}"
    sent: list[str] = []

    def capture(
        _conn: object, _cursor: object, statement: str, parameters: object, *_: object
    ) -> None:
        sent.append(f"{statement} {parameters!r}")

    event.listen(Engine, "before_cursor_execute", capture)
    try:
        org = provisioner.create(slug)
        urls = [org.member_url, org.annotator_url]
        urls.append(provisioner.create_login(slug, "m", "member"))
        urls.append(provisioner.create_login(slug, "n", "annotator"))
        urls.append(provisioner.create_login(slug, "n", "annotator"))  # replaced
        urls.append(provisioner.rotate_login(slug, "m"))
        share_id = 30_000 + int(uuid.uuid4().int % 10_000)
        urls.append(provisioner.share(slug, 1, share_id, "read-write").database_url)
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
        provisioner.drop(slug)
    passwords = {str(make_url(url).password) for url in urls}
    assert len(passwords) == len(urls)
    marker = (
        "SCRAM-SHA-256$4096:" if server.startswith("postgresql") else "mysql_native_password AS '*"
    )
    assert len([s for s in sent if marker in s]) == len(urls)  # every login got a verifier
    leaks = [(p, s) for p in passwords for s in sent if p in s]
    assert not leaks
