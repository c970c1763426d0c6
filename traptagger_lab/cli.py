"""The ``traptagger`` command line: thin calls of the same functions notebooks use.

Every command reads the deployment settings from ``TRAPTAGGER_*`` environment
variables (``TRAPTAGGER_DATABASE_URL``, ``TRAPTAGGER_STORAGE_URL``...);
``--workspace`` picks the workspace folder for the embedded defaults.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from traptagger_lab.errors import DatabaseAccessError

#: Where ``--debug`` is kept for the error handler (``Context.meta``, shared by subcommands).
DEBUG_KEY = "traptagger.debug"
#: What the command framework raises to end a command (usage errors, exits): left to it.
_FRAMEWORK_EXITS = {"ClickException", "Exit", "Abort"}


class _Commands(TyperGroup):
    """The command group: every command's errors end here, as one line and exit code 1.

    Expected failures (TrapTagger Lab's errors, an unreachable database, a refused
    login, S3 without credentials, unreadable files, bad values) print
    ``error: <what and where>``; anything else is a bug and says so. ``--debug``
    (or ``TRAPTAGGER_DEBUG=1``) lets the exception through, with its traceback.
    """

    def invoke(self, ctx: Any) -> Any:  # the framework's Context (typer's own click, or click)
        """Run the command; turn an exception into one line on stderr and exit 1."""
        try:
            return super().invoke(ctx)
        except Exception as exc:
            if ctx.meta.get(DEBUG_KEY) or _FRAMEWORK_EXITS & {
                c.__name__ for c in type(exc).__mro__
            }:
                raise
            _fail(exc)


app = typer.Typer(
    cls=_Commands,
    name="traptagger",
    help="TrapTagger Lab: import camera-trap surveys, process them, look at the results.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Workspace = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (SQLite database and blob store when no URLs are set). "
        "Default: $TRAPTAGGER_WORKSPACE or ./workspace.",
        envvar="TRAPTAGGER_WORKSPACE",
    ),
]
SurveyName = Annotated[str, typer.Argument(help="Name of the survey.")]
PeopleOnly = Annotated[
    bool, typer.Option("--people-only", help="Leave the AI's accepted auto-labels out.")
]
TASK_HELP = "A task (with the passes refining it); default: every pass over the survey."
AsCsv = Annotated[bool, typer.Option("--csv", help="Write CSV (to stdout unless --output).")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="File to write.")]


def _open(workspace: Path | None, **overrides: Any) -> Any:
    """Open the lab; a database that cannot be used is named (without its password)."""
    from sqlalchemy.exc import SQLAlchemyError

    from traptagger_lab.lab import open_lab
    from traptagger_lab.messages import database_problem
    from traptagger_lab.settings import Settings

    if workspace is not None:
        overrides["workspace"] = str(workspace)
    try:
        lab = open_lab(recover=False, **overrides)
    except SQLAlchemyError as exc:
        problem = database_problem(exc, Settings(**overrides).resolved_database_url())
        if problem is None:
            raise
        raise DatabaseAccessError(problem) from exc
    _recover(lab)
    return lab


def _recover(lab: Any) -> None:
    """Close runs left ``running`` by a process that ended and remove their orphan blobs.

    A recovery that cannot finish (the store unreachable, say) is reported, not fatal.
    """
    from traptagger_lab.messages import explain, mask_secrets
    from traptagger_lab.recovery import recover

    try:
        done = recover(lab.sessions, lab.store)
    except Exception as exc:  # the command itself may still work: say so and go on
        why = explain(exc) or mask_secrets(f"{type(exc).__name__}: {exc}")
        typer.secho(f"warning: crash recovery not finished: {why}", err=True)
        return
    if done.interrupted:
        runs = ", ".join(str(i) for i in done.interrupted)
        typer.secho(
            f"note: run(s) {runs} marked interrupted: their process ended before they finished",
            fg=typer.colors.YELLOW,
            err=True,
        )
    if done.orphans_removed:
        typer.secho(
            f"note: removed {len(done.orphans_removed)} orphan blob(s) those runs left",
            fg=typer.colors.YELLOW,
            err=True,
        )


def _write_table(table: Any, as_csv: bool, output: Path | None) -> None:
    """A DataFrame as CSV (to ``output`` or stdout) or as text for people."""
    if as_csv or output:
        text = table.to_csv(index=False)
        if output:
            output.write_text(text)
        else:
            sys.stdout.write(text)
    else:
        typer.echo(table.to_string(index=False, max_rows=200))


def _fail(exc: Exception) -> NoReturn:
    """Say what went wrong in one line on stderr and exit with status 1."""
    from traptagger_lab.messages import explain, mask_secrets, one_line

    message = explain(exc)
    if message is None:  # not a failure we know: a bug, whose traceback --debug shows
        detail = mask_secrets(one_line(f"{type(exc).__name__}: {exc}"))
        message = f"unexpected {detail} (run with --debug for the traceback)"
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@app.callback()
def _main(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="Show the full traceback of an error instead of one line.",
            envvar="TRAPTAGGER_DEBUG",
        ),
    ] = False,
) -> None:
    ctx.meta[DEBUG_KEY] = debug
    # Read by distributed when it is first imported (later, inside the commands).
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "info" if verbose else "warning")
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def init(workspace: Workspace = None) -> None:
    """Create a workspace, or upgrade its database schema to this version."""
    from traptagger_lab.db.engine import current_revision

    with _open(workspace, dask_scheduler="sync") as lab:
        revision = current_revision(lab.engine)
        typer.echo(f"workspace ready: database {lab.engine.url!r} at schema {revision}")
        typer.echo(f"blob store: {lab.store.url}")


@app.command()
def ingest(
    source: Annotated[str, typer.Argument(help="Folder or s3://bucket/prefix holding the photos.")],
    survey: Annotated[str, typer.Option("--survey", "-s", help="Survey name (created if new).")],
    site_pattern: Annotated[
        str | None,
        typer.Option(
            help="Regex over the relative path naming the site (its first group, or the whole "
            "match), or folder:N for the N-th folder. Default: the top folder.",
        ),
    ] = None,
    camera_pattern: Annotated[
        str | None,
        typer.Option(
            help="Regex or folder:N naming the camera, or 'site' for one camera per site. "
            "Default: the folder holding the file, unless the folders below each site never "
            "share a file name (one camera's photos sorted by species or date): one per site."
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            help="Folder name to skip (repeat for several). Dot-folders are always skipped."
        ),
    ] = None,
    coordinates: Annotated[
        str | None,
        typer.Option(
            help="CSV (site, latitude, longitude[, altitude]) or KML file of site positions."
        ),
    ] = None,
    sequences: Annotated[
        bool, typer.Option(help="Group the images into clusters after the import.")
    ] = True,
    gap_s: Annotated[float, typer.Option(help="Largest gap (s) inside a cluster.")] = 60.0,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Only show the sites, cameras and files found; write nothing."
        ),
    ] = False,
    workspace: Workspace = None,
) -> None:
    """Import new photos and videos from SOURCE (re-running adds only new files)."""
    if dry_run:
        with _open(workspace, dask_scheduler="sync") as lab:
            found = lab.preview_ingest(
                source, survey, site_pattern, camera_pattern, exclude=exclude or ()
            )
        typer.echo(str(found))
        for row in found.unplaced.head(10).itertuples():
            typer.secho(f"  not placed: {row.path}: {row.reason} ({row.detail})", err=True)
        return
    with _open(workspace) as lab:
        report = lab.ingest(
            source,
            survey=survey,
            site_pattern=site_pattern,
            camera_pattern=camera_pattern,
            exclude=exclude or (),
        )
        if coordinates:
            lab.import_site_coordinates(survey, coordinates)
        if sequences:
            lab.sequences(survey, gap_s=gap_s)
        typer.echo(json.dumps({"survey": survey, **report.as_dict()}, indent=2))
        _report_failures(lab, survey, report.run_id)


def _report_failures(lab: Any, survey: str, run_id: int, shown: int = 10) -> None:
    """Name the files this run could not import (the first few), on stderr."""
    table = lab.images(survey)
    failed = table[table.failure_reason.notna() & table.run_id.eq(run_id)]
    if failed.empty:
        return
    typer.secho(f"{len(failed)} file(s) not imported:", fg=typer.colors.YELLOW, err=True)
    for row in failed.head(shown).itertuples():
        typer.secho(f"  {row.path}: {row.failure_reason} ({row.failure_detail})", err=True)
    if len(failed) > shown:
        typer.secho(f"  ... see `traptagger images {survey!r} --csv`", err=True)


@app.command()
def surveys(workspace: Workspace = None) -> None:
    """List the surveys in the workspace."""
    with _open(workspace, dask_scheduler="sync") as lab:
        table = lab.surveys.table()
        typer.echo(table.to_string(index=False) if len(table) else "no surveys yet")


@app.command()
def status(
    survey: SurveyName,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    workspace: Workspace = None,
) -> None:
    """Counts of images, videos, failures by reason, sites, cameras and clusters."""
    with _open(workspace, dask_scheduler="sync") as lab:
        if as_json:
            typer.echo(json.dumps(lab.status_counts(survey), indent=2))
        else:
            typer.echo(lab.status(survey).to_string())


@app.command()
def images(
    survey: SurveyName,
    as_csv: AsCsv = False,
    output: Output = None,
    workspace: Workspace = None,
) -> None:
    """One row per image: path, site, camera, timestamps, hash, cluster, failure reason."""
    with _open(workspace, dask_scheduler="sync") as lab:
        table = lab.images(survey)
    _write_table(table, as_csv, output)


@app.command()
def detect(
    survey: SurveyName,
    model: Annotated[
        str | None,
        typer.Option(
            help="MDV5A, MDV5B, MDV1000-REDWOOD or a .pt file. Default: $TRAPTAGGER_DETECTOR."
        ),
    ] = None,
    md_json: Annotated[
        Path | None,
        typer.Option(
            "--md-json",
            help="Also write the survey's detections as MegaDetector batch-output JSON "
            "(paths relative to the survey source) for Timelapse and MD postprocessing.",
        ),
    ] = None,
    device: Annotated[str, typer.Option(help="auto (GPU when present), cpu or cuda.")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Images per forward pass.")] = 8,
    workspace: Workspace = None,
) -> None:
    """Run MegaDetector on the images it has not seen yet (re-running skips finished images)."""
    with _open(workspace) as lab:
        report = lab.detect(survey, model=model, device=device, batch_size=batch_size)
        typer.echo(json.dumps(report.as_dict(), indent=2))
        for image_id, reason in list(report.failed.items())[:10]:
            typer.secho(f"  image {image_id}: {reason}", fg=typer.colors.YELLOW, err=True)
        if md_json:
            lab.export_md_json(survey, str(md_json), model=report.model)
            typer.echo(f"wrote {md_json}")


@app.command()
def classify(
    survey: SurveyName,
    classifier: Annotated[
        str | None,
        typer.Option(
            help="Classifier folder (classifier.pt or model.pt, label_index.json) or a "
            "registered classifier; default: the survey's registered one."
        ),
    ] = None,
    translations: Annotated[
        Path | None,
        typer.Option(help="JSON mapping classifier label -> task label (null drops a label)."),
    ] = None,
    device: Annotated[str, typer.Option(help="auto (GPU when present), cpu or cuda.")] = "auto",
    workspace: Workspace = None,
) -> None:
    """Classify relevant animal boxes and suggest (or auto-apply) a label for every cluster."""
    mapping = json.loads(translations.read_text()) if translations else None
    with _open(workspace) as lab:
        report = lab.classify(survey, classifier, mapping, device=device)
    typer.echo(json.dumps(vars(report), indent=2))


@app.command("accept-suggestions")
def accept_suggestions_command(
    survey: SurveyName,
    rule: Annotated[
        str | None,
        typer.Option(
            help="Auto-label rule: trails, baited, plains or waterhole (default: "
            "the survey's kind)."
        ),
    ] = None,
    undo: Annotated[
        bool, typer.Option("--undo", help="Withdraw the AI's labels instead (kept in history).")
    ] = False,
    workspace: Workspace = None,
) -> None:
    """Record the AI's auto-labels as labels (they count in results; people's labels
    replace them), or withdraw them with --undo."""
    with _open(workspace, dask_scheduler="sync") as lab:
        report = lab.undo_suggestions(survey) if undo else lab.accept_suggestions(survey, rule)
    typer.echo(str(report))


@app.command("labels")
def labels_command(
    survey: SurveyName,
    task: Annotated[str | None, typer.Option("--task", help=TASK_HELP)] = None,
    people_only: PeopleOnly = False,
    as_csv: AsCsv = False,
    output: Output = None,
    workspace: Workspace = None,
) -> None:
    """The survey's settled labels: one row per sequence and label, with who (or which AI
    rule) settled it, when, and what it replaced."""
    with _open(workspace, dask_scheduler="sync") as lab:
        target = lab.tasks.get(task, survey) if task else survey
        frame = lab.settled_labels(target, people_only=people_only)
    _write_table(frame, as_csv, output)


@app.command("filter")
def filter_command(
    survey: SurveyName,
    hide_small: Annotated[
        float | None, typer.Option(help="Hide boxes under this share of the frame (e.g. 0.0025).")
    ] = None,
    min_count: Annotated[int, typer.Option(help="Fewest photos a static box recurs in.")] = 5,
    min_share: Annotated[float, typer.Option(help="Smallest share of a camera's photos.")] = 0.05,
    workspace: Workspace = None,
) -> None:
    """Apply masks, find static (repeat) detections for review, optionally hide tiny boxes."""
    with _open(workspace, dask_scheduler="sync") as lab:
        report = lab.filter_detections(
            survey, hide_small=hide_small, min_count=min_count, min_share=min_share
        )
    typer.echo(json.dumps(vars(report), indent=2))


@app.command("import-detections")
def import_detections(
    survey: SurveyName,
    path: Annotated[
        str,
        typer.Argument(
            help="MegaDetector batch-output JSON (paths relative to the survey source)."
        ),
    ],
    model: Annotated[
        str | None,
        typer.Option(help="Name to record as the detector; default: the file's info.detector."),
    ] = None,
    workspace: Workspace = None,
) -> None:
    """Store detections from an existing MegaDetector JSON instead of running detection."""
    with _open(workspace, dask_scheduler="sync") as lab:
        report = lab.import_detections(survey, path, model=model)
    typer.echo(
        json.dumps(
            {
                "images": report.images,
                "detections": report.detections,
                "unknown_files": len(report.unknown_files),
                "videos_skipped": report.videos_skipped,
                "detections_left_out": len(report.problems),
            },
            indent=2,
        )
    )
    for unknown in report.unknown_files[:10]:
        typer.secho(f"  not in the survey: {unknown}", fg=typer.colors.YELLOW, err=True)
    for problem in report.problems[:10]:
        typer.secho(f"  {problem}", fg=typer.colors.YELLOW, err=True)
    if len(report.problems) > 10:
        typer.secho(f"  ... and {len(report.problems) - 10} more", fg=typer.colors.YELLOW, err=True)


@app.command("sequences")
def sequences_command(
    survey: SurveyName,
    gap_s: Annotated[float, typer.Option(help="Largest gap (s) inside a cluster.")] = 60.0,
    max_minutes: Annotated[
        float, typer.Option(help="Longest cluster (minutes) before a split.")
    ] = 15.0,
    per_camera: Annotated[bool, typer.Option(help="Cluster each camera on its own.")] = False,
    workspace: Workspace = None,
) -> None:
    """Group a survey's images into clusters (sequences) by time gap, per site."""
    with _open(workspace, dask_scheduler="sync") as lab:
        report = lab.sequences(survey, gap_s=gap_s, max_minutes=max_minutes, per_camera=per_camera)
        typer.echo(json.dumps(vars(report), indent=2))


