"""How good a classifier is: per-class precision/recall/F1, confusion, top-k, calibration,
per-site accuracy, and per-class score thresholds (pure numpy/pandas, plus plots).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class Evaluation:
    """A classifier's answers on one split, and what they say about it."""

    classes: list[str]
    truth: np.ndarray  # class index per crop
    probabilities: np.ndarray  # crops x classes
    sites: np.ndarray  # site key per crop
    split: str = "test"

    @property
    def predicted(self) -> np.ndarray:
        """Top class index per crop."""
        top: np.ndarray = self.probabilities.argmax(axis=1)
        return top

    @property
    def accuracy(self) -> float:
        """Share of crops whose top class is right."""
        return float((self.predicted == self.truth).mean()) if len(self.truth) else float("nan")

    def confusion(self) -> pd.DataFrame:
        """Counts: true class (rows) by predicted class (columns)."""
        n = len(self.classes)
        matrix = np.zeros((n, n), dtype=int)
        np.add.at(matrix, (self.truth, self.predicted), 1)
        return pd.DataFrame(matrix, index=self.classes, columns=self.classes)

    def per_class(self) -> pd.DataFrame:
        """Precision, recall, F1 and support per class.

        Precision is NaN for a class never answered, recall for a class with no crops;
        F1 (``2 hits / (answered + support)``) is 0 for a class that has crops but was
        never answered right, and NaN only for a class neither present nor answered.
        """
        matrix = self.confusion().to_numpy()
        hits = np.diag(matrix).astype(float)
        said = matrix.sum(axis=0).astype(float)
        support = matrix.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(said > 0, hits / said, np.nan)
            recall = np.where(support > 0, hits / support, np.nan)
            total = said + support
            f1 = np.where(total > 0, 2 * hits / total, np.nan)
        return pd.DataFrame(
            {"precision": precision, "recall": recall, "f1": f1, "support": support},
            index=pd.Index(self.classes, name="label"),
        )

    def top_k(self, ks: Sequence[int] = (1, 3, 5)) -> dict[int, float]:
        """Share of crops whose true class is among the k most probable (k up to the classes)."""
        order = np.argsort(-self.probabilities, axis=1)
        out = {}
        for k in sorted({min(k, len(self.classes)) for k in ks}):
            hit = (order[:, :k] == self.truth[:, None]).any(axis=1)
            out[k] = float(hit.mean()) if len(hit) else float("nan")
        return out

    def reliability(self, bins: int = 10) -> pd.DataFrame:
        """Calibration: per confidence bin, crops, mean confidence and accuracy."""
        confidence = self.probabilities.max(axis=1)
        right = self.predicted == self.truth
        edges = np.linspace(0, 1, bins + 1)
        which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
        rows = []
        for b in range(bins):
            inside = which == b
            rows.append(
                {
                    "low": edges[b],
                    "high": edges[b + 1],
                    "crops": int(inside.sum()),
                    "confidence": float(confidence[inside].mean()) if inside.any() else np.nan,
                    "accuracy": float(right[inside].mean()) if inside.any() else np.nan,
                }
            )
        return pd.DataFrame(rows)

    def expected_calibration_error(self, bins: int = 10) -> float:
        """Mean gap between confidence and accuracy, weighted by the crops in each bin."""
        table = self.reliability(bins)
        used = table[table["crops"] > 0]
        if used.empty:
            return float("nan")
        gap = (used["confidence"] - used["accuracy"]).abs()
        return float((gap * used["crops"]).sum() / used["crops"].sum())

    def per_site(self) -> pd.DataFrame:
        """Accuracy and crops per site (a site far below the rest needs a look)."""
        right = self.predicted == self.truth
        frame = pd.DataFrame({"site": self.sites, "right": right})
        grouped = frame.groupby("site")["right"]
        return pd.DataFrame({"crops": grouped.size(), "accuracy": grouped.mean()}).sort_values(
            "accuracy"
        )

    def summary(self) -> dict[str, Any]:
        """The numbers a model card keeps."""
        per_class = self.per_class()
        f1 = per_class["f1"].dropna()
        return {
            "split": self.split,
            "crops": len(self.truth),
            "accuracy": self.accuracy,
            "macro_f1": float(f1.mean()) if len(f1) else float("nan"),
            "top_k": {str(k): v for k, v in self.top_k().items()},
            "expected_calibration_error": self.expected_calibration_error(),
            "per_class": {label: plain(row) for label, row in per_class.to_dict("index").items()},
            "per_site": {
                site: {"crops": int(row["crops"]), "accuracy": float(row["accuracy"])}
                for site, row in self.per_site().to_dict("index").items()
            },
        }

    def plot_confusion(self, normalise: bool = True) -> Any:
        """The confusion matrix as a heat map (rows normalised to recall by default)."""
        from traptagger_lab.plots import pyplot

        plt = pyplot()
        matrix = self.confusion().to_numpy().astype(float)
        if normalise:
            matrix = matrix / np.clip(matrix.sum(axis=1, keepdims=True), 1, None)
        n = len(self.classes)
        figure, axes = plt.subplots(figsize=(1.6 + 0.55 * n, 1.2 + 0.5 * n))
        image = axes.imshow(matrix, cmap="Blues", vmin=0, vmax=1 if normalise else None)
        axes.set_xticks(range(n), self.classes, rotation=60, ha="right")
        axes.set_yticks(range(n), self.classes)
        axes.set_xlabel("predicted")
        axes.set_ylabel("true")
        for (i, j), value in np.ndenumerate(matrix):
            if value:
                text = f"{value:.2f}" if normalise else str(int(value))
                axes.text(j, i, text, ha="center", va="center", fontsize=7)
        axes.set_title(f"Confusion ({self.split}, accuracy {self.accuracy:.1%})")
        figure.colorbar(image, ax=axes, fraction=0.046)
        figure.tight_layout()
        return figure

    def plot_reliability(self, bins: int = 10) -> Any:
        """Reliability diagram: accuracy against confidence (the diagonal is perfect)."""
        from traptagger_lab.plots import pyplot

        plt = pyplot()
        table = self.reliability(bins)
        figure, axes = plt.subplots(figsize=(4.5, 4.5))
        axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
        used = table[table["crops"] > 0]
        axes.plot(used["confidence"], used["accuracy"], marker="o")
        axes.set_xlim(0, 1)
        axes.set_ylim(0, 1)
        axes.set_xlabel("confidence")
        axes.set_ylabel("accuracy")
        axes.set_title(f"Calibration (ECE {self.expected_calibration_error(bins):.3f})")
        figure.tight_layout()
        return figure


