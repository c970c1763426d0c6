"""After a crash: runs left ``running`` marked interrupted, and their orphan blobs removed.

A process killed in the middle of an ingest may have written derived blobs
(compressed copies, thumbnails, video stills) for a batch whose rows it never
committed. :func:`recover` closes every run whose process has ended (see
:mod:`traptagger_lab.runs`) and then removes those orphans: blobs under the derived
prefixes, written since the first such run started, that no image row references.
It sweeps only while no run that writes blobs is alive anywhere (and none can start
meanwhile), so a blob that a live run wrote but has not committed yet is never
touched; a sweep that cannot run now is retried at the next start.

The store must belong to this database alone (as the settings and the organisation
provisioning arrange): a blob that only another database references would look
orphaned.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from traptagger_lab.db.engine import chunks, transaction
from traptagger_lab.db.models import Image, ProcessingRun, Survey
from traptagger_lab.leases import Leases
from traptagger_lab.runs import BLOB_STAGES, close_abandoned
from traptagger_lab.storage import BlobStore

log = logging.getLogger(__name__)

#: Where derived blobs live in the store (keys from ``ingest.photos.derived_keys``).
DERIVED_PREFIXES = ("compressed", "thumbnails")
#: Statuses of runs that may have left blobs without rows.
UNFINISHED = ("interrupted", "failed")
#: Recorded in a run's counts once its orphans were swept.
SWEPT = "orphan_blobs_removed"
#: Clock difference allowed between the run's machine and the store's.
CLOCK_SLACK = dt.timedelta(hours=1)


@dataclass
class Recovery:
    """What :func:`recover` did."""

    interrupted: list[int] = field(default_factory=list)
    swept_runs: list[int] = field(default_factory=list)
    orphans_removed: list[str] = field(default_factory=list)
    #: True when orphans wait for a sweep that could not run (a writer is alive).
    sweep_deferred: bool = False


def recover(sessions: sessionmaker[Session], store: BlobStore) -> Recovery:
    """Close the runs whose process ended, then remove the orphan blobs they left.

    Cheap when there is nothing to do (one query); run it when a process starts.
    """
    done = Recovery()
    with transaction(sessions) as session:
        done.interrupted = close_abandoned(session)
    with sessions() as session:
        unswept = [
            run
            for run in session.scalars(
                select(ProcessingRun).where(
                    ProcessingRun.stage.in_(BLOB_STAGES), ProcessingRun.status.in_(UNFINISHED)
                )
            )
            if SWEPT not in (run.counts or {})
        ]
    if not unswept:
        return done
    engine = sessions.kw["bind"]
    with Leases(engine).exclusive_blobs() as alone:
        if not alone:
            done.sweep_deferred = True
            log.info("orphan blobs left for later: a run that writes blobs is alive")
            return done
        since = min(run.started_at for run in unswept) - CLOCK_SLACK
        done.orphans_removed = sweep_orphans(sessions, store, since)
        done.swept_runs = [run.id for run in unswept]
        with transaction(sessions) as session:
            for run in session.scalars(
                select(ProcessingRun).where(ProcessingRun.id.in_(done.swept_runs))
            ):
                run.counts = {**(run.counts or {}), SWEPT: len(done.orphans_removed)}
    return done


def sweep_orphans(
    sessions: sessionmaker[Session], store: BlobStore, since: dt.datetime
) -> list[str]:
    """Remove the derived blobs written since ``since`` that no image references.

    Only call it while no run that writes blobs is alive (see :func:`recover`).

    Returns:
        The keys removed.
    """
    candidates = [key for prefix in DERIVED_PREFIXES for key in store.modified_since(prefix, since)]
    orphans = sorted(set(candidates) - _referenced(sessions, candidates))
    for key in orphans:
        store.delete(key)
    if orphans:
        log.warning("removed %d orphan blob(s) left by interrupted runs", len(orphans))
    return orphans


def _hash_of(key: str) -> str:
    """The content hash a derived key is named after (``thumbnails/ab/<hash>.jpg``)."""
    return key.rsplit("/", 1)[-1].split(".", 1)[0]


def _referenced(sessions: sessionmaker[Session], keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` an image row names as its compressed copy or thumbnail.

    Rows are first found by content hash (indexed per survey); the keys that leaves
    unconfirmed are then looked up by key itself, so the answer never depends on
    how keys are named.
    """
    wanted = set(keys)
    found: set[str] = set()
    columns = (Image.compressed_key, Image.thumbnail_key)
    with sessions() as session:
        surveys = list(session.scalars(select(Survey.id)))
        hashes = sorted({_hash_of(k) for k in wanted})
        for part in chunks(hashes):
            for survey_id in surveys:
                rows = session.execute(
                    select(*columns).where(Image.survey_id == survey_id, Image.hash.in_(part))
                )
                found.update(k for row in rows for k in row if k in wanted)
        for part in chunks(sorted(wanted - found)):
            rows = session.execute(
                select(*columns).where(
                    or_(Image.compressed_key.in_(part), Image.thumbnail_key.in_(part))
                )
            )
            found.update(k for row in rows for k in row if k in wanted)
    return found