#: The largest clock correction accepted: a century either way (a camera reset to
#: 1970 is about 55 years off).
MAX_CLOCK_OFFSET_S = 100 * 365.25 * 86400


def _check_offset(value: float | None) -> float | None:
    """``--offset-s``: a finite number of seconds, at most a century either way."""
    if value is not None and not (math.isfinite(value) and abs(value) <= MAX_CLOCK_OFFSET_S):
        raise typer.BadParameter(
            f"{value!r}: give a number of seconds between -{MAX_CLOCK_OFFSET_S:.0f} and "
            f"{MAX_CLOCK_OFFSET_S:.0f} (a century)"
        )
    return value


def _check_time(value: str | None) -> str | None:
    """``--true-time``: an ISO 8601 date and time such as 2024-03-01T06:30:00."""
    if value is not None:
        try:
            dt.datetime.fromisoformat(value)
        except ValueError:
            raise typer.BadParameter(
                f"{value!r} is not a date and time: write it like 2024-03-01T06:30:00"
            ) from None
    return value


@app.command()
def clock(
    survey: SurveyName,
    camera: Annotated[
        str | None,
        typer.Option(help="Camera as SITE/CAMERA (or a camera name unique in the survey)."),
    ] = None,
    offset_s: Annotated[
        float | None,
        typer.Option(help="Seconds to add to the camera's recorded times.", callback=_check_offset),
    ] = None,
    image: Annotated[
        str | None, typer.Option(help="A photo (relative path) whose true time you know.")
    ] = None,
    true_time: Annotated[
        str | None,
        typer.Option(
            help="That photo's true time, e.g. 2024-03-01T06:30:00.", callback=_check_time
        ),
    ] = None,
    workspace: Workspace = None,
) -> None:
    """Correct a camera's clock: by an offset, or from one photo whose true time you know."""
    with _open(workspace, dask_scheduler="sync") as lab:
        if image and true_time:
            offset = lab.correct_clock(survey, image, dt.datetime.fromisoformat(true_time))
            typer.echo(f"offset {offset:+.0f} s applied to the camera of {image}")
        elif camera and offset_s is not None:
            changed = lab.set_clock_offset(survey, camera, offset_s)
            typer.echo(f"offset {offset_s:+.0f} s applied to {camera}: {changed} images")
        else:
            raise typer.BadParameter("give --camera with --offset-s, or --image with --true-time")


