"""An organisation's workspace as every stage sees it: settings, the database (engine and
sessions), the blob store and the Dask client. No verbs: stages act on a Workspace, and
:class:`~traptagger_lab.lab.Lab` composes the stages over one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from traptagger_lab.db.engine import make_engine, session_factory, upgrade
from traptagger_lab.settings import Settings
from traptagger_lab.storage import BlobStore

if TYPE_CHECKING:
    from distributed import Client


class Workspace:
    """The database (upgraded to the current schema on open), blob store and compute of one
    workspace. Close it (or use it as a context manager) to stop a cluster it started."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.settings = settings
        self.engine: Engine = make_engine(
            settings.resolved_database_url(), settings.database_pool_size
        )
        upgrade(self.engine)
        self.sessions: sessionmaker[Session] = session_factory(self.engine)
        store_url = settings.resolved_storage_url()
        self.store = BlobStore(store_url, settings.fsspec_options(store_url))
        self._client = client
        self._owns_client = False

    @property
    def client(self) -> Client | None:
        """The Dask client (started on first use; None with ``dask_scheduler='sync'``)."""
        if self._client is None and self.settings.dask_scheduler != "sync":
            from traptagger_lab.compute import make_client

            self._client = make_client(self.settings)
            self._owns_client = True
        return self._client

    @property
    def started_client(self) -> Client | None:
        """The Dask client if one was given or started already (never starts one)."""
        return self._client

    def close(self) -> None:
        """Stop a cluster this workspace started and release database connections."""
        if self._owns_client and self._client is not None:
            cluster = getattr(self._client, "cluster", None)
            self._client.close()
            if cluster is not None:
                cluster.close()
            self._client = None
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace(database={self.engine.url!r}, store={self.store.url!r})"
