"""Training a species classifier on a training set's crops (torchvision backbone).

:func:`fit` runs wherever it is called: in the notebook's process, or on a
Dask worker (a GPU instance on EC2), reading crops from the set's folder and
writing everything into the output folder, both through fsspec. Each epoch
ends with a checkpoint (model, optimiser, schedule, AMP scaler, history), so
a run that stops (a spot instance taken back, Ctrl-C) resumes where it was.
The best epoch by the monitored metric is what gets exported: a TorchScript
``classifier.pt`` with ``label_index.json`` and ``classifier.json``
(thresholds chosen on the validation crops), the format the classification
stage loads, plus ``model_card.json``, ``history.csv`` and evaluation plots.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from traptagger_lab.classify.model import IMAGENET_MEAN, IMAGENET_STD
from traptagger_lab.errors import ConfigurationError, InputFileError
from traptagger_lab.params import StageParams
from traptagger_lab.storage import BlobStore
from traptagger_lab.training.dataset import TrainingSet, open_set, site_key
from traptagger_lab.training.evaluate import Evaluation, plain, thresholds_for

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
Report = Callable[[dict[str, Any]], None]


class TrainConfig(StageParams):
    """How to train (every field has a sensible default for a few thousand crops)."""

    arch: str = Field(
        default="efficientnet_b0",
        description="A torchvision classification model (its name in torchvision.models).",
    )
    image_size: int = Field(default=224, ge=32, description="Network input (pixels per side).")
    epochs: int = Field(
        default=30, ge=1, description="Most epochs to train; early stopping may end sooner."
    )
    batch_size: int = Field(default=32, ge=1, description="Crops per optimiser step.")
    lr: float = Field(
        default=1e-3, gt=0, description="Peak AdamW learning rate (cosine schedule over epochs)."
    )
    weight_decay: float = Field(
        default=1e-4, ge=0, description="AdamW weight decay coefficient (decoupled from the loss)."
    )
    label_smoothing: float = Field(
        default=0.1, ge=0, lt=1, description="Share of each target spread over the other classes."
    )
    balance: Literal["weights", "sampler", "none"] = Field(
        default="weights",
        description="Against rare classes: class-weighted loss, a balanced sampler, or neither.",
    )
    monitor: Literal["val_loss", "val_accuracy"] = Field(
        default="val_loss",
        description="The validation metric that picks the best epoch and stops early.",
    )
    patience: int = Field(
        default=5, ge=1, description="Epochs without improvement before stopping (epochs)."
    )
    amp: bool | None = Field(
        default=None, description="Mixed precision (None: on for CUDA devices, off otherwise)."
    )
    pretrained: str | None = Field(
        default=None,
        description="A local file of ImageNet weights for `arch` (None: random init).",
    )
    steps_per_epoch: int | None = Field(
        default=None, ge=1, description="Cap on batches per epoch (None: the whole train split)."
    )
    num_workers: int = Field(
        default=2, ge=0, description="Data loader processes (always 0 on a Dask worker)."
    )
    target_precision: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="Precision (0-1) each class's score threshold aims for on the val split.",
    )
    seed: int = Field(default=0, description="Random seed for initialisation and shuffling.")


def _torch() -> Any:
    try:
        import torch
        import torchvision  # noqa: F401 (checked here, used below)
    except ImportError as exc:
        raise ConfigurationError(
            "training needs torch and torchvision: pip install 'traptagger-lab[detect]'"
        ) from exc
    return torch


def build_network(arch: str, classes: int, pretrained: str | None = None) -> Any:
    """A torchvision classifier with ``classes`` outputs; ImageNet weights from a local file.

    Raises:
        ConfigurationError: for an unknown architecture or weights that do not fit it.
    """
    torch = _torch()
    import torchvision

    known = torchvision.models.list_models(module=torchvision.models)
    if arch not in known:
        raise ConfigurationError(f"unknown architecture {arch!r}; torchvision has {known}")
    constructor = getattr(torchvision.models, arch)
    if pretrained is None:
        return constructor(weights=None, num_classes=classes)
    network = constructor(weights=None)
    try:
        state = torch.load(pretrained, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as exc:
        raise ConfigurationError(f"{pretrained}: cannot load weights: {exc}") from exc
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    result = network.load_state_dict(state, strict=False)
    if result.missing_keys or len(result.unexpected_keys) > 2:
        raise ConfigurationError(
            f"{pretrained}: not {arch} weights (missing {result.missing_keys[:3]}, "
            f"unexpected {result.unexpected_keys[:3]})"
        )
    replace_head(network, classes)
    return network


def replace_head(network: Any, classes: int) -> None:
    """Swap the last linear layer for a new one with ``classes`` outputs."""
    torch = _torch()
    name, last = [(n, m) for n, m in network.named_modules() if isinstance(m, torch.nn.Linear)][-1]
    parent = network.get_submodule(name.rsplit(".", 1)[0]) if "." in name else network
    setattr(parent, name.rsplit(".", 1)[-1], torch.nn.Linear(last.in_features, classes))


def transforms(image_size: int, train: bool) -> Any:
    """Augmentations for training; for evaluation the same resize the classification stage does."""
    from torchvision import transforms as t

    normalise = [t.ToTensor(), t.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    if not train:
        return t.Compose([t.Lambda(lambda crop: crop.resize((image_size, image_size))), *normalise])
    return t.Compose(
        [
            t.RandomResizedCrop(image_size, scale=(0.6, 1.0), ratio=(0.8, 1.25)),
            t.RandomHorizontalFlip(),
            t.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.2),
            t.RandomGrayscale(p=0.15),  # infrared night shots
            *normalise,
        ]
    )


class CropDataset:
    """Crops of one split, read from the training set's folder (local or remote)."""

    def __init__(self, store: BlobStore, keys: list[str], targets: list[int], transform: Any):
        self.store, self.keys, self.targets, self.transform = store, keys, targets, transform

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        from PIL import Image

        try:
            data = self.store.get(self.keys[index])
        except FileNotFoundError as exc:
            raise InputFileError(self.store.url_of(self.keys[index]), "crop is missing") from exc
        with Image.open(io.BytesIO(data)) as opened:
            crop = opened.convert("RGB")
        return self.transform(crop), self.targets[index]


