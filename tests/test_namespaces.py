"""The lab's namespaces: one per stage, each verb the stage function over the lab's
workspace, and the flat verbs the very same functions."""

from __future__ import annotations

import inspect
from typing import Any

import pandas as pd

from traptagger_lab.lab import Lab
from traptagger_lab.namespaces import Analyses, Classification, Detection, Exports, Surveys
from traptagger_lab.results.api import Results

#: Flat verb -> (namespace, verb): the aliases notebooks written before the namespaces use.
ALIASES = {
    "survey": ("surveys", "get"),
    "shared_surveys": ("surveys", "shared"),
    "create_survey": ("surveys", "create"),
    "set_survey_setting": ("surveys", "set_setting"),
    "set_description": ("surveys", "set_description"),
    "camera": ("surveys", "camera"),
    "sites": ("surveys", "sites"),
    "images": ("surveys", "images"),
    "status": ("surveys", "status"),
    "status_counts": ("surveys", "status_counts"),
    "thumbnail": ("surveys", "thumbnail"),
    "ingest": ("surveys", "ingest"),
    "preview_ingest": ("surveys", "preview"),
    "sources": ("surveys", "sources"),
    "import_site_coordinates": ("surveys", "import_site_coordinates"),
    "import_deployments": ("surveys", "import_deployments"),
    "deployments": ("surveys", "deployments"),
    "set_deployment": ("surveys", "set_deployment"),
    "deployment_checks": ("surveys", "deployment_checks"),
    "sequences": ("surveys", "sequences"),
    "set_clock_offset": ("surveys", "set_clock_offset"),
    "correct_clock": ("surveys", "correct_clock"),
    "detect": ("detection", "run"),
    "import_detections": ("detection", "import_md_json"),
    "set_detection_threshold": ("detection", "set_threshold"),
    "filter_detections": ("detection", "filter"),
    "static_groups": ("detection", "static_groups"),
    "review_static_group": ("detection", "review_static_group"),
    "static_group_crops": ("detection", "static_group_crops"),
    "add_mask": ("detection", "add_mask"),
    "classify": ("classification", "run"),
    "cluster_suggestions": ("classification", "suggestions"),
    "accept_suggestions": ("classification", "accept"),
    "undo_suggestions": ("classification", "undo"),
    "settled_labels": ("results", "labels"),
    "compare": ("results", "compare"),
    "export": ("exports", "write"),
    "import_labels": ("exports", "import_labels"),
    "export_md_json": ("exports", "md_json"),
}


def _target(method: Any) -> Any:
    """The stage function behind a verb (or the method itself for a namespace's own)."""
    return getattr(method, "__wrapped__", method)


def test_every_flat_verb_is_an_alias_of_a_namespace_verb() -> None:
    namespaces = {
        "surveys": Surveys,
        "detection": Detection,
        "classification": Classification,
        "exports": Exports,
        "results": Analyses,
    }
    for flat, (space, name) in ALIASES.items():
        ours = _target(getattr(Lab, flat))
        theirs = _target(getattr(namespaces[space], name))
        assert ours is theirs, f"lab.{flat} is not lab.{space}.{name}"
        assert inspect.signature(getattr(Lab, flat)) == inspect.signature(
            getattr(namespaces[space], name)
        ), flat


def test_no_flat_verb_is_left_without_a_namespace() -> None:
    """Each public verb on Lab is an alias listed above, a namespace, or the lab's own."""
    own = {"close", "recover", "open_shared", "settings", "engine", "sessions", "store", "client"}
    public = {name for name in dir(Lab) if not name.startswith("_")}
    assert public - own - set(ALIASES) == set()


def test_a_verb_shows_the_stage_functions_signature_without_the_workspace() -> None:
    shown = inspect.signature(Surveys.ingest)
    assert list(shown.parameters)[:3] == ["self", "source", "survey"]
    assert "workspace" not in shown.parameters
    assert "photos" in (Surveys.ingest.__doc__ or "").lower()


def test_the_namespaces_act_on_the_labs_workspace(lab: Any, tmp_path: Any) -> None:
    """The ``lab`` fixture's survey S, driven through the namespaces alone."""
    assert isinstance(lab.results, Analyses)
    table = lab.surveys.table()
    assert list(table["name"]) == ["S"]
    assert list(lab.surveys["name"]) == ["S"]  # the table's columns, as before
    assert len(lab.surveys) == 1
    assert "<table" in lab.surveys._repr_html_()
    assert lab.surveys.get("S").name == "S"
    images = lab.surveys.images("S")
    assert len(images) == len(lab.images("S")) > 0
    assert lab.surveys.thumbnail(int(images["image_id"].dropna().iloc[0]))[:2] == b"\xff\xd8"
    assert lab.detection.static_groups("S").equals(lab.static_groups("S"))
    task = lab.tasks.create("S", "species", labels=["Zebra"])
    results = lab.results(task, min_delta_minutes=0, species=["Zebra"])
    assert isinstance(results, Results)
    assert results.species == ("Zebra",)
    written = lab.exports.write(task, "csv", str(tmp_path / "labels.csv"))
    assert (tmp_path / "labels.csv").exists()
    assert written is not None


def test_a_namespace_lists_its_verbs(lab_factory: Any) -> None:
    lab = lab_factory()
    verbs = lab.detection.verbs()
    assert isinstance(verbs, pd.DataFrame)
    assert {"run", "filter", "add_mask"} <= set(verbs["verb"])
    assert all(verbs["does"].str.len() > 0)
    assert repr(lab.classification) == "<lab.classification: accept, run, suggestions, undo>"
