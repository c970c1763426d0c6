"""The classification stage end to end on real parts (random-weight TorchScript classifier)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from traptagger_lab.db.models import Classification
from traptagger_lab.errors import ConfigurationError, InputFileError
from traptagger_lab.sample import SPECIES, SampleSurvey

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    from traptagger_lab.classify.testing import build_random_classifier

    return build_random_classifier(
        tmp_path_factory.mktemp("cls") / "random-savanna",
        sorted(SPECIES),
        arch="mobilenet_v3_small",
        image_size=96,
        thresholds={**{s: 0.0 for s in SPECIES}, "zebra": 0.3},  # every other crop counts
    )


def test_classify_and_suggest(
    database_url: str,
    classifier: Path,
    sample_survey: SampleSurvey,
    lab_factory: Any,
    tmp_path: Path,
) -> None:
    lab = lab_factory(database_url=database_url)
    lab.ingest(str(sample_survey.root), survey="S")
    lab.sequences("S")
    table = lab.images("S", include_failures=False)
    photos = sorted(table[~table.is_video_frame.astype(bool)].path)[:12]
    animal = {"category": "1", "conf": 0.9, "bbox": [0.3, 0.55, 0.2, 0.2]}
    person = {"category": "2", "conf": 0.9, "bbox": [0.1, 0.1, 0.1, 0.3]}
    faint = {"category": "1", "conf": 0.1, "bbox": [0.6, 0.6, 0.1, 0.1]}  # below MDv5a's 0.2
    images = [{"file": p, "detections": [animal, faint]} for p in photos[:-2]]
    images += [{"file": p, "detections": [person]} for p in photos[-2:]]
    path = tmp_path / "md.json"
    path.write_text(json.dumps({"info": {"detector": "MDV5A"}, "images": images}))
    lab.import_detections("S", str(path))

    report = lab.classify("S", str(classifier), device="cpu")
    assert report.classified == len(photos) - 2  # one relevant animal box per photo
    with lab.sessions() as session:
        labels = set(session.scalars(select(Classification.label)))
        assert labels <= set(SPECIES)
        assert session.scalar(select(func.count()).select_from(Classification)) == report.classified
    suggestions = lab.cluster_suggestions("S")
    assert len(suggestions) == lab.status_counts("S")["clusters"]
    labelled = suggestions[~suggestions.label.isin(["nothing", "unknown"])]
    assert set(labelled.label) <= set(SPECIES) | {"human"}
    assert "human" in set(labelled.label)
    assert set(labelled.label) & set(SPECIES), "no cluster got a species"
    assert labelled.reason.str.contains("relevant detections").all()
    assert (suggestions[suggestions.label == "nothing"].detections == 0).all()

    again = lab.classify("S", str(classifier), device="cpu")
    assert again.classified == 0
    assert again.skipped == report.classified
    lab.set_detection_threshold("S", 0.05)  # now the faint boxes count as relevant too
    lower = lab.classify("S", str(classifier), device="cpu")
    assert lower.classified == len(photos) - 2
    merged = lab.classify(
        "S", str(classifier), device="cpu", translations={s: "Animal" for s in SPECIES}
    )
    assert set(merged.labels) <= {"Animal", "human", "nothing", "unknown"}


def test_bad_classifier_folders(tmp_path: Path) -> None:
    from traptagger_lab.classify.model import load_spec

    with pytest.raises(ConfigurationError, match=r"no classifier\.pt or model\.pt"):
        load_spec(tmp_path)
    (tmp_path / "model.pt").write_bytes(b"x")
    (tmp_path / "label_index.json").write_text('{"0": "a", "2": "b"}')
    with pytest.raises(InputFileError, match="without gaps"):
        load_spec(tmp_path)
    (tmp_path / "label_index.json").write_text('["a", "b"]')
    (tmp_path / "classifier.json").write_text('{"thresholds": {"c": 0.5}}')
    with pytest.raises(InputFileError, match=r"unknown labels \['c'\]"):
        load_spec(tmp_path)


def test_cli_classify(
    classifier: Path, sample_survey: SampleSurvey, tmp_path: Path, cli: Any
) -> None:
    cli("ingest", str(sample_survey.root), "--survey", "S")
    box = {"category": "1", "conf": 0.9, "bbox": [0.3, 0.55, 0.2, 0.2]}
    document = {"images": [{"file": p, "detections": [box]} for p in sample_survey.photos[:4]]}
    (tmp_path / "md.json").write_text(json.dumps(document))
    cli("import-detections", "S", str(tmp_path / "md.json"))
    (tmp_path / "tr.json").write_text(json.dumps({s: "Animal" for s in SPECIES}))
    result = cli(
        "classify",
        "S",
        "--classifier",
        str(classifier),
        "--translations",
        str(tmp_path / "tr.json"),
    )
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["classified"] == 4
    assert set(report["labels"]) <= {"Animal", "nothing"}
    assert report["labels"].get("Animal")


def test_classify_params_defaults_and_ranges(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from traptagger_lab.classify.model import ClassifierSpec
    from traptagger_lab.classify.run import ClassifyParams
    from traptagger_lab.ingest.discover import Source
    from traptagger_lab.ingest.sources import SurveySources
    from traptagger_lab.storage import BlobStore

    made = {
        "spec": ClassifierSpec("savanna", tmp_path / "classifier.pt", ("impala", "zebra")),
        "source": SurveySources.of(Source(str(tmp_path), {})),
        "store": BlobStore(str(tmp_path / "store")),
    }
    params = ClassifyParams(**made)
    assert params.device == "cpu"
    assert all(getattr(params, name) is value for name, value in made.items())  # as given
    for bad in ({"spec": {"name": "savanna"}}, {"device": None}):
        with pytest.raises(ValidationError) as caught:
            ClassifyParams(**{**made, **bad})
        assert [e["loc"] for e in caught.value.errors()] == [(next(iter(bad)),)]
