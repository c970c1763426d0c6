"""The organisation registry: enquiry and approval, roles, invitations, spawn settings."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from traptagger_hub.orgs import Registry, Role
from traptagger_hub.provision import Provisioner

from tests.conftest import MYSQL_SERVER
from traptagger_lab.db.engine import make_engine
from traptagger_lab.errors import ConfigurationError, NotFoundError


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[Registry, str]]:
    """A registry that provisions on the real MariaDB, and a fresh organisation name."""
    provisioner = Provisioner(MYSQL_SERVER, tmp_path / "stores")
    registry = Registry(f"sqlite:///{tmp_path / 'hub.db'}", provisioner)
    name = f"Kruger {uuid.uuid4().hex[:6]}"
    yield registry, name
    provisioner.drop(name.lower().replace(" ", "_"))
    registry.close()


@pytest.mark.mysql
def test_enquiry_approval_roles_and_invitations(hub: tuple[Registry, str]) -> None:
    registry, name = hub
    slug = name.lower().replace(" ", "_")
    registry.request(name, "ranger@example.org", "leopard survey", requested_by="thandi")
    assert [o.slug for o in registry.pending()] == [slug]
    assert registry.roles("thandi") == []  # nothing until a platform admin approves
    with pytest.raises(ConfigurationError, match="exists already"):
        registry.request(name, "x@example.org", "again", requested_by="someone")

    registry.approve(slug)
    assert registry.pending() == []
    assert registry.roles("thandi") == [Role(slug, name, "admin")]
    with pytest.raises(ConfigurationError, match="only admins invite"):
        registry.invite(slug, "member", by="stranger")

    member_link = registry.invite(slug, "member", by="thandi")
    annotator_link = registry.invite(slug, "annotator", by="thandi")
    assert registry.accept(member_link, "sipho") == Role(slug, name, "member")
    with pytest.raises(ConfigurationError, match="used already"):
        registry.accept(member_link, "eve")
    registry.accept(annotator_link, "lerato")
    assert registry.people(slug) == [
        ("lerato", "annotator"),
        ("sipho", "member"),
        ("thandi", "admin"),
    ]
    with pytest.raises(NotFoundError, match="not valid"):
        registry.accept("made-up", "eve")
    late = registry.invite(slug, "member", by="thandi", lifetime=dt.timedelta(seconds=-1))
    with pytest.raises(ConfigurationError, match="expired"):
        registry.accept(late, "eve")

    env = registry.server_environment("lerato", slug)
    assert env["TRAPTAGGER_ROLE"] == "annotator"
    logins = {
        person: make_url(registry.server_environment(person, slug)["TRAPTAGGER_DATABASE_URL"])
        for person in ("lerato", "sipho", "thandi")
    }
    assert len({url.username for url in logins.values()}) == 3  # a login of their own each
    engine = make_engine(env["TRAPTAGGER_DATABASE_URL"])  # the login really works...
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM annotation")).scalar() == 0
        with pytest.raises(DBAPIError):  # ...with an annotator's rights only
            connection.execute(text("DELETE FROM image"))
    engine.dispose()

    with pytest.raises(ConfigurationError, match="last admin"):
        registry.remove(slug, "thandi")
    registry.remove(slug, "lerato")
    assert registry.roles("lerato") == []
    with pytest.raises(NotFoundError):
        registry.server_environment("lerato", slug)
    gone = make_engine(env["TRAPTAGGER_DATABASE_URL"])  # removed: the login is gone too
    with pytest.raises(DBAPIError), gone.connect():
        pass
    gone.dispose()


def test_rejected_enquiries_and_bad_roles(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'hub.db'}")
    registry.request("Tiny Trust", "a@example.org", "?", requested_by="amy")
    with pytest.raises(ConfigurationError, match="no provisioner"):
        registry.approve("tiny_trust")
    registry.reject("tiny_trust", "not a research organisation")
    assert registry.pending() == []
    with pytest.raises(ConfigurationError, match="rejected, not active"):
        registry.add("tiny_trust", "amy", "member")
    with pytest.raises(ConfigurationError, match="role 'owner'"):
        registry.add("tiny_trust", "amy", "owner")
    registry.close()


def test_passwords_are_salted_hashes_that_check(tmp_path: Path) -> None:
    registry = Registry(f"sqlite:///{tmp_path / 'hub.db'}")
    registry.set_password("amy", "correct horse")
    assert registry.check_password("amy", "correct horse")
    assert not registry.check_password("amy", "Correct horse")
    assert not registry.check_password("bob", "correct horse")
    registry.set_password("bob", "correct horse")
    with registry.sessions() as session:
        stored = dict(session.execute(text("SELECT username, password_hash FROM account")).all())
    assert stored["amy"] != stored["bob"]  # salted
    assert "correct horse" not in stored["amy"]
    with pytest.raises(ConfigurationError, match="8 characters"):
        registry.set_password("amy", "short")
    registry.close()
