"""several sources per survey (each photo, video and ingest issue remembers its root);
metadata kept whole in ``image.metadata_extra``

Existing surveys keep working: each survey's ``source`` becomes its first
``survey_source`` row, and its photos and videos point at it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 15:00:00
"""

from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from alembic import op

from traptagger_lab.db.types import BigId, Timestamp

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey_source",
        sa.Column("id", BigId, nullable=False),
        sa.Column("survey_id", BigId, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("url_hash", sa.String(length=40), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["survey.id"],
            name=op.f("fk_survey_source_survey_id_survey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_source")),
        sa.UniqueConstraint(
            "survey_id", "url_hash", name=op.f("uq_survey_source_survey_id_url_hash")
        ),
    )
    for table in ("image", "video"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("source_id", BigId, nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_source_id"), ["source_id"], unique=False)
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_source_id_survey_source"),
                "survey_source",
                ["source_id"],
                ["id"],
                ondelete="CASCADE",
            )
    with op.batch_alter_table("image", schema=None) as batch_op:
        batch_op.add_column(sa.Column("metadata_extra", sa.JSON(), nullable=True))
    with op.batch_alter_table("ingest_issue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_id", BigId, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_ingest_issue_source_id_survey_source"),
            "survey_source",
            ["source_id"],
            ["id"],
            ondelete="SET NULL",
        )
    _adopt_old_sources()


def _adopt_old_sources() -> None:
    """Each survey's ``source`` becomes its first source; its files point at it."""
    bind = op.get_bind()
    survey = sa.table("survey", sa.column("id", BigId), sa.column("source", sa.Text()))
    source = sa.table(
        "survey_source",
        sa.column("id", BigId),
        sa.column("survey_id", BigId),
        sa.column("url", sa.Text()),
        sa.column("url_hash", sa.String(40)),
        sa.column("created_at", Timestamp),
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = bind.execute(sa.select(survey.c.id, survey.c.source).where(survey.c.source.is_not(None)))
    for survey_id, url in rows.all():
        bind.execute(
            source.insert().values(
                survey_id=survey_id,
                url=url,
                url_hash=hashlib.sha1(url.encode("utf-8")).hexdigest(),
                created_at=now,
            )
        )
        source_id = bind.execute(
            sa.select(source.c.id).where(source.c.survey_id == survey_id)
        ).scalar_one()
        for name in ("image", "video", "ingest_issue"):
            table = sa.table(name, sa.column("survey_id", BigId), sa.column("source_id", BigId))
            bind.execute(
                table.update().where(table.c.survey_id == survey_id).values(source_id=source_id)
            )


def downgrade() -> None:
    with op.batch_alter_table("ingest_issue", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_ingest_issue_source_id_survey_source"), type_="foreignkey"
        )
        batch_op.drop_column("source_id")
    with op.batch_alter_table("image", schema=None) as batch_op:
        batch_op.drop_column("metadata_extra")
    for table in ("video", "image"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_source_id_survey_source"), type_="foreignkey"
            )
            batch_op.drop_index(batch_op.f(f"ix_{table}_source_id"))
            batch_op.drop_column("source_id")
    op.drop_table("survey_source")
