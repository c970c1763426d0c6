"""A training data set: crops, ``classification_ds.csv``, ``label_spec.json``, ``label_index.json``.

The folder (local, or ``s3://...`` so GPU workers in the cloud read it) holds:

- ``crops/<data set>/<site>/<photo>_<hash>.jpg``: square crops, ``size`` pixels;
- ``classification_ds.csv``: one row per crop: ``crop`` (relative path),
  ``label`` (training label), ``site``, ``survey`` (data set), ``split``,
  ``source_label``, ``image``, the box and where the row came from;
- ``label_spec.json`` (the translation used) and ``label_index.json`` (class index -> label);
- ``balance.csv`` (crops per class and split), ``problems.csv`` (inputs that gave
  no crop, and why) and ``dataset.json`` (how the set was made).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from traptagger_lab.errors import ConfigurationError, InputFileError
from traptagger_lab.storage import BlobStore
from traptagger_lab.training.crops import (
    EXISTS,
    WRITTEN,
    CropParams,
    DetectFirst,
    crop_key,
    cut_all,
    detect_missing,
)
from traptagger_lab.training.evaluate import Evaluation
from traptagger_lab.training.labels import LabelSpec, label_index, translate
from traptagger_lab.training.sources import NOT_ANIMAL, Example, Problem
from traptagger_lab.training.split import SPLITS, split_by_site

if TYPE_CHECKING:
    from distributed import Client

DATASET_CSV = "classification_ds.csv"
COLUMNS = [
    "crop",
    "label",
    "site",
    "survey",
    "split",
    "source_label",
    "image",
    "x",
    "y",
    "w",
    "h",
    "detection_id",
    "origin",
]


def site_key(survey: str, site: str) -> str:
    """Sites are split as ``survey/site``: two data sets' "Site01" are different places."""
    return f"{survey}/{site}"


@dataclass
class TrainingSet:
    """A training data set folder and what is in it."""

    store: BlobStore
    table: pd.DataFrame
    classes: list[str]
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)
    left_out: pd.DataFrame = field(default_factory=pd.DataFrame)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        """The folder's URL."""
        return self.store.url

    def rows(self, split: str) -> pd.DataFrame:
        """The crops of one split."""
        return self.table[self.table["split"] == split]

    def evaluation(
        self, split: str, probabilities: np.ndarray, classes: Sequence[str] | None = None
    ) -> Evaluation:
        """A classifier's answers on ``split`` (a row per crop, in table order; a column per
        class of ``classes``, default the set's) as an :class:`Evaluation`."""
        rows = self.rows(split)
        columns = list(classes if classes is not None else self.classes)
        index = {c: i for i, c in enumerate(columns)}
        return Evaluation(
            classes=columns,
            truth=np.array([index[label] for label in rows["label"]]),
            probabilities=probabilities,
            sites=np.array(
                [site_key(s, t) for s, t in zip(rows["survey"], rows["site"], strict=True)]
            ),
            split=split,
        )

    @property
    def balance(self) -> pd.DataFrame:
        """Crops per class and split, with totals and the number of sites per class."""
        return balance_report(self.table, self.classes)

    def warnings(self) -> list[str]:
        """Classes that no split of validation or test will measure."""
        report = self.balance
        return [
            f"{label}: no {split} crops (its photos are from {int(row['sites'])} site(s))"
            for label, row in report.iterrows()
            for split in ("val", "test")
            if split in report.columns and row[split] == 0
        ]

    def plot_balance(self) -> Any:
        """A horizontal bar chart of crops per class, stacked by split."""
        from traptagger_lab.plots import pyplot

        plt = pyplot()
        report = self.balance
        splits = [s for s in SPLITS if s in report.columns]
        figure, axes = plt.subplots(figsize=(7, 0.35 * len(report) + 1.5))
        report[splits].iloc[::-1].plot.barh(stacked=True, ax=axes)
        axes.set_xlabel("crops")
        axes.set_title(f"Class balance ({len(self.table)} crops)")
        figure.tight_layout()
        return figure

    def __repr__(self) -> str:
        return (
            f"TrainingSet({self.path!r}: {len(self.table)} crops, {len(self.classes)} classes, "
            f"{self.table['site'].nunique() if len(self.table) else 0} sites, "
            f"{len(self.problems)} problems)"
        )


