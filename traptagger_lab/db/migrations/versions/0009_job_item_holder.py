"""one holder per cluster and annotator: job_item.holder, unique with task_item_id

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 13:30:00

Rows leased or done get the annotator (case-folded) as holder. Where a person
already held one cluster twice (allowed before this revision), the earliest
row keeps the hold and the later ones get none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

HOLDING = ("leased", "done")


def _backfill() -> None:
    job_item = sa.table(
        "job_item",
        sa.column("id", sa.BigInteger),
        sa.column("task_item_id", sa.BigInteger),
        sa.column("annotator", sa.String),
        sa.column("status", sa.String),
        sa.column("holder", sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(job_item.c.id, job_item.c.task_item_id, job_item.c.annotator)
        .where(job_item.c.status.in_(HOLDING))
        .order_by(job_item.c.id)
    ).all()
    seen: set[tuple[int, str]] = set()
    holders = []
    for row_id, task_item_id, annotator in rows:
        key = (task_item_id, annotator.casefold())
        if key not in seen:
            seen.add(key)
            holders.append({"row_id": row_id, "holder": key[1]})
    if holders:
        connection.execute(
            job_item.update()
            .where(job_item.c.id == sa.bindparam("row_id"))
            .values(holder=sa.bindparam("holder")),
            holders,
        )


def upgrade() -> None:
    with op.batch_alter_table("job_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holder", sa.String(length=200), nullable=True))
    _backfill()
    with op.batch_alter_table("job_item", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_job_item_task_item_id_holder", ["task_item_id", "holder"]
        )


def downgrade() -> None:
    with op.batch_alter_table("job_item", schema=None) as batch_op:
        batch_op.drop_constraint("uq_job_item_task_item_id_holder", type_="unique")
        batch_op.drop_column("holder")
