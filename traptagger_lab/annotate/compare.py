"""Accuracy against ground truth, as TrapTagger's task comparison does: a per-species
confusion matrix, precision/recall/F1, the sequences whose labels differ (to review), each
annotator's accuracy, and the truth animals the detector missed.

What is compared is sequences (clusters), each with a set of labels; names are compared
case-folded and shown as the truth spells them. Per sequence with truth set T and
predicted set P:

- each label in both is a match, on the diagonal (a sequence of Impala + Zebra labelled
  Impala + Zebra gives two diagonal counts);
- when exactly one truth label and one predicted label are left unmatched, they are one
  confusion cell (truth Impala, predicted Zebra);
- otherwise each unmatched truth label is a miss against ``(none)`` and each unmatched
  predicted label a false positive from ``(none)``;
- a truth sequence with no predicted label counts each truth label against
  ``(unlabelled)``, so nothing is dropped silently. Sequences labelled but absent from the
  truth are not judged (their number is ``predicted_only``).

A species' precision is its diagonal count over its column (every time it was predicted),
recall over its row (every time the truth has it, ``support``), F1 their harmonic mean
(2 hits over predicted + support, so 0 rather than undefined when only one of them is).
Macro averages are the mean over the species in the truth (an undefined precision counts
as 0); micro averages pool every species' counts. ``accuracy`` is the share of truth
sequences whose predicted set equals the truth set.

:func:`compare_sets` is the pure core; :func:`compare` reads a survey's or task's settled
labels (:mod:`~traptagger_lab.annotate.settled`) and the truth (a task, or a CSV file of
labelled photos rolled up to sequences), and adds each annotator's scores and the detector
misses.
"""

from __future__ import annotations

import io
import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeAlias

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from traptagger_lab.annotate.labels import BUILTIN
from traptagger_lab.annotate.settled import LabelsRef, Selection, labels_by_sequence, one_selection
from traptagger_lab.annotate.stats import label_sets
from traptagger_lab.annotate.tasks import TaskRef, find_task
from traptagger_lab.db.engine import chunks
from traptagger_lab.db.models import Detection, Image, Task
from traptagger_lab.detect.relevance import relevance_threshold
from traptagger_lab.errors import ConfigurationError, InputFileError
from traptagger_lab.surveys import find_survey

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from traptagger_lab.workspace import Workspace

#: Where an unmatched label is counted (see the module doc).
NONE = "(none)"
#: The prediction of a truth sequence nobody labelled.
UNLABELLED = "(unlabelled)"
#: Internal keys of the two (never a case-folded label name).
_NONE, _UNLABELLED = "\0none", "\0unlabelled"

SPECIES_COLUMNS = ["species", "precision", "recall", "f1", "support"]
DIFFER_COLUMNS = ["cluster_id", "truth", "predicted"]
ANNOTATOR_COLUMNS = [
    "task",
    "annotator",
    "sequences",
    "accuracy",
    "precision",
    "recall",
    "f1",
]
MISS_COLUMNS = ["cluster_id", "truth", "best_score"]
#: A truth CSV's file column (first found wins) and species column, matched case-insensitively.
FILE_COLUMNS = (("path",), ("directory", "filename"), ("file",))
LABEL_COLUMNS = ("species", "label")

LabelSets = Mapping[int, frozenset[str]]
#: What the truth may be: a task (its settled labels), a CSV file, or a table.
TruthRef: TypeAlias = TaskRef | os.PathLike[str] | pd.DataFrame


