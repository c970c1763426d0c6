"""Sharing one survey with another organisation, enforced by the real MariaDB and PostgreSQL.

The share's login sees views holding one survey's rows; the server refuses it
the owner's other surveys, its tables, and (read-only) any write.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from traptagger_hub.orgs import Registry
from traptagger_hub.provision import OrgCredentials, Provisioner
from traptagger_hub.sharing import SURVEY_ROWS, shared_tables

from tests.conftest import MYSQL_SERVER, SERVERS
from traptagger_lab.annotate import jobs
from traptagger_lab.annotate.simulate import synthetic_clusters
from traptagger_lab.annotate.tasks import create_task
from traptagger_lab.db.engine import make_engine, session_factory, transaction
from traptagger_lab.db.models import Deployment, DeploymentProblem, Site
from traptagger_lab.errors import ConfigurationError, NotFoundError
from traptagger_lab.settings import SharedSurvey

_NOW = "CURRENT_TIMESTAMP"
_DAY = dt.datetime(2026, 1, 1)


def _scalar(url: str, statement: str) -> Any:
    parsed = make_url(url)
    driver = "postgresql+psycopg" if parsed.drivername.startswith("postgres") else "mysql+pymysql"
    engine = create_engine(parsed.set(drivername=driver))
    try:
        with engine.begin() as connection:
            return connection.execute(text(statement)).scalar()
    finally:
        engine.dispose()


def _two_surveys(member_url: str) -> dict[str, int]:
    """Surveys "Shared" (6 clusters) and "Private" (4), each with a species task and a
    deployment per site (one problem period each); task ids."""
    engine = make_engine(member_url)
    tasks = {}
    with transaction(session_factory(engine)) as session:
        for name, clusters in (("Shared", 6), ("Private", 4)):
            survey = synthetic_clusters(session, name, clusters, sites=2)
            tasks[name] = create_task(session, survey, "species", ["Impala", "Kudu"]).id
            session.flush()
            for site in session.scalars(select(Site).where(Site.survey_id == survey)):
                deployment = Deployment(
                    survey_id=survey,
                    site_id=site.id,
                    setup=_DAY,
                    retrieval=_DAY + dt.timedelta(days=30),
                )
                session.add(deployment)
                session.flush()
                session.add(DeploymentProblem(deployment_id=deployment.id, start=_DAY, end=_DAY))
    engine.dispose()
    return tasks


@pytest.fixture(params=SERVERS)
def owner(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Provisioner, OrgCredentials]]:
    """A provisioned organisation on each server; yields the provisioner and its logins."""
    provisioner = Provisioner(request.param, tmp_path / "stores")
    slug = f"own{uuid.uuid4().hex[:8]}"
    try:
        yield provisioner, provisioner.create(slug)
    finally:
        provisioner.drop(slug)


def test_every_table_of_the_schema_has_a_sharing_rule() -> None:
    assert set(shared_tables()) == set(SURVEY_ROWS)
    with pytest.raises(ValueError, match=r"no sharing rule for table.*new_thing"):
        shared_tables(["survey", "new_thing"])


def test_a_read_only_share_sees_its_survey_alone(
    owner: tuple[Provisioner, OrgCredentials], lab_factory: Any
) -> None:
    provisioner, credentials = owner
    slug = credentials.slug
    tasks = _two_surveys(credentials.member_url)
    share_id = 10_000 + int(uuid.uuid4().int % 10_000)
    login = provisioner.share(slug, _survey_id(credentials, "Shared"), share_id, "read-only")
    url = login.database_url
    try:
        lab = lab_factory(database_url=url, storage_url=credentials.storage_url)
        assert list(lab.surveys["name"]) == ["Shared"]
        assert int(lab.surveys["clusters"].iloc[0]) == 6
        with pytest.raises(NotFoundError, match="no survey 'Private'"):
            lab.survey("Private")
        assert _scalar(url, "SELECT count(*) FROM task_item") == 6
        assert _scalar(url, "SELECT count(*) FROM deployment") == 2  # the shared survey's sites
        assert _scalar(url, "SELECT count(*) FROM deployment_problem") == 2
        assert _scalar(url, f"SELECT count(*) FROM task WHERE id = {tasks['Private']}") == 0
        # the owner's tables themselves are out of reach, whatever the login names
        source = f"`{credentials.database}`" if url.startswith("mysql") else "public"
        with pytest.raises(DBAPIError, match=r"(?i)denied"):
            _scalar(url, f"SELECT count(*) FROM {source}.cluster")
        # and nothing can be written, not even an annotation of the shared survey
        with pytest.raises(DBAPIError, match=r"(?i)denied"):
            _scalar(url, "UPDATE survey SET name = 'mine'")
        with pytest.raises(DBAPIError, match=r"(?i)denied"):
            _scalar(
                url,
                "INSERT INTO job (task_id, annotator, status, created_at, expires_at) "
                f"VALUES ({tasks['Shared']}, 'x', 'active', {_NOW}, {_NOW})",
            )
    finally:
        provisioner.unshare(slug, share_id)
    with pytest.raises(DBAPIError):  # the login is gone
        _scalar(url, "SELECT 1")


def test_a_read_write_share_annotates_its_survey_and_no_other(
    owner: tuple[Provisioner, OrgCredentials],
) -> None:
    provisioner, credentials = owner
    slug = credentials.slug
    tasks = _two_surveys(credentials.member_url)
    share_id = 20_000 + int(uuid.uuid4().int % 10_000)
    url = provisioner.share(
        slug, _survey_id(credentials, "Shared"), share_id, "read-write"
    ).database_url
    try:
        engine = make_engine(url)
        sessions = session_factory(engine)
        job = jobs.next_job(sessions, tasks["Shared"], "guest", size=3)
        assert job is not None
        for cluster in job.clusters:
            jobs.submit(sessions, job.id, cluster, ["Kudu"], annotator=job.annotator)
        assert jobs.next_job(sessions, tasks["Private"], "guest") is None  # not visible
        engine.dispose()
        # the annotations are in the owner's own database
        written = "SELECT count(*) FROM annotation WHERE annotator = 'guest'"
        assert _scalar(credentials.member_url, written) == 3
        # a row outside the shared survey is refused by the view's check option
        with pytest.raises(DBAPIError, match=r"(?i)check option|CHECK OPTION"):
            _scalar(
                url,
                "INSERT INTO job (task_id, annotator, status, created_at, expires_at) "
                f"VALUES ({tasks['Private']}, 'x', 'active', {_NOW}, {_NOW})",
            )
        with pytest.raises(DBAPIError, match=r"(?i)denied"):
            _scalar(url, "DELETE FROM annotation")
    finally:
        provisioner.unshare(slug, share_id)


@pytest.mark.mysql
def test_admins_share_through_the_registry_and_servers_get_the_share(
    tmp_path: Path, lab_factory: Any
) -> None:
    provisioner = Provisioner(MYSQL_SERVER, tmp_path / "stores")
    registry = Registry(f"sqlite:///{tmp_path / 'hub.db'}", provisioner)
    tag = uuid.uuid4().hex[:6]
    owner, guest = f"Owner {tag}", f"Guest {tag}"
    slugs = [name.lower().replace(" ", "_") for name in (owner, guest)]
    try:
        for name, admin in ((owner, "olga"), (guest, "gita")):
            registry.request(name, "x@example.org", "", requested_by=admin)
            registry.approve(name.lower().replace(" ", "_"))
        registry.add(slugs[0], "otto", "member")
        registry.add(slugs[1], "gus", "member")
        registry.add(slugs[1], "ann", "annotator")
        _two_surveys(registry.server_environment("otto", slugs[0])["TRAPTAGGER_DATABASE_URL"])

        with pytest.raises(ConfigurationError, match="only admins share"):
            registry.share(slugs[0], "Shared", slugs[1], "read-only", by="otto")
        with pytest.raises(NotFoundError, match="no survey 'Nope'"):
            registry.share(slugs[0], "Nope", slugs[1], "read-only", by="olga")
        with pytest.raises(ConfigurationError, match="share mode"):
            registry.share(slugs[0], "Shared", slugs[1], "everything", by="olga")
        share = registry.share(slugs[0], "Shared", slugs[1], "read-only", by="olga")
        assert registry.shares(slugs[1]) == [share]
        with pytest.raises(ConfigurationError, match=r"shared with .* already"):
            registry.share(slugs[0], "Shared", slugs[1], "read-write", by="olga")

        environment = registry.server_environment("gus", slugs[1])
        offered = json.loads(environment["TRAPTAGGER_SHARED_SURVEYS"])
        assert [(s["organisation"], s["survey"], s["mode"]) for s in offered] == [
            (slugs[0], "Shared", "read-only")
        ]
        # annotators of the guest organisation see only read-write shares
        annotator = json.loads(
            registry.server_environment("ann", slugs[1])["TRAPTAGGER_SHARED_SURVEYS"]
        )
        assert annotator == []
        # the owner's own people are offered nothing extra
        assert (
            json.loads(registry.server_environment("otto", slugs[0])["TRAPTAGGER_SHARED_SURVEYS"])
            == []
        )

        # the guest member's lab opens the shared survey from what the hub set
        home = lab_factory(
            database_url=environment["TRAPTAGGER_DATABASE_URL"],
            storage_url=environment["TRAPTAGGER_STORAGE_URL"],
            shared_surveys=[SharedSurvey(**s) for s in offered],
        )
        assert list(home.shared_surveys()["survey"]) == ["Shared"]
        with pytest.raises(NotFoundError, match="no survey 'Private' is shared"):
            home.open_shared("Private")
        with home.open_shared("Shared") as shared:
            assert list(shared.surveys["name"]) == ["Shared"]
        assert list(home.surveys["name"]) == []  # the guest's own database is untouched

        with pytest.raises(ConfigurationError, match="not an admin"):
            registry.unshare(share.id, by="gita")
        registry.unshare(share.id, by="olga")
        assert registry.shares(slugs[0]) == []
        with pytest.raises(DBAPIError):
            _scalar(offered[0]["database_url"], "SELECT 1")
    finally:
        for slug in slugs:
            provisioner.drop(slug)
        registry.close()


def _survey_id(credentials: OrgCredentials, name: str) -> int:
    return int(_scalar(credentials.member_url, f"SELECT id FROM survey WHERE name = '{name}'"))


def test_dropping_an_organisation_ends_its_shares(
    owner: tuple[Provisioner, OrgCredentials],
) -> None:
    provisioner, credentials = owner
    _two_surveys(credentials.member_url)
    ids = [30_000 + int(uuid.uuid4().int % 10_000) + n for n in (0, 1)]
    urls = [
        provisioner.share(
            credentials.slug, _survey_id(credentials, name), share_id, "read-only"
        ).database_url
        for name, share_id in zip(("Shared", "Private"), ids, strict=True)
    ]
    assert provisioner.share_ids(credentials.slug) == sorted(ids)
    assert _scalar(urls[1], "SELECT name FROM survey") == "Private"
    provisioner.drop(credentials.slug)
    assert provisioner.share_ids(credentials.slug) == []
    for url in urls:
        with pytest.raises(DBAPIError):  # no login is left behind
            _scalar(url, "SELECT 1")
