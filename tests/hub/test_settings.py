"""The hub's and the organisations service's settings are documented traitlets whose
defaults come from the environment when the object is made (not at import), which
configuration overrides, and whose bad values stop with one line naming the setting."""

from __future__ import annotations

import pytest
from traitlets import TraitError
from traitlets.config import Config, Configurable
from traptagger_hub.hub import (
    OrganisationAccountSpawner,
    OrganisationSettings,
    OrganisationSpawner,
    RegistryAuthenticator,
    RegistryClient,
)
from traptagger_hub.service import main
from traptagger_hub.settings import ServiceSettings

#: Every class with settings of ours, and the variables their defaults read.
CLASSES: list[type[Configurable]] = [ServiceSettings, RegistryClient, OrganisationSettings]
VARIABLES = sorted(
    {
        str(trait.metadata["env"])
        for cls in CLASSES
        for trait in cls.class_traits(config=True).values()
        if "env" in trait.metadata
    }
)
REGISTRY = "sqlite:////srv/hub/registry.db"
SERVICE = {  # what JupyterHub gives the service it starts
    "JUPYTERHUB_SERVICE_PREFIX": "/services/organisations/",
    "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:8010",
    "TRAPTAGGER_HUB_REGISTRY": REGISTRY,
}


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """None of the settings' variables from the caller's environment: each test sets its own."""
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def _set(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    for variable, value in {**SERVICE, **variables}.items():
        monkeypatch.setenv(variable, value)


def test_every_setting_is_documented_with_its_variable_and_default() -> None:
    assert VARIABLES  # the classes' settings name their variables
    for cls in CLASSES:
        for name, trait in cls.class_traits(config=True).items():
            words = " ".join(str(trait.help).split())
            assert len(words) > 40, f"{cls.__name__}.{name} has no help"
            assert f"${trait.metadata['env']}" in words, f"{cls.__name__}.{name}: variable"
            assert "Default:" in words, f"{cls.__name__}.{name}: default"


def test_the_service_reads_the_environment_when_made(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ServiceSettings().database_server == "sqlite"  # the documented default
    _set(  # after the import, as JupyterHub sets them for the service it starts
        monkeypatch,
        JUPYTERHUB_BASE_URL="/lab/",
        TRAPTAGGER_HUB_ORGANISATIONS="s3://bucket/orgs",
        TRAPTAGGER_HUB_DATABASE_SERVER="mysql://root@127.0.0.1:3306",
        TRAPTAGGER_HUB_S3_ENDPOINT_URL="http://127.0.0.1:5000",
        TRAPTAGGER_HUB_OS_ACCOUNTS="1",
        TRAPTAGGER_PLATFORM_ADMINS=" Admin, ROOT ,,",
    )
    settings = ServiceSettings()
    settings.check()
    assert settings.service_prefix == "/services/organisations/"
    assert settings.service_url == "http://127.0.0.1:8010"
    assert settings.hub_base_url == "/lab/"
    assert settings.registry_url == REGISTRY
    assert settings.organisations == "s3://bucket/orgs"
    assert settings.database_server == "mysql://root@127.0.0.1:3306"
    assert settings.s3_endpoint_url == "http://127.0.0.1:5000"
    assert settings.os_accounts is True
    assert settings.platform_admins == ["admin", "root"]  # in the registry's one form
    monkeypatch.setenv("TRAPTAGGER_HUB_OS_ACCOUNTS", "0")
    monkeypatch.setenv("TRAPTAGGER_PLATFORM_ADMINS", "")
    again = ServiceSettings()
    assert again.os_accounts is False
    assert again.platform_admins == []


def test_the_service_has_documented_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch)
    settings = ServiceSettings()
    settings.check()
    assert settings.hub_base_url == "/"
    assert settings.organisations == "organisations"
    assert settings.database_server == "sqlite"
    assert settings.s3_endpoint_url == ""
    assert settings.os_accounts is False
    assert settings.platform_admins == []


def test_configuration_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, TRAPTAGGER_HUB_DATABASE_SERVER="mysql://root@127.0.0.1:3306")
    config = Config()
    config.ServiceSettings.database_server = "postgresql://provisioner@db"
    config.ServiceSettings.platform_admins = ["Alice"]
    config.ServiceSettings.registry_url = "sqlite:////elsewhere/registry.db"
    settings = ServiceSettings(config=config)
    assert settings.database_server == "postgresql://provisioner@db"
    assert settings.platform_admins == ["alice"]
    assert settings.registry_url == "sqlite:////elsewhere/registry.db"
    assert settings.service_url == "http://127.0.0.1:8010"  # not configured: the environment's