@dataclass(frozen=True, eq=False)
class Comparison:
    """Labels against the truth, per sequence (see the module doc for how sets count)."""

    #: Counts, truth labels (rows, plus ``(none)``) by predicted labels (columns, plus
    #: ``(none)`` and ``(unlabelled)`` when used).
    confusion: pd.DataFrame
    #: species, precision, recall, f1, support; then ``macro`` and ``micro`` rows.
    per_species: pd.DataFrame
    #: The sequences to review: cluster_id, truth, predicted (labels joined by `` + ``).
    differ: pd.DataFrame
    #: Share of truth sequences whose predicted set equals the truth set (NaN for none).
    accuracy: float
    #: Truth sequences compared.
    sequences: int
    #: Labelled sequences that the truth does not have (not judged).
    predicted_only: int = 0
    #: Per task and annotator, on the truth sequences they labelled (see :func:`compare`).
    per_annotator: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=ANNOTATOR_COLUMNS)
    )
    #: Truth sequences showing an animal with no animal box above the threshold.
    detector_misses: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=MISS_COLUMNS)
    )
    #: Rows of a truth file that could not be used (file and row named).
    problems: tuple[InputFileError, ...] = ()

    def plot(self, normalise: bool = True, title: str | None = None) -> Figure:
        """The confusion matrix as a heatmap (row-normalised, counts written in the cells)."""
        from traptagger_lab.plots import confusion_matrix

        shown = title or f"Accuracy {self.accuracy:.1%} on {self.sequences} sequences"
        figure: Figure = confusion_matrix(self.confusion, normalise=normalise, title=shown)
        return figure

    def summary(self) -> str:
        """Accuracy, the number of differing sequences, misses and problems, in one line."""
        text = (
            f"accuracy {self.accuracy:.1%} on {self.sequences} sequence(s); "
            f"{len(self.differ)} differ"
        )
        if self.predicted_only:
            text += f"; {self.predicted_only} labelled sequence(s) not in the truth"
        if len(self.detector_misses):
            text += f"; {len(self.detector_misses)} with animals but no box above the threshold"
        if self.problems:
            text += f"; {len(self.problems)} truth row(s) not used"
        return text

    def __repr__(self) -> str:
        return f"<Comparison: {self.summary()}>"


# -- the pure core ------------------------------------------------------------------------


def _spellings(*sides: LabelSets) -> dict[str, str]:
    """Case-folded name -> how it is shown (the first side's spelling first)."""
    names: dict[str, str] = {_NONE: NONE, _UNLABELLED: UNLABELLED}
    for side in sides:
        for labels in side.values():
            for label in sorted(labels):
                names.setdefault(label.casefold(), label)
    return names


def _count(truth: set[str], predicted: set[str] | None, cells: Counter[tuple[str, str]]) -> None:
    """Add one sequence's counts to ``cells`` (keys case-folded; see the module doc)."""
    if predicted is None:
        cells.update((t, _UNLABELLED) for t in truth)
        return
    cells.update((t, t) for t in truth & predicted)
    missing, extra = sorted(truth - predicted), sorted(predicted - truth)
    if len(missing) == 1 and len(extra) == 1:
        cells[(missing[0], extra[0])] += 1
        return
    cells.update((t, _NONE) for t in missing)
    cells.update((_NONE, p) for p in extra)


def _ratio(top: float, bottom: float) -> float:
    return top / bottom if bottom else math.nan


def _scores(cells: Counter[tuple[str, str]], species: list[str], names: dict[str, str]) -> Any:
    """Per-species precision/recall/F1/support, then the macro and micro rows."""
    rows, pooled = [], [0, 0, 0]  # diagonal, column totals, row totals
    for key in species:
        hit = cells[(key, key)]
        predicted = sum(n for (_, p), n in cells.items() if p == key)
        support = sum(n for (t, _), n in cells.items() if t == key)
        precision, recall = _ratio(hit, predicted), _ratio(hit, support)
        f1 = _ratio(2 * hit, predicted + support)  # 2TP / (2TP + FP + FN)
        rows.append((names[key], precision, recall, f1, support))
        pooled = [pooled[0] + hit, pooled[1] + predicted, pooled[2] + support]
    table = pd.DataFrame(rows, columns=SPECIES_COLUMNS)
    judged = table[table["support"] > 0].fillna({"precision": 0.0, "f1": 0.0})
    macro = [judged[c].mean() if len(judged) else math.nan for c in ("precision", "recall", "f1")]
    micro_p, micro_r = _ratio(pooled[0], pooled[1]), _ratio(pooled[0], pooled[2])
    extra = pd.DataFrame(
        [
            ("macro", *macro, pooled[2]),
            ("micro", micro_p, micro_r, _ratio(2 * pooled[0], pooled[1] + pooled[2]), pooled[2]),
        ],
        columns=SPECIES_COLUMNS,
    )
    scores = pd.concat([table, extra], ignore_index=True)
    return scores.astype({"support": int, "precision": float, "recall": float, "f1": float})


