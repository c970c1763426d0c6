"""``lab.training``: build a training set, train a classifier, register it for surveys.

.. code-block:: python

    data = lab.training.crops("savanna-v1", tasks=["Karoo 2024"], csv=["serengeti.csv"],
                              label_spec="label_spec.json")
    data.balance                      # crops per class and split
    model = lab.training.train(data, "savanna-v1", epochs=20, pretrained="effnet_b0.pth")
    model.plot_confusion()
    lab.training.register(model, surveys="all")
    lab.classify("Karoo 2025")        # uses the survey's registered classifier

Training sets live in the lab's store under ``training/<name>/``, training runs
under ``models/<name>/`` (checkpoints, history, plots) and registered
classifiers under ``classifiers/<name>/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import select

from traptagger_lab.annotate.settled import LabelsRef
from traptagger_lab.db.engine import transaction
from traptagger_lab.db.models import Survey
from traptagger_lab.errors import ConfigurationError, NotFoundError
from traptagger_lab.storage import BlobStore
from traptagger_lab.surveys import SurveyRef, find_survey, set_setting, survey_names
from traptagger_lab.training.crops import DetectFirst, protocol
from traptagger_lab.training.dataset import TrainingSet, build, open_set
from traptagger_lab.training.evaluate import Evaluation
from traptagger_lab.training.labels import LabelSpec, read_spec
from traptagger_lab.training.sources import Example, Problem, from_coco, from_csv, from_task
from traptagger_lab.training.train import TrainConfig, fit
from traptagger_lab.workspace import Workspace

if TYPE_CHECKING:
    from distributed import Client

#: What a registered classifier folder holds (the classification stage needs the first three).
CLASSIFIER_FILES = ("classifier.pt", "label_index.json", "classifier.json", "model_card.json")


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise ConfigurationError(
            f"{name!r}: use letters, digits, '.', '_' and '-' (it names a folder)"
        )
    return name


@dataclass
class TrainedClassifier:
    """A training run's output folder and its model card."""

    store: BlobStore
    card: dict[str, Any]

    @property
    def name(self) -> str:
        """The classifier's name."""
        return str(self.card["name"])

    @property
    def path(self) -> str:
        """The folder's URL."""
        return self.store.url

    @property
    def history(self) -> pd.DataFrame:
        """Loss, accuracy and learning rate per epoch."""
        import io

        return pd.read_csv(io.BytesIO(self.store.get("history.csv")))

    def metrics(self, split: str = "test") -> pd.DataFrame:
        """Precision, recall, F1 and support per class on ``split``."""
        found = self.card["metrics"].get(split)
        if found is None:
            raise NotFoundError(f"no {split} crops were evaluated (the split is empty)")
        return pd.DataFrame.from_dict(found["per_class"], orient="index")

    def plot(self, kind: str = "confusion", split: str = "test") -> Any:
        """The saved ``confusion`` or ``reliability`` plot of ``split``, shown in a notebook."""
        png = self.store.get(f"{kind}_{split}.png")
        try:
            from IPython.display import Image
        except ImportError:  # outside Jupyter: the PNG itself
            return png
        return Image(png)

    def __repr__(self) -> str:
        test = self.card["metrics"].get("test", {})
        accuracy = test.get("accuracy")
        shown = f"{accuracy:.1%}" if isinstance(accuracy, float) else "n/a"
        return (
            f"TrainedClassifier({self.name!r}, {len(self.card['classes'])} classes, "
            f"test accuracy {shown}, at {self.path!r})"
        )


