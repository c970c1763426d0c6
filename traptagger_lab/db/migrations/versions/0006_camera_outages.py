"""camera outages

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 20:33:14.340769
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from traptagger_lab.db.types import BigId, Timestamp

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_outage",
        sa.Column("id", BigId, nullable=False),
        sa.Column("camera_id", BigId, nullable=False),
        sa.Column("start", Timestamp, nullable=False),
        sa.Column("end", Timestamp, nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("annotation_id", BigId, nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["annotation_id"],
            ["annotation.id"],
            name=op.f("fk_camera_outage_annotation_id_annotation"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["camera.id"],
            name=op.f("fk_camera_outage_camera_id_camera"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_camera_outage")),
    )
    with op.batch_alter_table("camera_outage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_camera_outage_camera_id"), ["camera_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("camera_outage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_camera_outage_camera_id"))

    op.drop_table("camera_outage")
