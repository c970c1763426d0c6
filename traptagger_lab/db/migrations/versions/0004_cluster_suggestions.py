"""cluster suggestions

Revision BigId: 0004
Revises: 0003
Create Date: 2026-11-24 19:47:52.631064
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from traptagger_lab.db.types import BigId, Timestamp

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_suggestion",
        sa.Column("id", BigId, nullable=False),
        sa.Column("cluster_id", BigId, nullable=False),
        sa.Column("run_id", BigId, nullable=True),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("detections", sa.Integer(), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("auto", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["cluster.id"],
            name=op.f("fk_cluster_suggestion_cluster_id_cluster"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["processing_run.id"],
            name=op.f("fk_cluster_suggestion_run_id_processing_run"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster_suggestion")),
        sa.UniqueConstraint(
            "cluster_id", "model", name=op.f("uq_cluster_suggestion_cluster_id_model")
        ),
    )


def downgrade() -> None:
    op.drop_table("cluster_suggestion")
