"""an index of photos by sequence, camera and time (results read sequences from it alone)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 10:05:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("image", schema=None) as batch_op:
        batch_op.create_index(
            "ix_image_cluster_time", ["cluster_id", "camera_id", "corrected_timestamp"]
        )


def downgrade() -> None:
    with op.batch_alter_table("image", schema=None) as batch_op:
        batch_op.drop_index("ix_image_cluster_time")
