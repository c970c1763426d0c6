"""Dask: one way to get a client for every stage.

``TRAPTAGGER_DASK_SCHEDULER`` chooses: ``local`` (a LocalCluster on this
machine, the default), ``sync`` (no cluster: work runs in this process, for
debugging), or the address of an existing scheduler (``tcp://host:8786``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from tqdm.auto import tqdm

from traptagger_lab.errors import ConfigurationError
from traptagger_lab.settings import EC2Settings, Settings

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def make_client(settings: Settings) -> Client | None:
    """A ``distributed.Client`` as the settings say, or None for ``sync``.

    The caller owns the client (and its LocalCluster) and closes it.
    """
    scheduler = settings.dask_scheduler.strip()
    if scheduler == "sync":
        return None
    from distributed import Client, LocalCluster

    if scheduler == "local":
        workers = settings.dask_workers or max(1, os.cpu_count() or 1)
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.WARNING,
        )
        client = Client(cluster)
        log.info("LocalCluster with %d workers; dashboard %s", workers, client.dashboard_link)
        return client
    if scheduler == "ec2":
        cluster = make_ec2_cluster(settings.ec2)
        return Client(cluster)
    if "://" in scheduler or ":" in scheduler:
        return Client(scheduler)
    raise ConfigurationError(
        f"TRAPTAGGER_DASK_SCHEDULER={scheduler!r}: "
        "use 'local', 'sync', 'ec2' or a scheduler address"
    )


def ec2_cluster_kwargs(ec2: EC2Settings) -> dict[str, Any]:
    """Keyword arguments for ``dask_cloudprovider.aws.EC2Cluster`` from our settings (pure)."""
    kwargs: dict[str, Any] = {
        "region": ec2.region,
        "scheduler_instance_type": ec2.scheduler_instance_type,
        "worker_instance_type": ec2.instance_type,
        "ami": ec2.ami,
        "docker_image": ec2.docker_image,
        "bootstrap": ec2.bootstrap,
        "subnet_id": ec2.subnet_id,
        "security_groups": ec2.security_groups or None,
        "key_name": ec2.key_name,
        "filesystem_size": ec2.filesystem_size,
        "spot": ec2.spot,
        "auto_shutdown": True,
        "n_workers": ec2.min_workers,
        "worker_options": {"resources": {"GPU": ec2.gpus_per_worker}}
        if ec2.gpus_per_worker
        else {},
        "scheduler_options": {"idle_timeout": ec2.idle_timeout},
        "shutdown_on_close": True,
    }
    if ec2.iam_instance_profile:
        kwargs["iam_instance_profile"] = {"Name": ec2.iam_instance_profile}
    return {k: v for k, v in kwargs.items() if v is not None}


def make_ec2_cluster(ec2: EC2Settings, cluster_class: Any | None = None) -> Any:
    """Start an adaptive EC2 cluster of GPU workers (this launches paid instances).

    Raises:
        ConfigurationError: when dask-cloudprovider is not installed (the ``aws`` extra).
    """
    if cluster_class is None:
        try:
            from dask_cloudprovider.aws import EC2Cluster
        except ImportError as exc:
            raise ConfigurationError(
                "the ec2 scheduler needs dask-cloudprovider: pip install 'traptagger-lab[aws]'"
            ) from exc
        cluster_class = EC2Cluster
    cluster = cluster_class(**ec2_cluster_kwargs(ec2))
    cluster.adapt(minimum=ec2.min_workers, maximum=ec2.max_workers)
    return cluster


def gpu_resources(client: Client | None) -> dict[str, int] | None:
    """``{"GPU": 1}`` when the cluster's workers declare GPUs (tasks then ask for one)."""
    if client is None:
        return None
    workers = client.scheduler_info().get("workers", {}).values()
    return {"GPU": 1} if any(w.get("resources", {}).get("GPU") for w in workers) else None


def map_unordered(
    client: Client | None,
    function: Callable[..., R],
    items: Sequence[T],
    *args: Any,
    description: str = "",
    unit: str = "batch",
    weight: Callable[[T], int] = lambda _: 1,
    resources: dict[str, int] | None = None,
) -> Iterator[tuple[T, R]]:
    """Run ``function(*args, item)`` for every item, yielding ``(item, result)`` as each finishes.

    With a client the items run on the cluster; without one, here, in order.
    A progress bar (terminal or notebook) counts finished work: each item
    counts ``weight(item)`` (for batches: the number of files in it).
    ``resources`` (e.g. ``{"GPU": 1}``) is what each task asks of a worker.
    """
    total = sum(weight(item) for item in items)
    with tqdm(total=total, desc=description, unit=unit, leave=True) as bar:
        if client is None:
            for item in items:
                result = function(*args, item)
                bar.update(weight(item))
                yield item, result
            return
        from distributed import as_completed

        futures = {
            client.submit(function, *args, item, pure=False, resources=resources): index
            for index, item in enumerate(items)
        }
        try:
            for future in as_completed(futures):
                result = future.result()
                item = items[futures[future]]
                bar.update(weight(item))
                yield item, result
                future.release()
        finally:  # stopped early (an error, Ctrl-C): drop the work not yet done
            unfinished = [f for f in futures if not f.done()]
            if unfinished:
                client.cancel(unfinished)
