"""The schema on SQLite, MariaDB and PostgreSQL: migrations, constraints, precision."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from traptagger_lab.db.engine import (
    current_revision,
    head_revision,
    make_engine,
    session_factory,
    table_names,
    transaction,
    upgrade,
)
from traptagger_lab.db.models import Base, Camera, Image, Site, Survey, path_digest

CORE_TABLES = {
    "survey", "site", "camera", "image", "video", "cluster", "detection", "classification",
    "label", "task", "job", "annotation", "processing_run", "ingest_issue", "individual",
    "individual_detection", "mask", "export",
}  # fmt: skip


def test_upgrade_creates_every_table_and_is_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert set(table_names(engine)) >= CORE_TABLES
        assert set(Base.metadata.tables) <= set(table_names(engine))
    finally:
        engine.dispose()


def test_migration_matches_the_models(database_url: str) -> None:
    """Autogenerate finds nothing to change: the migration and the models agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": False})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_rows_round_trip_with_microseconds_and_constraints(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    when = dt.datetime(2024, 3, 1, 6, 30, 15, 250000)
    try:
        with transaction(sessions) as session:
            survey = Survey(name="Kruger 2024", settings={"kind": "test"})
            site = Site(name="Site01")
            survey.sites.append(site)
            camera = Camera(name="CamA")
            site.cameras.append(camera)
            session.add(survey)
            session.flush()
            path = "Site01/CamA/" + "long-folder-name/" * 40 + "IMG_0001.JPG"
            session.add(
                Image(
                    survey_id=survey.id,
                    camera_id=camera.id,
                    path=path,
                    path_hash=path_digest(path),
                    hash="abc",
                    timestamp=when,
                    corrected_timestamp=when,
                    timestamp_source="exif_original",
                )
            )
        with sessions() as session:
            image = session.scalars(select(Image)).one()
            assert image.timestamp == when
            assert len(image.path) > 600
            assert session.scalars(select(Survey)).one().settings == {"kind": "test"}
        with pytest.raises(IntegrityError), transaction(sessions) as session:
            session.add(
                Image(
                    survey_id=image.survey_id, camera_id=image.camera_id, path=image.path,
                    path_hash=image.path_hash, hash="other",
                )
            )  # fmt: skip
        with pytest.raises(IntegrityError), transaction(sessions) as session:
            session.add(Site(survey_id=image.survey_id, name="Site01"))
    finally:
        engine.dispose()


def test_upgrade_keeps_data_from_the_first_schema(database_url: str) -> None:
    """A workspace made by an older version opens with this one: rows survive the upgrade."""
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as connection:
            connection.execute(
                Survey.__table__.insert(),
                {"name": "old", "description": "", "kind": "trails", "trigger": "motion",
                 "settings": {}, "created_at": dt.datetime(2024, 1, 1)},
            )  # fmt: skip
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        with session_factory(engine)() as session:
            assert session.scalars(select(Survey.name)).all() == ["old"]
    finally:
        engine.dispose()
