"""The hub's and the organisations service's settings: documented traitlets whose defaults
come from the environment.

JupyterHub starts the organisations service (``python -m traptagger_hub.service``) with
the environment of its ``services`` entry (see ``hub_config/jupyterhub_config.py``), and
the hub's authenticator and spawner run in a hub started by ``traptagger-hub demo`` with
``TRAPTAGGER_HUB_*`` set. So every setting falls back to an environment variable (the
trait's ``env`` tag), read when the object is made, never at import; configuration given
explicitly (``c.ServiceSettings.database_server = ...`` or the command line's
``--ServiceSettings.database_server=...``) wins over the environment.

A bad value, configured or from the environment, raises a one-line ``TraitError`` that
names the setting, its variable and what it should look like.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from traitlets import Bool, HasTraits, List, TraitError, Unicode, default, validate
from traitlets.config import Configurable

from traptagger_hub.identities import canonical_username
from traptagger_lab.errors import ConfigurationError

#: The servers an organisation's database may live on (SQLAlchemy backend names).
DATABASE_SERVERS = ("mysql", "mariadb", "postgresql")


def _url_path(value: str) -> str:
    if not (value.startswith("/") and value.endswith("/")):
        raise ValueError(f"{value!r} is not a URL path starting and ending with '/'")
    return value


def _service_url(value: str) -> str:
    address = urlparse(value)
    if address.scheme not in ("http", "https") or not address.hostname:
        raise ValueError(f"{value!r} is not an http://host:port address")
    try:
        address.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ValueError(f"{value!r} has a port that is not a number") from None
    return value


def _registry_url(value: str) -> str:
    try:
        make_url(value)
    except ArgumentError:
        raise ValueError(
            f"{value!r} is not a database URL (e.g. sqlite:////srv/hub/registry.db)"
        ) from None
    return value


def _database_server(value: str) -> str:
    if value == "sqlite":
        return value
    try:
        backend = make_url(value).get_backend_name()
    except ArgumentError:
        backend = ""
    if backend not in DATABASE_SERVERS:
        raise ValueError(
            f"{value!r} is not a database server: give a MariaDB/MySQL or PostgreSQL URL "
            "with a login that may create databases and users, or 'sqlite' (a local demo)"
        )
    return value


def _organisations(value: str) -> str:
    if not value.strip():
        raise ValueError("empty: give a folder or an s3://bucket/prefix URL")
    if value.startswith("s3://") and not value.removeprefix("s3://").split("/")[0]:
        raise ValueError(f"{value!r} names no bucket")
    return value


def _endpoint(value: str) -> str:
    if value and (urlparse(value).scheme not in ("http", "https") or not urlparse(value).netloc):
        raise ValueError(f"{value!r} is not an http(s):// URL (leave it empty for AWS)")
    return value


def _flag(value: str) -> bool:
    if value not in ("1", "0", ""):
        raise ValueError(f"{value!r} is neither '1' (yes) nor '0' (no)")
    return value == "1"


def _names(value: str) -> list[str]:
    return [name for name in value.split(",") if name.strip()]


def _admins(value: list[str]) -> list[str]:
    try:
        return sorted({canonical_username(name) for name in value})
    except ConfigurationError as exc:
        raise ValueError(str(exc)) from None


#: How a setting's value is checked and put in its one form (raising ValueError), by name.
CHECKS: dict[str, Callable[[Any], Any]] = {
    "service_prefix": _url_path,
    "service_url": _service_url,
    "hub_base_url": _url_path,
    "registry_url": _registry_url,
    "organisations": _organisations,
    "database_server": _database_server,
    "s3_endpoint_url": _endpoint,
    "platform_admins": _admins,
}
#: How an environment variable's text becomes a setting's value, where it is not the text.
PARSERS: dict[str, Callable[[str], Any]] = {"os_accounts": _flag, "platform_admins": _names}


def setting_name(owner: HasTraits, name: str) -> str:
    """How a person finds setting ``name`` of ``owner``: ``Class.name ($VARIABLE)``."""
    return f"{type(owner).__name__}.{name} (${owner.trait_metadata(name, 'env')})"


def checked(owner: HasTraits, name: str, value: Any) -> Any:
    """``value`` for setting ``name`` in its one form, or a TraitError naming the setting."""
    try:
        return CHECKS.get(name, lambda same: same)(value)
    except ValueError as exc:
        raise TraitError(f"{setting_name(owner, name)}: {exc}") from None


def from_environment(owner: HasTraits, name: str) -> Any:
    """Setting ``name``'s default: the value of its variable (the trait's ``env`` tag) now,
    checked, else the trait's documented default; a ``required`` one raises instead."""
    trait = owner.traits()[name]
    text = os.environ.get(trait.metadata["env"])
    if text is None:
        if trait.metadata.get("required"):
            raise TraitError(
                f"{setting_name(owner, name)} is not set: configure it or set the variable"
            )
        return trait.default()  # the documented default (a fresh copy of a list)
    try:
        value = PARSERS.get(name, str)(text)
    except ValueError as exc:
        raise TraitError(f"{setting_name(owner, name)}: {exc}") from None
    return checked(owner, name, value)