@app.command("timestamps")
def timestamps(
    survey: SurveyName,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply", help="Apply the proposed offsets and fill the times of photos without EXIF."
        ),
    ] = False,
    camera: Annotated[
        list[str] | None,
        typer.Option(help="Only this camera (SITE/CAMERA); repeat for more. Default: all."),
    ] = None,
    min_confidence: Annotated[
        str, typer.Option(help="Weakest proposal --apply applies: low, medium or high.")
    ] = "medium",
    photos: Annotated[
        Path | None, typer.Option(help="Write the per-photo table (strip, EXIF, difference) here.")
    ] = None,
    workspace: Workspace = None,
) -> None:
    """Read the date/time strip printed on the photos (OCR), compare it with EXIF per camera
    and propose clock offsets (piecewise where a clock jumped); --apply applies them."""
    with _open(workspace) as lab:
        review = lab.surveys.review_timestamps(survey, cameras=camera)
        typer.echo(review.summary(min_confidence).to_string(index=False))
        missing = review.missing()
        if len(missing):
            typer.echo(f"{len(missing)} photos without EXIF time: their strip's time is proposed")
        if photos is not None:
            _write_table(review.photos, True, photos)
        if apply:
            report = lab.surveys.apply_timestamps(survey, review, min_confidence=min_confidence)
            typer.echo(
                f"applied offsets to {len(report.offsets)} cameras, filled {report.filled} "
                f"times: {len(report.changes)} photos changed (run {report.run_id})"
            )


