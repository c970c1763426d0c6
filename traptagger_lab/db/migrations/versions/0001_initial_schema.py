"""initial schema

Revision BigId: 0001
Revises:
Create Date: 2026-11-24 18:52:23.389171
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from traptagger_lab.db.types import BigId, Timestamp

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("site_pattern", sa.String(length=500), nullable=True),
        sa.Column("camera_pattern", sa.String(length=500), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey")),
        sa.UniqueConstraint("name", name=op.f("uq_survey_name")),
    )
    op.create_table(
        "processing_run",
        sa.Column("id", BigId, nullable=False),
        sa.Column("survey_id", BigId, nullable=True),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("software_version", sa.String(length=40), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["survey.id"],
            name=op.f("fk_processing_run_survey_id_survey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processing_run")),
    )
    with op.batch_alter_table("processing_run", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_processing_run_survey_id"), ["survey_id"], unique=False
        )

    op.create_table(
        "site",
        sa.Column("id", BigId, nullable=False),
        sa.Column("survey_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("altitude", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["survey.id"], name=op.f("fk_site_survey_id_survey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site")),
        sa.UniqueConstraint("survey_id", "name", name=op.f("uq_site_survey_id_name")),
    )
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_survey_id"), ["survey_id"], unique=False)

    op.create_table(
        "task",
        sa.Column("id", BigId, nullable=False),
        sa.Column("survey_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["survey.id"], name=op.f("fk_task_survey_id_survey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task")),
        sa.UniqueConstraint("survey_id", "name", name=op.f("uq_task_survey_id_name")),
    )
    op.create_table(
        "camera",
        sa.Column("id", BigId, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("clock_offset_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_camera_site_id_site"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_camera")),
        sa.UniqueConstraint("site_id", "name", name=op.f("uq_camera_site_id_name")),
    )
    with op.batch_alter_table("camera", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_camera_site_id"), ["site_id"], unique=False)

    op.create_table(
        "export",
        sa.Column("id", BigId, nullable=False),
        sa.Column("survey_id", BigId, nullable=False),
        sa.Column("task_id", BigId, nullable=True),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["survey.id"],
            name=op.f("fk_export_survey_id_survey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["task.id"], name=op.f("fk_export_task_id_task"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export")),
    )
    with op.batch_alter_table("export", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_survey_id"), ["survey_id"], unique=False)

    op.create_table(
        "individual",
        sa.Column("id", BigId, nullable=False),
        sa.Column("task_id", BigId, nullable=False),
        sa.Column("species", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["task.id"], name=op.f("fk_individual_task_id_task"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_individual")),
    )
    with op.batch_alter_table("individual", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_individual_task_id"), ["task_id"], unique=False)

    op.create_table(
        "ingest_issue",
        sa.Column("id", BigId, nullable=False),
        sa.Column("survey_id", BigId, nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("path_hash", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("duplicate_of", sa.Text(), nullable=True),
        sa.Column("run_id", BigId, nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["processing_run.id"],
            name=op.f("fk_ingest_issue_run_id_processing_run"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["survey.id"],
            name=op.f("fk_ingest_issue_survey_id_survey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_issue")),
        sa.UniqueConstraint(
            "survey_id", "path_hash", name=op.f("uq_ingest_issue_survey_id_path_hash")
        ),
    )
    with op.batch_alter_table("ingest_issue", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_issue_reason"), ["reason"], unique=False)

    op.create_table(
        "job",
        sa.Column("id", BigId, nullable=False),
        sa.Column("task_id", BigId, nullable=False),
        sa.Column("annotator", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"], ["task.id"], name=op.f("fk_job_task_id_task"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index("ix_job_task_status", ["task_id", "status"], unique=False)

    op.create_table(
        "label",
        sa.Column("id", BigId, nullable=False),
        sa.Column("task_id", BigId, nullable=False),
        sa.Column("parent_id", BigId, nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("hotkey", sa.String(length=8), nullable=True),
        sa.Column("is_tag", sa.Boolean(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["label.id"], name=op.f("fk_label_parent_id_label"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["task.id"], name=op.f("fk_label_task_id_task"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label")),
        sa.UniqueConstraint(
            "task_id", "parent_id", "name", name=op.f("uq_label_task_id_parent_id_name")
        ),
    )
    with op.batch_alter_table("label", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_label_task_id"), ["task_id"], unique=False)

    op.create_table(
        "mask",
        sa.Column("id", BigId, nullable=False),
        sa.Column("camera_id", BigId, nullable=False),
        sa.Column("polygon", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["camera.id"], name=op.f("fk_mask_camera_id_camera"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mask")),
    )
    with op.batch_alter_table("mask", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mask_camera_id"), ["camera_id"], unique=False)

    op.create_table(
        "video",
        sa.Column("id", BigId, nullable=False),
        sa.Column("survey_id", BigId, nullable=False),
        sa.Column("camera_id", BigId, nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("path_hash", sa.String(length=40), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("timestamp", Timestamp, nullable=True),
        sa.Column("timestamp_source", sa.String(length=32), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("fps", sa.Float(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("run_id", BigId, nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["camera.id"], name=op.f("fk_video_camera_id_camera"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["processing_run.id"],
            name=op.f("fk_video_run_id_processing_run"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["survey.id"], name=op.f("fk_video_survey_id_survey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_video")),
        sa.UniqueConstraint("survey_id", "path_hash", name=op.f("uq_video_survey_id_path_hash")),
    )
    with op.batch_alter_table("video", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_video_camera_id"), ["camera_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_video_hash"), ["hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_video_survey_id"), ["survey_id"], unique=False)

    op.create_table(
        "cluster",
        sa.Column("id", BigId, nullable=False),
        sa.Column("survey_id", BigId, nullable=False),
        sa.Column("site_id", BigId, nullable=False),
        sa.Column("camera_id", BigId, nullable=True),
        sa.Column("video_id", BigId, nullable=True),
        sa.Column("start", Timestamp, nullable=True),
        sa.Column("end", Timestamp, nullable=True),
        sa.Column("image_count", sa.Integer(), nullable=False),
        sa.Column("members_hash", sa.String(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("run_id", BigId, nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["camera.id"],
            name=op.f("fk_cluster_camera_id_camera"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["processing_run.id"],
            name=op.f("fk_cluster_run_id_processing_run"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_cluster_site_id_site"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["survey.id"],
            name=op.f("fk_cluster_survey_id_survey"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["video_id"], ["video.id"], name=op.f("fk_cluster_video_id_video"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cluster")),
    )
    with op.batch_alter_table("cluster", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cluster_site_id"), ["site_id"], unique=False)
        batch_op.create_index("ix_cluster_survey_active", ["survey_id", "active"], unique=False)

    op.create_table(
        "image",
        sa.Column("id", BigId, nullable=False),
        sa.Column("survey_id", BigId, nullable=False),
        sa.Column("camera_id", BigId, nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("path_hash", sa.String(length=40), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("timestamp", Timestamp, nullable=True),
        sa.Column("timestamp_source", sa.String(length=64), nullable=True),
        sa.Column("corrected_timestamp", Timestamp, nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("altitude", sa.Float(), nullable=True),
        sa.Column("make", sa.String(length=100), nullable=True),
        sa.Column("model", sa.String(length=100), nullable=True),
        sa.Column("compressed_key", sa.String(length=300), nullable=True),
        sa.Column("thumbnail_key", sa.String(length=300), nullable=True),
        sa.Column("is_video_frame", sa.Boolean(), nullable=False),
        sa.Column("video_id", BigId, nullable=True),
        sa.Column("frame_index", sa.Integer(), nullable=True),
        sa.Column("cluster_id", BigId, nullable=True),
        sa.Column("run_id", BigId, nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["camera.id"], name=op.f("fk_image_camera_id_camera"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["cluster.id"],
            name=op.f("fk_image_cluster_id_cluster"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["processing_run.id"],
            name=op.f("fk_image_run_id_processing_run"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["survey.id"], name=op.f("fk_image_survey_id_survey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["video_id"], ["video.id"], name=op.f("fk_image_video_id_video"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image")),
        sa.UniqueConstraint("survey_id", "path_hash", name=op.f("uq_image_survey_id_path_hash")),
    )
    with op.batch_alter_table("image", schema=None) as batch_op:
        batch_op.create_index(
            "ix_image_camera_time", ["camera_id", "corrected_timestamp"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_image_cluster_id"), ["cluster_id"], unique=False)
        batch_op.create_index("ix_image_survey_hash", ["survey_id", "hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_image_video_id"), ["video_id"], unique=False)

    op.create_table(
        "detection",
        sa.Column("id", BigId, nullable=False),
        sa.Column("image_id", BigId, nullable=False),
        sa.Column("run_id", BigId, nullable=True),
        sa.Column("category", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("w", sa.Float(), nullable=False),
        sa.Column("h", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["image.id"], name=op.f("fk_detection_image_id_image"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["processing_run.id"],
            name=op.f("fk_detection_run_id_processing_run"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detection")),
    )
    with op.batch_alter_table("detection", schema=None) as batch_op:
        batch_op.create_index(
            "ix_detection_relevant", ["image_id", "status", "score"], unique=False
        )

    op.create_table(
        "annotation",
        sa.Column("id", BigId, nullable=False),
        sa.Column("task_id", BigId, nullable=False),
        sa.Column("cluster_id", BigId, nullable=True),
        sa.Column("detection_id", BigId, nullable=True),
        sa.Column("label_id", BigId, nullable=True),
        sa.Column("job_id", BigId, nullable=True),
        sa.Column("previous_id", BigId, nullable=True),
        sa.Column("carried_from_id", BigId, nullable=True),
        sa.Column("annotator", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["carried_from_id"],
            ["annotation.id"],
            name=op.f("fk_annotation_carried_from_id_annotation"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["cluster.id"],
            name=op.f("fk_annotation_cluster_id_cluster"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["detection_id"],
            ["detection.id"],
            name=op.f("fk_annotation_detection_id_detection"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["job.id"], name=op.f("fk_annotation_job_id_job"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["label_id"],
            ["label.id"],
            name=op.f("fk_annotation_label_id_label"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["annotation.id"],
            name=op.f("fk_annotation_previous_id_annotation"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["task.id"], name=op.f("fk_annotation_task_id_task"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotation")),
    )
    with op.batch_alter_table("annotation", schema=None) as batch_op:
        batch_op.create_index("ix_annotation_task_cluster", ["task_id", "cluster_id"], unique=False)

    op.create_table(
        "classification",
        sa.Column("id", BigId, nullable=False),
        sa.Column("detection_id", BigId, nullable=False),
        sa.Column("run_id", BigId, nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["detection_id"],
            ["detection.id"],
            name=op.f("fk_classification_detection_id_detection"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["processing_run.id"],
            name=op.f("fk_classification_run_id_processing_run"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classification")),
    )
    with op.batch_alter_table("classification", schema=None) as batch_op:
        batch_op.create_index(
            "ix_classification_detection", ["detection_id", "score"], unique=False
        )

    op.create_table(
        "individual_detection",
        sa.Column("individual_id", BigId, nullable=False),
        sa.Column("detection_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["detection_id"],
            ["detection.id"],
            name=op.f("fk_individual_detection_detection_id_detection"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["individual_id"],
            ["individual.id"],
            name=op.f("fk_individual_detection_individual_id_individual"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "individual_id", "detection_id", name=op.f("pk_individual_detection")
        ),
    )


def downgrade() -> None:
    op.drop_table("individual_detection")
    with op.batch_alter_table("classification", schema=None) as batch_op:
        batch_op.drop_index("ix_classification_detection")

    op.drop_table("classification")
    with op.batch_alter_table("annotation", schema=None) as batch_op:
        batch_op.drop_index("ix_annotation_task_cluster")

    op.drop_table("annotation")
    with op.batch_alter_table("detection", schema=None) as batch_op:
        batch_op.drop_index("ix_detection_relevant")

    op.drop_table("detection")
    with op.batch_alter_table("image", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_image_video_id"))
        batch_op.drop_index("ix_image_survey_hash")
        batch_op.drop_index(batch_op.f("ix_image_cluster_id"))
        batch_op.drop_index("ix_image_camera_time")

    op.drop_table("image")
    with op.batch_alter_table("cluster", schema=None) as batch_op:
        batch_op.drop_index("ix_cluster_survey_active")
        batch_op.drop_index(batch_op.f("ix_cluster_site_id"))

    op.drop_table("cluster")
    with op.batch_alter_table("video", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_video_survey_id"))
        batch_op.drop_index(batch_op.f("ix_video_hash"))
        batch_op.drop_index(batch_op.f("ix_video_camera_id"))

    op.drop_table("video")
    with op.batch_alter_table("mask", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mask_camera_id"))

    op.drop_table("mask")
    with op.batch_alter_table("label", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_task_id"))

    op.drop_table("label")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_task_status")

    op.drop_table("job")
    with op.batch_alter_table("ingest_issue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_issue_reason"))

    op.drop_table("ingest_issue")
    with op.batch_alter_table("individual", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_individual_task_id"))

    op.drop_table("individual")
    with op.batch_alter_table("export", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_survey_id"))

    op.drop_table("export")
    with op.batch_alter_table("camera", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_camera_site_id"))

    op.drop_table("camera")
    op.drop_table("task")
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_survey_id"))

    op.drop_table("site")
    with op.batch_alter_table("processing_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processing_run_survey_id"))

    op.drop_table("processing_run")
    op.drop_table("survey")
