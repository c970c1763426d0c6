"""The folders and prefixes a survey's files come from: a survey may have several.

Each photo and video remembers its source (``source_id``), and its ``path`` is relative
to that root. Readers (detection, classification, folder export, XMP import, training)
find a file through :class:`SurveySources`, never through ``survey.source`` alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from traptagger_lab.db.engine import chunks
from traptagger_lab.db.models import Image, Survey, SurveySource, Video, path_digest, source_digest
from traptagger_lab.errors import NotFoundError
from traptagger_lab.ingest.discover import Source

Options = Callable[[str], dict[str, Any]]


def normalise_url(url: str) -> str:
    """One spelling per root: a local folder made absolute, no trailing slash."""
    text = str(url)
    if "://" not in text:
        text = os.path.abspath(os.path.expanduser(text))
    return text.rstrip("/") or "/"


def register_source(session: Session, survey_id: int, url: str) -> SurveySource:
    """The survey's source row for ``url`` (made if new; flushed: it has an id)."""
    wanted = normalise_url(url)
    for known in session.scalars(select(SurveySource).where(SurveySource.survey_id == survey_id)):
        if normalise_url(known.url) == wanted:
            return known
    row = SurveySource(survey_id=survey_id, url=wanted, url_hash=source_digest(wanted))
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class SurveySources:
    """Where a survey's files are: each source's root by id (``None`` is the survey's
    own ``source``, for rows made before sources were recorded)."""

    roots: Mapping[int | None, Source]

    @classmethod
    def of(cls, source: Source) -> SurveySources:
        """A single root, for files that all live under one folder."""
        return cls({None: source})

    def source(self, source_id: int | None = None) -> Source:
        """The root of a file, by its ``source_id``.

        Raises:
            NotFoundError: for an id the survey does not have (or no source at all).
        """
        found = self.roots.get(source_id) or self.roots.get(None)
        if found is None:
            raise NotFoundError(f"no source {source_id!r} for this survey's files")
        return found

    def root(self, source_id: int | None = None) -> str:
        """The root URL of a file's source, or "" when the survey has none."""
        return self.source(source_id).url if self.roots else ""

    def read(self, relative_path: str, source_id: int | None = None) -> bytes:
        """The bytes of one file, by its path relative to its source."""
        return self.source(source_id).read(relative_path)

    def location(self, relative_path: str, source_id: int | None = None) -> str:
        """The full URL or path of one file (for messages and links)."""
        return f"{self.source(source_id).url.rstrip('/')}/{relative_path}"


def survey_sources(session: Session, survey_id: int, options: Options) -> SurveySources:
    """Every root of a survey's files, with the fsspec options each one needs."""
    roots: dict[int | None, Source] = {}
    survey = session.get(Survey, survey_id)
    if survey is not None and survey.source:
        roots[None] = Source(survey.source, options(survey.source))
    rows = select(SurveySource).where(SurveySource.survey_id == survey_id)
    for row in session.scalars(rows.order_by(SurveySource.id)):
        roots[row.id] = Source(row.url, options(row.url))
        roots.setdefault(None, roots[row.id])
    return SurveySources(roots)


def file_sources(session: Session, survey_id: int, paths: Iterable[str]) -> dict[str, int | None]:
    """The source id of each of a survey's photos and videos, by relative path (a path
    unknown to the survey is left out)."""
    by_digest = {path_digest(p): p for p in paths}
    found: dict[str, int | None] = {}
    for part in chunks(list(by_digest)):
        for table in (Image, Video):
            rows = select(table.path_hash, table.source_id).where(
                table.survey_id == survey_id, table.path_hash.in_(part)
            )
            found.update({by_digest[d]: s for d, s in session.execute(rows).all()})
    return found
