"""JupyterHub parts: log in against the registry, start servers with the organisation's settings.

Used by ``hub_config/jupyterhub_config.py`` (the local demo) and by the
production configuration alike; only the authenticator and spawner classes
differ between them, the organisation and role logic is this module's.
"""

from __future__ import annotations

import html
import os
import shutil
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyterhub.auth import Authenticator
from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner
from tornado import web
from traitlets import Unicode, default, validate
from traitlets.config import LoggingConfigurable

from traptagger_hub.accounts import account_names, lock_store
from traptagger_hub.identities import canonical_username
from traptagger_hub.orgs import Registry
from traptagger_hub.registry_tables import Role
from traptagger_hub.server import ANNOTATOR_SERVER_ARGS, EXTENSION_ARGS
from traptagger_hub.settings import checked, from_environment
from traptagger_lab.errors import ConfigurationError
from traptagger_lab.widgets import VOILA_ARGS, voila_environment

#: Members see Python tracebacks in Voila pages (the dashboard they may edit); annotators do not.
MEMBER_VOILA_ARGS = "--VoilaConfiguration.show_tracebacks=True"
#: Kernels no page is connected to (a closed tab's dashboard or app) end after 30 idle
#: minutes instead of piling up; a connected page's kernel is never culled.
KERNEL_CULLING_ARGS = [
    "--MappingKernelManager.cull_idle_timeout=1800",
    "--MappingKernelManager.cull_interval=300",
    "--MappingKernelManager.cull_connected=False",
]
#: Where an annotator lands: the annotation app, served by Voila.
ANNOTATOR_URL = "/voila/render/annotate.ipynb"
#: Where members and admins land: the welcome notebook (what to do first), in JupyterLab.
MEMBER_URL = "/lab/tree/welcome.ipynb"

_registries: dict[str, Registry] = {}

if TYPE_CHECKING:  # the mixins below go in front of JupyterHub's classes
    from jupyterhub.auth import Authenticator as _Authenticator
    from jupyterhub.spawner import Spawner as _Spawner
else:  # configurable, so that their traits work in front of any JupyterHub class
    _Authenticator = _Spawner = LoggingConfigurable


def registry_at(url: str) -> Registry:
    """The registry at ``url`` (one per hub process)."""
    if url not in _registries:
        _registries[url] = Registry(url)
    return _registries[url]


def copy_notebooks(source: Path, organisation_folder: Path) -> Path:
    """Copy the notebooks an organisation does not have yet into its folder; returns it."""
    target = organisation_folder / "notebooks"
    target.mkdir(parents=True, exist_ok=True)
    for notebook in source.glob("*.ipynb"):
        if not (target / notebook.name).exists():
            shutil.copy2(notebook, target / notebook.name)
    return target


