"""The training pipeline end to end on real parts: crops from an annotated survey, training
on CPU, evaluation, registration, and classifying a survey with the trained model."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tests.training.conftest import labelled_lab, truth
from traptagger_lab.errors import ConfigurationError, InputFileError, NotFoundError
from traptagger_lab.sample import SPECIES, SampleSurvey
from traptagger_lab.training.dataset import TrainingSet
from traptagger_lab.training.train import TrainConfig, fit

pytestmark = [pytest.mark.training, pytest.mark.slow]

QUICK = {"arch": "mobilenet_v3_small", "image_size": 64, "batch_size": 16, "num_workers": 0}


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, training_survey: SampleSurvey
) -> tuple[Any, Any, TrainingSet]:
    """A lab with the labelled survey and its training set (crops of 64 pixels)."""
    pytest.importorskip("torchvision")
    from traptagger_lab.lab import open_lab

    root = tmp_path_factory.mktemp("training-lab")
    lab = open_lab(workspace=str(root / "workspace"), dask_scheduler="sync")
    task = labelled_lab(lab, training_survey, root)
    data = lab.training.crops("savanna", tasks=[task], size=64, detector=None)
    yield lab, task, data
    lab.close()


def test_crops_from_an_annotated_survey(
    built: tuple[Any, Any, TrainingSet], training_survey: SampleSurvey
) -> None:
    lab, task, data = built
    animals = [
        (row["path"], row["species"]) for row in truth(training_survey) for _ in row["boxes"]
    ]
    assert len(data.table) == len(animals)  # one crop per true animal box
    assert sorted(data.table["label"]) == sorted(species for _, species in animals)
    assert data.classes == sorted(SPECIES)  # labels are matched ignoring case
    assert set(data.table["source_label"]) == {s.capitalize() for s in SPECIES}
    assert data.problems.empty
    with_animals = {r["burst"] for r in truth(training_survey) if r["boxes"]}
    assert lab.training.labelled(task) == len(with_animals)  # "Nothing" clusters do not count
    with pytest.raises(NotFoundError):
        lab.training.labelled("no such survey")
    first = data.table.iloc[0]
    with Image.open(io.BytesIO(data.store.get(first["crop"]))) as crop:
        assert crop.size == (64, 64)
    # no site in two splits, and every split has sites
    assert (data.table.groupby("site")["split"].nunique() == 1).all()
    assert set(data.table["split"]) == {"train", "val", "test"}
    files = pd.read_csv(io.BytesIO(data.store.get("classification_ds.csv")))
    assert list(files.columns[:5]) == ["crop", "label", "site", "survey", "split"]
    assert json.loads(data.store.get("label_index.json")) == {
        str(i): c for i, c in enumerate(data.classes)
    }
    assert data.balance["total"].sum() == len(data.table)
    reopened = lab.training.open("savanna")
    pd.testing.assert_frame_equal(
        reopened.table[["crop", "label", "split"]], data.table[["crop", "label", "split"]]
    )

    again = lab.training.crops("savanna", tasks=[task], size=64, detector=None)
    assert again.meta["written"] == 0  # resumable: existing crops are kept
    assert again.meta["reused"] == len(data.table)
    smaller = lab.training.crops("savanna", tasks=[task], size=48, pad=0.1, detector=None)
    assert smaller.meta["written"] == len(data.table)  # another size: new crops
    with Image.open(io.BytesIO(smaller.store.get(smaller.table["crop"].iloc[0]))) as crop:
        assert crop.size == (48, 48)
    assert smaller.table["crop"].str.startswith("crops/48px-pad0.1/").all()
    back = lab.training.crops("savanna", tasks=[task], size=64, detector=None)
    assert back.meta["reused"] == len(data.table)  # the 64-pixel crops were left alone
    grouped = lab.training.crops(
        "grouped",
        tasks=[task],
        size=64,
        detector=None,
        label_spec={"labels": {"antelope": ["impala"]}, "drop": ["hyaena"]},
    )
    assert "antelope" in grouped.classes
    assert "hyaena" not in grouped.classes
    assert "impala" not in grouped.classes
    assert grouped.left_out.set_index("label").loc["Hyaena", "why"] == "dropped by the label spec"


def test_train_evaluate_register_and_classify(built: tuple[Any, Any, TrainingSet]) -> None:
    lab, _, data = built
    model = lab.training.train(data, "savanna-test", epochs=3, plot=False, device="cpu", **QUICK)
    card = model.card
    assert card["classes"] == data.classes
    assert card["training"]["epochs_run"] == 3
    assert len(model.history) == 3
    test = card["metrics"]["test"]
    assert test["crops"] == int((data.table["split"] == "test").sum())
    assert 0 <= test["accuracy"] <= 1
    assert set(test["per_class"]) == set(data.classes)
    assert set(test["top_k"]) == {"1", "3", "5"}
    assert test["top_k"]["5"] == pytest.approx(
        1.0
    )  # five classes: the truth is always in the top 5
    assert set(card["metrics"]["val"]["per_site"]) == {
        f"S/{s}" for s in data.table.loc[data.table["split"] == "val", "site"]
    }
    assert set(card["thresholds"]) <= set(data.classes)
    for file in ("confusion_test.png", "reliability_test.png", "model_card.json"):
        assert model.store.exists(file)

    # the classification stage's own path judges it exactly as training did
    judged = lab.training.evaluate(model, data, device="cpu")
    assert judged.accuracy == pytest.approx(test["accuracy"])
    assert judged.per_class()["support"].tolist() == [
        test["per_class"][c]["support"] for c in data.classes
    ]

    from traptagger_lab.classify.model import load_spec

    spec = load_spec(model.store.root)
    assert list(spec.labels) == data.classes
    assert spec.image_size == 64

    assert lab.training.register(model, surveys="all") == "savanna-test"
    listed = lab.training.classifiers()
    assert listed.loc[0, "surveys"] == ["S"]
    report = lab.classify("S", device="cpu")  # the survey's registered classifier
    assert report.classifier == "savanna-test"
    assert report.classified == len(data.table)
    assert set(report.labels) <= {*data.classes, "nothing", "unknown"}


def test_any_classifier_is_judged_on_the_test_sites(
    built: tuple[Any, Any, TrainingSet], tmp_path: Path
) -> None:
    from traptagger_lab.classify.testing import build_random_classifier

    lab, _, data = built
    foreign = build_random_classifier(
        tmp_path / "theirs", ["Zebra", "impala", "lion"], arch="mobilenet_v3_small", image_size=64
    )
    judged = lab.training.evaluate(foreign, data, split="val", device="cpu")
    assert judged.classes == [*data.classes, "(other)"]  # lion is no class of the set
    assert judged.confusion().loc["(other)"].sum() == 0  # no crop is truly "other"
    assert len(judged.truth) == int((data.table["split"] == "val").sum())
    assert np.allclose(judged.probabilities.sum(axis=1), 1, atol=1e-5)
    renamed = lab.training.evaluate(
        foreign, data, split="val", translations={"lion": "hyaena"}, device="cpu"
    )
    assert renamed.classes == data.classes
    with pytest.raises(ConfigurationError, match="give translations"):
        lab.training.evaluate(
            foreign, data, translations={"Zebra": None, "impala": None, "lion": None}
        )


def test_training_resumes_from_its_checkpoint(built: tuple[Any, Any, TrainingSet]) -> None:
    lab, _, data = built
    out = lab.training._folder("models", "resumed")
    seen: list[int] = []

    def stop_after_first(row: dict[str, Any]) -> None:
        seen.append(row["epoch"])
        if row["epoch"] == 1:
            raise KeyboardInterrupt  # as if the machine went away after epoch 1

    config = TrainConfig(epochs=3, **QUICK)
    with pytest.raises(KeyboardInterrupt):
        fit(data.store, out, config, "resumed", "cpu", True, stop_after_first)
    assert out.exists("checkpoint.pt")
    assert not out.exists("classifier.pt")
    card = fit(
        data.store, out, config, "resumed", "cpu", True, lambda row: seen.append(row["epoch"])
    )
    assert seen == [1, 2, 3]  # epoch 1 was not trained again
    assert card["training"]["resumed_from"] == 1
    assert card["training"]["epochs_run"] == 3
    history = pd.read_csv(io.BytesIO(out.get("history.csv")))
    assert history["epoch"].tolist() == [1, 2, 3]

    other = TrainConfig(epochs=3, **{**QUICK, "arch": "resnet18"})
    with pytest.raises(ConfigurationError, match="another run"):
        fit(data.store, out, other, "resumed", "cpu", True, None)


@pytest.mark.dask
def test_training_on_a_dask_worker_streams_its_epochs(
    built: tuple[Any, Any, TrainingSet], dask_client: Any
) -> None:
    lab, _, data = built
    rows: list[dict[str, Any]] = []
    model = lab.training.train(
        data,
        "on-cluster",
        on="cluster",
        client=dask_client,
        epochs=2,
        plot=False,
        device="cpu",
        **QUICK,
    )
    assert model.card["training"]["epochs_run"] == 2
    from traptagger_lab.training.live import run_on_cluster

    out = lab.training._folder("models", "on-cluster-2")
    run_on_cluster(
        dask_client,
        fit,
        data.store,
        out,
        TrainConfig(epochs=2, **QUICK),
        "on-cluster-2",
        "cpu",
        True,
        report=rows.append,
        expected=lambda c: c["training"]["epochs_run"],
    )
    assert [r["epoch"] for r in rows] == [1, 2]


def test_bad_training_sets_are_named(built: tuple[Any, Any, TrainingSet], tmp_path: Path) -> None:
    lab, _, data = built
    from traptagger_lab.storage import BlobStore
    from traptagger_lab.training.dataset import open_set

    broken = BlobStore(str(tmp_path / "broken"))
    table = data.table.copy()
    table.loc[3, "label"] = "unicorn"
    broken.put("classification_ds.csv", table.to_csv(index=False).encode())
    broken.put("label_index.json", data.store.get("label_index.json"))
    with pytest.raises(InputFileError, match=r"row 5: label 'unicorn' is not in label_index"):
        open_set(broken)

    held_out = data.table.copy()
    held_out.loc[held_out["label"] == "zebra", "split"] = "test"
    broken.put("classification_ds.csv", held_out.to_csv(index=False).encode())
    with pytest.raises(ConfigurationError, match=r"no training crops: \['zebra'\]"):
        fit(broken, BlobStore(str(tmp_path / "out")), TrainConfig(**QUICK), "x", "cpu")

    missing = data.table.copy()
    missing.loc[missing["split"] == "train", "crop"] = "crops/gone.jpg"
    broken.put("classification_ds.csv", missing.to_csv(index=False).encode())
    with pytest.raises(InputFileError, match=r"gone\.jpg: crop is missing"):
        fit(broken, BlobStore(str(tmp_path / "out2")), TrainConfig(**QUICK), "x", "cpu")

    with pytest.raises(InputFileError, match="no such file"):
        lab.training.open(str(tmp_path / "nowhere"))
    with pytest.raises(ConfigurationError, match="unknown architecture"):
        lab.training.train(data, "bad", arch="resnet_9000", plot=False)
    with pytest.raises(NotFoundError, match="no classifier folder at 'nowhere/classifier'"):
        lab.classify("S", "nowhere/classifier")
    with pytest.raises(NotFoundError, match="no classifier folder or registered classifier 'x'"):
        lab.classify("S", "x")
    with pytest.raises(ConfigurationError, match="at least one of tasks, csv or coco"):
        lab.training.crops("empty")
    gone = tmp_path / "gone.csv"
    gone.write_text("path,species,site,x,y,w,h\ngone.jpg,zebra,S1,0.1,0.1,0.2,0.2\n")
    with pytest.raises(
        ConfigurationError, match=r"1 x photo not found \(first: .*gone\.csv, row 2"
    ):
        lab.training.crops("gone", csv=[gone], detector=None)


def test_the_command_line_trains_registers_and_classifies(
    built: tuple[Any, Any, TrainingSet], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from traptagger_lab.cli import app

    lab, _, _ = built
    monkeypatch.setenv("TRAPTAGGER_DASK_SCHEDULER", "sync")
    workspace = ["--workspace", str(lab.settings.workspace)]
    runner = CliRunner()
    fit_args = ["--data", "savanna", "--arch", "mobilenet_v3_small", "--epochs", "1"]
    fit_args += ["--image-size", "64", "--batch-size", "16", "--device", "cpu"]
    trained = runner.invoke(app, ["train", "fit", "cli-model", *fit_args, *workspace])
    assert trained.exit_code == 0, trained.output
    assert "TrainedClassifier('cli-model', 5 classes" in trained.output
    assert "precision" in trained.output
    registered = runner.invoke(app, ["train", "register", "cli-model", "--survey", "S", *workspace])
    assert registered.exit_code == 0, registered.output
    assert "cli-model" in registered.output
    classified = runner.invoke(app, ["classify", "S", "--device", "cpu", *workspace])
    assert classified.exit_code == 0, classified.output
    assert '"classifier": "cli-model"' in classified.output
    missing = runner.invoke(app, ["train", "crops", "x", "--csv", "nowhere.csv", *workspace])
    assert missing.exit_code == 1
    assert "nowhere.csv: no such file" in missing.output


@pytest.mark.gpu
def test_mixed_precision_training_on_a_gpu(built: tuple[Any, Any, TrainingSet]) -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU on this machine")
    lab, _, data = built
    model = lab.training.train(data, "on-gpu", epochs=2, device="auto", plot=False, **QUICK)
    assert model.card["training"]["device"] == "cuda"
    assert model.card["training"]["mixed_precision"] is True
    # exported in float32 for the CPU: the classification stage gives (nearly) the same answers
    judged = lab.training.evaluate(model, data, device="cpu")
    assert judged.accuracy == pytest.approx(model.card["metrics"]["test"]["accuracy"], abs=0.1)