def plain(value: Any) -> Any:
    """JSON-safe: numpy numbers as Python ones, NaN as null, in nested dicts and lists too."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    return value


def thresholds_for(evaluation: Evaluation, precision: float = 0.9) -> dict[str, float]:
    """Per class, the lowest score at which its top-1 answers reach ``precision``.

    A class that never reaches it gets the score that maximises its F1; a class the
    classifier never answered keeps 0.5 (the classification stage's default).
    """
    scores = evaluation.probabilities.max(axis=1)
    predicted = evaluation.predicted
    out: dict[str, float] = {}
    for index, label in enumerate(evaluation.classes):
        said = predicted == index
        if not said.any():
            out[label] = 0.5
            continue
        order = np.argsort(-scores[said])
        ranked = scores[said][order]
        right = (evaluation.truth[said] == index)[order]
        kept = np.arange(1, len(ranked) + 1)
        running = np.cumsum(right) / kept
        support = max(int((evaluation.truth == index).sum()), 1)
        reaching = np.nonzero(running >= precision)[0]
        if len(reaching):
            out[label] = float(ranked[reaching.max()])
        else:
            f1 = (
                2
                * running
                * (np.cumsum(right) / support)
                / (running + np.cumsum(right) / support + 1e-12)
            )
            out[label] = float(ranked[int(f1.argmax())])
    return out