class ServiceSettings(Configurable):
    """What the organisations service needs: where it listens, its registry, and where
    approved organisations' databases and stores go. Made once in the service's ``main``
    and passed to what needs it; nothing else reads the environment."""

    service_prefix = Unicode(
        config=True,
        help="""The URL path JupyterHub routes to this service, starting and ending with
        '/' (e.g. '/services/organisations/'). Default: $JUPYTERHUB_SERVICE_PREFIX, which
        JupyterHub sets for the services it starts; required.""",
    ).tag(env="JUPYTERHUB_SERVICE_PREFIX", required=True)

    service_url = Unicode(
        config=True,
        help="""Where this service listens: an http://host:port URL (e.g.
        'http://127.0.0.1:8010'; port 80 when none is given). Default:
        $JUPYTERHUB_SERVICE_URL (the 'url' of the hub's services entry); required.""",
    ).tag(env="JUPYTERHUB_SERVICE_URL", required=True)

    hub_base_url = Unicode(
        "/",
        config=True,
        help="""The hub's base URL path (JupyterHub.base_url), starting and ending with
        '/'; links to the hub's own pages go under it plus 'hub/'. Default:
        $JUPYTERHUB_BASE_URL, else '/'.""",
    ).tag(env="JUPYTERHUB_BASE_URL")

    registry_url = Unicode(
        config=True,
        help="""The registry's SQLAlchemy database URL: organisations, roles, passwords and
        every organisation's database logins, so keep it on the hub's side only (e.g.
        'sqlite:////srv/hub/registry.db', 'mysql://hub:PASSWORD@db/hub_registry').
        Default: $TRAPTAGGER_HUB_REGISTRY; required.""",
    ).tag(env="TRAPTAGGER_HUB_REGISTRY", required=True)

    organisations = Unicode(
        "organisations",
        config=True,
        help="""Where approved organisations' stores go: a local folder (relative to the
        service's working directory) holding a private folder per organisation, or
        's3://bucket/prefix' (a prefix per organisation, with IAM logins of its own).
        Default: $TRAPTAGGER_HUB_ORGANISATIONS, else 'organisations'.""",
    ).tag(env="TRAPTAGGER_HUB_ORGANISATIONS")

    database_server = Unicode(
        "sqlite",
        config=True,
        help="""Where approved organisations' databases go: the URL of a MariaDB/MySQL or
        PostgreSQL server with a login that may create databases and users (e.g.
        'mysql://root@127.0.0.1:3306', 'postgresql://provisioner:PASSWORD@db'), or
        'sqlite' (a local demo: a SQLite file per organisation, no logins). Default:
        $TRAPTAGGER_HUB_DATABASE_SERVER, else 'sqlite'.""",
    ).tag(env="TRAPTAGGER_HUB_DATABASE_SERVER")

    s3_endpoint_url = Unicode(
        "",
        config=True,
        help="""The S3 endpoint, an http(s):// URL, when 'organisations' is an s3:// URL on
        an S3 other than AWS's (MinIO, moto); empty for AWS. Default:
        $TRAPTAGGER_HUB_S3_ENDPOINT_URL, else empty.""",
    ).tag(env="TRAPTAGGER_HUB_S3_ENDPOINT_URL")

    os_accounts = Bool(
        False,
        config=True,
        help="""Whether each organisation role gets a system account that alone may open
        the organisation's folder, servers running as it (a hub run as root, with local
        stores and a database server). Default: $TRAPTAGGER_HUB_OS_ACCOUNTS, '1' for yes,
        '0' or empty for no; else False.""",
    ).tag(env="TRAPTAGGER_HUB_OS_ACCOUNTS")

    platform_admins = List(
        Unicode(),
        config=True,
        help="""User names of the platform admins, who approve or reject enquiries for new
        organisations, in the registry's one form of a name ('Admin' is 'admin').
        Default: $TRAPTAGGER_PLATFORM_ADMINS, comma-separated ('admin, alice'), else
        nobody.""",
    ).tag(env="TRAPTAGGER_PLATFORM_ADMINS")

    @validate(*CHECKS)
    def _check(self, proposal: Any) -> Any:
        return checked(self, proposal["trait"].name, proposal["value"])

    @default("service_prefix")
    def _service_prefix_default(self) -> str:
        return str(from_environment(self, "service_prefix"))

    @default("service_url")
    def _service_url_default(self) -> str:
        return str(from_environment(self, "service_url"))

    @default("hub_base_url")
    def _hub_base_url_default(self) -> str:
        return str(from_environment(self, "hub_base_url"))

    @default("registry_url")
    def _registry_url_default(self) -> str:
        return str(from_environment(self, "registry_url"))

    @default("organisations")
    def _organisations_default(self) -> str:
        return str(from_environment(self, "organisations"))

    @default("database_server")
    def _database_server_default(self) -> str:
        return str(from_environment(self, "database_server"))

    @default("s3_endpoint_url")
    def _s3_endpoint_url_default(self) -> str:
        return str(from_environment(self, "s3_endpoint_url"))

    @default("os_accounts")
    def _os_accounts_default(self) -> bool:
        return bool(from_environment(self, "os_accounts"))

    @default("platform_admins")
    def _platform_admins_default(self) -> list[str]:
        return list(from_environment(self, "platform_admins"))

    def check(self) -> None:
        """Read every setting now, so that a missing or bad one stops the service as it
        starts (a setting is otherwise read when first used)."""
        for name in sorted(self.trait_names(config=True)):
            getattr(self, name)
