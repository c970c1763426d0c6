"""Who a person is on the hub: one canonical form of a user name, and password hashes.

Every path that takes a user name (the login form, the join and enquiry pages,
the registry, JupyterHub's authenticator and the organisations service) goes
through :func:`canonical_username`, so ``Alice``, `` alice `` and ``ALICE`` are
one account, and a name outside the documented character set is refused with
a sentence that says why.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from traptagger_lab.errors import ConfigurationError

#: What a user name may hold, as the forms say it.
USERNAME_RULE = (
    "1 to 64 characters: lower-case letters a-z, digits, '.', '_', '-' or '@', "
    "starting with a letter or digit (capitals count as lower-case)"
)
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
#: The shortest password the hub accepts.
MIN_PASSWORD = 8


def canonical_username(name: str) -> str:
    """The one form of a user name: trimmed and case-folded ("  Alice " -> "alice").

    Raises:
        ConfigurationError: when the name is empty or outside :data:`USERNAME_RULE`.
    """
    canonical = (name or "").strip().casefold()
    if not _USERNAME.match(canonical):
        raise ConfigurationError(f"user name {name.strip()!r} is not allowed: use {USERNAME_RULE}")
    return canonical


def check_new_password(password: str) -> None:
    """Refuse a password too short to choose (the only rule: length)."""
    if len(password) < MIN_PASSWORD:
        raise ConfigurationError(f"a password needs at least {MIN_PASSWORD} characters")


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$salt$hash`` for a password (the salt is random unless given)."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (constant-time compare)."""
    scheme, salt, _ = stored.split("$")
    if scheme != "scrypt":
        return False
    return hmac.compare_digest(hash_password(password, bytes.fromhex(salt)), stored)
