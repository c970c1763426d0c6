"""Migration 0008 on SQLite, MariaDB and PostgreSQL: a survey's old single ``source``
becomes its first ``survey_source`` row, and its photos, videos and issues point at it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from traptagger_lab.db.engine import make_engine, session_factory, upgrade
from traptagger_lab.db.models import (
    Camera,
    Image,
    IngestIssue,
    Site,
    Survey,
    SurveySource,
    path_digest,
    source_digest,
)


def test_old_surveys_get_their_source_as_a_row(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0007")
        when = dt.datetime(2024, 1, 1)
        with engine.begin() as connection:
            for name, source in (("old", "/data/old"), ("no-source", None)):
                connection.execute(
                    Survey.__table__.insert(),
                    {"name": name, "description": "", "kind": "trails", "trigger": "motion",
                     "settings": {}, "created_at": when, "source": source},
                )  # fmt: skip
            survey_id = connection.execute(
                select(Survey.__table__.c.id).where(Survey.__table__.c.name == "old")
            ).scalar_one()
            connection.execute(Site.__table__.insert(), {"survey_id": survey_id, "name": "S1"})
            site_id = connection.execute(select(Site.__table__.c.id)).scalar_one()
            connection.execute(
                Camera.__table__.insert(),
                {"site_id": site_id, "name": "C1", "clock_offset_s": 0.0},
            )
            camera_id = connection.execute(select(Camera.__table__.c.id)).scalar_one()
            connection.execute(
                Image.__table__.insert(),
                {"survey_id": survey_id, "camera_id": camera_id, "path": "S1/C1/a.jpg",
                 "path_hash": path_digest("S1/C1/a.jpg"), "hash": "h", "size_bytes": 1,
                 "is_video_frame": False},
            )  # fmt: skip
            connection.execute(
                IngestIssue.__table__.insert(),
                {"survey_id": survey_id, "path": "S1/C1/b.jpg",
                 "path_hash": path_digest("S1/C1/b.jpg"), "reason": "corrupt", "detail": "",
                 "created_at": when},
            )  # fmt: skip
        upgrade(engine)
        with session_factory(engine)() as session:
            source = session.scalars(select(SurveySource)).one()
            assert (source.survey_id, source.url) == (survey_id, "/data/old")
            assert source.url_hash == source_digest("/data/old")
            assert session.scalars(select(Image.source_id)).all() == [source.id]
            assert session.scalars(select(IngestIssue.source_id)).all() == [source.id]
    finally:
        engine.dispose()
