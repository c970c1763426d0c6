"""Which rows of an organisation's database belong to one survey: the views a share sees.

Sharing a survey with another organisation gives that organisation a database
login that sees only that survey's rows. The login reaches a set of views, one
per table and named like the table, each selecting the source table's rows of
the shared survey. The library opens the views as if they were a database of
its own, and the database server, not Python, keeps the rest of the source
organisation's data out of reach. A read-write share may also write what
annotating writes (:data:`~traptagger_hub.server_admin.ANNOTATOR_WRITES`) through
the views; ``WITH CHECK OPTION`` refuses rows outside the survey.

This module is pure: it knows the schema's tables and writes the SQL.
"""

from __future__ import annotations

from collections.abc import Iterable

from traptagger_lab.db.models import Base

#: For each table, the condition that picks the shared survey's rows. ``{src}``
#: is the source database or schema and ``{survey}`` the survey's id.
_CAMERAS = (
    "SELECT c.id FROM {src}.camera c JOIN {src}.site s ON c.site_id = s.id "
    "WHERE s.survey_id = {survey}"
)
_TASKS = "SELECT id FROM {src}.task WHERE survey_id = {survey}"
_IMAGES = "SELECT id FROM {src}.image WHERE survey_id = {survey}"
SURVEY_ROWS: dict[str, str] = {
    "alembic_version": "1 = 1",
    "survey": "id = {survey}",
    "site": "survey_id = {survey}",
    "camera": "site_id IN (SELECT id FROM {src}.site WHERE survey_id = {survey})",
    "camera_outage": f"camera_id IN ({_CAMERAS})",
    "static_group": f"camera_id IN ({_CAMERAS})",
    "mask": f"camera_id IN ({_CAMERAS})",
    "video": "survey_id = {survey}",
    "cluster": "survey_id = {survey}",
    "image": "survey_id = {survey}",
    "ingest_issue": "survey_id = {survey}",
    "survey_source": "survey_id = {survey}",
    "deployment": "survey_id = {survey}",
    "deployment_problem": (
        "deployment_id IN (SELECT id FROM {src}.deployment WHERE survey_id = {survey})"
    ),
    "processing_run": "survey_id = {survey}",
    "export": "survey_id = {survey}",
    "task": "survey_id = {survey}",
    "detection": f"image_id IN ({_IMAGES})",
    "detection_pass": f"image_id IN ({_IMAGES})",
    "classification": (
        "detection_id IN (SELECT d.id FROM {src}.detection d JOIN {src}.image i "
        "ON d.image_id = i.id WHERE i.survey_id = {survey})"
    ),
    "cluster_suggestion": (
        "cluster_id IN (SELECT id FROM {src}.cluster WHERE survey_id = {survey})"
    ),
    "label": f"task_id IN ({_TASKS})",
    "job": f"task_id IN ({_TASKS})",
    "task_item": f"task_id IN ({_TASKS})",
    "job_item": f"task_id IN ({_TASKS})",
    "annotation": f"task_id IN ({_TASKS})",
    "individual": f"task_id IN ({_TASKS})",
    "individual_detection": (
        "individual_id IN (SELECT id FROM {src}.individual WHERE task_id IN (" + _TASKS + "))"
    ),
}

MODES = ("read-only", "read-write")


def shared_tables(tables: Iterable[str] | None = None) -> list[str]:
    """Every table a share needs a view of, checking that each has a rule.

    A table added to the schema without a rule here would make shares fail
    silently later; this refuses instead, naming the tables.
    """
    names = set(tables if tables is not None else Base.metadata.tables) | {"alembic_version"}
    missing = sorted(names - SURVEY_ROWS.keys())
    if missing:
        raise ValueError(
            f"no sharing rule for table(s) {', '.join(missing)}: add them to SURVEY_ROWS"
        )
    return sorted(names)


def view_sql(backend: str, target: str, source: str, table: str, survey_id: int) -> str:
    """``CREATE VIEW`` for ``table``'s rows of one survey.

    ``target`` is where the view goes (a MariaDB database or a PostgreSQL
    schema) and ``source`` where the table is.
    """
    quote = '"{}"'.format if backend == "postgresql" else "`{}`".format
    src = quote(source)
    condition = SURVEY_ROWS[table].format(src=src, survey=int(survey_id))
    body = f"SELECT * FROM {src}.{quote(table)} WHERE {condition}"
    name = f"{quote(target)}.{quote(table)}"
    if backend == "postgresql":
        return f"CREATE VIEW {name} WITH (security_barrier) AS {body} WITH CASCADED CHECK OPTION"
    return f"CREATE ALGORITHM = MERGE SQL SECURITY DEFINER VIEW {name} AS {body} WITH CHECK OPTION"
