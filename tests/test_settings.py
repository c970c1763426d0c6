"""Settings: defaults, environment, and the embedded workspace layout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from traptagger_lab.settings import Settings


def test_defaults_live_in_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path / 'workspace' / 'lab.db'}"
    assert settings.resolved_storage_url() == str(tmp_path / "workspace" / "blobs")
    assert settings.dask_scheduler == "local"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAPTAGGER_DATABASE_URL", "postgresql://u@db/lab")
    monkeypatch.setenv("TRAPTAGGER_STORAGE_URL", "s3://bucket/org")
    monkeypatch.setenv("TRAPTAGGER_S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("TRAPTAGGER_STORAGE_OPTIONS", '{"anon": false}')
    settings = Settings()
    assert settings.resolved_database_url() == "postgresql://u@db/lab"
    options = settings.fsspec_options("s3://bucket/org")
    assert options == {"anon": False, "client_kwargs": {"endpoint_url": "http://127.0.0.1:9000"}}
    assert settings.fsspec_options("/local/folder") == {}


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(databse_url="sqlite://")  # type: ignore[call-arg]


def test_import_is_light() -> None:
    """`import traptagger_lab` must not pull the database, dataframe or compute stacks."""
    code = (
        "import sys, traptagger_lab; "
        "heavy = [m for m in ('sqlalchemy', 'pandas', 'dask', 'distributed', 'torch', 'PIL', 'av') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_settings_never_show_their_secrets() -> None:
    """A notebook that displays its settings shows no password or access key."""
    from traptagger_lab.settings import SharedSurvey

    settings = Settings(
        database_url="mysql://member:SECRET1@127.0.0.1/db",
        storage_options={"key": "AKIA", "secret": "SECRET2"},
        shared_surveys=[
            SharedSurvey(
                organisation="o",
                survey="s",
                mode="read-only",
                database_url="mysql://guest:SECRET3@127.0.0.1/d",
                storage_url="s3://b/p",
                storage_options={"secret": "SECRET4"},
            )
        ],
    )
    shown = repr(settings) + str(settings) + repr(settings.shared_surveys)
    assert "SECRET" not in shown
    assert settings.database_url
    assert "SECRET1" in settings.database_url
