"""Deployment settings: one pydantic-settings object, environment prefix ``TRAPTAGGER_``.

With no configuration at all a workspace is a folder (``./workspace`` by
default) that holds an SQLite database (``lab.db``) and a local blob store
(``blobs/``). Production points ``TRAPTAGGER_DATABASE_URL`` at MySQL/Aurora or
PostgreSQL and ``TRAPTAGGER_STORAGE_URL`` at an ``s3://bucket/prefix``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EC2Settings(BaseModel):
    """GPU workers on EC2 through ``dask_cloudprovider.aws.EC2Cluster``.

    Environment: ``TRAPTAGGER_EC2__INSTANCE_TYPE=g5.xlarge`` and so on. AWS
    credentials come from the usual AWS environment (variables, profile, role).
    """

    model_config = ConfigDict(extra="forbid")

    region: str | None = Field(
        default=None, description="AWS region; default from the AWS environment."
    )
    instance_type: str = Field(
        default="g4dn.xlarge", description="Worker instance type (a GPU type)."
    )
    scheduler_instance_type: str = Field(
        default="t3.medium", description="Scheduler instance type."
    )
    ami: str | None = Field(
        default=None, description="AMI with NVIDIA drivers (and Docker); default: provider's."
    )
    docker_image: str = Field(
        default="traptagger/lab-gpu:latest",
        description="Image that has traptagger-lab[detect,aws].",
    )
    bootstrap: bool = Field(
        default=True, description="Install Docker/drivers at boot (false for a baked AMI)."
    )
    subnet_id: str | None = Field(default=None, description="Subnet; default: the default VPC's.")
    security_groups: list[str] = Field(default_factory=list, description="Security group ids.")
    key_name: str | None = Field(default=None, description="SSH key pair name.")
    iam_instance_profile: str | None = Field(
        default=None, description="Instance profile name (for S3 access without keys)."
    )
    filesystem_size: int = Field(default=80, ge=8, description="Root volume (GB).")
    min_workers: int = Field(default=0, ge=0, description="Adaptive minimum number of workers.")
    max_workers: int = Field(default=4, ge=1, description="Adaptive maximum number of workers.")
    gpus_per_worker: int = Field(default=1, ge=0, description="GPU resource each worker declares.")
    idle_timeout: str = Field(
        default="30 minutes", description="Scheduler shuts down when idle this long."
    )
    spot: bool = Field(default=False, description="Use spot instances.")


class SharedSurvey(BaseModel):
    """A survey another organisation shares with this one (set by the hub at spawn)."""

    model_config = ConfigDict(extra="forbid")

    organisation: str = Field(description="The organisation that owns the survey.")
    survey: str = Field(description="The survey's name there.")
    mode: str = Field(description="'read-only' or 'read-write' (may annotate).")
    database_url: str = Field(description="A login that sees this survey's rows only.", repr=False)
    storage_url: str = Field(description="The owner's blob store (derived images).")
    storage_options: dict[str, Any] = Field(
        default_factory=dict, description="fsspec options of the share's store login.", repr=False
    )


class Settings(BaseSettings):
    """Where a lab keeps its data and how it computes.

    Every field can be set by keyword or by an environment variable named
    ``TRAPTAGGER_<FIELD>`` (for example ``TRAPTAGGER_DATABASE_URL``).
    """

    model_config = SettingsConfigDict(
        env_prefix="TRAPTAGGER_", extra="forbid", env_nested_delimiter="__"
    )

    workspace: Path = Field(
        default=Path("workspace"),
        description="Folder for the embedded defaults (SQLite database, local blob store).",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<workspace>/lab.db. "
        "mysql+pymysql://... and postgresql+psycopg://... are supported.",
        repr=False,  # it holds a password: never in a notebook's output
    )
    storage_url: str | None = Field(
        default=None,
        description="Blob store root: a local folder or s3://bucket/prefix; "
        "default <workspace>/blobs.",
    )
    database_pool_size: int = Field(
        default=10, ge=1, description="Database connections kept per process (servers only)."
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="Custom S3 endpoint (MinIO, moto, on-premise S3); AWS when unset.",
    )
    storage_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra fsspec options for the store and for S3 sources "
        "(JSON in the environment).",
        repr=False,  # access keys
    )
    dask_scheduler: str = Field(
        default="local",
        description="'local' (a LocalCluster), 'sync' (no cluster, in-process), "
        "'ec2' (GPU workers on EC2, see ec2), or a scheduler address such as tcp://10.0.0.5:8786.",
    )
    ec2: EC2Settings = Field(default_factory=EC2Settings, description="EC2 GPU cluster settings.")
    dask_workers: int | None = Field(
        default=None, description="Workers for the LocalCluster; default one per core."
    )
    shared_surveys: list[SharedSurvey] = Field(
        default_factory=list,
        description="Surveys other organisations share with this one (JSON; the hub sets it).",
    )
    detector: str = Field(default="MDV5A", description="Default detection model.")
    model_dir: Path | None = Field(default=None, description="Where model weights live.")
    batch_size: int = Field(default=64, ge=1, description="Files per ingest task.")
    compressed_width: int = Field(
        default=800, ge=64, description="Width in pixels of the copy shown on annotation screens."
    )
    thumbnail_width: int = Field(default=240, ge=32, description="Width of thumbnails.")
    jpeg_quality: int = Field(default=85, ge=30, le=100, description="Quality of derived JPEGs.")

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside the workspace."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.workspace / 'lab.db').resolve()}"

    def resolved_storage_url(self) -> str:
        """The blob store root, defaulting to ``<workspace>/blobs``."""
        if self.storage_url:
            return self.storage_url
        return str((self.workspace / "blobs").resolve())

    def fsspec_options(self, url: str) -> dict[str, Any]:
        """fsspec options for ``url``: the S3 endpoint for s3:// URLs, plus ``storage_options``."""
        if "://" not in url or url.startswith("file://"):
            return {}
        options = dict(self.storage_options)
        if url.startswith("s3://") and self.s3_endpoint_url:
            client_kwargs = dict(options.get("client_kwargs", {}))
            client_kwargs.setdefault("endpoint_url", self.s3_endpoint_url)
            options["client_kwargs"] = client_kwargs
        return options
