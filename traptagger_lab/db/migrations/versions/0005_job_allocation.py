"""job allocation

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 20:03:35.537076
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from traptagger_lab.db.types import BigId, Timestamp

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_item",
        sa.Column("id", BigId, nullable=False),
        sa.Column("task_id", BigId, nullable=False),
        sa.Column("cluster_id", BigId, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("start", Timestamp, nullable=True),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("leased", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["cluster.id"],
            name=op.f("fk_task_item_cluster_id_cluster"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_task_item_site_id_site"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["task.id"], name=op.f("fk_task_item_task_id_task"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_item")),
        sa.UniqueConstraint("task_id", "cluster_id", name=op.f("uq_task_item_task_id_cluster_id")),
    )
    with op.batch_alter_table("task_item", schema=None) as batch_op:
        batch_op.create_index("ix_task_item_order", ["task_id", "site_id", "start"], unique=False)

    op.create_table(
        "job_item",
        sa.Column("id", BigId, nullable=False),
        sa.Column("job_id", BigId, nullable=False),
        sa.Column("task_id", BigId, nullable=False),
        sa.Column("task_item_id", BigId, nullable=False),
        sa.Column("cluster_id", BigId, nullable=False),
        sa.Column("annotator", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("leased_until", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["cluster.id"],
            name=op.f("fk_job_item_cluster_id_cluster"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["job.id"], name=op.f("fk_job_item_job_id_job"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["task.id"], name=op.f("fk_job_item_task_id_task"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["task_item_id"],
            ["task_item.id"],
            name=op.f("fk_job_item_task_item_id_task_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_item")),
    )
    with op.batch_alter_table("job_item", schema=None) as batch_op:
        batch_op.create_index(
            "ix_job_item_item_annotator", ["task_item_id", "annotator"], unique=False
        )
        batch_op.create_index("ix_job_item_job", ["job_id", "cluster_id"], unique=False)
        batch_op.create_index(
            "ix_job_item_lease", ["task_id", "status", "leased_until"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("job_item", schema=None) as batch_op:
        batch_op.drop_index("ix_job_item_lease")
        batch_op.drop_index("ix_job_item_job")
        batch_op.drop_index("ix_job_item_item_annotator")

    op.drop_table("job_item")
    with op.batch_alter_table("task_item", schema=None) as batch_op:
        batch_op.drop_index("ix_task_item_order")

    op.drop_table("task_item")
