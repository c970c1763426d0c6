"""JupyterHub for the local demo: TrapTagger Lab organisations on 127.0.0.1.

Started by ``make demo`` (through ``traptagger hub``); every setting comes from
the environment that command sets:

- ``TRAPTAGGER_HUB_REGISTRY``: the registry database (organisations, roles, passwords);
- ``TRAPTAGGER_HUB_STATE``: folder for the hub's own database and cookie secret;
- ``TRAPTAGGER_HUB_NOTEBOOKS``: the notebooks users open;
- ``TRAPTAGGER_HUB_PORT`` (8000) and ``TRAPTAGGER_HUB_PROXY`` (configurable-http-proxy);
- ``TRAPTAGGER_HUB_ORGANISATIONS`` (where new organisations' stores go: a folder, or
  ``s3://bucket/prefix`` with ``TRAPTAGGER_HUB_S3_ENDPOINT_URL`` for an S3 other than AWS),
  ``TRAPTAGGER_HUB_DATABASE_SERVER`` (where their databases go: a server URL or ``sqlite``),
  ``TRAPTAGGER_HUB_OS_ACCOUNTS=1`` (a hub run as root: each organisation role gets a system
  account that alone can open the organisation's folder, and servers run as it)
  and ``TRAPTAGGER_PLATFORM_ADMINS`` (who approves enquiries), for the organisations service.

Production differs only in the classes and services (see ``production_config.py``).
"""

import os
import sys
from pathlib import Path

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - provided by JupyterHub

state = Path(os.environ.get("TRAPTAGGER_HUB_STATE", "hub-state"))
state.mkdir(parents=True, exist_ok=True)

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ.get("TRAPTAGGER_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("TRAPTAGGER_HUB_API_PORT", "8081"))
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.ConfigurableHTTPProxy.command = [
    os.environ.get("TRAPTAGGER_HUB_PROXY", "configurable-http-proxy")
]
c.ConfigurableHTTPProxy.api_url = (
    f"http://127.0.0.1:{os.environ.get('TRAPTAGGER_HUB_PROXY_API_PORT', '8001')}"
)
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")

c.JupyterHub.authenticator_class = "traptagger_hub.hub.RegistryAuthenticator"
if os.environ.get("TRAPTAGGER_HUB_OS_ACCOUNTS") == "1":  # one machine, hub as root
    c.JupyterHub.spawner_class = "traptagger_hub.hub.OrganisationAccountSpawner"
else:
    c.JupyterHub.spawner_class = "traptagger_hub.hub.OrganisationSpawner"
    # each hub keeps its people's Jupyter state (open tabs, settings) under its own state
    # folder, never in a /tmp/<name> that another hub on this machine would share
    c.SimpleLocalProcessSpawner.home_dir_template = str(state.resolve() / "homes" / "{username}")
c.OrganisationSettings.notebooks = os.environ.get("TRAPTAGGER_HUB_NOTEBOOKS", "")
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.cleanup_servers = True
c.JupyterHub.shutdown_on_logout = False

# The organisations service: enquiries, approvals, invitations (traptagger_hub.service).
c.JupyterHub.services = [
    {
        "name": "organisations",
        "url": f"http://127.0.0.1:{os.environ.get('TRAPTAGGER_HUB_SERVICE_PORT', '8010')}",
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