@app.command()
def coordinates(
    survey: SurveyName,
    path: Annotated[
        str, typer.Argument(help="CSV (site, latitude, longitude[, altitude]) or KML.")
    ],
    workspace: Workspace = None,
) -> None:
    """Set site coordinates from a CSV or KML file; bad rows are reported, the rest applied."""
    with _open(workspace, dask_scheduler="sync") as lab:
        table = lab.import_site_coordinates(survey, path)
    typer.echo(f"{len(table.coordinates)} site positions set, {len(table.problems)} problems")
    for problem in table.problems:
        typer.secho(f"  {problem}", fg=typer.colors.YELLOW, err=True)


@app.command("import-deployments")
def import_deployments_command(
    survey: SurveyName,
    path: Annotated[
        str,
        typer.Argument(
            help="camtrapR camera-trap table (CSV), or Camtrap DP deployments.csv or package."
        ),
    ],
    date_format: Annotated[
        str | None,
        typer.Option(
            "--date-format",
            help="strftime (%d/%m/%Y) or lubridate orders (dmy, ymd HMS); "
            "default: found from the dates.",
        ),
    ] = None,
    x: Annotated[
        str | None, typer.Option("--x", help="Column of projected x (easting); needs --crs.")
    ] = None,
    y: Annotated[
        str | None, typer.Option("--y", help="Column of projected y (northing); needs --crs.")
    ] = None,
    crs: Annotated[
        str | None, typer.Option("--crs", help="CRS of --x/--y, e.g. EPSG:32650.")
    ] = None,
    station: Annotated[str, typer.Option("--station", help="Station column.")] = "Station",
    camera: Annotated[
        str | None,
        typer.Option("--camera", help="Camera column (default: one deployment per station)."),
    ] = None,
    setup: Annotated[str, typer.Option("--setup", help="Setup column.")] = "Setup_date",
    retrieval: Annotated[
        str, typer.Option("--retrieval", help="Retrieval column.")
    ] = "Retrieval_date",
    workspace: Workspace = None,
) -> None:
    """Import a survey's deployments (setup, retrieval, problem periods, coordinates...);
    bad rows are reported, the rest imported; the same file again replaces its rows."""
    with _open(workspace, dask_scheduler="sync") as lab:
        report = lab.import_deployments(
            survey,
            path,
            date_format=date_format,
            x=x,
            y=y,
            crs=crs,
            station=station,
            camera=camera,
            setup=setup,
            retrieval=retrieval,
        )
    typer.echo(
        f"{report.imported} deployment(s) imported with {report.problem_periods} problem "
        f"period(s), {report.replaced} replaced, {len(report.problems)} row(s) not imported"
    )
    for problem in report.problems:
        typer.secho(f"  {problem}", fg=typer.colors.YELLOW, err=True)


