"""Organisations are isolated by the database server itself, on the real MariaDB and PostgreSQL.

A user of organisation A holds A's logins (as a kernel would); the server
refuses them B's rows, and refuses annotators anything beyond annotating.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from traptagger_hub.provision import OrgCredentials, Provisioner, slug_for

from tests.conftest import MYSQL_SERVER, SERVERS
from traptagger_lab.db.engine import make_engine, session_factory, transaction
from traptagger_lab.db.models import Survey
from traptagger_lab.errors import ConfigurationError


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
    provisioner.drop("demo_trust")
    assert not Path(org.database).exists()


def test_an_annotator_login_works_a_job_through_the_library(
    two_orgs: tuple[Provisioner, OrgCredentials, OrgCredentials],
) -> None:
    from traptagger_lab.annotate import jobs
    from traptagger_lab.annotate.simulate import synthetic_clusters
    from traptagger_lab.annotate.tasks import create_task

    _, a, _ = two_orgs
    member = make_engine(a.member_url)
    with transaction(session_factory(member)) as session:
        survey = synthetic_clusters(session, "Field", 6, sites=2)
        task_id = create_task(session, survey, "species", ["Impala"]).id
    member.dispose()
    annotator = make_engine(a.annotator_url)
    sessions = session_factory(annotator)
    job = jobs.next_job(sessions, task_id, "ann", size=3)
    assert job is not None
    for cluster in job.clusters:
        jobs.submit(sessions, job.id, cluster, ["Impala"])
    jobs.undo(sessions, job.id, job.clusters[-1])
    with sessions() as session:
        assert jobs.progress(session, task_id)["annotations_done"] == 2
    annotator.dispose()


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
