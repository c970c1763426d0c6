"""Login passwords that never travel in plaintext: the verifiers the servers store.

PostgreSQL and MariaDB both accept a new password as the value they would
store for it, so the provisioner computes that value here and sends it in
place of the password. The plaintext then reaches no statement, server log or
``pg_stat_statements``: it leaves only in the URL handed to the login's owner.

- PostgreSQL stores a SCRAM-SHA-256 verifier (RFC 5802 and RFC 7677), built as
  libpq's ``PQencryptPasswordConn`` builds it.
- MariaDB stores the ``mysql_native_password`` hash, as its ``PASSWORD()`` does.

Neither value lets its holder log in without the password (or an overheard
login exchange), unlike the plaintext. The functions here are pure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from traptagger_lab.errors import ConfigurationError

#: PBKDF2 rounds of a SCRAM verifier: libpq's and the server's default.
SCRAM_ITERATIONS = 4096


def new_password() -> str:
    """A random password of 32 URL-safe characters (192 bits)."""
    return secrets.token_urlsafe(24)


def scram_sha256_verifier(
    password: str, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS
) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password``.

    ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` (base64
    fields), with a random 16-byte salt unless one is given. Passwords must be
    ASCII: SASLprep (RFC 4013), which libpq applies first, leaves them as they
    are, so this skips it.

    Raises:
        ConfigurationError: the password is not ASCII.
    """
    if not password.isascii():
        raise ConfigurationError("SCRAM verifiers are made for ASCII passwords only")
    salt = secrets.token_bytes(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    b64 = base64.b64encode
    return (
        f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}"
        f"${b64(stored_key).decode()}:{b64(server_key).decode()}"
    )


def mysql_native_hash(password: str) -> str:
    """The ``mysql_native_password`` hash MariaDB stores: ``*`` and SHA1(SHA1(password))."""
    inner = hashlib.sha1(password.encode()).digest()
    return "*" + hashlib.sha1(inner).hexdigest().upper()


def password_clause(backend: str, password: str) -> str:
    """What sets a login's password in ``CREATE``/``ALTER ROLE`` or ``USER``, hashed.

    PostgreSQL: ``PASSWORD '<SCRAM verifier>'``; MariaDB/MySQL: ``IDENTIFIED
    WITH mysql_native_password AS '<hash>'`` (MariaDB's ``IDENTIFIED BY
    PASSWORD`` in the spelling MySQL 8 also accepts). Both values are base64
    or hex, so they need no escaping.
    """
    if backend == "postgresql":
        return f"PASSWORD '{scram_sha256_verifier(password)}'"
    return f"IDENTIFIED WITH mysql_native_password AS '{mysql_native_hash(password)}'"
