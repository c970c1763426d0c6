"""Exports of a task's labels: tables, Camtrap DP (validated), COCO, MD JSON, species folders.

Camtrap DP packages are validated with the frictionless validator against the
official Camtrap DP 1.0.2 profile and table schemas in ../shared/data/camtrap-dp,
offline: the validator's HTTP session answers those URLs from the local files,
the GeoJSON schema from the copy frictionless ships, and the Data Package core
schema from frictionless' own Data Package profile. Any other URL fails.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.conftest import annotate_all
from traptagger_lab.errors import ConfigurationError


def _validate_camtrap_dp(package: Path, shared_data: Path) -> Any:
    import frictionless
    import requests
    from requests.adapters import BaseAdapter

    local = {
        f"https://raw.githubusercontent.com/tdwg/camtrap-dp/1.0.2/{p.name}": p.read_bytes()
        for p in (shared_data / "camtrap-dp").glob("*.json")
    }
    local["https://specs.frictionlessdata.io/schemas/data-package.json"] = json.dumps(
        frictionless.Package.metadata_profile
    ).encode()
    assets = Path(frictionless.__file__).parent / "assets/profiles"
    local["http://json.schemastore.org/geojson.json"] = (assets / "geojson.json").read_bytes()

    class Offline(BaseAdapter):
        def send(self, request: Any, **_: Any) -> Any:
            if request.url not in local:
                raise requests.ConnectionError(f"offline test asked for {request.url}")
            response = requests.Response()
            response.status_code, response.url, response.request = 200, request.url, request
            response.raw = io.BytesIO(local[request.url])
            return response

        def close(self) -> None:
            pass

    session = requests.Session()
    session.mount("http://", Offline())
    session.mount("https://", Offline())
    with frictionless.system.use_context(http_session=session):
        return frictionless.validate(str(package / "datapackage.json"))


def test_the_official_example_passes_our_offline_validation(shared_data: Path) -> None:
    report = _validate_camtrap_dp(shared_data / "camtrap-dp/example", shared_data)
    assert report.valid, report.flatten(["type", "note"])


@pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)], indirect=True
)
def test_camtrap_dp_is_valid_and_round_trips(lab: Any, tmp_path: Path, shared_data: Path) -> None:
    task = annotate_all(lab, "S", ["Impala", "Zebra"])
    assert lab.sites("S").latitude.notna().all()  # from the photos' GPS tags
    package = tmp_path / "dp"
    done = lab.export(
        task, "camtrap-dp", str(package), utc_offset="+02:00", taxa={"Impala": "Aepyceros melampus"}
    )
    report = _validate_camtrap_dp(package, shared_data)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
    observations = pd.read_csv(package / "observations.csv")
    assert len(observations) == done.rows
    assert set(observations.observationLevel) == {"media", "event"}
    animals = observations[observations.observationType == "animal"]
    assert set(animals.scientificName) == {"Aepyceros melampus", "Zebra"}
    assert animals.eventStart.str.endswith("+02:00").all()
    descriptor = json.loads((package / "datapackage.json").read_text())
    assert {t["scientificName"] for t in descriptor["taxonomic"]} == set(animals.scientificName)
    # the media-level observations, read back into a new task, label the same photos alike
    back = lab.tasks.create("S", "from camtrap-dp", labels=["Aepyceros melampus", "Zebra"])
    lab.import_labels("S", "camtrap-dp", str(package), task=back)
    original = lab.export(task, "csv", str(tmp_path / "a.csv"), per="image")
    again = lab.export(back, "csv", str(tmp_path / "b.csv"), per="image")
    first = pd.read_csv(original.files[0]).set_index("path")["species"]
    second = pd.read_csv(again.files[0]).set_index("path")["species"]
    first = first.replace({"Impala": "Aepyceros melampus"})
    timed = set(lab.images("S").dropna(subset=["timestamp"]).path)  # Camtrap DP needs times
    animals_only = first[(first != "Nothing") & first.index.isin(timed)]
    assert second.loc[animals_only.index].equals(animals_only)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_tables_per_detection_image_and_cluster(lab: Any, tmp_path: Path) -> None:
    task = annotate_all(lab, "S", ["Impala", "Zebra"])
    per_image = pd.read_csv(lab.export(task, "csv", str(tmp_path / "i.csv"), per="image").files[0])
    labelled = lab.images("S")
    labelled = labelled[labelled.cluster_id.notna()]
    assert len(per_image) == len(labelled)
    per_cluster = pd.read_csv(
        lab.export(task, "csv", str(tmp_path / "c.csv"), per="cluster").files[0]
    )
    assert set(per_cluster.cluster_id) == set(labelled.cluster_id.astype(int))
    assert per_cluster.images.sum() == len(per_image)
    chosen = lab.export(
        task, "excel", str(tmp_path / "x.xlsx"), per="image", columns=["path", "species"]
    )
    sheet = pd.read_excel(chosen.files[0])
    assert list(sheet.columns) == ["path", "species"]
    assert len(sheet) == len(per_image)
    with pytest.raises(ValueError, match=r"unknown column\(s\) \['colour'\]"):
        lab.export(task, "csv", str(tmp_path / "y.csv"), columns=["path", "colour"])
    records = pd.read_csv(lab.export(task, "record-table", str(tmp_path / "r.csv")).files[0])
    assert len(records) == len(lab.results(task).record_table())
    with pytest.raises(ConfigurationError, match="use one of"):
        lab.export(task, "shapefile", str(tmp_path / "z"))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_coco_round_trip(lab: Any, tmp_path: Path) -> None:
    task = annotate_all(lab, "S", ["Impala", "Zebra"])
    done = lab.export(task, "coco", str(tmp_path / "coco.json"))
    document = json.loads(Path(done.files[0]).read_text())
    assert document["categories"][0] == {"id": 0, "name": "empty"}
    assert {i["file_name"] for i in document["images"]} == set(lab.images("S").path.dropna()) - set(
        lab.images("S").query("failure_reason.notna()").path
    )
    sequences = [i for i in document["images"] if "seq_id" in i]
    assert all(0 <= i["frame_num"] < i["seq_num_frames"] for i in sequences)
    back = lab.tasks.create("S", "from coco", labels=["Impala", "Zebra"])
    lab.import_labels("S", "coco", done.files[0], task=back)
    first = lab.export(task, "csv", str(tmp_path / "a.csv"), per="image").files[0]
    second = lab.export(back, "csv", str(tmp_path / "b.csv"), per="image").files[0]
    expected = pd.read_csv(first).set_index("path")["species"].replace({"Nothing": "empty"})
    got = pd.read_csv(second).set_index("path")["species"].replace({"Nothing": "empty"})
    assert got.sort_index().equals(expected.sort_index())


def test_md_json_carries_species_on_boxes_and_round_trips(
    lab_factory: Any, shared_data: Path, tmp_path: Path
) -> None:
    example = shared_data / "camtrap-dp/example"
    lab = lab_factory()
    lab.ingest(
        str(example / "media"), survey="DP", site_pattern=r"(RCNX)", camera_pattern=r"(RCNX)"
    )
    lab.import_labels("DP", "camtrap-dp", str(example))
    done = lab.export("DP", "md-json", str(tmp_path / "md.json"))
    document = json.loads(Path(done.files[0]).read_text())
    names = set(document["classification_categories"].values())
    boxes = [d for i in document["images"] for d in i["detections"]]
    assert boxes
    assert all(d["classifications"][0][1] == 1.0 for d in boxes)
    back = lab.tasks.create("DP", "from md", labels=sorted(names))
    report = lab.import_labels("DP", "md-json", done.files[0], task=back)
    assert report.labels == len(boxes)
    first = pd.read_csv(lab.export("DP", "csv", str(tmp_path / "a.csv")).files[0])
    second = pd.read_csv(lab.export(back, "csv", str(tmp_path / "b.csv")).files[0])
    key = ["path", "species"]
    assert (
        first[key].sort_values(key).values.tolist() == second[key].sort_values(key).values.tolist()
    )
    # MD JSON keeps 4 decimals, truncated as megadetector does
    assert np.allclose(sorted(first["x"]), sorted(second["x"]), atol=1e-4)


def test_species_folders_rebuild_the_camtrapr_layout(
    lab_factory: Any, shared_data: Path, tmp_path: Path, cli: Any
) -> None:
    root = shared_data / "camtrapR/pictures/sample_images_species_dir"
    lab = lab_factory()
    lab.ingest(str(root), survey="C", site_pattern="folder:1", camera_pattern="folder:1")
    lab.import_labels("C", "folders")
    with pytest.raises(ConfigurationError, match="coordinates for every site; missing for"):
        lab.export("C", "camtrap-dp", str(tmp_path / "dp"))  # camtrapR's photos have no GPS
    out = tmp_path / "sorted"
    done = lab.export("C", "folders", str(out), layout="camtrapR")
    photos = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())
    written = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    duplicates = {p for p in lab.images("C").query("failure_reason == 'duplicate'").path}
    assert written == [p for p in photos if str(p) not in duplicates]
    assert all((out / p).read_bytes() == (root / p).read_bytes() for p in written)
    assert len(done.files) == len(written)
    by_species = lab.export("C", "folders", str(tmp_path / "by-species"))
    assert all(
        Path(f).relative_to(tmp_path / "by-species").parts[0]
        in {"EGY", "MNE", "PBE", "TRA", "UNID", "VTA"}
        for f in by_species.files
    )


def test_cli_export(cli: Any, sample_survey: Any, tmp_path: Path) -> None:
    cli("ingest", str(sample_survey.root), "--survey", "S")
    from traptagger_lab.lab import open_lab

    with open_lab(dask_scheduler="sync") as lab:
        annotate_all(lab, "S", ["Impala", "Zebra"])
    done = cli("export", "S", str(tmp_path / "out.csv"), "--per", "cluster")
    assert "csv:" in done.output
    table = pd.read_csv(tmp_path / "out.csv")
    assert set(table.species) <= {"Impala", "Zebra", "Nothing"}
    coco = cli("export", "S", str(tmp_path / "coco"), "--format", "coco")
    assert (tmp_path / "coco/export.json").exists(), coco.output
