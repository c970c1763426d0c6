"""The local demo: a survey taken through every stage, for people to look at and try.

``make demo`` (through ``traptagger-hub demo``) and ``traptagger demo`` call
:func:`build_demo`. On the generated sample survey it runs: ingest, sequences,
detection (MegaDetector ``MDV5A`` when its weights can be had, else the sample's
own detections through the normal MD JSON import, and the survey says so), a small
species classifier trained on the sample's truth and the classification it gives,
a species task, an AI-check task and an empty-review task, labels for one site
(imported from the truth, as labels made elsewhere are) and results from them.
Running it again reuses what is there (each stage does only missing work).
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from traptagger_lab.errors import ConfigurationError
from traptagger_lab.lab import Lab, open_lab
from traptagger_lab.sample import (
    SPECIES,
    SampleSpec,
    make_sample_survey,
    sample_detections,
    truth_label_table,
    truth_labels,
)

log = logging.getLogger(__name__)

DETECTOR = "MDV5A"
SAMPLE_DETECTIONS_NOTE = (
    "Detections: sample detections, not a model's (MegaDetector's weights could not be had "
    "here; the boxes come from where the sample generator drew each animal, with noise, "
    "misses and false boxes)."
)
CLASSIFIER = "demo-sample"
#: The demo's sample: six sites, so that a classifier's train, validation and test splits
#: each get whole sites with every species in training.
DEMO_SPEC = SampleSpec(
    sites=(("Site01", ("CamA", "CamB")), *((f"Site{i:02d}", ("CamA",)) for i in range(2, 7))),
    bursts_per_camera=6,
)
#: The tasks the demo makes: name -> kind.
TASKS = {"Species": "species", "AI check": "ai_check", "Empty review": "empty_review"}
#: Sites whose sequences the demo labels from the sample's truth (the rest are left to people).
LABELLED_SITES = ("Site01",)


def _stage(summary: dict[str, Any], name: str, run: Callable[[], Any]) -> Any:
    """Run one stage, log what it did and how long it took, and keep it in the summary."""
    started = time.perf_counter()
    log.info("demo: %s ...", name)
    result = run()
    seconds = round(time.perf_counter() - started, 1)
    summary.setdefault("seconds", {})[name] = seconds
    log.info("demo: %s done in %.1f s: %s", name, seconds, result)
    return result


def _detect(lab: Lab, survey: str, data: Path, sample: bool) -> str:
    """MegaDetector when its weights can be had; else the sample's own detections."""
    if importlib.util.find_spec("torch") is not None:
        try:
            report = lab.detect(survey, model=DETECTOR)
            return f"{DETECTOR}: {report}"
        except ConfigurationError as exc:  # no weights here and no way to download them
            log.warning("demo: %s cannot run here: %s", DETECTOR, exc)
    if not sample:
        return "skipped (no detector weights here and no sample detections for your photos)"
    document = data / "sample_detections.json"
    if not document.exists():
        sample_detections(data, document)
    imported = lab.import_detections(survey, str(document), model="sample-detections")
    lab.set_description(survey, SAMPLE_DETECTIONS_NOTE)
    print(f"demo: {SAMPLE_DETECTIONS_NOTE}", flush=True)
    return f"imported sample detections: {imported}"


def _classifier(lab: Lab, survey: str, data: Path) -> str:
    """Train a small classifier on the sample's truth, register it, classify the survey."""
    if importlib.util.find_spec("torch") is None:
        return "skipped (install the detect extra for classification and training)"
    if CLASSIFIER not in set(lab.training.classifiers().get("name", [])):
        crops = lab.training.crops(
            CLASSIFIER,
            csv=[truth_labels(data, lab.settings.workspace / "sample-truth.csv")],
            size=64,
            detector=None,
        )
        model = lab.training.train(
            crops,
            CLASSIFIER,
            arch="resnet18",
            image_size=64,
            epochs=8,
            num_workers=0,
            plot=False,
        )
        lab.training.register(model, surveys=[survey])
    else:
        lab.set_survey_setting(survey, "classifier", CLASSIFIER)
    translations: dict[str, str | None] = {name: name.title() for name in SPECIES}
    return str(lab.classify(survey, translations=translations))


def _tasks(lab: Lab, survey: str, sample: bool) -> dict[str, int]:
    """The species task, and on the sample (which has AI suggestions) AI-check and empty-review
    tasks; returns each task's number of sequences."""
    existing = set(lab.tasks.list(survey).get("name", []))
    labels = [name.title() for name in sorted(SPECIES)]
    wanted = TASKS if sample else {"Species": "species"}
    for name, kind in wanted.items():
        if name not in existing:
            lab.tasks.create(survey, name, labels=labels, kind=kind)
    clusters = lab.tasks.list(survey).set_index("name")["clusters"]
    return {name: int(clusters[name]) for name in wanted}


def _labels(lab: Lab, survey: str, data: Path) -> str:
    """Label the first site's sequences from the truth, through the normal CSV import."""
    table = truth_label_table(data, lab.settings.workspace / "demo-labels.csv", LABELLED_SITES)
    done = lab.import_labels(survey, "csv", str(table), task=lab.tasks.get("Species", survey))
    return str(done)


def build_demo(
    workspace: Path, data: Path | None = None, survey: str = "Demo survey", **settings: Any
) -> dict[str, Any]:
    """Create or refresh the demo workspace and return a summary of it.

    Args:
        workspace: Folder of the demo workspace (created if missing).
        data: The user's own photos (``SITE/CAMERA/...``); default: a generated sample survey.
            Your own photos get ingest, sequences, detection (when MegaDetector's weights can be
            had) and a species task; the sample gets every stage.
        survey: Name of the survey to create.
        **settings: Other settings (an organisation's database and store, on the demo hub).
    """
    workspace = Path(workspace).resolve()
    sample = data is None
    if data is None:
        data = workspace / "sample-data"
        if not (data / "sample_truth.csv").exists():
            made = make_sample_survey(data, DEMO_SPEC)
            log.info("wrote a sample survey of %d photos to %s", len(made.photos), data)
    summary: dict[str, Any] = {"workspace": str(workspace), "survey": survey}
    with open_lab(str(workspace), **settings) as lab:
        report = _stage(summary, "ingest", lambda: lab.ingest(str(data), survey=survey))
        clusters = _stage(summary, "sequences", lambda: lab.sequences(survey))
        summary["detection"] = _stage(
            summary, "detection", lambda: _detect(lab, survey, data, sample)
        )
        if sample:
            summary["classification"] = _stage(
                summary, "classifier", lambda: _classifier(lab, survey, data)
            )
        summary["tasks"] = _stage(summary, "tasks", lambda: _tasks(lab, survey, sample))
        if sample:
            summary["labels"] = _stage(summary, "labels", lambda: _labels(lab, survey, data))
            summary["records"] = _stage(
                summary,
                "results",
                lambda: lab.results(survey).record_table()["Species"].value_counts().to_dict(),
            )
        summary.update(
            database=lab.settings.resolved_database_url(),
            store=lab.store.url,
            ingest=report.as_dict(),
            clusters=clusters.clusters,
            description=lab.survey(survey).description,
            status=lab.status_counts(survey),
        )
    return summary
