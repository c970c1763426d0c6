"""Dask clients: sync, a real LocalCluster, and EC2 GPU clusters (built; launched on request)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from traptagger_lab.compute import (
    ec2_cluster_kwargs,
    gpu_resources,
    make_client,
    make_ec2_cluster,
    map_unordered,
)
from traptagger_lab.errors import ConfigurationError
from traptagger_lab.settings import EC2Settings, Settings


def _square(offset: int, value: int) -> int:
    return offset + value * value


def test_sync_runs_in_order() -> None:
    assert make_client(Settings(dask_scheduler="sync")) is None
    assert list(map_unordered(None, _square, [1, 2, 3], 10)) == [(1, 11), (2, 14), (3, 19)]


@pytest.mark.dask
def test_local_cluster_and_resources() -> None:
    client = make_client(Settings(dask_scheduler="local", dask_workers=2))
    try:
        assert len(client.scheduler_info()["workers"]) == 2
        assert sorted(map_unordered(client, _square, list(range(8)), 1)) == [
            (i, 1 + i * i) for i in range(8)
        ]
        assert gpu_resources(client) is None  # no worker declares a GPU here
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()


def test_unknown_scheduler_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="use 'local', 'sync', 'ec2'"):
        make_client(Settings(dask_scheduler="kubernetes"))


def test_ec2_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAPTAGGER_EC2__INSTANCE_TYPE", "g5.2xlarge")
    monkeypatch.setenv("TRAPTAGGER_EC2__MAX_WORKERS", "25")
    monkeypatch.setenv("TRAPTAGGER_EC2__SECURITY_GROUPS", '["sg-0abc"]')
    ec2 = Settings().ec2
    assert (ec2.instance_type, ec2.max_workers, ec2.security_groups) == (
        "g5.2xlarge",
        25,
        ["sg-0abc"],
    )


def test_ec2_configuration_reaches_the_real_constructor() -> None:
    """EC2Cluster is built (not started: asynchronous and never awaited) with our settings."""
    from dask_cloudprovider.aws import EC2Cluster

    ec2 = EC2Settings(
        instance_type="g5.2xlarge",
        ami="ami-0123",
        docker_image="example/lab-gpu:1",
        subnet_id="subnet-9",
        security_groups=["sg-1"],
        iam_instance_profile="traptagger-worker",
        idle_timeout="20 minutes",
        spot=True,
    )

    async def build() -> Any:
        return EC2Cluster(asynchronous=True, **ec2_cluster_kwargs(ec2))

    cluster = asyncio.run(build())
    assert cluster.worker_instance_type == "g5.2xlarge"
    assert cluster.scheduler_instance_type == "t3.medium"
    assert (cluster.ami, cluster.subnet_id, cluster.security_groups) == (
        "ami-0123",
        "subnet-9",
        ["sg-1"],
    )
    assert cluster.iam_instance_profile == {"Name": "traptagger-worker"}
    assert cluster.auto_shutdown
    assert cluster.spot
    assert cluster.options["docker_image"] == "example/lab-gpu:1"
    assert cluster.worker_options["worker_options"] == {"resources": {"GPU": 1}}
    assert cluster.scheduler_options["scheduler_options"] == {"idle_timeout": "20 minutes"}


@pytest.mark.cloud
def test_ec2_cluster_really_starts() -> None:
    """Launches paid EC2 instances: runs only with --run-cloud and AWS credentials."""
    from distributed import Client

    cluster = make_ec2_cluster(Settings().ec2)
    try:
        with Client(cluster) as client:
            client.wait_for_workers(1, timeout=900)
            assert gpu_resources(client) == {"GPU": 1}
    finally:
        cluster.close()
