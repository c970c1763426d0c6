"""Operating-system accounts per organisation role, for hubs whose servers run on one machine.

When the hub runs as root (a single-server deployment without containers),
each organisation gets two system accounts, and its people's servers run as
the account of their role:

- ``tt-<org>-member``: owns the organisation's store directory (read and write);
- ``tt-<org>-annotator``: in the directory's group, so it may read but not write.

The directory is ``2750``: nobody else, and so no other organisation's
server, can open it. The kernel, not Python, enforces this.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path

from traptagger_lab.errors import ConfigurationError

ROLES = ("member", "annotator")


@dataclass(frozen=True)
class OsAccounts:
    """The two system accounts of an organisation."""

    member: str
    annotator: str

    def for_role(self, role: str) -> str:
        """The account a server of ``role`` runs as (admins work as members)."""
        return self.annotator if role == "annotator" else self.member


def account_names(slug: str) -> OsAccounts:
    """Account names for an organisation: readable, unique, within Linux's 32 characters."""
    digest = hashlib.sha1(slug.encode()).hexdigest()[:6]
    stem = f"tt-{slug[:14].rstrip('_')}-{digest}"
    return OsAccounts(f"{stem}-m", f"{stem}-a")


def accounts_possible(python: str) -> str | None:
    """Why servers cannot run as organisations' accounts here, or None when they can:
    the hub must run as root, and an unprivileged account must be able to start ``python``
    (not the case when it lies under a folder only root may open, such as /root)."""
    if os.geteuid() != 0:
        return "the hub does not run as root"
    probe = subprocess.run(
        ["runuser", "-u", "nobody", "--", python, "-c", "import traptagger_hub"],
        capture_output=True,
    )
    if probe.returncode != 0:
        return f"other accounts cannot run {python} with this project (a folder only root opens?)"
    return None


def ensure_accounts(slug: str, home: Path) -> OsAccounts:
    """Create the organisation's accounts (idempotent), with ``home`` as their home."""
    if os.geteuid() != 0:
        raise ConfigurationError("per-organisation system accounts need the hub to run as root")
    accounts = account_names(slug)
    for name in (accounts.member, accounts.annotator):
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    str(home),
                    "--shell",
                    "/usr/sbin/nologin",
                    name,
                ],
                check=True,
                capture_output=True,
            )
    return accounts


def lock_store(directory: Path, accounts: OsAccounts) -> None:
    """Give the store to the member account, readable by the annotator account's group only."""
    member = pwd.getpwnam(accounts.member)
    annotators = grp.getgrnam(accounts.annotator)
    for path in [directory, *directory.rglob("*")]:
        os.chown(path, member.pw_uid, annotators.gr_gid, follow_symlinks=False)
        if path.is_dir() and not path.is_symlink():
            os.chmod(path, 0o2750)  # setgid: new files keep the annotators' group


def remove_accounts(slug: str) -> None:
    """Delete the organisation's accounts (their files stay, owned by the bare ids)."""
    for name in (account_names(slug).member, account_names(slug).annotator):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        subprocess.run(["userdel", name], check=True, capture_output=True)
