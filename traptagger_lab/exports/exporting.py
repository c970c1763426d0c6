"""``lab.export(task, format, path)``: a task's observations in the formats other tools read."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
from tqdm.auto import tqdm

from traptagger_lab.annotate.settled import LabelsRef, Selection, is_task, one_selection
from traptagger_lab.db.engine import transaction
from traptagger_lab.db.models import Export
from traptagger_lab.deployments.per_camera import camera_deployments, in_deployments
from traptagger_lab.errors import ConfigurationError
from traptagger_lab.exports import camtrap_dp, coco, folders, megadetector, tables
from traptagger_lab.exports.destinations import Destination
from traptagger_lab.ingest.sources import file_sources, survey_sources
from traptagger_lab.results.api import Results
from traptagger_lab.results.observations import observations, survey_images
from traptagger_lab.surveys import SurveyRef, find_survey, get_survey, sites_frame

if TYPE_CHECKING:
    from traptagger_lab.workspace import Workspace

log = logging.getLogger(__name__)

FORMATS = ("csv", "excel", "record-table", "camtrap-dp", "coco", "md-json", "folders")


@dataclass
class ExportResult:
    """Where an export went and what it holds."""

    format: str
    location: str
    files: list[str] = field(default_factory=list)
    rows: int = 0


def _destination(workspace: Workspace, path: str, overwrite: bool) -> Destination:
    return Destination.open(path, workspace.settings.fsspec_options(path), overwrite)


def _csv(table: pd.DataFrame) -> bytes:
    text: str = table.to_csv(index=False)
    return text.encode("utf-8")


#: The suffix of each single-file format's file (when the destination is a folder).
SUFFIX = {
    "csv": ".csv",
    "record-table": ".csv",
    "excel": ".xlsx",
    "coco": ".json",
    "md-json": ".json",
}


def _table(
    workspace: Workspace,
    chosen: Selection,
    seen: pd.DataFrame,
    fmt: str,
    out: Destination,
    file: str,
    **options: Any,
) -> int:
    if fmt == "record-table":
        table = Results(
            workspace, chosen, options.get("min_delta_minutes", 60), options.get("exclude", ())
        ).record_table(options.get("compared_to", "last_record"), options.get("by", "site"))
    else:
        table = tables.flat_table(seen, options.get("per", "detection"), options.get("columns", ()))
    if fmt == "excel":
        buffer = io.BytesIO()
        table.to_excel(buffer, index=False, sheet_name="observations")
        out.write(file, buffer.getvalue())
    else:
        out.write(file, _csv(table))
    return len(table)


def _camtrap_dp(
    workspace: Workspace, survey: Any, seen: pd.DataFrame, out: Destination, **options: Any
) -> ExportResult:
    offset = camtrap_dp.check_offset(
        options.get("utc_offset") or (survey.settings or {}).get("utc_offset") or "+00:00"
    )
    if "utc_offset" not in options and not (survey.settings or {}).get("utc_offset"):
        log.warning("camera times of %r written as UTC: pass utc_offset='+hh:mm'", survey.name)
    taxa = dict(options.get("taxa") or {})
    with workspace.sessions() as session:
        sites = sites_frame(session, survey.id)
    cameras = camera_deployments(workspace, survey.id)  # stored, else photo spans
    deployments = camtrap_dp.deployments_table(cameras, sites, offset)
    images = in_deployments(
        survey_images(workspace, survey.id), cameras, "images (photos, video stills)"
    )
    media = camtrap_dp.media_table(images, offset)
    seen = in_deployments(seen, cameras, "observations")
    observed = camtrap_dp.observations_table(seen, media, offset, taxa)
    package = camtrap_dp.descriptor(
        survey.name,
        deployments,
        observed,
        taxa,
        options.get("contributors"),
        **options.get("project", {}),
    )
    files = [
        out.write(out.place(f"{name}.csv"), _csv(table))
        for name, table in zip(camtrap_dp.TABLES, (deployments, media, observed), strict=True)
    ]
    files.append(out.write(out.place("datapackage.json"), json.dumps(package, indent=2).encode()))
    return ExportResult("camtrap-dp", out.url, files, len(observed))


def _md_json(
    workspace: Workspace, survey: Any, seen: pd.DataFrame, out: Destination, file: str
) -> int:
    from traptagger_lab.detect.exchange import stored_model_name, survey_to_md
    from traptagger_lab.detect.mdjson import dumps

    with workspace.sessions() as session:  # never detected: no entries, the people's boxes alone
        model = stored_model_name(session, survey.id, workspace.settings.detector.upper())
        document = survey_to_md(session, survey.id, model, {})
    document = megadetector.classify_document(document, seen)
    out.write(file, dumps(document).encode())
    return len(document["images"])


def _folders(
    workspace: Workspace, survey: Any, seen: pd.DataFrame, out: Destination, layout: str
) -> ExportResult:
    with workspace.sessions() as session:  # each photo is read from its own source
        source = survey_sources(session, survey.id, workspace.settings.fsspec_options)
    if not source.roots:
        raise ConfigurationError(f"survey {survey.name!r} has no source to copy photos from")
    plan = folders.species_folder_plan(seen, layout)
    with workspace.sessions() as session:
        located = file_sources(session, survey.id, [original for original, _ in plan])
    places = [out.place(placed) for _, placed in plan]  # all proven inside before any copy
    for (original, _), destination in tqdm(
        list(zip(plan, places, strict=True)), desc="sorting into species folders", unit="file"
    ):
        out.write(destination, source.read(original, located.get(original)))
    return ExportResult("folders", out.url, places, len(plan))


def export(
    workspace: Workspace,
    task: LabelsRef,
    format: str,  # noqa: A002 (the interface names it)
    path: str,
    overwrite: bool = False,
    people_only: bool = False,
    **options: Any,
) -> ExportResult:
    """Write the settled labels of a survey (or of a task or tasks of one survey; see
    :mod:`~traptagger_lab.annotate.settled`) as ``format`` (see :data:`FORMATS`) to
    ``path`` (a folder or file, local or s3://); ``people_only`` leaves the AI's
    auto-labels out. The export is recorded in the ``export`` table.

    An existing export file, or a non-empty folder for the many-file formats (camtrap-dp,
    folders), is refused unless ``overwrite`` (files of the same name are then replaced,
    others left). Folder and file names made from labels, sites, cameras and photo paths
    are made safe and proven inside ``path``.

    Options: ``per`` (detection/image/cluster) and ``columns`` for csv/excel;
    ``min_delta_minutes``, ``exclude`` for record-table; ``utc_offset``, ``taxa``
    (label -> scientific name), ``contributors``, ``project`` for camtrap-dp;
    ``layout`` (species or camtrapR) for folders.

    Raises:
        DestinationExistsError: if the destination holds an export and not ``overwrite``.
    """
    if format not in FORMATS:
        raise ConfigurationError(f"export format {format!r}: use one of {', '.join(FORMATS)}")
    out = _destination(workspace, path, overwrite)
    file = out.file(SUFFIX[format]) if format in SUFFIX else out.folder()  # refused before work
    with workspace.sessions() as session:
        chosen = one_selection(session, task, people_only)
        survey = find_survey(session, chosen.survey_id)
        named = is_task(session, task)
    seen = observations(workspace, chosen)
    if format in ("csv", "excel", "record-table"):
        rows = _table(workspace, chosen, seen, format, out, file, **options)
        result = ExportResult(format, path, [file], rows)
    elif format == "camtrap-dp":
        result = _camtrap_dp(workspace, survey, seen, out, **options)
    elif format == "coco":
        document = coco.coco_document(survey_images(workspace, survey.id), seen, survey.name)
        out.write(file, json.dumps(document, indent=1).encode())
        result = ExportResult("coco", path, [file], len(document["annotations"]))
    elif format == "md-json":
        result = ExportResult("md-json", path, [file], _md_json(workspace, survey, seen, out, file))
    else:
        result = _folders(workspace, survey, seen, out, options.get("layout", "species"))
    kept = {
        k: v for k, v in options.items() if isinstance(v, str | int | float | bool | list | dict)
    }
    with transaction(workspace.sessions) as session:
        session.add(
            Export(
                survey_id=survey.id,
                task_id=named.id if named is not None else None,
                format=format,
                location=path,
                params={**kept, "passes": [p.name for p in chosen.passes]},
            )
        )
    return result


def export_detections(
    workspace: Workspace,
    survey: SurveyRef,
    path: str,
    model: str | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write the survey's detections as MegaDetector batch-output JSON (for Timelapse) and
    return the document.

    Paths in the file are relative to the survey's source folder; ``model`` (default the
    workspace's detector) names the detections' model and its typical and conservative
    thresholds. An existing file is refused unless ``overwrite``.

    Raises:
        DestinationExistsError: if ``path`` exists and not ``overwrite``.
    """
    from traptagger_lab.detect.exchange import stored_model_name, survey_to_md
    from traptagger_lab.detect.mdjson import dumps
    from traptagger_lab.detect.registry import known_models

    out = _destination(workspace, path, overwrite)
    file = out.file("")  # the path itself
    row = get_survey(workspace, survey)
    name = (model or workspace.settings.detector).upper()
    facts = known_models().get(name, {})
    thresholds: dict[str, float] = {
        k: float(facts[k]) for k in ("typical", "conservative") if k in facts
    }
    with workspace.sessions() as session:
        stored = stored_model_name(session, row.id, name)
        document: dict[str, Any] = survey_to_md(session, row.id, stored, thresholds)
    out.write(file, dumps(document).encode())
    return document
