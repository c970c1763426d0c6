"""The local demo hub: one organisation with the sample survey, three people, JupyterHub.

``make demo`` runs ``traptagger-hub demo``: it creates (or reuses) the demo
state folder, provisions the "Demo Wildlife Trust" organisation on the local
MariaDB when one answers (else on SQLite), ingests and clusters the sample
survey into it, makes an annotation task, gives an admin, a member and an
annotator passwords, prints the logins, and runs JupyterHub on 127.0.0.1:8000
until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from traptagger_hub.accounts import accounts_possible, ensure_accounts, lock_store
from traptagger_hub.orgs import Registry
from traptagger_hub.provision import Provisioner, slug_for
from traptagger_lab.db.engine import make_engine

log = logging.getLogger(__name__)

ORGANISATION = "Demo Wildlife Trust"
SURVEY = "Demo survey"
PEOPLE = {"admin": "admin", "member": "member", "annotator": "annotator"}
REPO = Path(__file__).resolve().parents[2]
DEFAULT_SERVER = "mysql://root@127.0.0.1:3306"


@dataclass(frozen=True)
class DemoHub:
    """What the demo made: where its registry is, the organisation, and the logins."""

    state: Path
    registry_url: str
    organisation: str
    logins: dict[str, tuple[str, str]]  # username -> (password, role)
    os_accounts: bool = False  # servers run as the organisation's system accounts


def _server_or_sqlite(server: str) -> str:
    """``server`` when it answers, else ``sqlite`` (organisations then live in SQLite files)."""
    if server == "sqlite":
        return server
    try:
        engine = make_engine(server)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return server
    except Exception as exc:  # no server on this machine: the demo still runs
        log.warning("no database server at %s (%s): organisations go to SQLite", server, exc)
        return "sqlite"


def os_accounts_for(backend: str) -> bool:
    """Whether the demo's servers run as the organisation's system accounts (so no kernel
    can read the hub's registry): by default when the hub runs as root with a database
    server; say why not otherwise."""
    why_not = "organisations live in SQLite files" if backend == "sqlite" else None
    why_not = why_not or accounts_possible(sys.executable)
    if why_not:
        log.warning(
            "servers run as this account, not as the organisation's own (%s): every kernel "
            "can read what this account can",
            why_not,
        )
    return why_not is None


def _private_folders(state: Path) -> None:
    """The demo folder: others may pass through to the organisations' stores (each locked to
    its accounts) but list nothing; the registry, logins and hub state are the hub's alone."""
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o711)
    (state / "organisations").mkdir(exist_ok=True)
    os.chmod(state / "organisations", 0o711)


def prepare(state: Path, server: str = DEFAULT_SERVER, data: Path | None = None) -> DemoHub:
    """Create the demo organisation, its data and its people, or reuse them when there."""
    from traptagger_lab.demo import build_demo

    state = state.resolve()
    _private_folders(state)
    registry_url = f"sqlite:///{state / 'registry.db'}"
    logins_file = state / "logins.json"
    backend = _server_or_sqlite(server)
    accounts = os_accounts_for(backend)
    provisioner = Provisioner(backend, state / "organisations", os_accounts=accounts)
    registry = Registry(registry_url, provisioner)
    try:
        slug = slug_for(ORGANISATION)
        if not registry.roles("admin"):
            # a fresh demo: clear what an earlier, deleted demo folder left on the server
            registry.provisioner.drop(slug)  # type: ignore[union-attr]
            registry.request(ORGANISATION, "demo@example.org", "the local demo", "admin")
            registry.approve(slug, "approved by the demo")
            registry.add(slug, "member", "member")
            registry.add(slug, "annotator", "annotator")
            logins = {name: (secrets.token_urlsafe(9), role) for name, role in PEOPLE.items()}
            for name, (password, _) in logins.items():
                registry.set_password(name, password)
            logins_file.write_text(json.dumps(logins, indent=2))
            os.chmod(logins_file, 0o600)
        else:  # a demo from before per-person database logins gets them now
            registry.ensure_logins()
        logins = {k: tuple(v) for k, v in json.loads(logins_file.read_text()).items()}
        env = registry.server_environment("member", slug)
    finally:
        registry.close()
    store = env["TRAPTAGGER_STORAGE_URL"].removeprefix("file://")
    summary = build_demo(
        Path(store),
        data,
        SURVEY,
        database_url=env["TRAPTAGGER_DATABASE_URL"],
        storage_url=env["TRAPTAGGER_STORAGE_URL"],
    )
    log.info("demo organisation: %s", json.dumps(summary["status"], default=str))
    if accounts:  # what the demo wrote here as root goes to the organisation's accounts
        lock_store(Path(store), ensure_accounts(slug, Path(store)))
    return DemoHub(state, registry_url, slug, logins, accounts)


