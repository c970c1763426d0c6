"""``lab.import_labels``: annotations made elsewhere, onto a survey's task."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fsspec.core import url_to_fs
from sqlalchemy import func, select
from tqdm.auto import tqdm

from traptagger_lab.annotate.tasks import TaskRef, create_task, find_task, task_for
from traptagger_lab.db.engine import transaction
from traptagger_lab.db.models import Cluster, Image, Task
from traptagger_lab.errors import ConfigurationError, InputFileError, NotFoundError
from traptagger_lab.exports import camtrap_dp_in, readers
from traptagger_lab.exports.fields import decode_text
from traptagger_lab.exports.labels_in import LabelImport, store_image_labels
from traptagger_lab.exports.safe_names import file_of
from traptagger_lab.ingest.sources import file_sources, survey_sources
from traptagger_lab.sequences import SequenceParams, sequence_survey
from traptagger_lab.surveys import SurveyRef, get_survey

if TYPE_CHECKING:
    from traptagger_lab.workspace import Workspace

log = logging.getLogger(__name__)

IMPORT_FORMATS = ("folders", "xmp", "csv", "coco", "md-json", "camtrap-dp")
#: The task labels go to when a survey has no species task yet.
DEFAULT_TASK = "Species"


def _survey_paths(workspace: Workspace, survey_id: int) -> list[str]:
    with workspace.sessions() as session:
        return list(
            session.scalars(
                select(Image.path).where(Image.survey_id == survey_id).order_by(Image.id)
            )
        )


def _read(workspace: Workspace, path: str) -> bytes:
    fs, fs_path = url_to_fs(path, **workspace.settings.fsspec_options(path))
    try:
        return bytes(fs.cat_file(fs_path))
    except FileNotFoundError as exc:
        raise InputFileError(path, "no such file") from exc


def _xmp_labels(
    workspace: Workspace, survey: Any, species_key: str, individual_key: str
) -> readers.Labels:
    with workspace.sessions() as session:  # each photo is read from its own source
        source = survey_sources(session, survey.id, workspace.settings.fsspec_options)
    if not source.roots:
        raise ConfigurationError(f"survey {survey.name!r} has no source to read tags from")
    found = readers.Labels()
    photos = [p for p in _survey_paths(workspace, survey.id) if file_of(p) == p]  # not video stills
    with workspace.sessions() as session:
        located = file_sources(session, survey.id, photos)
    for path in tqdm(photos, desc="reading XMP tags", unit="file"):
        try:
            data = source.read(path, located.get(path))
        except OSError as exc:
            found.problems.append(InputFileError(path, f"unreadable: {exc}"))
            continue
        one = readers.from_xmp(path, data, species_key, individual_key)
        found.rows += one.rows
        found.problems += one.problems
    return found


def _camtrap_dp_labels(workspace: Workspace, path: str) -> readers.Labels:
    base = path.rstrip("/")
    if base.endswith("datapackage.json"):
        base = base.rsplit("/", 1)[0]
    tables = {
        name: camtrap_dp_in.read_table(
            _read(workspace, f"{base}/{name}.csv"), f"{base}/{name}.csv", name
        )
        for name in ("media", "observations")
    }
    return camtrap_dp_in.from_camtrap_dp(tables["media"], tables["observations"], base)


def read_labels(
    workspace: Workspace, survey: Any, source: str, path: str | None, **options: Any
) -> readers.Labels:
    """The label rows of one source (see :data:`IMPORT_FORMATS`)."""
    if source not in IMPORT_FORMATS:
        raise ConfigurationError(f"--from {source!r}: use one of {', '.join(IMPORT_FORMATS)}")
    if source == "folders":
        return readers.from_folders(_survey_paths(workspace, survey.id), options.get("level", -1))
    if source == "xmp":
        return _xmp_labels(
            workspace,
            survey,
            options.get("species_key", "Species"),
            options.get("individual_key", "individual"),
        )
    if path is None:
        raise ConfigurationError(f"importing {source} needs the file's path")
    if source == "camtrap-dp":
        return _camtrap_dp_labels(workspace, path)
    data = _read(workspace, path)
    if source == "csv":
        return readers.from_csv(decode_text(data, path), path)
    document = readers.read_json(data, path)
    if source == "coco":
        return readers.from_coco(document, path)
    return readers.from_megadetector(document, path, options.get("threshold", 0.5))


def _task(workspace: Workspace, survey: Any, task: Any) -> tuple[Task, bool]:
    """The task to label (given, or the survey's default, created when there is none)."""
    if task is not None:
        with workspace.sessions() as session:
            return find_task(session, task, survey.id), False
    try:
        return task_for(workspace, survey.name), False
    except NotFoundError:
        with workspace.sessions() as session:
            clustered = session.scalar(
                select(func.count()).select_from(Cluster).where(Cluster.survey_id == survey.id)
            )
        if not clustered:
            sequence_survey(workspace.sessions, survey.id, SequenceParams())
        with transaction(workspace.sessions) as session:
            return create_task(session, survey.id, DEFAULT_TASK, labels=[]), True


def import_labels(
    workspace: Workspace,
    survey: SurveyRef,
    source: str,
    path: str | None = None,
    task: TaskRef | None = None,
    add_labels: bool | None = None,
    **options: Any,
) -> LabelImport:
    """Label a survey's images from another tool's annotations (see :data:`IMPORT_FORMATS`).

    Labels go to ``task`` or the survey's default task (a ``Species`` task is
    created, with the labels found, when the survey has none). Labels the task
    does not have are refused with a list of them, unless ``add_labels``.
    Options: ``level`` (folders), ``species_key``/``individual_key`` (xmp),
    ``threshold`` (md-json).
    """
    row = get_survey(workspace, survey)
    found = read_labels(workspace, row, source, path, **options)
    target, created = _task(workspace, row, task)
    report = LabelImport(target.name, path or source, problems=list(found.problems))
    with transaction(workspace.sessions) as session:
        store_image_labels(
            session,
            row.id,
            target.id,
            found.rows,
            f"import:{source}",
            report,
            created if add_labels is None else add_labels,
        )
    for problem in report.problems[:20]:
        log.warning("%s", problem)
    if report.unknown_files:
        log.warning(
            "%d file(s) are not images of %r, e.g. %s",
            len(report.unknown_files),
            row.name,
            report.unknown_files[:3],
        )
    return report