@app.command("deployments")
def deployments_command(
    survey: SurveyName,
    checks: Annotated[
        bool,
        typer.Option(
            "--checks",
            help="Show photos outside deployments or far from their camera's others, "
            "and deployments whose photos disagree with their dates, instead.",
        ),
    ] = False,
    as_csv: AsCsv = False,
    output: Output = None,
    workspace: Workspace = None,
) -> None:
    """A survey's deployments (or, with --checks, what disagrees with its photos)."""
    with _open(workspace, dask_scheduler="sync") as lab:
        table = lab.deployment_checks(survey) if checks else lab.deployments(survey)
    _write_table(table, as_csv, output)


RESULT_TABLES = ("record-table", "camera-operation", "detection-history", "rai", "diversity")


@app.command()
def results(
    survey: SurveyName,
    table: Annotated[
        str, typer.Option("--table", "-t", help=f"One of: {', '.join(RESULT_TABLES)}.")
    ] = "record-table",
    task: Annotated[str | None, typer.Option("--task", help=TASK_HELP)] = None,
    min_delta: Annotated[
        float, typer.Option("--min-delta", help="Minutes between independent records.")
    ] = 60,
    compared_to: Annotated[
        str,
        typer.Option("--compared-to", help="last_record or last_independent_record."),
    ] = "last_record",
    species: Annotated[
        str | None, typer.Option("--species", help="Species (detection-history).")
    ] = None,
    occasion: Annotated[int, typer.Option("--occasion", help="Occasion length in days.")] = 7,
    by: Annotated[
        str,
        typer.Option(help="camera-operation/record-table: per station (site) or per camera."),
    ] = "station",
    cameras_independent: Annotated[
        bool, typer.Option(help="camera-operation: cameras of a station add up.")
    ] = False,
    all_cams_on: Annotated[
        bool, typer.Option(help="camera-operation: a station counts only with all cameras on.")
    ] = False,
    occasion_start_time: Annotated[
        int, typer.Option(help="camera-operation: hour each day's occasion starts (0-23).")
    ] = 0,
    day1: Annotated[
        str, typer.Option(help="detection-history: station, survey or a date YYYY-MM-DD.")
    ] = "station",
    effort_output: Annotated[
        Path | None,
        typer.Option(help="detection-history: also write the effort per occasion (CSV) here."),
    ] = None,
    scale_effort: Annotated[
        bool, typer.Option(help="detection-history: scale that effort (camtrapR's scaleEffort).")
    ] = False,
    counts: Annotated[
        bool, typer.Option("--counts", help="detection-history: counts instead of 1/0.")
    ] = False,
    outside: Annotated[
        str,
        typer.Option(
            "--outside-deployments",
            help="exclude (default) or keep photos outside their deployment's dates.",
        ),
    ] = "exclude",
    people_only: PeopleOnly = False,
    as_csv: AsCsv = False,
    output: Output = None,
    workspace: Workspace = None,
) -> None:
    """Results tables in the layouts camtrapR users know (CSV for R and spreadsheets), from
    the survey's settled labels (every pass merged; see `lab.results.labels`)."""
    if table not in RESULT_TABLES:
        _fail(ValueError(f"--table {table!r}: use one of {', '.join(RESULT_TABLES)}"))
    if table == "detection-history" and not species:
        _fail(ValueError("--table detection-history needs --species"))
    with _open(workspace, dask_scheduler="sync") as lab:
        target = lab.tasks.get(task, survey) if task else survey
        found = lab.results(
            target,
            min_delta_minutes=min_delta,
            people_only=people_only,
            outside_deployments=outside,
        )
        if table == "record-table":
            frame = found.record_table(compared_to, "camera" if by == "camera" else "site")
        elif table == "camera-operation":
            operation = found.camera_operation(
                by, cameras_independent, all_cams_on, occasion_start_time
            )
            frame = operation.reset_index()
            typer.secho(f"effort from {found.effort.attrs['effort_source']}", err=True)
        elif table == "detection-history":
            history = found.detection_history(
                species,
                occasion,
                day1=day1,
                include_effort=effort_output is not None,
                scale_effort=scale_effort,
                output="count" if counts else "binary",
            )
            if effort_output is not None:
                history, effort = history
                effort.reset_index().to_csv(effort_output, index=False)
            frame = history.reset_index()
        elif table == "rai":
            frame = found.relative_abundance()
        else:
            frame = found.diversity().reset_index()
    _write_table(frame, as_csv, output)


