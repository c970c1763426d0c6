"""deployments: a camera (or station) at a site between setup and retrieval, and its problem
periods (camtrapR's camera-trap table, Camtrap DP's deployments)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:45:45

New tables only; surveys without deployments keep their effort from photo spans.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from traptagger_lab.db.types import BigId, Timestamp

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployment",
        sa.Column("id", BigId, nullable=False),
        sa.Column("survey_id", BigId, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("camera_id", BigId, nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("setup", Timestamp, nullable=False),
        sa.Column("setup_time_known", sa.Boolean(), nullable=False),
        sa.Column("retrieval", Timestamp, nullable=False),
        sa.Column("retrieval_time_known", sa.Boolean(), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.Column("x", sa.Double(), nullable=True),
        sa.Column("y", sa.Double(), nullable=True),
        sa.Column("crs", sa.String(length=64), nullable=True),
        sa.Column("camera_height", sa.Double(), nullable=True),
        sa.Column("bait", sa.String(length=200), nullable=True),
        sa.Column("habitat", sa.Text(), nullable=True),
        sa.Column("feature_type", sa.String(length=100), nullable=True),
        sa.Column("covariates", sa.JSON(), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=True),
        sa.Column("source_row", sa.Integer(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["camera.id"],
            name=op.f("fk_deployment_camera_id_camera"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_deployment_site_id_site"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["survey.id"],
            name=op.f("fk_deployment_survey_id_survey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment")),
    )
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deployment_camera_id"), ["camera_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deployment_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deployment_survey_id"), ["survey_id"], unique=False)

    op.create_table(
        "deployment_problem",
        sa.Column("id", BigId, nullable=False),
        sa.Column("deployment_id", BigId, nullable=False),
        sa.Column("start", Timestamp, nullable=False),
        sa.Column("start_time_known", sa.Boolean(), nullable=False),
        sa.Column("end", Timestamp, nullable=False),
        sa.Column("end_time_known", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployment.id"],
            name=op.f("fk_deployment_problem_deployment_id_deployment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_problem")),
    )
    with op.batch_alter_table("deployment_problem", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deployment_problem_deployment_id"), ["deployment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deployment_problem", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deployment_problem_deployment_id"))
    op.drop_table("deployment_problem")
    with op.batch_alter_table("deployment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deployment_survey_id"))
        batch_op.drop_index(batch_op.f("ix_deployment_site_id"))
        batch_op.drop_index(batch_op.f("ix_deployment_camera_id"))
    op.drop_table("deployment")