def _loader(data: TrainingSet, split: str, config: TrainConfig, train: bool, workers: int) -> Any:
    torch = _torch()
    rows = data.rows(split)
    index = {c: i for i, c in enumerate(data.classes)}
    targets = [index[label] for label in rows["label"]]
    dataset = CropDataset(
        data.store, list(rows["crop"]), targets, transforms(config.image_size, train)
    )
    sampler = None
    if train and config.balance == "sampler" and targets:
        counts = np.bincount(targets, minlength=len(data.classes))
        weights = [1.0 / counts[t] for t in targets]
        sampler = torch.utils.data.WeightedRandomSampler(weights, len(targets), replacement=True)
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=train and sampler is None,
        sampler=sampler,
        num_workers=workers,
        drop_last=False,
    )


def class_weights(data: TrainingSet, config: TrainConfig) -> Any:
    """Loss weights: inversely proportional to training crops per class (``weights`` balance)."""
    if config.balance != "weights":
        return None
    torch = _torch()
    counts = data.rows("train")["label"].value_counts().reindex(data.classes).fillna(0).to_numpy()
    weights = counts.sum() / (len(counts) * np.clip(counts, 1, None))
    return torch.tensor(weights, dtype=torch.float32)


def check_classes(data: TrainingSet) -> None:
    """Every class needs training crops.

    Raises:
        ConfigurationError: naming the classes with none.
    """
    train = set(data.rows("train")["label"])
    empty = [c for c in data.classes if c not in train]
    if empty:
        raise ConfigurationError(
            f"classes with no training crops: {empty} (their sites all went to val/test: "
            "add data, fix their split, or drop them in label_spec.json)"
        )
    if len(data.classes) < 2:
        raise ConfigurationError(f"a classifier needs at least 2 classes, not {data.classes}")


def _in_dask_worker() -> bool:
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


def _save(out: BlobStore, key: str, thing: Any) -> None:
    torch = _torch()
    buffer = io.BytesIO()
    torch.save(thing, buffer)
    out.put(key, buffer.getvalue())