def balance_report(table: pd.DataFrame, classes: Sequence[str]) -> pd.DataFrame:
    """Crops per class (rows) and split (columns), plus ``total`` and ``sites``."""
    counts = table.pivot_table(index="label", columns="split", values="crop", aggfunc="count")
    counts = counts.reindex(index=list(classes), columns=list(SPLITS)).fillna(0).astype(int)
    counts["total"] = counts.sum(axis=1)
    sites = table.assign(key=table["survey"] + "/" + table["site"]).groupby("label")["key"]
    counts["sites"] = sites.nunique().reindex(counts.index).fillna(0).astype(int)
    return counts


def prepare(
    examples: Sequence[Example], spec: LabelSpec
) -> tuple[list[Example], list[dict[str, Any]]]:
    """Examples with their training label, and what the spec (or "no animal") left out."""
    left: Counter[tuple[str, str]] = Counter()
    kept: list[Example] = []
    table = translate({e.label for e in examples}, spec)
    for example in examples:
        target = table[example.label]
        if target is None or target in NOT_ANIMAL:
            why = "not an animal" if target in NOT_ANIMAL else "dropped by the label spec"
            left[(example.label, why)] += 1
            continue
        kept.append(replace(example, label=target, source_label=example.label))
    rows = [{"label": k[0], "crops": n, "why": k[1]} for k, n in sorted(left.items())]
    return kept, rows


def one_label_per_box(examples: Sequence[Example]) -> tuple[list[Example], list[Problem]]:
    """One example per crop; a box given two different labels is left out, both reported."""
    by_key: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_key[crop_key(example)].append(example)
    kept: list[Example] = []
    problems: list[Problem] = []
    for group in by_key.values():
        labels = sorted({e.label for e in group})
        if len(labels) == 1:
            kept.append(group[0])
            continue
        problems.extend(Problem(e.origin, f"the same box is labelled {labels}") for e in group)
    return kept, problems


def build(
    out: BlobStore,
    store: BlobStore,
    options: dict[str, dict[str, Any]],
    examples: Sequence[Example],
    problems: Sequence[Problem],
    to_detect: Sequence[Example],
    spec: LabelSpec,
    detector: Callable[[], DetectFirst | None],
    client: Client | None,
    size: int = 256,
    pad: float = 0.0,
    fractions: Mapping[str, float] | None = None,
    fixed_splits: Mapping[str, str] | None = None,
    seed: int = 0,
    sources: Sequence[str] = (),
) -> TrainingSet:
    """Translate labels, detect where boxes are missing, cut crops, split by site, write files.

    ``detector`` gives the detector for photos whose label has no box (called only if some do).

    Raises:
        ConfigurationError: when no class keeps at least ``spec.min_examples`` crops.
    """
    # the crop geometry is checked before any detection runs
    params = CropParams(out=out, store=store, options=options, size=size, pad=pad)
    boxed, left_rows = prepare(examples, spec)
    boxless, more_left = prepare(to_detect, spec)
    left_rows += more_left
    finder = detector() if boxless else None  # only loads (or downloads) weights when needed
    found, detect_problems = detect_missing(boxless, finder, store, options, client)
    problems = [*problems, *detect_problems]
    unique, conflicts = one_label_per_box([*boxed, *found])
    problems += conflicts
    status, owner = cut_all(params, unique, client)
    rows = []
    for key, outcome in sorted(status.items()):
        example = owner[key]
        if outcome not in (WRITTEN, EXISTS):
            problems.append(Problem(example.origin, outcome))
            continue
        x, y, w, h = example.box or (None, None, None, None)
        rows.append(
            {
                "crop": key,
                "label": example.label,
                "site": example.site,
                "survey": example.dataset,
                "split": "",
                "source_label": example.source_label,
                "image": example.image if not example.root else f"{example.root}/{example.image}",
                "x": x,
                "y": y,
                "w": w,
                "h": h,
                "detection_id": example.detection_id,
                "origin": example.origin,
            }
        )
    table = pd.DataFrame(rows, columns=COLUMNS)
    sizes = table["label"].value_counts()
    rare = sizes[sizes < spec.min_examples]
    left_rows += [
        {"label": label, "crops": int(n), "why": f"fewer than {spec.min_examples} crops"}
        for label, n in rare.items()
    ]
    table = table[~table["label"].isin(rare.index)].reset_index(drop=True)
    if table.empty:
        reasons = Counter(p.reason for p in problems).most_common(3)
        shown = "; ".join(f"{n} x {reason}" for reason, n in reasons) or "no labelled animals"
        first = f" (first: {problems[0].origin})" if problems else ""
        raise ConfigurationError(f"no class has at least {spec.min_examples} crops: {shown}{first}")
    keys = [site_key(s, t) for s, t in zip(table["survey"], table["site"], strict=True)]
    counts = (
        pd.DataFrame({"site": keys, "label": table["label"]})
        .groupby(["site", "label"])
        .size()
        .rename("n")
        .reset_index()
    )
    chosen = split_by_site(counts, fractions, seed, fixed_splits)
    table["split"] = [chosen[k] for k in keys]
    classes = sorted(table["label"].unique())
    result = TrainingSet(
        store=out,
        table=table,
        classes=classes,
        problems=pd.DataFrame([vars(p) for p in problems], columns=["origin", "reason"]),
        left_out=pd.DataFrame(left_rows, columns=["label", "crops", "why"]),
        meta={
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "crop_size": size,
            "crop_pad": pad,
            "split_fractions": dict(fractions or {}),
            "seed": seed,
            "sources": list(sources),
            "crops": len(table),
            "written": sum(1 for v in status.values() if v == WRITTEN),
            "reused": sum(1 for v in status.values() if v == EXISTS),
        },
    )
    write(result, spec)
    return result