@pytest.mark.parametrize(
    ("setting", "variable", "value"),
    [
        ("database_server", "TRAPTAGGER_HUB_DATABASE_SERVER", "oracle://system@db"),
        ("database_server", "TRAPTAGGER_HUB_DATABASE_SERVER", "sqlite:///one.db"),
        ("os_accounts", "TRAPTAGGER_HUB_OS_ACCOUNTS", "yes"),
        ("platform_admins", "TRAPTAGGER_PLATFORM_ADMINS", "admin, al ice"),
        ("service_prefix", "JUPYTERHUB_SERVICE_PREFIX", "services/organisations"),
        ("service_url", "JUPYTERHUB_SERVICE_URL", "127.0.0.1:8010"),
        ("hub_base_url", "JUPYTERHUB_BASE_URL", "lab"),
        ("registry_url", "TRAPTAGGER_HUB_REGISTRY", "not a url"),
        ("organisations", "TRAPTAGGER_HUB_ORGANISATIONS", "s3:///orgs"),
        ("s3_endpoint_url", "TRAPTAGGER_HUB_S3_ENDPOINT_URL", "minio:9000"),
    ],
)
def test_a_bad_value_names_its_setting(
    monkeypatch: pytest.MonkeyPatch, setting: str, variable: str, value: str
) -> None:
    _set(monkeypatch, **{variable: value})
    with pytest.raises(TraitError) as raised:
        ServiceSettings().check()
    message = str(raised.value)
    assert f"ServiceSettings.{setting} (${variable})" in message
    assert repr(value) in message or value.split(",")[-1].strip() in message
    assert "\n" not in message


def test_a_bad_configured_value_names_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch)
    config = Config()
    config.ServiceSettings.database_server = "oracle://system@db"
    with pytest.raises(TraitError, match=r"^ServiceSettings\.database_server .*'oracle://"):
        ServiceSettings(config=config)


@pytest.mark.parametrize("missing", sorted(SERVICE))
def test_a_missing_required_setting_is_named(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    _set(monkeypatch)
    monkeypatch.delenv(missing)
    with pytest.raises(TraitError, match=rf"\(\${missing}\) is not set"):
        ServiceSettings().check()


def test_the_service_stops_with_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _set(monkeypatch, TRAPTAGGER_HUB_DATABASE_SERVER="oracle://system@db")
    with pytest.raises(SystemExit) as stopped:
        main([])
    message = str(stopped.value.code)
    assert "ServiceSettings.database_server ($TRAPTAGGER_HUB_DATABASE_SERVER)" in message
    assert "\n" not in message
    with pytest.raises(SystemExit) as stopped:  # the command line wins over the environment
        main(
            ["--ServiceSettings.database_server=mysql://root@db", "--ServiceSettings.os_accounts=2"]
        )
    message = str(stopped.value.code)  # the server from the command line passed: the flag not
    assert "'os_accounts' trait of a ServiceSettings" in message
    assert "database_server" not in message


@pytest.mark.parametrize(
    "cls", [RegistryAuthenticator, OrganisationSpawner, OrganisationAccountSpawner]
)
def test_the_hubs_classes_read_the_registry_when_made(
    monkeypatch: pytest.MonkeyPatch, cls: type[RegistryClient]
) -> None:
    monkeypatch.setenv("TRAPTAGGER_HUB_REGISTRY", REGISTRY)  # after the import
    assert cls().registry_url == REGISTRY
    config = Config()
    config.RegistryClient.registry_url = "sqlite:////configured/registry.db"
    assert cls(config=config).registry_url == "sqlite:////configured/registry.db"
    config = Config()
    config[cls.__name__].registry_url = "sqlite:////its-own/registry.db"
    assert cls(config=config).registry_url == "sqlite:////its-own/registry.db"


def test_the_spawner_reads_the_notebooks_folder_when_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRAPTAGGER_HUB_REGISTRY", REGISTRY)
    assert OrganisationSpawner().notebooks == ""
    monkeypatch.setenv("TRAPTAGGER_HUB_NOTEBOOKS", "/opt/notebooks")
    assert OrganisationSpawner().notebooks == "/opt/notebooks"
    config = Config()
    config.OrganisationSettings.notebooks = "/srv/notebooks"
    assert OrganisationSpawner(config=config).notebooks == "/srv/notebooks"


def test_a_hub_without_a_registry_stops_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(TraitError, match=r"^RegistryAuthenticator\.registry_url .* is not set"):
        RegistryAuthenticator()
    monkeypatch.setenv("TRAPTAGGER_HUB_REGISTRY", "registry.db")
    with pytest.raises(TraitError) as raised:
        OrganisationSpawner()
    assert str(raised.value).startswith(
        "OrganisationSpawner.registry_url ($TRAPTAGGER_HUB_REGISTRY): 'registry.db' is not"
    )