@app.command("compare")
def compare_command(
    labels: Annotated[str, typer.Argument(help="Survey or task whose labels are judged.")],
    truth: Annotated[
        str,
        typer.Option(
            "--truth",
            help="Task with the true labels, or a CSV of labelled photos (a path, "
            "Directory + FileName or file column and a species or label column).",
        ),
    ],
    people_only: Annotated[
        bool, typer.Option("--people-only", help="Leave the AI's accepted labels out.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--csv", help="Write the sequences that differ to this CSV.")
    ] = None,
    workspace: Workspace = None,
) -> None:
    """Accuracy of a survey's (or task's) labels against the truth: per species precision,
    recall and F1, and the sequences that differ (see `lab.compare`)."""
    reference: str | Path = Path(truth) if Path(truth).is_file() else truth
    with _open(workspace, dask_scheduler="sync") as lab:
        found = lab.compare(labels, reference, people_only=people_only)
    typer.echo(f"accuracy: {found.accuracy:.1%} of {found.sequences} sequence(s)")
    typer.echo(found.per_species.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    typer.echo(f"{len(found.differ)} sequence(s) differ")
    if len(found.detector_misses):
        typer.echo(
            f"{len(found.detector_misses)} sequence(s) with animals have no box above the "
            "detection threshold"
        )
    for problem in found.problems[:20]:
        typer.echo(f"  {problem}", err=True)
    if len(found.problems) > 20:
        typer.echo(f"  ... and {len(found.problems) - 20} more truth row(s) not used", err=True)
    if output is not None:
        found.differ.to_csv(output, index=False)
        typer.echo(f"wrote the {len(found.differ)} sequence(s) that differ to {output}")


@app.command("export")
def export_command(
    survey: SurveyName,
    destination: Annotated[str, typer.Argument(help="Folder or file to write (local or s3://).")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="csv, excel, record-table, camtrap-dp, coco, md-json or folders.",
        ),
    ] = "csv",
    task: Annotated[str | None, typer.Option("--task", help=TASK_HELP)] = None,
    per: Annotated[
        str, typer.Option("--per", help="csv/excel rows: detection, image or cluster.")
    ] = "detection",
    columns: Annotated[
        str | None, typer.Option("--columns", help="csv/excel: comma-separated columns to keep.")
    ] = None,
    min_delta: Annotated[
        float, typer.Option("--min-delta", help="record-table: minutes between records.")
    ] = 60,
    utc_offset: Annotated[
        str | None, typer.Option("--utc-offset", help="camtrap-dp: camera clock, e.g. +02:00.")
    ] = None,
    taxa: Annotated[
        Path | None,
        typer.Option("--taxa", help="camtrap-dp: CSV of label,scientificName."),
    ] = None,
    layout: Annotated[
        str, typer.Option("--layout", help="folders: species (Species/path) or camtrapR.")
    ] = "species",
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace an existing export file, or write into a folder that is not empty.",
        ),
    ] = False,
    people_only: PeopleOnly = False,
    workspace: Workspace = None,
) -> None:
    """Write a survey's settled labels (or a task's) in a standard format (see
    `lab.exports.write`)."""
    options: dict[str, Any] = {
        "per": per,
        "min_delta_minutes": min_delta,
        "layout": layout,
        "overwrite": overwrite,
    }
    if columns:
        options["columns"] = [c.strip() for c in columns.split(",") if c.strip()]
    if utc_offset:
        options["utc_offset"] = utc_offset
    if taxa:
        import csv

        with taxa.open(newline="") as handle:
            options["taxa"] = {r[0]: r[1] for r in csv.reader(handle) if len(r) >= 2}
    with _open(workspace, dask_scheduler="sync") as lab:
        done = lab.export(
            lab.tasks.get(task, survey) if task else survey,
            fmt,
            destination,
            people_only=people_only,
            **options,
        )
    typer.echo(
        f"{done.format}: {done.rows} row(s) in {len(done.files)} file(s) under {destination}"
    )


