"""One-line explanations of the failures people meet outside the code.

A database that cannot be reached or refuses the login, a database that does
not exist, S3 without credentials, settings that do not validate: the CLI prints
these as one line (``error: ...``) instead of a traceback, and notebooks may do
the same. Passwords in URLs are always masked.
"""

from __future__ import annotations

import re

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError, SQLAlchemyError

from traptagger_lab.errors import TrapTaggerError

#: ``scheme://user:password@`` anywhere in a text.
_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*):[^@\s]*@")

_REFUSED = ("connection refused", "errno 111")
_TIMED_OUT = ("timed out", "timeout expired")
_NO_HOST = ("name or service not known", "failed to resolve host", "unknown mysql server host")
_LOGIN = ("access denied for user", "password authentication failed", "no password supplied")
_NO_DATABASE = re.compile(r'unknown database|database "[^"]*" does not exist')


def mask_secrets(text: str) -> str:
    """``text`` with every password inside a ``scheme://user:password@`` URL replaced by ***."""
    return _CREDENTIALS.sub(r"\g<head>:***@", text)


def one_line(text: str) -> str:
    """``text`` on one line (newlines and runs of blanks folded into one space)."""
    return " ".join(text.split())


def where(url: str) -> str:
    """Where a database URL points, for people: ``host:port/name`` or the SQLite file."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return mask_secrets(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database}" if parsed.database else "in-memory SQLite"
    default_port = {"mysql": 3306, "mariadb": 3306, "postgresql": 5432}
    port = parsed.port or default_port.get(parsed.get_backend_name())
    host = f"{parsed.host or 'localhost'}:{port}" if port else (parsed.host or "localhost")
    return f"{host}/{parsed.database}" if parsed.database else host


def database_problem(exc: BaseException, url: str | None = None) -> str | None:
    """A sentence for a database that cannot be used (down, login refused, missing), or None.

    Args:
        exc: What SQLAlchemy raised while connecting or working.
        url: The database URL, to say where (its password is never shown).
    """
    if isinstance(exc, ArgumentError):
        shown = f" {mask_secrets(url)!r}" if url else ""
        return f"not a usable database URL{shown}: {one_line(str(exc))}"
    if not isinstance(exc, OperationalError | InterfaceError):
        return None  # a constraint, a missing table, a bug: not the user's setup
    detail = one_line(str(exc.orig))
    lowered = detail.lower()
    place = where(url) if url else "the database"
    user = make_url(url).username if url and "://" in url else None
    if "unable to open database file" in lowered:
        return f"cannot open the database ({place}): check the folder exists and is writable"
    if any(s in lowered for s in _REFUSED):
        return f"cannot reach the database at {place}: connection refused (is the server running?)"
    if any(s in lowered for s in _TIMED_OUT):
        return f"cannot reach the database at {place}: the connection timed out"
    if any(s in lowered for s in _NO_HOST):
        return f"cannot reach the database at {place}: unknown host"
    if any(s in lowered for s in _LOGIN) or ("role" in lowered and "does not exist" in lowered):
        who = f" for user {user!r}" if user else ""
        return f"the database at {place} refused the login{who}: wrong user name or password"
    if _NO_DATABASE.search(lowered):
        name = make_url(url).database if url and "://" in url else None
        what = f"database {name!r}" if name else "the database"
        return f"{what} does not exist at {place}: create it first (or fix the URL)"
    if exc.connection_invalidated or "connection" in lowered or "server" in lowered:
        return f"lost the connection to the database at {place}: {mask_secrets(detail)}"
    return None


def storage_problem(exc: BaseException) -> str | None:
    """A sentence for S3 that cannot be used (no credentials, unreachable endpoint), or None."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "BotoCoreError" not in names and "ClientError" not in names:
        return None
    if names & {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}:
        return (
            "no usable AWS credentials for S3: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "an AWS profile or instance role, or key/secret in TRAPTAGGER_STORAGE_OPTIONS"
        )
    if "EndpointConnectionError" in names or "ConnectTimeoutError" in names:
        return f"cannot reach S3: {one_line(str(exc))}"
    return f"S3 refused the request: {one_line(str(exc))}"


def _validation(exc: ValidationError) -> str:
    """A pydantic error as ``invalid <model>: field: problem; ...`` (inputs not repeated)."""
    parts = [
        f"{'.'.join(str(p) for p in error['loc']) or 'value'}: {error['msg']}"
        for error in exc.errors()
    ]
    return f"invalid {exc.title}: " + "; ".join(parts)


#: Modules our optional extras bring, and the extra that installs each.
EXTRAS = {
    "pymysql": "mysql",
    "psycopg": "postgres",
    "s3fs": "aws",
    "boto3": "aws",
    "dask_cloudprovider": "aws",
    "torch": "detect",
    "torchvision": "detect",
    "megadetector": "detect",
    "ipywidgets": "hub",
    "ipyleaflet": "hub",
    "voila": "hub",
}


def missing_extra(exc: BaseException) -> str | None:
    """For a module an extra installs and this install lacks: what to install."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    extra = EXTRAS.get(exc.name.split(".")[0])
    if extra is None:
        return None
    return (
        f"{exc.name} is not installed: it comes with the {extra!r} extra "
        f"(pip install 'traptagger-lab[{extra}]')"
    )


def explain(exc: BaseException, database_url: str | None = None) -> str | None:
    """One line for an expected failure, or None when ``exc`` looks like a bug.

    Expected: TrapTagger Lab's own errors, a module of an extra that is not installed,
    database and S3 access problems, files that cannot be read or written (``OSError``)
    and bad values (``ValueError``).
    """
    if isinstance(exc, TrapTaggerError):
        text = str(exc)
    elif (extra := missing_extra(exc)) is not None:
        text = extra
    elif isinstance(exc, ValidationError):
        text = _validation(exc)
    elif isinstance(exc, SQLAlchemyError):
        text = database_problem(exc, database_url) or ""
    else:
        text = storage_problem(exc) or ""
        if not text and isinstance(exc, OSError | ValueError):
            text = str(exc) or type(exc).__name__
    return mask_secrets(one_line(text)) if text else None
