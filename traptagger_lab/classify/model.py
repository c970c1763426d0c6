"""Species classifiers: TorchScript networks with a label index (TrapTagger's format, and ours).

A classifier is a folder with ``classifier.pt`` (or TrapTagger's ``model.pt``), a
TorchScript network taking ``N x 3 x S x S`` ImageNet-normalised crops;
``label_index.json`` (class index -> label, as a mapping or a list); and
optionally ``classifier.json`` with ``image_size``, ``mean``, ``std``,
per-label ``thresholds`` and ``crop_pad`` (the padding its training crops had).
TrapTagger's EfficientNet-B1 (240 px) loads as is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traptagger_lab.errors import ConfigurationError, InputFileError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
WEIGHT_FILES = ("classifier.pt", "model.pt")


@dataclass(frozen=True)
class ClassifierSpec:
    """Where a classifier is and how to feed it."""

    name: str
    weights: Path
    labels: tuple[str, ...]
    image_size: int = 240
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    thresholds: dict[str, float] = field(default_factory=dict)
    crop_pad: float = 0.0


def parse_label_index(raw: Any, where: str) -> tuple[str, ...]:
    """Labels by class index from a label index's JSON value (a list, or index -> label)."""
    if isinstance(raw, list):
        return tuple(str(v) for v in raw)
    if isinstance(raw, dict):
        try:
            indexed = {int(k): str(v) for k, v in raw.items()}
        except ValueError as exc:
            raise InputFileError(where, "keys must be class indices 0..N-1") from exc
        if sorted(indexed) != list(range(len(indexed))):
            raise InputFileError(where, "class indices must run 0..N-1 without gaps")
        return tuple(indexed[i] for i in range(len(indexed)))
    raise InputFileError(where, "expected a list of labels or an index -> label mapping")


def read_label_index(path: Path) -> tuple[str, ...]:
    """The labels of a ``label_index.json`` file, by class index."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputFileError(str(path), f"cannot read the label index: {exc}") from exc
    return parse_label_index(raw, str(path))


def load_spec(folder: str | Path) -> ClassifierSpec:
    """Read a classifier folder's description.

    Raises:
        ConfigurationError: when the folder has no weights; InputFileError for a bad label index.
    """
    root = Path(folder)
    weights = next((root / n for n in WEIGHT_FILES if (root / n).is_file()), None)
    if weights is None:
        raise ConfigurationError(f"{root}: no {' or '.join(WEIGHT_FILES)} found")
    labels = read_label_index(root / "label_index.json")
    meta: dict[str, Any] = {}
    if (root / "classifier.json").is_file():
        meta = json.loads((root / "classifier.json").read_text())
    unknown = set(meta.get("thresholds", {})) - set(labels)
    if unknown:
        raise InputFileError(
            str(root / "classifier.json"), f"thresholds for unknown labels {sorted(unknown)}"
        )
    return ClassifierSpec(
        name=str(meta.get("name", root.name)),
        weights=weights,
        labels=labels,
        image_size=int(meta.get("image_size", 240)),
        mean=tuple(meta.get("mean", IMAGENET_MEAN)),
        std=tuple(meta.get("std", IMAGENET_STD)),
        thresholds={str(k): float(v) for k, v in meta.get("thresholds", {}).items()},
        crop_pad=float(meta.get("crop_pad", 0.0)),
    )


def load_network(weights: str | Path, device: str = "cpu") -> Any:
    """The TorchScript network in ``weights``, in eval mode on ``device``."""
    import torch

    network = torch.jit.load(str(weights), map_location=device)
    network.eval()
    return network


def crop_probabilities(
    network: Any, spec: ClassifierSpec, crops: list[Any], device: str = "cpu"
) -> Any:
    """Softmax probabilities (crops x labels, a numpy array) for square PIL crops."""
    import numpy as np
    import torch

    if not crops:
        return np.zeros((0, len(spec.labels)), dtype=np.float32)
    size = spec.image_size
    arrays = [np.asarray(c.convert("RGB").resize((size, size))) for c in crops]
    batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div(255.0)
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    batch = ((batch - mean) / std).to(device)
    with torch.inference_mode():
        return torch.softmax(network(batch).float(), dim=1).cpu().numpy()


def classify_crops(
    network: Any, spec: ClassifierSpec, crops: list[Any], device: str = "cpu"
) -> list[tuple[str, float]]:
    """Top label and its softmax probability for each square PIL crop."""
    probabilities = crop_probabilities(network, spec, crops, device)
    return [(spec.labels[int(row.argmax())], float(row.max())) for row in probabilities]