def _confusion(
    cells: Counter[tuple[str, str]], species: list[str], names: dict[str, str]
) -> pd.DataFrame:
    used_rows, used_columns = {t for t, _ in cells}, {p for _, p in cells}
    rows = species + [k for k in (_NONE,) if k in used_rows]
    columns = species + [k for k in (_NONE, _UNLABELLED) if k in used_columns]
    frame = pd.DataFrame(
        [[cells.get((t, p), 0) for p in columns] for t in rows],
        index=pd.Index([names[k] for k in rows], name="truth"),
        columns=pd.Index([names[k] for k in columns], name="predicted"),
        dtype=int,
    )
    return frame


def _shown(labels: Iterable[str]) -> str:
    return " + ".join(sorted(labels, key=str.casefold))


def compare_sets(predicted: LabelSets, truth: LabelSets) -> Comparison:
    """Compare label sets per sequence (cluster id -> names) with the truth's.

    Names are compared case-folded and shown in the truth's spelling; see the module doc
    for how multi-label sequences, missing and extra labels count. An empty set is no label.
    """
    names = _spellings(truth, predicted)
    cells: Counter[tuple[str, str]] = Counter()
    differ: list[tuple[int, str, str]] = []
    equal = compared = 0
    for cluster in sorted(truth):
        wanted = {t.casefold() for t in truth[cluster]}
        if not wanted:
            continue
        compared += 1
        given = predicted.get(cluster) or frozenset()
        said = {p.casefold() for p in given} or None
        _count(wanted, said, cells)
        if said == wanted:
            equal += 1
        else:
            shown = _shown(names[p] for p in said) if said else UNLABELLED
            differ.append((cluster, _shown(names[t] for t in wanted), shown))
    species = sorted({k for pair in cells for k in pair} - {_NONE, _UNLABELLED})
    return Comparison(
        confusion=_confusion(cells, species, names),
        per_species=_scores(cells, species, names),
        differ=pd.DataFrame(differ, columns=DIFFER_COLUMNS),
        accuracy=_ratio(equal, compared),
        sequences=compared,
        predicted_only=sum(1 for c, s in predicted.items() if s and not truth.get(c)),
    )


# -- a truth file: labelled photos rolled up to sequences ------------------------------------


def _path_key(path: str) -> str:
    """A path as compared: forward slashes, no leading ``./`` or ``/``."""
    key = path.strip().replace("\\", "/")
    while key.startswith("./"):
        key = key[2:]
    return key.lstrip("/")


def _image_index(images: pd.DataFrame) -> dict[str, list[int | None]]:
    """Path (and a video's path without its ``#t=`` still) -> cluster ids of its images."""
    index: dict[str, list[int | None]] = defaultdict(list)
    for path, cluster in zip(images["path"], images["cluster_id"], strict=True):
        found = None if pd.isna(cluster) else int(cluster)
        key = _path_key(str(path))
        index[key].append(found)
        if "#t=" in key:
            index[key.split("#t=", 1)[0]].append(found)
    return dict(index)