class Training:
    """Classifier training verbs (``lab.training``) over one workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace

    def _folder(self, prefix: str, name: str) -> BlobStore:
        store = self._workspace.store
        return BlobStore(store.url_of(f"{prefix}/{_name(name)}"), store.options)

    # -- data ------------------------------------------------------------------

    def crops(
        self,
        name: str,
        tasks: Sequence[Any] = (),
        csv: Sequence[str | Path] = (),
        coco: Sequence[str | Path] = (),
        image_root: str | None = None,
        label_spec: LabelSpec | Mapping[str, Any] | str | Path | None = None,
        size: int = 256,
        pad: float = 0.0,
        detector: str | None = "default",
        detection_threshold: float | None = None,
        split: Mapping[str, float] | None = None,
        fixed_splits: Mapping[str, str] | None = None,
        seed: int = 0,
        device: str = "auto",
        client: Client | None = None,
    ) -> TrainingSet:
        """Build (or bring up to date) the training set ``name``: crops, CSV, label files.

        Args:
            name: The set's name (its folder: ``training/<name>/`` in the lab's store).
            tasks: Annotation tasks (or survey names: their species task) whose settled
                labels give examples; cluster labels use the detector's boxes.
            csv: CSVs of photo path or URL, species and site (optional box columns).
            coco: COCO Camera Traps JSON files (boxes in pixels, or image-level labels).
            image_root: Where relative paths of ``csv``/``coco`` start (default: the file's folder).
            label_spec: How data labels become training labels (``label_spec.json``).
            size: Crop size in pixels; ``pad``: padding around the box (share of its long side).
            detector: Finds boxes for labels without one: ``default`` (the lab's
                detector), a name or ``.pt`` file, or None (such labels are reported).
            detection_threshold: Score an animal box needs (default: the detector's typical).
            split: Crop shares of train/val/test (default 0.7/0.15/0.15), dealt by site.
            fixed_splits: ``{"survey/site": "test"}`` to hold chosen sites out.
            seed: For the split's tie-breaks.

        Crops that exist are reused, so an interrupted run continues where it stopped.
        """
        if not (tasks or csv or coco):
            raise ConfigurationError("give at least one of tasks, csv or coco")
        if size < 16 or not 0 <= pad <= 1:
            raise ConfigurationError(f"crop size >= 16 and pad in 0-1, not {size} and {pad}")
        spec = read_spec(label_spec)
        examples: list[Example] = []
        problems: list[Problem] = []
        to_detect: list[Example] = []
        sources: list[str] = []
        for task in tasks:
            found, bad, boxless = from_task(self._workspace, task)
            examples += found
            problems += bad
            to_detect += boxless
            sources.append(f"task {task!r}" if not hasattr(task, "name") else f"task {task.name!r}")
        for readers, kind in ((csv, from_csv), (coco, from_coco)):
            for path in readers:
                found, bad = kind(path, image_root)
                examples += [e for e in found if e.box is not None]
                to_detect += [e for e in found if e.box is None]
                problems += bad
                sources.append(str(path))
        urls = {e.root or e.image for e in (*examples, *to_detect)}
        options = {protocol(u): self._workspace.settings.fsspec_options(u) for u in urls}
        return build(
            self._folder("training", name),
            self._workspace.store,
            options,
            examples,
            problems,
            to_detect,
            spec,
            lambda: self._detector(detector, detection_threshold, device),
            client if client is not None else self._workspace.client,
            size=size,
            pad=pad,
            fractions=split,
            fixed_splits=fixed_splits,
            seed=seed,
            sources=sources,
        )

    def _detector(
        self, model: str | None, threshold: float | None, device: str
    ) -> DetectFirst | None:
        if model is None:
            return None
        from traptagger_lab.detect.registry import resolve

        chosen = self._workspace.settings.detector if model == "default" else model
        spec = resolve(chosen, self._workspace.settings.model_dir)
        return DetectFirst(spec, spec.typical if threshold is None else threshold, device)

    def labelled(self, task: LabelsRef) -> int:
        """How many sequences of a survey (or task) have a settled species (built-in labels
        such as Nothing aside); 0 for a survey labelled by nobody yet."""
        from traptagger_lab.annotate.labels import BUILTIN
        from traptagger_lab.annotate.settled import labels_by_sequence, one_selection

        with self._workspace.sessions() as session:
            try:
                chosen = one_selection(session, task)
            except NotFoundError:
                if isinstance(task, str) and task in set(self._survey_names()):
                    return 0  # a survey nobody labelled yet
                raise
            settled = labels_by_sequence(session, chosen)
        builtin = {b.lower() for b in BUILTIN}
        return sum(1 for found in settled.values() if {f.lower() for f in found} - builtin)

    def open(self, name: str) -> TrainingSet:
        """A training set built earlier (by name, or a folder URL)."""
        if "/" in name or "://" in name:
            return open_set(BlobStore(name, self._workspace.settings.fsspec_options(name)))
        return open_set(self._folder("training", name))

    # -- training --------------------------------------------------------------

    def train(
        self,
        data: TrainingSet | str,
        name: str,
        config: TrainConfig | None = None,
        on: str = "local",
        device: str = "auto",
        resume: bool = True,
        plot: bool = True,
        client: Client | None = None,
        **options: Any,
    ) -> TrainedClassifier:
        """Train a classifier on a training set; returns it with its model card.

        Args:
            data: A :class:`TrainingSet` or its name.
            name: The classifier's name (its run folder: ``models/<name>/``).
            config: A :class:`TrainConfig`; or give its fields as keyword options
                (``arch="resnet50", epochs=20, pretrained="resnet50.pth"``...).
            on: ``local`` (this process) or ``cluster`` (a Dask worker, a GPU one when the
                cluster has them; crops are read from the store).
            resume: Continue from the run folder's checkpoint when there is one.
            plot: Draw loss and accuracy as epochs finish.
        """
        from traptagger_lab.compute import gpu_resources
        from traptagger_lab.training.live import LivePlot, run_on_cluster

        if config is not None and options:
            raise ConfigurationError("give a TrainConfig or keyword options, not both")
        config = config or TrainConfig(**options)
        dataset = self.open(data) if isinstance(data, str) else data
        out = self._folder("models", name)
        report = LivePlot(f"Training {name}") if plot else None
        if on == "local":
            card = fit(dataset.store, out, config, name, device, resume, report)
        elif on == "cluster":
            cluster = client if client is not None else self._workspace.client
            if cluster is None:
                raise ConfigurationError(
                    "on='cluster' needs a Dask cluster (not the sync scheduler)"
                )
            card = run_on_cluster(
                cluster,
                fit,
                dataset.store,
                out,
                config,
                name,
                device,
                resume,
                report=report,
                resources=gpu_resources(cluster),
                expected=lambda c: c["training"]["epochs_run"] - c["training"]["resumed_from"],
            )
        else:
            raise ConfigurationError(f"on={on!r}: use 'local' or 'cluster'")
        return TrainedClassifier(out, card)

    def model(self, name: str) -> TrainedClassifier:
        """A finished training run by name."""
        out = self._folder("models", name)
        if not out.exists("model_card.json"):
            raise NotFoundError(
                f"no trained classifier {name!r} (no models/{name}/model_card.json)"
            )
        return TrainedClassifier(out, json.loads(out.get("model_card.json")))

    # -- use -------------------------------------------------------------------

    def register(
        self,
        model: TrainedClassifier | str,
        name: str | None = None,
        surveys: Sequence[SurveyRef] | str = (),
    ) -> str:
        """Make a trained classifier available to the organisation's surveys.

        Copies its files to ``classifiers/<name>/`` and makes it the default classifier
        of ``surveys`` (a list, or ``"all"``); :meth:`Lab.classify` then needs no folder.
        Returns the registered name.
        """
        trained = self.model(model) if isinstance(model, str) else model
        target = _name(name or trained.name)
        folder = self._folder("classifiers", target)
        for file in CLASSIFIER_FILES:
            data = trained.store.get(file)
            if file == "classifier.json":
                meta = json.loads(data)
                meta["name"] = target
                data = json.dumps(meta, indent=1).encode()
            folder.put(file, data)
        chosen = self._survey_names() if surveys == "all" else list(surveys)
        for survey in chosen:
            self.use(survey, target)
        return target

    def _survey_names(self) -> list[str]:
        with self._workspace.sessions() as session:
            return survey_names(session)

    def use(self, survey: SurveyRef, classifier: str | None) -> None:
        """Set (or clear, with None) the survey's default classifier."""
        if classifier is not None and not self._folder("classifiers", classifier).exists(
            "classifier.pt"
        ):
            raise NotFoundError(f"no registered classifier {classifier!r}")
        with transaction(self._workspace.sessions) as session:
            set_setting(session, find_survey(session, survey).id, "classifier", classifier)

    def classifiers(self) -> pd.DataFrame:
        """Registered classifiers: classes, test accuracy, and the surveys using each."""
        store = self._workspace.store
        names = sorted({k.split("/")[1] for k in store.keys("classifiers") if k.count("/") >= 2})
        with self._workspace.sessions() as session:
            users = [
                (s.name, (s.settings or {}).get("classifier"))
                for s in session.scalars(select(Survey))
            ]
        rows = []
        for found in names:
            folder = self._folder("classifiers", found)
            card = (
                json.loads(folder.get("model_card.json"))
                if folder.exists("model_card.json")
                else {}
            )
            test = card.get("metrics", {}).get("test", {})
            rows.append(
                {
                    "name": found,
                    "classes": len(card.get("classes", [])),
                    "test_accuracy": test.get("accuracy"),
                    "created_at": card.get("created_at"),
                    "surveys": sorted(s for s, c in users if c == found),
                }
            )
        return pd.DataFrame(
            rows, columns=["name", "classes", "test_accuracy", "created_at", "surveys"]
        )

    def local_folder(self, name: str) -> Path:
        """A local folder with the registered classifier ``name`` (copied from a remote store
        into the model folder first)."""
        if not NAME.fullmatch(name):
            raise NotFoundError(f"no classifier folder at {name!r}")
        folder = self._folder("classifiers", name)
        if not folder.exists("classifier.pt"):
            raise NotFoundError(
                f"no classifier folder or registered classifier {name!r}; "
                f"registered: {self.classifiers()['name'].tolist()}"
            )
        return self._local(folder, f"classifiers/{name}")

    def _local(self, folder: BlobStore, name: str) -> Path:
        protocol = folder.fs.protocol
        if (protocol if isinstance(protocol, str) else protocol[0]) in ("file", "local"):
            return Path(folder.root)
        base = self._workspace.settings.model_dir or (self._workspace.settings.workspace / "models")
        local = Path(base) / name
        local.mkdir(parents=True, exist_ok=True)
        for file in CLASSIFIER_FILES:
            if folder.exists(file):
                (local / file).write_bytes(folder.get(file))
        return local

    def evaluate(
        self,
        classifier: TrainedClassifier | str | Path,
        data: TrainingSet | str,
        split: str = "test",
        translations: Mapping[str, str | None] | None = None,
        device: str = "auto",
    ) -> Evaluation:
        """Judge any classifier on a training set's ``split`` (default: its test sites).

        ``classifier`` is a trained one, a registered name or a classifier folder
        (TrapTagger's too); ``translations`` maps its labels to the set's. The
        :class:`~traptagger_lab.training.evaluate.Evaluation` has ``per_class()``,
        ``confusion()``, ``top_k()``, ``reliability()``, ``per_site()`` and plots.
        """
        from traptagger_lab.detect.run import pick_device
        from traptagger_lab.training.assess import assess

        if isinstance(classifier, TrainedClassifier):
            folder = self._local(classifier.store, f"models/{classifier.name}")
        elif Path(classifier).expanduser().is_dir():
            folder = Path(classifier).expanduser()
        else:
            folder = self.local_folder(str(classifier))
        dataset = self.open(data) if isinstance(data, str) else data
        return assess(folder, dataset, split, translations, pick_device(device))