def _csv(frame: pd.DataFrame) -> bytes:
    text: str = frame.to_csv(index=False)
    return text.encode()


def write(data: TrainingSet, spec: LabelSpec) -> None:
    """Write the set's tables and JSON files into its folder."""
    out = data.store
    out.put(DATASET_CSV, _csv(data.table))
    out.put("label_spec.json", json.dumps(spec.as_dict(), indent=1).encode())
    out.put("label_index.json", json.dumps(label_index(data.classes), indent=1).encode())
    out.put("balance.csv", data.balance.to_csv().encode())
    out.put("problems.csv", _csv(data.problems))
    out.put("left_out.csv", _csv(data.left_out))
    out.put("dataset.json", json.dumps(data.meta, indent=1).encode())


def open_set(out: BlobStore) -> TrainingSet:
    """Read a training set folder back.

    Raises:
        InputFileError: when the CSV or label index is missing, or a row's label is not in
            the label index.
    """
    from traptagger_lab.classify.model import parse_label_index

    where = out.url_of(DATASET_CSV)
    try:
        table = pd.read_csv(io.BytesIO(out.get(DATASET_CSV)), keep_default_na=False)
        index_text = out.get("label_index.json")
    except FileNotFoundError as exc:
        raise InputFileError(
            str(exc.filename or where), "no such file (not a training set folder?)"
        ) from exc
    missing = {"crop", "label", "site", "survey", "split"} - set(table.columns)
    if missing:
        raise InputFileError(where, f"missing columns {sorted(missing)}")
    index_where = out.url_of("label_index.json")
    try:
        classes = list(parse_label_index(json.loads(index_text), index_where))
    except json.JSONDecodeError as exc:
        raise InputFileError(index_where, f"not JSON: {exc}") from exc
    unknown = ~table["label"].isin(classes)
    if unknown.any():
        first = int(unknown.to_numpy().nonzero()[0][0])
        raise InputFileError(
            where,
            f"label {table['label'].iloc[first]!r} is not in label_index.json ({classes})",
            row=first + 2,
        )
    bad_split = ~table["split"].isin(SPLITS)
    if bad_split.any():
        first = int(bad_split.to_numpy().nonzero()[0][0])
        raise InputFileError(
            where, f"split {table['split'].iloc[first]!r} is not one of {SPLITS}", row=first + 2
        )
    meta = json.loads(out.get("dataset.json")) if out.exists("dataset.json") else {}
    return TrainingSet(store=out, table=table, classes=classes, meta=meta)