def _locate(name: str, index: Mapping[str, list[int | None]]) -> tuple[list[int | None], str]:
    """The clusters of the images a file names, or why none: its path relative to the
    survey's source, or the longest tail of it that is one; else the one image whose path
    ends with it."""
    key = _path_key(name)
    parts = key.split("/")
    for start in range(len(parts)):
        tail = "/".join(parts[start:])
        if tail in index:
            return index[tail], ""
    ending = [p for p in index if p.endswith("/" + key) and "#t=" not in p]
    if len(ending) == 1:
        return index[ending[0]], ""
    if ending:
        return [], f"{name}: {len(ending)} images of the survey end with this path; give more of it"
    return [], f"{name}: no image of the survey has this path"


def truth_from_rows(
    rows: Iterable[tuple[int, str, str]], images: pd.DataFrame, origin: str
) -> tuple[dict[int, frozenset[str]], list[InputFileError]]:
    """Truth label sets per sequence from ``(row number, file, label)`` rows, the files
    matched to ``images`` (``path``, ``cluster_id``); rows that match no image, an image
    outside any sequence, or have no label are returned as problems (file and row named)."""
    index = _image_index(images)
    sets: dict[int, set[str]] = defaultdict(set)
    problems: list[InputFileError] = []
    for number, name, label in rows:
        clusters, why = _locate(name, index) if name.strip() else ([], "no file named")
        if not label.strip():
            why = why or f"{name}: no species"
        elif clusters and all(c is None for c in clusters):
            why = f"{name}: the image is in no sequence (cluster the survey first)"
        if why:
            problems.append(InputFileError(origin, why, row=number))
            continue
        for cluster in clusters:
            if cluster is not None:
                sets[cluster].add(label.strip())
    return {c: frozenset(s) for c, s in sets.items()}, problems


def _columns(frame: pd.DataFrame, origin: str) -> tuple[list[str], str]:
    """The truth file's file column(s) and label column, by name in any case."""
    by_name = {str(c).strip().casefold(): str(c) for c in frame.columns}
    files = next(([by_name[c] for c in f] for f in FILE_COLUMNS if set(f) <= set(by_name)), None)
    label = next((by_name[c] for c in LABEL_COLUMNS if c in by_name), None)
    if files is None or label is None:
        raise InputFileError(
            origin,
            "a truth file needs a file column (path, Directory + FileName, or file) and a "
            f"species column (species or label); its columns: {list(map(str, frame.columns))}",
            row=1,
        )
    return files, label


