"""Watching training: a loss/accuracy plot that redraws each epoch in a notebook (a line
per epoch in a terminal), and epoch rows streamed back from a Dask worker."""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd
from tqdm.auto import tqdm

if TYPE_CHECKING:
    from distributed import Client


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class LivePlot:
    """Called with each epoch's history row; keeps the rows in :attr:`history`."""

    def __init__(self, title: str = "Training", notebook: bool | None = None) -> None:
        self.title = title
        self.rows: list[dict[str, Any]] = []
        self.notebook = _in_notebook() if notebook is None else notebook
        self._handle: Any = None

    @property
    def history(self) -> pd.DataFrame:
        """One row per epoch so far."""
        return pd.DataFrame(self.rows)

    def __call__(self, row: dict[str, Any]) -> None:
        self.rows.append(dict(row))
        try:
            from IPython.display import display
        except ImportError:  # no IPython: a line per epoch instead of the plot
            self.notebook = False
        if not self.notebook:
            tqdm.write(
                f"epoch {row['epoch']}: loss {row['train_loss']:.4f} / val {row['val_loss']:.4f}, "
                f"accuracy {row['train_accuracy']:.3f} / val {row['val_accuracy']:.3f}"
            )
            return
        figure = self.figure()
        if self._handle is None:
            self._handle = display(figure, display_id=True)
        else:
            self._handle.update(figure)
        figure.clf()

    def figure(self) -> Any:
        """Loss and accuracy against epoch, training and validation."""
        from traptagger_lab.plots import pyplot

        plt = pyplot()
        history = self.history
        figure, (loss, accuracy) = plt.subplots(1, 2, figsize=(9, 3.2))
        for axes, metric in ((loss, "loss"), (accuracy, "accuracy")):
            for split, style in (("train", "-"), ("val", "--")):
                axes.plot(history["epoch"], history[f"{split}_{metric}"], style, label=split)
            axes.set_xlabel("epoch")
            axes.set_ylabel(metric)
            axes.legend()
        figure.suptitle(self.title)
        figure.tight_layout()
        plt.close(figure)
        return figure


def run_on_cluster(
    client: Client,
    function: Callable[..., dict[str, Any]],
    *args: Any,
    report: Callable[[dict[str, Any]], None] | None = None,
    resources: dict[str, int] | None = None,
    expected: Callable[[dict[str, Any]], int] = lambda _: 0,
    **kwargs: Any,
) -> dict[str, Any]:
    """Run ``function(*args, report=..., **kwargs)`` on a worker; its reports come back here.

    The worker publishes each row as a Dask event; this process hands them to
    ``report`` in order, in its own thread, while it waits for the result.
    Events can trail the result: ``expected(result)`` says how many rows to wait
    for (at most 10 seconds) before returning.
    """
    topic = f"traptagger-training-{uuid.uuid4().hex[:12]}"
    rows: queue.Queue[dict[str, Any]] = queue.Queue()
    client.subscribe_topic(topic, lambda event: rows.put(event[1]))
    future = client.submit(
        _with_events, function, topic, *args, pure=False, resources=resources, **kwargs
    )
    seen = 0
    result: dict[str, Any] | None = None
    deadline = float("inf")
    try:
        while True:
            if result is None and future.done():
                result = future.result()  # raises the worker's error, if any
                deadline = time.monotonic() + 10
            if result is not None and (
                (seen >= expected(result) and rows.empty()) or time.monotonic() > deadline
            ):
                return result
            try:
                row = rows.get(timeout=0.2)
            except queue.Empty:
                continue
            seen += 1
            if report is not None:
                report(row)
    finally:
        client.unsubscribe_topic(topic)
        if not future.done():
            future.cancel()


def _with_events(
    function: Callable[..., dict[str, Any]], topic: str, *args: Any, **kwargs: Any
) -> dict[str, Any]:
    from distributed import get_worker

    worker = get_worker()
    return function(*args, report=lambda row: worker.log_event(topic, row), **kwargs)
