"""static groups

Revision BigId: 0003
Revises: 0002
Create Date: 2026-11-24 19:43:35.937773
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from traptagger_lab.db.types import BigId, Timestamp

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "static_group",
        sa.Column("id", BigId, nullable=False),
        sa.Column("camera_id", BigId, nullable=False),
        sa.Column("run_id", BigId, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("w", sa.Float(), nullable=False),
        sa.Column("h", sa.Float(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["camera.id"],
            name=op.f("fk_static_group_camera_id_camera"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["processing_run.id"],
            name=op.f("fk_static_group_run_id_processing_run"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_static_group")),
    )
    with op.batch_alter_table("static_group", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_static_group_camera_id"), ["camera_id"], unique=False)

    with op.batch_alter_table("detection", schema=None) as batch_op:
        batch_op.add_column(sa.Column("static_group_id", BigId, nullable=True))
        batch_op.create_index(
            batch_op.f("ix_detection_static_group_id"), ["static_group_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_detection_static_group_id_static_group"),
            "static_group",
            ["static_group_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("detection", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_detection_static_group_id_static_group"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_detection_static_group_id"))
        batch_op.drop_column("static_group_id")

    with op.batch_alter_table("static_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_static_group_camera_id"))

    op.drop_table("static_group")
