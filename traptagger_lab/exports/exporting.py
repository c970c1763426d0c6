"""``lab.export(task, format, path)``: a task's observations in the formats other tools read."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
from fsspec.core import url_to_fs
from tqdm.auto import tqdm

from traptagger_lab.db.engine import transaction
from traptagger_lab.db.models import Export
from traptagger_lab.errors import ConfigurationError
from traptagger_lab.exports import camtrap_dp, coco, folders, megadetector, tables
from traptagger_lab.results.observations import observations, survey_images

if TYPE_CHECKING:
    from traptagger_lab.lab import Lab

log = logging.getLogger(__name__)

FORMATS = ("csv", "excel", "record-table", "camtrap-dp", "coco", "md-json", "folders")


@dataclass
class ExportResult:
    """Where an export went and what it holds."""

    format: str
    location: str
    files: list[str] = field(default_factory=list)
    rows: int = 0


def _fs(lab: Lab, path: str) -> tuple[Any, str]:
    fs, root = url_to_fs(path, **lab.settings.fsspec_options(path))
    return fs, root.rstrip("/")


def _write(fs: Any, path: str, data: bytes) -> str:
    parent = path.rsplit("/", 1)[0]
    if parent and parent != path:
        fs.makedirs(parent, exist_ok=True)
    fs.pipe_file(path, data)
    return path


def _csv(table: pd.DataFrame) -> bytes:
    return table.to_csv(index=False).encode("utf-8")


def _file_path(path: str, suffix: str) -> str:
    return path if path.lower().endswith(suffix) else f"{path.rstrip('/')}/export{suffix}"


def _table(
    lab: Lab, task: Any, seen: pd.DataFrame, fmt: str, path: str, **options: Any
) -> ExportResult:
    fs, target = _fs(lab, path)
    if fmt == "record-table":
        table = lab.results(
            task, options.get("min_delta_minutes", 60), options.get("exclude", ())
        ).record_table(options.get("compared_to", "last_record"), options.get("by", "site"))
    else:
        table = tables.flat_table(seen, options.get("per", "detection"), options.get("columns", ()))
    if fmt == "excel":
        buffer = io.BytesIO()
        table.to_excel(buffer, index=False, sheet_name=fmt if fmt != "excel" else "observations")
        written = _write(fs, _file_path(target, ".xlsx"), buffer.getvalue())
    else:
        written = _write(fs, _file_path(target, ".csv"), _csv(table))
    return ExportResult(fmt, path, [written], len(table))


def _camtrap_dp(
    lab: Lab, survey: Any, seen: pd.DataFrame, path: str, **options: Any
) -> ExportResult:
    offset = camtrap_dp.check_offset(
        options.get("utc_offset") or (survey.settings or {}).get("utc_offset") or "+00:00"
    )
    if "utc_offset" not in options and not (survey.settings or {}).get("utc_offset"):
        log.warning("camera times of %r written as UTC: pass utc_offset='+hh:mm'", survey.name)
    taxa = dict(options.get("taxa") or {})
    images = survey_images(lab, survey.id)
    deployments = camtrap_dp.deployments_table(images, lab.sites(survey.id), offset)
    media = camtrap_dp.media_table(images, offset)
    observed = camtrap_dp.observations_table(seen, media, offset, taxa)
    package = camtrap_dp.descriptor(
        survey.name,
        deployments,
        observed,
        taxa,
        options.get("contributors"),
        **options.get("project", {}),
    )
    fs, target = _fs(lab, path)
    files = [
        _write(fs, f"{target}/{name}.csv", _csv(table))
        for name, table in zip(camtrap_dp.TABLES, (deployments, media, observed), strict=True)
    ]
    files.append(_write(fs, f"{target}/datapackage.json", json.dumps(package, indent=2).encode()))
    return ExportResult("camtrap-dp", path, files, len(observed))


def _md_json(lab: Lab, survey: Any, seen: pd.DataFrame, path: str) -> ExportResult:
    from traptagger_lab.detect.exchange import survey_to_md
    from traptagger_lab.detect.mdjson import dumps

    model = lab._detector_name(survey.id, lab.settings.detector.upper())
    with lab.sessions() as session:  # never detected: no entries, the people's boxes alone
        document = survey_to_md(session, survey.id, model, {})
    document = megadetector.classify_document(document, seen)
    fs, target = _fs(lab, path)
    written = _write(fs, _file_path(target, ".json"), dumps(document).encode())
    return ExportResult("md-json", path, [written], len(document["images"]))


def _folders(lab: Lab, survey: Any, seen: pd.DataFrame, path: str, layout: str) -> ExportResult:
    from traptagger_lab.ingest.sources import file_sources

    source = lab.sources(survey.id)  # each photo is read from its own source
    if not source.roots:
        raise ConfigurationError(f"survey {survey.name!r} has no source to copy photos from")
    fs, target = _fs(lab, path)
    plan = folders.species_folder_plan(seen, layout)
    with lab.sessions() as session:
        located = file_sources(session, survey.id, [original for original, _ in plan])
    files = []
    for original, placed in tqdm(plan, desc="sorting into species folders", unit="file"):
        destination = f"{target}/{placed}"
        if not fs.exists(destination):  # resumable: files already there are kept
            _write(fs, destination, source.read(original, located.get(original)))
        files.append(destination)
    return ExportResult("folders", path, files, len(plan))


def export(lab: Lab, task: Any, format: str, path: str, **options: Any) -> ExportResult:  # noqa: A002 (the interface names it)
    """Write a task's settled labels as ``format`` (see :data:`FORMATS`) to ``path``
    (a folder or file, local or s3://). The export is recorded in the ``export`` table.

    Options: ``per`` (detection/image/cluster) and ``columns`` for csv/excel;
    ``min_delta_minutes``, ``exclude`` for record-table; ``utc_offset``, ``taxa``
    (label -> scientific name), ``contributors``, ``project`` for camtrap-dp;
    ``layout`` (species or camtrapR) for folders.
    """
    from traptagger_lab.results.camtrap import task_for

    if format not in FORMATS:
        raise ConfigurationError(f"export format {format!r}: use one of {', '.join(FORMATS)}")
    target = task_for(lab, task)
    survey = lab.survey(target.survey_id)
    seen = observations(lab, target)
    if format in ("csv", "excel", "record-table"):
        result = _table(lab, target, seen, format, path, **options)
    elif format == "camtrap-dp":
        result = _camtrap_dp(lab, survey, seen, path, **options)
    elif format == "coco":
        document = coco.coco_document(survey_images(lab, survey.id), seen, survey.name)
        fs, root = _fs(lab, path)
        written = _write(fs, _file_path(root, ".json"), json.dumps(document, indent=1).encode())
        result = ExportResult("coco", path, [written], len(document["annotations"]))
    elif format == "md-json":
        result = _md_json(lab, survey, seen, path)
    else:
        result = _folders(lab, survey, seen, path, options.get("layout", "species"))
    kept = {
        k: v for k, v in options.items() if isinstance(v, str | int | float | bool | list | dict)
    }
    with transaction(lab.sessions) as session:
        session.add(
            Export(
                survey_id=survey.id, task_id=target.id, format=format, location=path, params=kept
            )
        )
    return result
