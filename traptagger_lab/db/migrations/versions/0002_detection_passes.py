"""detection passes

Revision BigId: 0002
Revises: 0001
Create Date: 2026-11-24 19:32:35.292024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from traptagger_lab.db.types import BigId, Timestamp

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "detection_pass",
        sa.Column("id", BigId, nullable=False),
        sa.Column("image_id", BigId, nullable=False),
        sa.Column("run_id", BigId, nullable=True),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("detections", sa.Integer(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["image.id"],
            name=op.f("fk_detection_pass_image_id_image"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["processing_run.id"],
            name=op.f("fk_detection_pass_run_id_processing_run"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detection_pass")),
        sa.UniqueConstraint("image_id", "model", name=op.f("uq_detection_pass_image_id_model")),
    )


def downgrade() -> None:
    op.drop_table("detection_pass")