@app.command("import-labels")
def import_labels_command(
    survey: SurveyName,
    source: Annotated[
        str,
        typer.Option("--from", help="folders, xmp, csv, coco, md-json or camtrap-dp."),
    ],
    path: Annotated[
        str | None, typer.Argument(help="The file (or Camtrap DP folder) to read.")
    ] = None,
    task: Annotated[str | None, typer.Option("--task", help="Task to label.")] = None,
    add_labels: Annotated[
        bool, typer.Option("--add-labels", help="Add labels the task does not have yet.")
    ] = False,
    level: Annotated[
        int,
        typer.Option("--level", help="folders: which folder names the species (-1: the file's)."),
    ] = -1,
    threshold: Annotated[
        float, typer.Option("--threshold", help="md-json: lowest classification confidence.")
    ] = 0.5,
    workspace: Workspace = None,
) -> None:
    """Label a survey's images from annotations made elsewhere."""
    with _open(workspace, dask_scheduler="sync") as lab:
        done = lab.import_labels(
            survey,
            source,
            path,
            task=task,
            add_labels=add_labels or None,
            level=level,
            threshold=threshold,
        )
    typer.echo(str(done))
    for problem in done.problems[:20]:
        typer.echo(f"  {problem}", err=True)
    if len(done.problems) > 20:
        typer.echo(f"  ... and {len(done.problems) - 20} more problem(s)", err=True)
    for unknown in done.unknown_files[:20]:
        typer.echo(f"  not in the survey: {unknown}", err=True)


@app.command()
def sample(
    destination: Annotated[Path, typer.Argument(help="Folder to write the sample survey into.")],
    bursts: Annotated[int, typer.Option(help="Bursts of shots per camera.")] = 6,
    width: Annotated[int, typer.Option(help="Photo width in pixels.")] = 1280,
    height: Annotated[int, typer.Option(help="Photo height in pixels.")] = 960,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 7,
) -> None:
    """Write a small synthetic camera-trap survey (with some broken files) for trying things out."""
    from traptagger_lab.sample import SampleSpec, make_sample_survey

    made = make_sample_survey(
        destination, SampleSpec(bursts_per_camera=bursts, width=width, height=height, seed=seed)
    )
    typer.echo(
        f"wrote {len(made.photos)} photos, {len(made.videos)} video(s) and "
        f"{len(made.failures)} problem files to {destination}"
    )


