"""JupyterHub in production: OAuth login, containers per user, a database server, S3.

A template to copy and fill in (the ``CHANGE ME`` values); it uses the same
organisation and role logic as the local demo (``traptagger_hub.hub``), put in
front of production classes:

- login: an OAuth provider through ``oauthenticator`` (here a generic OIDC one:
  Google, GitHub, Azure AD and others have their own classes), allowed only for
  people the registry gives a role in an active organisation;
- servers: KubeSpawner (or DockerSpawner) starting the TrapTagger Lab image,
  with the organisation's database login and store in the environment and, for
  annotators, a Voila-only server;
- organisations' databases: one per organisation on MariaDB/MySQL (Aurora) or
  PostgreSQL, created by ``traptagger_hub.provision.Provisioner`` with the admin
  login below; PostgreSQL's ``pg_hba.conf`` must require passwords
  (``scram-sha-256``) for the per-organisation logins to mean anything;
- organisations' stores: a prefix each under ``s3://CHANGE_ME-bucket/orgs``, with two
  IAM users per organisation whose policies reach only that prefix (members read
  and write, annotators read), made by the same provisioner; the hub's own AWS
  identity needs ``iam:CreateUser``, ``iam:PutUserPolicy``, ``iam:CreateAccessKey``
  and their deletes, and never reaches a user's server;
- shared surveys: an organisation's admin shares one survey with another
  organisation (read-only or read-write) on the organisations service; the
  receiving organisation's servers get a database login that sees that survey
  alone and an S3 login that reads its images by key;
- the registry: the hub's own database (``TRAPTAGGER_HUB_REGISTRY``), which
  holds the organisations' connection settings: keep it on the hub's side only.

Install with ``pip install "traptagger-lab[hub,mysql]" oauthenticator jupyterhub-kubespawner``.
"""

import os

from kubespawner import KubeSpawner  # or: from dockerspawner import DockerSpawner
from oauthenticator.generic import GenericOAuthenticator
from traptagger_hub.hub import OrganisationSettings, RegistryRoles

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - provided by JupyterHub

#: The registry: the hub's authenticator and spawner, and the organisations service, read it.
REGISTRY = os.environ.get(
    "TRAPTAGGER_HUB_REGISTRY", "mysql://hub:CHANGE_ME@db.internal/hub_registry"
)


class OrganisationOAuthenticator(RegistryRoles, GenericOAuthenticator):
    """OIDC login; only members of an active organisation get in."""


class OrganisationKubeSpawner(OrganisationSettings, KubeSpawner):
    """One pod per user, started with the organisation's settings for their role."""


c.RegistryClient.registry_url = REGISTRY  # the authenticator's and the spawner's
c.JupyterHub.authenticator_class = OrganisationOAuthenticator
c.GenericOAuthenticator.client_id = "CHANGE_ME"
c.GenericOAuthenticator.client_secret = "CHANGE_ME"
c.GenericOAuthenticator.oauth_callback_url = "https://lab.example.org/hub/oauth_callback"
c.GenericOAuthenticator.authorize_url = "https://login.example.org/oauth2/authorize"
c.GenericOAuthenticator.token_url = "https://login.example.org/oauth2/token"
c.GenericOAuthenticator.userdata_url = "https://login.example.org/oauth2/userinfo"
c.GenericOAuthenticator.username_claim = "email"

c.JupyterHub.spawner_class = OrganisationKubeSpawner
c.KubeSpawner.image = "CHANGE_ME/traptagger-lab:latest"  # an image with the hub extra installed
c.OrganisationKubeSpawner.notebooks = "/opt/traptagger-lab/notebooks"
c.KubeSpawner.cpu_guarantee = 0.5
c.KubeSpawner.mem_guarantee = "2G"

c.JupyterHub.db_url = "mysql+pymysql://hub:CHANGE_ME@db.internal/jupyterhub"
c.JupyterHub.cookie_secret_file = "/srv/jupyterhub/cookie_secret"
c.JupyterHub.bind_url = "http://0.0.0.0:8000"  # behind a TLS-terminating load balancer

# The organisations service (enquiries, approvals, invitations, sharing), as in the demo.
c.JupyterHub.services = [
    {
        "name": "organisations",
        "url": "http://127.0.0.1:8010",
        "command": ["python", "-m", "traptagger_hub.service"],
        "oauth_no_confirm": True,
        # traptagger_hub.settings.ServiceSettings, by the variables its settings name
        "environment": {
            "TRAPTAGGER_HUB_REGISTRY": REGISTRY,
            "TRAPTAGGER_HUB_DATABASE_SERVER": "mysql://provisioner:CHANGE_ME@db.internal",
            "TRAPTAGGER_HUB_ORGANISATIONS": "s3://CHANGE_ME-bucket/orgs",
            "TRAPTAGGER_PLATFORM_ADMINS": "CHANGE_ME@example.org",
        },
    }
]
c.JupyterHub.load_roles = [
    {"name": "user", "scopes": ["self", "access:services!service=organisations"]}
]
