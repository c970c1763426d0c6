"""The network: ImageNet weights from a local file, a new head, class weights."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from traptagger_lab.errors import ConfigurationError
from traptagger_lab.storage import BlobStore
from traptagger_lab.training.dataset import TrainingSet
from traptagger_lab.training.train import TrainConfig, build_network, class_weights

pytestmark = pytest.mark.training


def test_pretrained_weights_load_from_a_file_and_get_a_new_head(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")

    torch.manual_seed(1)
    imagenet = torchvision.models.mobilenet_v3_small(weights=None)  # 1000 classes, as published
    weights = tmp_path / "mobilenet_v3_small-imagenet.pth"
    torch.save(imagenet.state_dict(), weights)

    network = build_network("mobilenet_v3_small", 4, str(weights))
    state, published = network.state_dict(), imagenet.state_dict()
    assert network.classifier[3].out_features == 4  # the new head
    backbone = [k for k in published if not k.startswith("classifier.3.")]
    assert all(torch.equal(state[k], published[k]) for k in backbone)
    assert network(torch.zeros(1, 3, 64, 64)).shape == (1, 4)

    wrapped = tmp_path / "checkpoint.pth"
    torch.save({"state_dict": imagenet.state_dict()}, wrapped)  # as training scripts save them
    assert build_network("mobilenet_v3_small", 2, str(wrapped)).classifier[3].out_features == 2
    with pytest.raises(ConfigurationError, match="not resnet18 weights"):
        build_network("resnet18", 4, str(weights))
    with pytest.raises(ConfigurationError, match="cannot load weights"):
        build_network("resnet18", 4, str(tmp_path / "missing.pth"))
    assert build_network("resnet18", 3).fc.out_features == 3  # random init without a file


def test_rare_classes_weigh_more() -> None:
    pytest.importorskip("torch")
    table = pd.DataFrame(
        {
            "crop": [f"c{i}" for i in range(8)],
            "label": ["zebra"] * 6 + ["impala"] * 2,
            "site": ["A"] * 8,
            "survey": ["S"] * 8,
            "split": ["train"] * 8,
        }
    )
    data = TrainingSet(BlobStore("memory://unused"), table, ["impala", "zebra"])
    weights = class_weights(data, TrainConfig())
    assert weights.tolist() == pytest.approx([2.0, 8 / 12])  # total / (classes x count)
    assert class_weights(data, TrainConfig(balance="sampler")) is None


def test_train_config_defaults_and_ranges() -> None:
    assert TrainConfig().model_dump() == {
        "arch": "efficientnet_b0",
        "image_size": 224,
        "epochs": 30,
        "batch_size": 32,
        "lr": 1e-3,
        "weight_decay": 1e-4,
        "label_smoothing": 0.1,
        "balance": "weights",
        "monitor": "val_loss",
        "patience": 5,
        "amp": None,
        "pretrained": None,
        "steps_per_epoch": None,
        "num_workers": 2,
        "target_precision": 0.9,
        "seed": 0,
    }
    for bad in (
        {"image_size": 16},
        {"epochs": 0},
        {"lr": 0},
        {"label_smoothing": 1},
        {"balance": "oversample"},
        {"monitor": "train_loss"},
        {"steps_per_epoch": 0},
        {"target_precision": 1.5},
    ):
        with pytest.raises(ValidationError) as caught:
            TrainConfig(**bad)
        assert [e["loc"] for e in caught.value.errors()] == [(next(iter(bad)),)]