def organisation_environment(
    registry: Registry, username: str, organisation: str, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """What a person's server runs with in an organisation: ``base`` plus the organisation's
    database login, store and identity for their role, its workspace when the store is a
    folder, and our offline Voila template."""
    env = {**(base or {}), **registry.server_environment(username, organisation)}
    env = voila_environment(env)  # our Voila template: pages that need no outside host
    store = env["TRAPTAGGER_STORAGE_URL"]
    if store.startswith("file://"):  # the organisation's private folder holds its workspace
        env["TRAPTAGGER_WORKSPACE"] = store.removeprefix("file://")
    return env


def with_default_interrupt(preexec: Callable[[], None] | None) -> Callable[[], None]:
    """A ``preexec_fn`` for a server's process: SIGINT back to its default, then ``preexec``.

    JupyterHub stops a server with SIGINT, and only after ``interrupt_timeout`` (30 s) with
    SIGTERM. A hub started with SIGINT ignored (a shell's background job is) would hand
    the ignore down to every server, and each stop would wait out that timeout.
    """

    def preexec_fn() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if preexec is not None:
            preexec()

    return preexec_fn


def chooser_html(roles: list[Role]) -> str:
    """The spawn page's organisation choice for someone with roles in several (else empty)."""
    if len(roles) < 2:
        return ""
    options = "".join(
        f"<option value='{html.escape(r.organisation)}'>{html.escape(r.name)} ({r.role})</option>"
        for r in roles
    )
    return (
        "<label for='organisation'>Work in organisation</label> "
        f"<select id='organisation' name='organisation' class='form-control'>{options}</select>"
    )


def organisation_form(spawner: Any) -> str:
    """JupyterHub's ``options_form`` callable: the chooser for the spawner's user."""
    return chooser_html(spawner.registry.roles(spawner.user.name))


class RegistryClient(LoggingConfigurable):
    """Mixin of the hub's parts that read the registry (authenticator and spawner):
    ``c.RegistryClient.registry_url`` sets it for both."""

    registry_url = Unicode(
        config=True,
        help="""The registry's SQLAlchemy database URL (organisations, roles, passwords and
        every organisation's database logins), e.g. 'sqlite:////srv/hub/registry.db' or
        'mysql://hub:PASSWORD@db/hub_registry'. Default: $TRAPTAGGER_HUB_REGISTRY, read
        when the authenticator or spawner is made; required.""",
    ).tag(env="TRAPTAGGER_HUB_REGISTRY", required=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.registry_url  # noqa: B018 - a missing or bad registry stops the hub as it starts

    @default("registry_url")
    def _registry_url_default(self) -> str:
        return str(from_environment(self, "registry_url"))

    @validate("registry_url")
    def _check_registry_url(self, proposal: Any) -> str:
        return str(checked(self, "registry_url", proposal["value"]))

    @property
    def registry(self) -> Registry:
        """The registry at :attr:`registry_url` (one per hub process)."""
        return registry_at(self.registry_url)


class RegistryRoles(RegistryClient, _Authenticator):
    """Mixin for any Authenticator (passwords here, OAuth in production): only people
    with a role in an active organisation are allowed in."""

    def normalize_username(self, username: str) -> str:
        """The registry's one form of a name (trimmed, case-folded): ``Alice`` is ``alice``."""
        try:
            return canonical_username(username)
        except ConfigurationError:  # left as typed: validate_username refuses it
            return username

    def validate_username(self, username: str) -> bool:
        """Only names in the registry's documented character set."""
        try:
            return canonical_username(username) == username
        except ConfigurationError:
            return False

    def check_allowed(self, username: str, authentication: Any = None) -> bool:
        """Allowed when the registry gives them a role somewhere (roles decide what they reach)."""
        return bool(self.registry.roles(username))


class RegistryAuthenticator(RegistryRoles, Authenticator):
    """The local demo's logins: passwords from the registry."""

    async def authenticate(self, handler: Any, data: dict[str, str]) -> str | None:
        """The username when the password is right and they belong somewhere, else None."""
        registry = self.registry
        try:
            username = canonical_username(data.get("username", ""))
        except ConfigurationError:
            return None
        if not registry.check_password(username, data.get("password", "")):
            return None
        if not registry.roles(username):
            self.log.warning("%s logged in but belongs to no active organisation", username)
            waiting = [o.name for o in registry.pending() if o.requested_by == username]
            if waiting:  # the right password: say why they cannot come in yet
                raise web.HTTPError(
                    403,
                    f"Your enquiry for {waiting[0]} is waiting for a platform admin's "
                    "approval: you can sign in once it is approved.",
                )
            return None
        return username


class OrganisationSettings(RegistryClient, _Spawner):
    """Mixin for any Spawner (local processes here, Docker or Kubernetes in production):
    start a user's server with their organisation's settings, per their role there.

    Members and admins get JupyterLab; annotators get a server that serves
    only the Voila annotation app, with the annotator database login.
    """

    notebooks = Unicode(
        "",
        config=True,
        help="""The folder of the notebooks people open (annotate.ipynb, welcome.ipynb...),
        as the servers see it: with local stores each organisation gets its own copy in its
        folder (copied when missing), else servers open this folder itself. Empty: servers
        start in their default folder. Default: $TRAPTAGGER_HUB_NOTEBOOKS, else empty.""",
    ).tag(env="TRAPTAGGER_HUB_NOTEBOOKS")

    @default("notebooks")
    def _notebooks_default(self) -> str:
        return str(from_environment(self, "notebooks"))

    @default("options_form")
    def _organisation_chooser(self) -> Any:
        return organisation_form

    def options_from_form(self, formdata: dict[str, list[str]]) -> dict[str, str]:
        """The organisation the person chose (checked against their roles at spawn)."""
        return {"organisation": (formdata.get("organisation") or [""])[0]}

    def _role(self) -> tuple[str, str]:
        registry = self.registry
        roles = registry.roles(self.user.name)
        wanted = (self.user_options or {}).get("organisation")
        chosen = next((r for r in roles if r.organisation == wanted), roles[0] if roles else None)
        if chosen is None:
            raise RuntimeError(f"{self.user.name} belongs to no active organisation")
        return chosen.organisation, chosen.role

    def get_env(self) -> dict[str, str]:
        """The usual environment plus the organisation's database, store and identity."""
        env: dict[str, str] = super().get_env()
        organisation, _ = self._role()
        registry = self.registry
        return organisation_environment(registry, self.user.name, organisation, env)

    def _root_dir(self) -> str | None:
        """The organisation's own copy of the notebooks (so one's edits stay in one's org)."""
        if not self.notebooks:
            return None
        organisation, _ = self._role()
        store = self.registry.server_environment(self.user.name, organisation)[
            "TRAPTAGGER_STORAGE_URL"
        ]
        if not store.startswith("file://"):
            return self.notebooks
        return str(copy_notebooks(Path(self.notebooks), Path(store.removeprefix("file://"))))

    def get_args(self) -> list[str]:
        """Annotators' servers run Voila only; the others the usual JupyterLab."""
        args: list[str] = super().get_args()
        _, role = self._role()
        root = self._root_dir()
        if root:
            args.append(f"--ServerApp.root_dir={root}")
        if os.geteuid() == 0:  # containers and CI machines often run everything as root
            args.append("--allow-root")
        args.extend(EXTENSION_ARGS)
        args.extend(VOILA_ARGS)
        args.extend(KERNEL_CULLING_ARGS)
        if role == "annotator":
            args.extend(ANNOTATOR_SERVER_ARGS)
        else:  # members debug their own apps in Voila; annotators never see a traceback
            args.append(MEMBER_VOILA_ARGS)
        return args

    async def start(self) -> Any:
        """Send annotators straight to the annotation app."""
        _, role = self._role()
        self.default_url = ANNOTATOR_URL if role == "annotator" else MEMBER_URL
        return await super().start()


class OrganisationSpawner(OrganisationSettings, SimpleLocalProcessSpawner):
    """The local demo's spawner: servers as local processes."""

    def make_preexec_fn(self, name: str) -> Callable[[], None]:
        """The usual set-up of the server's process, which stops on the hub's SIGINT."""
        return with_default_interrupt(super().make_preexec_fn(name))


class OrganisationAccountSpawner(OrganisationSettings, LocalProcessSpawner):
    """Servers as local processes, each running as its organisation role's system account
    (a hub running as root on one machine; see :mod:`traptagger_hub.accounts`)."""

    def _account(self) -> str:
        organisation, role = self._role()
        return account_names(organisation).for_role(role)

    @staticmethod
    def _scratch(account: str) -> Path:
        """Where the account's server may write Jupyter's runtime and caches."""
        return Path("/tmp") / f"traptagger-{account}"

    def make_preexec_fn(self, name: str) -> Callable[[], None]:
        """Drop to the organisation role's account, not to one named after the person (in a
        process that stops on the hub's SIGINT)."""
        return with_default_interrupt(super().make_preexec_fn(self._account()))

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        """The account's identity, and scratch folders it may write (its home is the store,
        which annotators may only read)."""
        import pwd

        account = pwd.getpwnam(self._account())
        scratch = self._scratch(account.pw_name)
        env.update(
            USER=account.pw_name,
            HOME=account.pw_dir,
            SHELL="/bin/sh",
            JUPYTER_RUNTIME_DIR=str(scratch / "runtime"),
            JUPYTER_DATA_DIR=str(scratch / "data"),
            IPYTHONDIR=str(scratch / "ipython"),
            MPLCONFIGDIR=str(scratch / "matplotlib"),
            DASK_TEMPORARY_DIRECTORY=str(scratch / "dask"),
        )
        return env

    def _root_dir(self) -> str | None:
        root = super()._root_dir()
        organisation, _ = self._role()
        if root and Path(root).parent.name == organisation:  # the organisation's own copy
            lock_store(Path(root), account_names(organisation))
        return root

    async def start(self) -> Any:
        """Make the account's scratch folder, then start as usual."""
        import pwd

        account = pwd.getpwnam(self._account())
        scratch = self._scratch(account.pw_name)
        scratch.mkdir(mode=0o700, exist_ok=True)
        os.chown(scratch, account.pw_uid, account.pw_gid)
        return await super().start()
