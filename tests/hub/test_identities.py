"""One account per name whatever its case, invitations that work once, and admins that stay."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from traptagger_hub.identities import canonical_username
from traptagger_hub.orgs import Registry, Role
from traptagger_hub.provision import Provisioner

from traptagger_lab.errors import ConfigurationError, NotFoundError

PASSWORD = "correct horse"


@pytest.fixture
def registry(database_url: str, tmp_path: Path) -> Registry:
    """A registry on each database (SQLite, MariaDB, PostgreSQL) with one active
    organisation, ``wild_trust``, run by ``alice``; its data lives in SQLite files."""
    registry = Registry(database_url, Provisioner("sqlite", tmp_path / "stores"))
    registry.set_password("alice", PASSWORD)
    registry.request("Wild Trust", "a@example.org", "tests", requested_by="alice")
    registry.approve("wild_trust")
    yield registry
    registry.close()


@pytest.mark.parametrize(
    ("typed", "canonical"), [("Alice", "alice"), ("  ALICE ", "alice"), ("j.o-e_1@x", "j.o-e_1@x")]
)
def test_user_names_have_one_form(typed: str, canonical: str) -> None:
    assert canonical_username(typed) == canonical


@pytest.mark.parametrize("bad", ["", "   ", "-alice", "al ice", "alice/..", "a" * 65, "ålice"])
def test_user_names_outside_the_rule_are_refused(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="not allowed"):
        canonical_username(bad)


def test_a_name_in_other_case_is_the_same_account(registry: Registry) -> None:
    token = registry.invite("wild_trust", "member", by="ALICE")  # alice, in capitals
    with pytest.raises(ConfigurationError, match="taken"):
        registry.join(token, "Alice", "mallory's password")  # takeover by case: refused
    assert registry.check_password("alice", PASSWORD)  # her password is unchanged
    assert not registry.check_password("Alice", "mallory's password")
    assert registry.check_password("ALICE", PASSWORD)  # any case logs in as her
    assert registry.roles("Alice") == [Role("wild_trust", "Wild Trust", "admin")]
    # the link was not used up by the refused attempt
    assert registry.join(token, "Bob", "bob's password") == Role(
        "wild_trust", "Wild Trust", "member"
    )
    assert registry.people("wild_trust") == [("alice", "admin"), ("bob", "member")]


def test_joining_never_changes_a_password(registry: Registry) -> None:
    registry.set_password("carol", PASSWORD)  # an account with no role anywhere
    token = registry.invite("wild_trust", "annotator", by="alice")
    with pytest.raises(ConfigurationError, match="taken"):
        registry.join(token, "carol", "another password")
    assert registry.check_password("carol", PASSWORD)
    assert not registry.check_password("carol", "another password")
    registry.join(token, "carol", PASSWORD)  # with her own password she joins
    assert registry.role_of("carol", "wild_trust") == "annotator"


def test_the_last_admin_stays_admin_on_every_path(registry: Registry) -> None:
    token = registry.invite("wild_trust", "annotator", by="alice")
    assert registry.join(token, "alice", PASSWORD).role == "admin"  # no demotion
    with pytest.raises(ConfigurationError, match="last admin"):
        registry.add("wild_trust", "alice", "member")
    with pytest.raises(ConfigurationError, match="last admin"):
        registry.remove("wild_trust", "ALICE")
    registry.add("wild_trust", "dave", "admin")
    registry.add("wild_trust", "alice", "member")  # another admin exists now
    assert registry.people("wild_trust") == [("alice", "member"), ("dave", "admin")]


def test_unknown_used_and_expired_links_say_so(registry: Registry) -> None:
    import datetime as dt

    with pytest.raises(NotFoundError, match="not valid"):
        registry.join("made-up", "erin", PASSWORD)
    assert not registry.check_password("erin", PASSWORD)  # no account for a bad link
    late = registry.invite("wild_trust", "member", by="alice", lifetime=dt.timedelta(seconds=-1))
    with pytest.raises(ConfigurationError, match="expired"):
        registry.join(late, "erin", PASSWORD)
    assert not registry.check_password("erin", PASSWORD)  # nor for an expired one
    info = registry.invitation(registry.invite("wild_trust", "annotator", by="alice"))
    assert (info.name, info.role, info.created_by, info.accepted_by) == (
        "Wild Trust",
        "annotator",
        "alice",
        None,
    )


def test_an_invitation_is_accepted_once_by_concurrent_callers(registry: Registry) -> None:
    token = registry.invite("wild_trust", "member", by="alice")
    for n in range(8):  # accounts first: the race is the invitation's alone
        registry.set_password(f"racer{n}", PASSWORD)
    start = threading.Barrier(8)
    outcomes: dict[int, str] = {}

    def join(n: int) -> None:
        start.wait()
        try:
            registry.join(token, f"racer{n}", PASSWORD)
            outcomes[n] = "joined"
        except ConfigurationError as exc:
            outcomes[n] = str(exc)

    threads = [threading.Thread(target=join, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    joined = [n for n, outcome in outcomes.items() if outcome == "joined"]
    assert len(joined) == 1, outcomes
    assert all("used already" in o for n, o in outcomes.items() if n not in joined), outcomes
    members = [name for name, role in registry.people("wild_trust") if role == "member"]
    assert members == [f"racer{joined[0]}"]
    assert registry.invitation(token).accepted_by == f"racer{joined[0]}"


def test_a_visitor_enquiry_makes_an_account_that_waits_for_approval(registry: Registry) -> None:
    registry.enquire("Bat Trust", "b@example.org", "bats", "Frank", PASSWORD)
    assert registry.check_password("frank", PASSWORD)
    assert registry.roles("frank") == []  # no way in until a platform admin approves
    with pytest.raises(ConfigurationError, match="taken"):
        registry.enquire("Owl Trust", "o@example.org", "owls", "FRANK", "not his password")
    with pytest.raises(ConfigurationError, match="exists already"):
        registry.enquire("Bat Trust", "g@example.org", "bats", "grace", PASSWORD)
    assert not registry.check_password("grace", PASSWORD)  # a refused enquiry makes no account
    registry.approve("bat_trust")
    assert registry.roles("frank") == [Role("bat_trust", "Bat Trust", "admin")]
    assert ("bat_trust", "Bat Trust") in registry.organisations()


def test_a_registry_file_is_the_hubs_alone(tmp_path: Path) -> None:
    path = tmp_path / "hub" / "state" / "registry.db"
    registry = Registry(f"sqlite:///{path}")
    registry.set_password("amy", PASSWORD)  # written, so SQLite made its files
    registry.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    os.chmod(path, 0o644)  # an older registry is made private again when opened
    Registry(f"sqlite:///{path}").close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_people_from_an_older_registry_get_logins_of_their_own(registry: Registry) -> None:
    from sqlalchemy import delete
    from traptagger_hub.registry_tables import PersonLogin

    registry.add("wild_trust", "bob", "annotator")
    with registry.sessions() as session, session.begin():  # as before per-person logins
        session.execute(delete(PersonLogin))
    assert registry.ensure_logins() == 2  # alice and bob
    assert registry.ensure_logins() == 0
    env = registry.server_environment("bob", "wild_trust")
    assert env["TRAPTAGGER_ROLE"] == "annotator"