def _run_epoch(
    network: Any,
    loader: Any,
    loss_fn: Any,
    device: str,
    amp: bool,
    optimiser: Any = None,
    scaler: Any = None,
    steps: int | None = None,
    describe: str | None = None,
) -> tuple[float, float, np.ndarray]:
    """One pass: mean loss, accuracy, and the softmax answers (evaluation passes).

    With ``describe``, a progress bar counts the batches.
    """
    torch = _torch()
    training = optimiser is not None
    network.train(training)
    total, right, seen, answers = 0.0, 0, 0, []
    context = torch.enable_grad() if training else torch.inference_mode()
    batches = loader
    if describe is not None:
        from tqdm.auto import tqdm

        count = len(loader) if steps is None else min(steps, len(loader))
        batches = tqdm(loader, total=count, desc=describe, unit="batch", leave=False)
    with context:
        for step, (images, targets) in enumerate(batches):
            if steps is not None and step >= steps:
                break
            images, targets = images.to(device), targets.to(device)
            with torch.autocast(device_type=device.split(":")[0], enabled=amp):
                logits = network(images)
                loss = loss_fn(logits, targets)
            if training:
                optimiser.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimiser)
                scaler.update()
            else:
                answers.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
            total += float(loss.detach()) * len(targets)
            right += int((logits.argmax(dim=1) == targets).sum())
            seen += len(targets)
    stacked = np.concatenate(answers) if answers else np.zeros((0, 0))
    return (
        (total / seen if seen else float("nan")),
        (right / seen if seen else float("nan")),
        stacked,
    )


def _better(config: TrainConfig, row: dict[str, Any], best: float | None) -> tuple[bool, float]:
    key = config.monitor if not np.isnan(row[config.monitor]) else "train_loss"
    value = row[key] if key != "val_accuracy" else -row[key]
    return (best is None or value < best - 1e-6), value


def _restore(
    out: BlobStore, data: TrainingSet, config: TrainConfig, parts: dict[str, Any], device: str
) -> dict[str, Any] | None:
    """Load the run folder's checkpoint into ``parts`` (network, optimiser...); its state.

    Raises:
        ConfigurationError: when the checkpoint is of another architecture or class list.
    """
    if not out.exists(CHECKPOINT):
        return None
    torch = _torch()
    saved = torch.load(io.BytesIO(out.get(CHECKPOINT)), map_location=device, weights_only=False)
    if saved["classes"] != data.classes or saved["arch"] != config.arch:
        raise ConfigurationError(
            f"{out.url_of(CHECKPOINT)} is of another run ({saved['arch']}, "
            f"{len(saved['classes'])} classes): use another output folder or resume=False"
        )
    for key, part in parts.items():
        part.load_state_dict(saved[key])
    state: dict[str, Any] = saved["state"]
    log.info("resuming after epoch %d", state["epoch"])
    return state


def fit(
    data_store: BlobStore,
    out: BlobStore,
    config: TrainConfig,
    name: str,
    device: str = "auto",
    resume: bool = True,
    report: Report | None = None,
) -> dict[str, Any]:
    """Train on the set in ``data_store``, write the classifier folder into ``out``.

    ``report`` is called with each epoch's row of the history (after its
    checkpoint is written). Returns the model card.
    """
    torch = _torch()
    from traptagger_lab.detect.run import pick_device

    started = time.monotonic()
    data = open_set(data_store)
    check_classes(data)
    device = pick_device(device)
    amp = config.amp if config.amp is not None else device.startswith("cuda")
    remote = _in_dask_worker()
    workers = 0 if remote else config.num_workers  # a worker's processes may not fork
    torch.manual_seed(config.seed)
    network = build_network(config.arch, len(data.classes), config.pretrained).to(device)
    optimiser = torch.optim.AdamW(
        network.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=config.epochs)
    scaler = torch.amp.GradScaler(device.split(":")[0], enabled=amp and device.startswith("cuda"))
    weights = class_weights(data, config)
    loss_fn = torch.nn.CrossEntropyLoss(
        weight=weights.to(device) if weights is not None else None,
        label_smoothing=config.label_smoothing,
    )
    parts = {"network": network, "optimiser": optimiser, "schedule": schedule, "scaler": scaler}
    state = _restore(out, data, config, parts, device) if resume else None
    state = state or {"epoch": 0, "history": [], "best": None, "bad": 0, "stopped": False}
    resumed_from = int(state["epoch"])
    train_loader = _loader(data, "train", config, True, workers)
    val_loader = _loader(data, "val", config, False, workers)
    while state["epoch"] < config.epochs and not state["stopped"]:
        epoch = state["epoch"] + 1
        torch.manual_seed(config.seed + epoch)
        train_loss, train_acc, _ = _run_epoch(
            network,
            train_loader,
            loss_fn,
            device,
            amp,
            optimiser,
            scaler,
            config.steps_per_epoch,
            describe=None if remote else f"epoch {epoch}",
        )
        val_loss, val_acc, _ = _run_epoch(network, val_loader, loss_fn, device, amp)
        schedule.step()
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "train_accuracy": train_acc,
            "val_loss": val_loss,
            "val_accuracy": val_acc,
            "lr": schedule.get_last_lr()[0],
            "seconds": round(time.monotonic() - started, 2),
        }
        improved, value = _better(config, row, state["best"])
        if improved:
            state["best"], state["bad"], state["best_epoch"] = value, 0, epoch
            state["best_network"] = {
                k: v.detach().cpu().clone() for k, v in network.state_dict().items()
            }
        else:
            state["bad"] += 1
            state["stopped"] = state["bad"] >= config.patience
        state["epoch"] = epoch
        state["history"].append(row)
        checkpoint = {k: v.state_dict() for k, v in parts.items()}
        _save(
            out,
            CHECKPOINT,
            {"classes": data.classes, "arch": config.arch, **checkpoint, "state": state},
        )
        if report is not None:
            report(row)
    network.load_state_dict(state["best_network"])
    state["resumed_from"] = resumed_from
    return export(network, data, out, config, name, state, device, amp, time.monotonic() - started)