def hub_environment(demo: DemoHub, port: int = 8000, server: str = "sqlite") -> dict[str, str]:
    """The environment ``hub_config/jupyterhub_config.py`` reads."""
    env = {
        **os.environ,
        "TRAPTAGGER_HUB_REGISTRY": demo.registry_url,
        "TRAPTAGGER_HUB_STATE": str(demo.state / "hub"),
        "TRAPTAGGER_HUB_NOTEBOOKS": str(REPO / "notebooks"),
        "TRAPTAGGER_HUB_PORT": str(port),
        "TRAPTAGGER_HUB_PROXY": str(
            REPO / "hub_config/proxy/node_modules/.bin/configurable-http-proxy"
        ),
        "TRAPTAGGER_HUB_ORGANISATIONS": str(demo.state / "organisations"),
        "TRAPTAGGER_HUB_DATABASE_SERVER": server,
        "TRAPTAGGER_HUB_OS_ACCOUNTS": "1" if demo.os_accounts else "0",
        "TRAPTAGGER_PLATFORM_ADMINS": "admin",  # the demo's admin also approves enquiries
    }
    for variable in (
        "TRAPTAGGER_DATABASE_URL",
        "TRAPTAGGER_STORAGE_URL",
        "TRAPTAGGER_WORKSPACE",
        "TRAPTAGGER_HUB_API_PORT",  # chosen free by the hub's config: hubs side by side
        "TRAPTAGGER_HUB_PROXY_API_PORT",
        "TRAPTAGGER_HUB_SERVICE_PORT",
    ):
        env.pop(variable, None)
    return env


def serve(demo: DemoHub, port: int = 8000, server: str = "sqlite") -> int:
    """Run JupyterHub until Ctrl-C (which stops the hub, its proxy and the users' servers)."""
    hub = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(REPO / "hub_config/jupyterhub_config.py")],
        env=hub_environment(demo, port, server),
        cwd=demo.state,
    )
    try:
        return hub.wait()
    except KeyboardInterrupt:
        # Ctrl-C reached the hub too (same process group): let it stop its proxy and the
        # users' servers; a second signal now would cut that clean-up short
        try:
            return hub.wait(timeout=60)
        except subprocess.TimeoutExpired:
            hub.terminate()
            try:
                return hub.wait(timeout=30)
            except subprocess.TimeoutExpired:
                hub.kill()
                return 1


def main(argv: list[str] | None = None) -> int:
    """``traptagger-hub demo [--state DIR] [--data DIR] [--server URL] [--port N] [--no-serve]``."""
    parser = argparse.ArgumentParser(prog="traptagger-hub", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="prepare the demo organisation and run the hub")
    demo.add_argument("--state", type=Path, default=Path("demo-hub"))
    demo.add_argument("--data", type=Path, default=None, help="your own photos")
    demo.add_argument("--server", default=DEFAULT_SERVER, help="database server, or 'sqlite'")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--no-serve", action="store_true", help="prepare only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        made = prepare(args.state, args.server, args.data)
    except OperationalError as exc:  # the server refuses the logins this demo state holds
        print(
            f"\nThe database server refused the demo organisation's login kept in {args.state}: "
            f"{exc.orig}.\nAnother demo on this server may have made the organisation again "
            f"(with new passwords). Remove {args.state} (or use --state for another folder) "
            "and run the demo again.",
            file=sys.stderr,
        )
        return 1
    print(f"\nTrapTagger Lab demo: organisation {ORGANISATION!r}")
    for name, (password, role) in made.logins.items():
        print(f"  {role:<10} user {name!r:<12} password {password!r}")
    print(f"(also in {made.state / 'logins.json'})")
    if args.no_serve:
        return 0
    print(f"\nJupyterHub on http://127.0.0.1:{args.port}  (Ctrl-C stops it)\n", flush=True)
    return serve(made, args.port, _server_or_sqlite(args.server))


if __name__ == "__main__":
    sys.exit(main())