@app.command()
def demo(
    data: Annotated[
        Path | None, typer.Option(help="Your own photos; default: a generated sample survey.")
    ] = None,
    survey: Annotated[str, typer.Option(help="Survey name.")] = "Demo survey",
    workspace: Workspace = None,
) -> None:
    """Build a workspace from sample (or your) data, process it and print what it holds."""
    from traptagger_lab.demo import build_demo

    summary = build_demo(workspace or Path("demo-workspace"), data, survey)
    typer.echo(json.dumps(summary, indent=2, default=str))


train_app = typer.Typer(
    help="Train a species classifier: build crops, train, register it for surveys.",
    no_args_is_help=True,
)
app.add_typer(train_app, name="train")


@train_app.command("crops")
def train_crops(
    name: Annotated[str, typer.Argument(help="Name of the training set.")],
    task: Annotated[
        list[str] | None, typer.Option(help="A survey (its species task) or task; repeatable.")
    ] = None,
    csv: Annotated[
        list[Path] | None, typer.Option(help="CSV of photo path/URL, species, site; repeatable.")
    ] = None,
    coco: Annotated[
        list[Path] | None, typer.Option(help="COCO Camera Traps JSON; repeatable.")
    ] = None,
    image_root: Annotated[
        str | None, typer.Option(help="Where relative CSV/COCO paths start.")
    ] = None,
    label_spec: Annotated[Path | None, typer.Option(help="label_spec.json.")] = None,
    size: Annotated[int, typer.Option(help="Crop size in pixels.")] = 256,
    detector: Annotated[
        str, typer.Option(help="Detector for labels without boxes ('none' to skip them).")
    ] = "default",
    workspace: Workspace = None,
) -> None:
    """Build (or bring up to date) a training set: crops, classification_ds.csv, label files."""
    with _open(workspace) as lab:
        data = lab.training.crops(
            name,
            tasks=task or [],
            csv=csv or [],
            coco=coco or [],
            image_root=image_root,
            label_spec=label_spec,
            size=size,
            detector=None if detector == "none" else detector,
        )
        typer.echo(repr(data))
        typer.echo(data.balance.to_string())
        for warning in data.warnings():
            typer.echo(f"warning: {warning}")
        for problem in data.problems.head(10).itertuples(index=False):
            typer.echo(f"skipped {problem.origin}: {problem.reason}")


@train_app.command("fit")
def train_fit(
    name: Annotated[str, typer.Argument(help="Name of the classifier.")],
    data: Annotated[str, typer.Option(help="Training set name (or folder URL).")],
    arch: Annotated[str, typer.Option(help="torchvision architecture.")] = "efficientnet_b0",
    epochs: Annotated[int, typer.Option(help="Most epochs (early stopping may end sooner).")] = 30,
    image_size: Annotated[int, typer.Option(help="Network input size.")] = 224,
    batch_size: Annotated[int, typer.Option(help="Crops per step.")] = 32,
    pretrained: Annotated[
        Path | None, typer.Option(help="Local ImageNet weights for the architecture.")
    ] = None,
    on: Annotated[str, typer.Option(help="local, or cluster (a Dask worker).")] = "local",
    device: Annotated[str, typer.Option(help="auto (GPU when present), cpu or cuda.")] = "auto",
    fresh: Annotated[bool, typer.Option(help="Ignore an existing checkpoint.")] = False,
    workspace: Workspace = None,
) -> None:
    """Train (or resume training) a classifier on a training set; prints its test metrics."""
    with _open(workspace) as lab:
        model = lab.training.train(
            data,
            name,
            arch=arch,
            epochs=epochs,
            image_size=image_size,
            batch_size=batch_size,
            pretrained=str(pretrained) if pretrained else None,
            on=on,
            device=device,
            resume=not fresh,
        )
        typer.echo(repr(model))
        if "test" in model.card["metrics"]:
            typer.echo(model.metrics("test").round(3).to_string())


@train_app.command("register")
def train_register(
    name: Annotated[str, typer.Argument(help="Name of the trained classifier.")],
    survey: Annotated[
        list[str] | None, typer.Option(help="Survey to use it by default ('all'); repeatable.")
    ] = None,
    workspace: Workspace = None,
) -> None:
    """Make a trained classifier available to the surveys (``classify`` then needs no folder)."""
    with _open(workspace) as lab:
        chosen: Any = "all" if survey == ["all"] else (survey or [])
        lab.training.register(name, surveys=chosen)
        typer.echo(lab.training.classifiers().to_string(index=False))


def main() -> None:
    """Entry point of the ``traptagger`` script."""
    app()


if __name__ == "__main__":
    main()