def export(
    network: Any,
    data: TrainingSet,
    out: BlobStore,
    config: TrainConfig,
    name: str,
    state: dict[str, Any],
    device: str,
    amp: bool,
    seconds: float,
) -> dict[str, Any]:
    """Write the classifier folder (TorchScript + label index + thresholds) and its model card."""
    torch = _torch()
    import torchvision

    from traptagger_lab.version import __version__

    loss_fn = torch.nn.CrossEntropyLoss()
    evaluations: dict[str, Evaluation] = {}
    for split in ("val", "test"):
        loader = _loader(data, split, config, False, 0)
        _, _, answers = _run_epoch(network, loader, loss_fn, device, amp)
        if not data.rows(split).empty:
            evaluations[split] = data.evaluation(split, answers)
    thresholds = (
        thresholds_for(evaluations["val"], config.target_precision) if "val" in evaluations else {}
    )
    scripted = torch.jit.script(network.eval().cpu())
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    out.put("classifier.pt", buffer.getvalue())
    out.put(
        "label_index.json",
        json.dumps({str(i): c for i, c in enumerate(data.classes)}, indent=1).encode(),
    )
    meta = {
        "name": name,
        "arch": config.arch,
        "image_size": config.image_size,
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "thresholds": thresholds,
        "crop_pad": float(data.meta.get("crop_pad", 0.0)),
    }
    out.put("classifier.json", json.dumps(meta, indent=1).encode())
    history = pd.DataFrame(state["history"])
    out.put("history.csv", history.to_csv(index=False).encode())
    for split, evaluation in evaluations.items():
        for kind, figure in (
            ("confusion", evaluation.plot_confusion()),
            ("reliability", evaluation.plot_reliability()),
        ):
            image = io.BytesIO()
            figure.savefig(image, format="png", dpi=90)
            out.put(f"{kind}_{split}.png", image.getvalue())
            figure.clf()
    card = {
        "name": name,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "classes": list(data.classes),
        "data": {
            "training_set": data.store.url,
            "crops": data.balance.reset_index().to_dict("records"),
            "sites": {
                split: sorted(
                    {site_key(s, t) for s, t in rows[["survey", "site"]].itertuples(index=False)}
                )
                for split, rows in data.table.groupby("split")
            },
            "sources": data.meta.get("sources", []),
            "crop_size": data.meta.get("crop_size"),
            "crop_pad": meta["crop_pad"],
        },
        "parameters": config.model_dump(),
        "training": {
            "epochs_run": state["epoch"],
            "resumed_from": state.get("resumed_from", 0),
            "best_epoch": state.get("best_epoch"),
            "stopped_early": bool(state["stopped"]),
            "device": device,
            "mixed_precision": amp,
            "seconds": round(seconds, 1),
            "final": state["history"][-1] if state["history"] else None,
        },
        "thresholds": thresholds,
        "metrics": {split: e.summary() for split, e in evaluations.items()},
        "software": {
            "traptagger_lab": __version__,
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
        },
    }
    saved: dict[str, Any] = plain(card)
    out.put("model_card.json", json.dumps(saved, indent=1).encode())
    return saved
