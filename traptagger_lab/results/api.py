"""``lab.results(task)``: every analysis of one task's settled labels, with shared filters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from traptagger_lab.results import activity, camtrap
from traptagger_lab.results.occupancy import occupancy

if TYPE_CHECKING:
    from traptagger_lab.lab import Lab


class Results:
    """Analyses of a task (a task, its name or id, or a survey name meaning its default task).

    ``min_delta_minutes`` (camtrapR's minDeltaTime) decides which records are
    independent; ``exclude`` leaves species out.
    """

    def __init__(
        self, lab: Lab, task: Any, min_delta_minutes: float = 60, exclude: Sequence[str] = ()
    ) -> None:
        self.lab = lab
        self.task = camtrap.task_for(lab, task)
        self.min_delta_minutes = min_delta_minutes
        self.exclude = tuple(exclude)

    def __repr__(self) -> str:
        return f"Results(task={self.task.name!r}, min_delta_minutes={self.min_delta_minutes})"

    def record_table(self, compared_to: str = "last_record", by: str = "site") -> pd.DataFrame:
        """camtrapR's record table of independent records."""
        return camtrap.record_table(
            self.lab, self.task, self.min_delta_minutes, compared_to, self.exclude, by
        )

    def camera_operation(self) -> pd.DataFrame:
        """Stations x days effort (camtrapR's camera-operation matrix)."""
        return camtrap.camera_operation(self.lab, self.task.survey_id)

    def detection_history(self, species: str, occasion_length: int = 7, **options: Any) -> Any:
        """Stations x occasions 1/0/NaN for one species."""
        return camtrap.detection_history(
            self.lab, self.task, species, occasion_length, min_delta_minutes=0, **options
        )

    def relative_abundance(self) -> pd.DataFrame:
        """Independent detections, trap days and RAI per station and species."""
        return camtrap.relative_abundance(self.lab, self.task, self.min_delta_minutes)

    def diversity(self) -> pd.DataFrame:
        """Richness, Shannon, Simpson, evenness per station and overall."""
        return camtrap.diversity(self.lab, self.task, self.min_delta_minutes)

    def times(self, species: str) -> np.ndarray:
        """Clock times of day (radians) of the species' independent records."""
        return _times_of(self.record_table(), species)

    def activity(self, species: str) -> pd.DataFrame:
        """The species' activity curve over the day."""
        return activity.activity_density(self.times(species))

    def overlap(self, species_a: str, species_b: str, n_boot: int = 999) -> dict[str, float]:
        """Overlap of two species' activity, with a bootstrap CI of the recommended estimator
        (Dhat4 when both have 50 records or more, else Dhat1)."""
        table = self.record_table()
        a, b = _times_of(table, species_a), _times_of(table, species_b)
        estimator = "Dhat4" if min(len(a), len(b)) >= 50 else "Dhat1"
        result = activity.overlap(a, b)
        ci = activity.overlap_ci(a, b, estimator, n_boot=n_boot)
        return {**result, "estimator": estimator, "lower": ci["lower"], "upper": ci["upper"]}  # type: ignore[dict-item]

    def occupancy(self, species: str, occasion_length: int = 7, **model: Any) -> dict[str, Any]:
        """Single-season occupancy of the species from its detection history."""
        history = self.detection_history(species, occasion_length)
        fit = occupancy(np.asarray(history, dtype=float), **model)
        fit["stations"] = list(history.index)
        return fit


def _times_of(table: pd.DataFrame, species: str) -> np.ndarray:
    """Clock times of day (radians) of one species' records in a record table."""
    moments = pd.to_datetime(table.loc[table["Species"] == species, "DateTimeOriginal"])
    seconds = moments.dt.hour * 3600 + moments.dt.minute * 60 + moments.dt.second
    return (seconds.to_numpy(dtype=float) / 86400) * 2 * np.pi
