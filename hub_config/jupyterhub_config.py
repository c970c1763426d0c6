"""JupyterHub for the local demo: TrapTagger Lab organisations on 127.0.0.1.

Started by ``make demo`` (through ``traptagger hub``); every setting comes from
the environment that command sets:

- ``TRAPTAGGER_HUB_REGISTRY``: the registry database (organisations, roles, passwords);
- ``TRAPTAGGER_HUB_STATE``: folder for the hub's own database and cookie secret;
- ``TRAPTAGGER_HUB_NOTEBOOKS``: the notebooks users open;
- ``TRAPTAGGER_HUB_PORT`` (8000) and ``TRAPTAGGER_HUB_PROXY`` (configurable-http-proxy);
  the hub's, the proxy API's and the service's own ports follow ``TRAPTAGGER_HUB_API_PORT``,
  ``TRAPTAGGER_HUB_PROXY_API_PORT`` and ``TRAPTAGGER_HUB_SERVICE_PORT`` when set, else are
  free ports chosen at start (so two hubs run side by side on one machine);
- ``TRAPTAGGER_HUB_ORGANISATIONS`` (where new organisations' stores go: a folder, or
  ``s3://bucket/prefix`` with ``TRAPTAGGER_HUB_S3_ENDPOINT_URL`` for an S3 other than AWS),
  ``TRAPTAGGER_HUB_DATABASE_SERVER`` (where their databases go: a server URL or ``sqlite``),
  ``TRAPTAGGER_HUB_OS_ACCOUNTS=1`` (a hub run as root: each organisation role gets a system
  account that alone can open the organisation's folder, and servers run as it)
  and ``TRAPTAGGER_PLATFORM_ADMINS`` (who approves enquiries), for the organisations service.

The hub's classes and the service read their own variables when they are made: they are
the defaults of documented traits (``traptagger_hub.hub.RegistryClient.registry_url``,
``OrganisationSettings.notebooks``, ``traptagger_hub.settings.ServiceSettings``), which
configuration here would override.

Production differs only in the classes and services (see ``production_config.py``).
"""

import os
import socket
import sys
from pathlib import Path

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - provided by JupyterHub


def port(variable: str) -> int:
    """The port ``variable`` names, else a free one on 127.0.0.1."""
    if os.environ.get(variable):
        return int(os.environ[variable])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


state = Path(os.environ.get("TRAPTAGGER_HUB_STATE", "hub-state"))
state.mkdir(mode=0o700, parents=True, exist_ok=True)
os.chmod(state, 0o700)  # the hub's database, cookie secret and tokens: the hub's alone
os.close(os.open(state / "jupyterhub.sqlite", os.O_CREAT | os.O_RDWR, 0o600))
os.chmod(state / "jupyterhub.sqlite", 0o600)  # (SQLite's journals copy its mode)

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ.get("TRAPTAGGER_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = port("TRAPTAGGER_HUB_API_PORT")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.ConfigurableHTTPProxy.command = [
    os.environ.get("TRAPTAGGER_HUB_PROXY", "configurable-http-proxy")
]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port('TRAPTAGGER_HUB_PROXY_API_PORT')}"
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")

# Our login page (product, what it is, a link to ask for an organisation): templates/.
c.JupyterHub.template_paths = [str(Path(__file__).resolve().parent / "templates")]
c.JupyterHub.template_vars = {
    "product": "TrapTagger Lab",
    "enquiry_url": "/services/organisations/enquire",
}

c.JupyterHub.authenticator_class = "traptagger_hub.hub.RegistryAuthenticator"
if os.environ.get("TRAPTAGGER_HUB_OS_ACCOUNTS") == "1":  # one machine, hub as root
    c.JupyterHub.spawner_class = "traptagger_hub.hub.OrganisationAccountSpawner"
else:
    c.JupyterHub.spawner_class = "traptagger_hub.hub.OrganisationSpawner"
    # each hub keeps its people's Jupyter state (open tabs, settings) under its own state
    # folder, never in a /tmp/<name> that another hub on this machine would share
    c.SimpleLocalProcessSpawner.home_dir_template = str(state.resolve() / "homes" / "{username}")
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.cleanup_servers = True
c.JupyterHub.shutdown_on_logout = False

# The organisations service: enquiries, approvals, invitations (traptagger_hub.service).
c.JupyterHub.services = [
    {
        "name": "organisations",
        "url": f"http://127.0.0.1:{port('TRAPTAGGER_HUB_SERVICE_PORT')}",
        "command": [sys.executable, "-m", "traptagger_hub.service"],
        "oauth_no_confirm": True,
        "environment": {
            name: os.environ[name]
            for name in (
                "TRAPTAGGER_HUB_REGISTRY",
                "TRAPTAGGER_HUB_ORGANISATIONS",
                "TRAPTAGGER_HUB_DATABASE_SERVER",
                "TRAPTAGGER_HUB_S3_ENDPOINT_URL",
                "TRAPTAGGER_HUB_OS_ACCOUNTS",
                "TRAPTAGGER_PLATFORM_ADMINS",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_DEFAULT_REGION",
            )
            if name in os.environ
        },
    }
]
c.JupyterHub.load_roles = [
    {"name": "user", "scopes": ["self", "access:services!service=organisations"]}
]
