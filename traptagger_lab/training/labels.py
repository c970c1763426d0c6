"""Label translation for training: ``label_spec.json`` and ``label_index.json`` (pure core).

Data sets spell species differently (``Zebra``, ``zebra_burchells``,
``Burchell's zebra``) and users want some labels grouped (every small antelope
as ``antelope``) or left out (``human``, ``unknown``). A label spec says how:

.. code-block:: json

    {
      "labels": {"zebra": ["zebra", "burchells zebra"], "antelope": ["impala", "kudu"]},
      "drop": ["human", "unknown"],
      "unlisted": "keep",
      "min_examples": 20
    }

``labels`` maps each training label to the data labels it takes (merging
spellings and grouping are the same thing); ``drop`` names labels to leave
out; ``unlisted`` says what happens to a label named nowhere (``keep`` it as
it is, ``drop`` it, or ``error``); classes with fewer than ``min_examples``
crops are left out of training and reported. Labels always match ignoring
case, spaces, hyphens and underscores. MegaDetector's classification format
(``{"label": {"dataset_labels": {"dataset": [...]}}}``) is read as well.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from traptagger_lab.errors import InputFileError

Unlisted = Literal["keep", "drop", "error"]


def normalise(label: str) -> str:
    """The key labels are matched on: lower case, words joined by single spaces."""
    return " ".join(re.split(r"[\s_\-]+", label.strip().lower())).strip()


@dataclass(frozen=True)
class LabelSpec:
    """How data labels become training labels (see the module doc)."""

    labels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    drop: tuple[str, ...] = ()
    unlisted: Unlisted = "keep"
    min_examples: int = 1

    def translator(self, where: str = "label_spec.json") -> dict[str, str | None]:
        """Normalised data label -> training label (None: dropped).

        Raises:
            InputFileError: when one data label is given to two training labels, or is
                both kept and dropped.
        """
        table: dict[str, str | None] = {}
        for target, sources in self.labels.items():
            for source in (target, *sources):
                key = normalise(source)
                if table.get(key, target) != target:
                    raise InputFileError(
                        where, f"{source!r} is given to both {table[key]!r} and {target!r}"
                    )
                table[key] = target
        for source in self.drop:
            key = normalise(source)
            if table.get(key) is not None:
                raise InputFileError(
                    where, f"{source!r} is dropped but also given to {table[key]!r}"
                )
            table[key] = None
        return table

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (what :func:`write_spec` writes)."""
        return {
            "labels": {k: list(v) for k, v in self.labels.items()},
            "drop": list(self.drop),
            "unlisted": self.unlisted,
            "min_examples": self.min_examples,
        }


def spec_from_dict(raw: Mapping[str, Any], where: str = "label_spec.json") -> LabelSpec:
    """A :class:`LabelSpec` from its JSON form (ours, or MegaDetector's classification one).

    Raises:
        InputFileError: naming ``where`` and what is wrong.
    """
    if not isinstance(raw, Mapping):
        raise InputFileError(where, "a label spec is a JSON object")
    if raw and all(isinstance(v, Mapping) and "dataset_labels" in v for v in raw.values()):
        return LabelSpec(
            labels={
                str(target): tuple(
                    str(label) for labels in v["dataset_labels"].values() for label in labels
                )
                for target, v in raw.items()
            }
        )
    unknown = set(raw) - {"labels", "drop", "unlisted", "min_examples"}
    if unknown:
        raise InputFileError(where, f"unknown keys {sorted(unknown)}")
    labels = raw.get("labels", {})
    if not isinstance(labels, Mapping) or not all(
        isinstance(v, list | tuple) for v in labels.values()
    ):
        raise InputFileError(where, "'labels' maps each training label to a list of data labels")
    unlisted = raw.get("unlisted", "keep")
    if unlisted not in ("keep", "drop", "error"):
        raise InputFileError(where, f"'unlisted' is keep, drop or error, not {unlisted!r}")
    min_examples = raw.get("min_examples", 1)
    if not isinstance(min_examples, int) or min_examples < 1:
        raise InputFileError(where, f"'min_examples' is a whole number >= 1, not {min_examples!r}")
    spec = LabelSpec(
        labels={str(k): tuple(str(s) for s in v) for k, v in labels.items()},
        drop=tuple(str(d) for d in raw.get("drop", ())),
        unlisted=unlisted,
        min_examples=min_examples,
    )
    spec.translator(where)  # conflicts are reported now, not at the first crop
    return spec


def read_spec(spec: LabelSpec | Mapping[str, Any] | str | Path | None) -> LabelSpec:
    """A label spec from an object, a mapping, or a ``label_spec.json`` path (None: keep all)."""
    if spec is None:
        return LabelSpec()
    if isinstance(spec, LabelSpec):
        return spec
    if isinstance(spec, Mapping):
        return spec_from_dict(spec, "label spec")
    path = Path(spec)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise InputFileError(str(path), "no such file") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise InputFileError(str(path), f"not a readable JSON file: {exc}") from exc
    return spec_from_dict(raw, str(path))


def translate(
    labels: Iterable[str], spec: LabelSpec, where: str = "label_spec.json"
) -> dict[str, str | None]:
    """Each distinct data label -> its training label, or None when it is left out.

    Raises:
        InputFileError: when ``unlisted`` is ``error`` and some labels are named nowhere.
    """
    table = spec.translator(where)
    out: dict[str, str | None] = {}
    missing: list[str] = []
    for label in labels:
        if label in out:
            continue
        key = normalise(label)
        if key in table:
            out[label] = table[key]
        elif spec.unlisted == "keep":
            out[label] = key
        elif spec.unlisted == "drop":
            out[label] = None
        else:
            missing.append(label)
    if missing:
        raise InputFileError(
            where, f"labels named nowhere in the spec (unlisted: error): {sorted(missing)}"
        )
    return out


def label_index(classes: Iterable[str]) -> dict[str, str]:
    """``label_index.json``'s content: class index (as text) -> label, in sorted order."""
    return {str(i): name for i, name in enumerate(sorted(set(classes)))}
