"""Any classifier folder (one we trained, TrapTagger's, a colleague's) judged on a training
set's crops, through the classification stage's own loading and preprocessing.

So a new model and the one in use can be compared on the same test sites
before the surveys switch. Classifier labels are matched to the set's labels
ignoring case (or through ``translations``); probability given to labels the
set does not have goes to an ``(other)`` class, which always counts as wrong.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from traptagger_lab.errors import ConfigurationError
from traptagger_lab.training.dataset import TrainingSet
from traptagger_lab.training.evaluate import Evaluation
from traptagger_lab.training.labels import normalise

OTHER = "(other)"


def label_columns(
    labels: tuple[str, ...], classes: list[str], translations: Mapping[str, str | None]
) -> tuple[list[str], np.ndarray]:
    """The evaluation's classes, and for each classifier label the column it adds to."""
    wanted = {normalise(c): i for i, c in enumerate(classes)}
    columns = list(classes)
    target = []
    for label in labels:
        translated = translations.get(label, label)
        index = wanted.get(normalise(translated)) if translated is not None else None
        if index is None:
            if OTHER not in columns:
                columns.append(OTHER)
            index = columns.index(OTHER)
        target.append(index)
    if all(columns[i] == OTHER for i in target):
        raise ConfigurationError(
            f"none of the classifier's labels {list(labels)[:10]} is a class of the set "
            f"{classes}: give translations"
        )
    return columns, np.array(target)


def assess(
    folder: str | Path,
    data: TrainingSet,
    split: str = "test",
    translations: Mapping[str, str | None] | None = None,
    device: str = "cpu",
    batch_size: int = 64,
) -> Evaluation:
    """Evaluate the classifier in ``folder`` on the crops of ``split``.

    Raises:
        ConfigurationError: when the split is empty or no label matches.
    """
    from PIL import Image
    from tqdm.auto import tqdm

    from traptagger_lab.classify.model import crop_probabilities, load_network, load_spec

    spec = load_spec(folder)
    rows = data.rows(split)
    if rows.empty:
        raise ConfigurationError(f"the training set has no {split} crops")
    columns, target = label_columns(spec.labels, data.classes, dict(translations or {}))
    network = load_network(spec.weights, device)
    keys = rows["crop"].tolist()
    parts = []
    for start in tqdm(range(0, len(keys), batch_size), desc=f"assess {spec.name}", unit="batch"):
        crops = []
        for key in keys[start : start + batch_size]:
            with Image.open(io.BytesIO(data.store.get(key))) as opened:
                crops.append(opened.convert("RGB"))
        parts.append(crop_probabilities(network, spec, crops, device))
    raw = np.concatenate(parts)
    merged = np.zeros((len(raw), len(columns)))
    np.add.at(merged.T, target, raw.T)  # several classifier labels may feed one class
    return data.evaluation(split, merged, columns)
