"""The deployments table editor, driven headless: edits saved through the library reach the
database, refused rows say why; and the stage keeps the import rule."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pandas as pd

from tests.conftest import REPO
from tests.deployments.conftest import UTM
from traptagger_lab.deployments import deployments, import_deployments


def test_editor_saves_adds_and_deletes(camtrapr: Any, camtraps: Path) -> None:
    from traptagger_lab.widgets.deployments import DeploymentEditor

    workspace = camtrapr.workspace
    import_deployments(workspace, "C", str(camtraps), **UTM)
    editor = DeploymentEditor(camtrapr, "C")
    assert len(editor.rows) == 3
    c = editor.rows[2].cells
    assert (c["station"].value, c["setup"].value, c["problems"].value) == (
        "StationC", "2009-04-04", "2009-05-12..2009-05-17",
    )  # fmt: skip
    c["setup"].value = "2009-04-04 10:30"
    c["habitat"].value = "riverine forest"
    c["camera_height"].value = "0.5"
    editor.rows[2].save.click()
    assert "row 3 saved" in editor.status.value
    row = deployments(workspace, "C").set_index("station").loc["StationC"]
    assert (row["setup"], row["setup_time_known"]) == (pd.Timestamp("2009-04-04 10:30"), True)
    assert (row["habitat"], row["camera_height"]) == ("riverine forest", 0.5)
    assert row["problems"] == "2009-05-12..2009-05-17"
    c["retrieval"].value = "2009-03-01"
    assert not editor.save(2)
    assert "row 3 not saved" in editor.status.value
    assert "before setup" in editor.status.value
    added = editor.add_row()
    added.cells["station"].value = "StationA"
    added.cells["camera"].value = "StationA"
    added.cells["setup"].value = "2009-05-20"
    added.cells["retrieval"].value = "2009-06-20"
    added.save.click()
    assert added.deployment_id is not None
    assert len(deployments(workspace, "C")) == 4
    editor.rows[0].delete.click()
    assert len(editor.rows) == 3
    assert deployments(workspace, "C")["station"].tolist() == ["StationA", "StationB", "StationC"]
    editor.reload()
    assert [r.cells["camera"].value for r in editor.rows] == ["StationA", "", ""]


def test_the_deployments_stage_imports_no_face() -> None:
    """Like every stage (tests/test_layers.py): no Lab, widget, CLI or demo, not even for
    type checking."""
    faces = ("lab", "namespaces", "widgets", "cli", "demo")
    for path in (REPO / "traptagger_lab/deployments").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert name.split(".")[1:2] not in [[f] for f in faces], (path, name)