def read_truth_csv(
    workspace: Workspace, survey_id: int, path: str
) -> tuple[dict[int, frozenset[str]], list[InputFileError]]:
    """A CSV of labelled photos (camtrapR's record table, our CSV export, an import file) as
    truth label sets per sequence of the survey, with the rows that could not be used."""
    from fsspec.core import url_to_fs

    from traptagger_lab.results.observations import survey_images

    fs, fs_path = url_to_fs(path, **workspace.settings.fsspec_options(path))
    try:
        data = fs.cat_file(fs_path)
    except FileNotFoundError as exc:
        raise InputFileError(path, "no such file") from exc
    try:
        frame = pd.read_csv(
            io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig"
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputFileError(path, f"unreadable CSV: {exc}") from exc
    files, label = _columns(frame, path)
    names = frame[files[0]] if len(files) == 1 else frame[files[0]].str.rstrip("/\\")
    for extra in files[1:]:
        names = names + "/" + frame[extra]
    rows = zip(range(2, len(frame) + 2), names, frame[label], strict=True)
    return truth_from_rows(rows, survey_images(workspace, survey_id), path)


# -- a workspace: settled labels, annotators, the detector ---------------------------------


def _from_table(frame: pd.DataFrame, origin: str) -> dict[int, frozenset[str]]:
    missing = {"cluster_id", "label"} - set(frame.columns)
    if missing:
        raise ConfigurationError(
            f"{origin} table needs cluster_id and label columns; it has {list(frame.columns)}"
        )
    sets: dict[int, set[str]] = defaultdict(set)
    for cluster, label in zip(frame["cluster_id"], frame["label"], strict=True):
        if not pd.isna(cluster) and isinstance(label, str) and label:
            sets[int(cluster)].add(label)
    return {c: frozenset(s) for c, s in sets.items()}


def _csv_name(session: Session, truth: TaskRef, survey_id: int | None) -> str | None:
    """``truth`` when it is a CSV file's name: a text ending in ``.csv`` that no task has."""
    if not isinstance(truth, str) or not truth.casefold().endswith(".csv"):
        return None
    query = select(Task.id).where(Task.name == truth)
    if survey_id is not None:
        query = query.where(Task.survey_id == survey_id)
    return truth if session.scalars(query).first() is None else None  # a task comes first


@dataclass(frozen=True)
class _Truth:
    """The truth's label sets, its survey, the tasks it is made of, the rows not used."""

    sets: dict[int, frozenset[str]]
    survey_id: int | None
    tasks: frozenset[int] = frozenset()
    problems: tuple[InputFileError, ...] = ()


def _task_truth(session: Session, truth: TaskRef, survey_id: int | None) -> _Truth:
    task = find_task(session, truth, survey_id)
    if survey_id is not None and task.survey_id != survey_id:
        raise ConfigurationError(f"the truth task {task.name!r} is of another survey")
    selection = one_selection(session, task, people_only=True)
    sets = _as_sets(labels_by_sequence(session, selection))
    return _Truth(sets, task.survey_id, frozenset(selection.task_ids))


def _read_truth(
    workspace: Workspace, session: Session, truth: TruthRef, survey_id: int | None
) -> _Truth:
    """The truth as label sets per sequence: a table, a CSV file or a task."""
    if isinstance(truth, pd.DataFrame):
        return _Truth(_from_table(truth, "the truth"), survey_id)
    if isinstance(truth, os.PathLike):
        path = os.fspath(truth)
    elif (named := _csv_name(session, truth, survey_id)) is not None:
        path = named
    else:
        return _task_truth(session, truth, survey_id)
    if survey_id is None:
        raise ConfigurationError("a truth file needs the survey: name it in labels")
    sets, problems = read_truth_csv(workspace, survey_id, path)
    return _Truth(sets, survey_id, problems=tuple(problems))


def per_annotator(
    session: Session, passes: Sequence[tuple[int, str]], truth: LabelSets
) -> pd.DataFrame:
    """Each annotator's accuracy and micro precision/recall/F1 against the truth, per task
    (``(task id, name)``) on the truth sequences they labelled (their raw labels)."""
    rows = []
    for task_id, name in passes:
        mine: dict[str, dict[int, frozenset[str]]] = defaultdict(dict)
        for (annotator, cluster), labels in label_sets(session, task_id).items():
            if truth.get(cluster):
                mine[annotator][cluster] = labels
        for annotator in sorted(mine):
            judged = compare_sets(mine[annotator], {c: truth[c] for c in mine[annotator]})
            micro = judged.per_species.set_index("species").loc["micro"]
            scores = (float(micro[c]) for c in ("precision", "recall", "f1"))
            rows.append((name, annotator, judged.sequences, judged.accuracy, *scores))
    return pd.DataFrame(rows, columns=ANNOTATOR_COLUMNS)


def detector_misses(
    session: Session, survey_id: int, truth: LabelSets, threshold: float | None = None
) -> pd.DataFrame:
    """Truth sequences with an animal (a label not built in) whose photos have no active
    animal detection at or above the threshold: the survey's relevance rule
    (:func:`~traptagger_lab.detect.relevance.relevance_threshold`) unless ``threshold`` is
    given. ``best_score`` is the best animal score there at all (NaN: no box)."""
    survey = find_survey(session, survey_id)
    builtin = {b.casefold() for b in BUILTIN}
    animals = sorted(c for c, s in truth.items() if any(t.casefold() not in builtin for t in s))
    best: dict[int, float] = {}
    seen: set[int] = set()
    for part in chunks(animals):
        for cluster, score, source in session.execute(
            select(Image.cluster_id, Detection.score, Detection.source)
            .join(Image, Image.id == Detection.image_id)
            .where(
                Image.cluster_id.in_(part),
                Detection.status == "active",
                Detection.category == 1,
            )
        ):
            if cluster is None:
                continue
            best[cluster] = max(best.get(cluster, -math.inf), float(score))
            limit = threshold if threshold is not None else relevance_threshold(survey, source)
            if score >= limit:
                seen.add(cluster)
    rows = [(c, _shown(truth[c]), best.get(c, math.nan)) for c in animals if c not in seen]
    return pd.DataFrame(rows, columns=MISS_COLUMNS).astype({"best_score": float})


def _predicted(chosen: Selection, truth_tasks: frozenset[int]) -> Selection:
    """The selection without the truth's own passes (else they would override the rest)."""
    passes = tuple(p for p in chosen.passes if p.task_id not in truth_tasks)
    if chosen.passes and not passes:
        raise ConfigurationError("the labels compared are the truth's own: name other tasks")
    return replace(chosen, passes=passes)


def compare(
    workspace: Workspace,
    labels: LabelsRef | pd.DataFrame,
    truth: TruthRef,
    people_only: bool = False,
    threshold: float | None = None,
) -> Comparison:
    """Compare a survey's or tasks' settled labels with the truth, per sequence.

    Args:
        labels: A survey, a task or tasks (see :mod:`~traptagger_lab.annotate.settled`;
            the truth task's own passes are left out), or a table with ``cluster_id`` and
            ``label`` columns.
        truth: A task of the same survey (its settled labels, people only), a CSV file of
            labelled photos (a ``path``, ``Directory`` + ``FileName`` or ``file`` column and
            a ``species``/``label`` column; a ``str`` ending in ``.csv`` that names no task,
            or a ``Path``), or a table with ``cluster_id`` and ``label`` columns.
        people_only: Leave the AI's accepted auto-labels out of ``labels``.
        threshold: The detection score for detector misses (default: the survey's rule).

    Returns:
        A :class:`Comparison` with ``per_annotator`` (the people's tasks among ``labels``),
        ``detector_misses`` and ``problems`` (truth rows not used) filled in.
    """
    if threshold is not None and not 0 <= threshold <= 1:
        raise ConfigurationError(f"a detection threshold is between 0 and 1, not {threshold}")
    table = labels if isinstance(labels, pd.DataFrame) else None
    with workspace.sessions() as session:
        chosen = None if table is not None else one_selection(session, labels, people_only)
        found = _read_truth(workspace, session, truth, chosen.survey_id if chosen else None)
        people: list[tuple[int, str]] = []
        if chosen is not None:
            chosen = _predicted(chosen, found.tasks)
            predicted = _as_sets(labels_by_sequence(session, chosen))
            people = _people(session, chosen)
        else:
            predicted = _from_table(labels, "the labels")
        result = compare_sets(predicted, found.sets)
        misses = (
            detector_misses(session, found.survey_id, found.sets, threshold)
            if found.survey_id is not None
            else result.detector_misses
        )
        return replace(
            result,
            per_annotator=per_annotator(session, people, found.sets),
            detector_misses=misses,
            problems=found.problems,
        )


def _as_sets(found: Mapping[int, Sequence[str]]) -> dict[int, frozenset[str]]:
    return {c: frozenset(names) for c, names in found.items() if names}


def _people(session: Session, chosen: Selection) -> list[tuple[int, str]]:
    """(task id, name) of the people's tasks of a selection, review tasks included."""
    found = []
    for step in chosen.passes:
        if step.is_ai:
            continue
        found.append((step.task_id, step.name))
        for review in step.reviews:
            task = session.get(Task, review)
            found.append((review, task.name if task is not None else str(review)))
    return found
