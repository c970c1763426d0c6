"""Results ecologists publish: activity, occupancy, record tables, effort and diversity.

Pure functions work on plain arrays and DataFrames; the ones that take a
:class:`~traptagger_lab.workspace.Workspace` read its database (a survey's settled labels:
see :mod:`~traptagger_lab.annotate.settled`).
"""

from traptagger_lab.results.activity import activity_density, overlap, overlap_ci
from traptagger_lab.results.api import (
    detection_history,
    diversity,
    record_table,
    relative_abundance,
)
from traptagger_lab.results.camtrap import accumulation, independent_records, season_histories
from traptagger_lab.results.colext import colext
from traptagger_lab.results.formulas import station_covariates
from traptagger_lab.results.mle import FitSettings
from traptagger_lab.results.occupancy import naive_occupancy, occupancy
from traptagger_lab.results.records import camera_operation
from traptagger_lab.results.selection import model_selection

__all__ = [
    "FitSettings",
    "accumulation",
    "activity_density",
    "camera_operation",
    "colext",
    "detection_history",
    "diversity",
    "independent_records",
    "model_selection",
    "naive_occupancy",
    "occupancy",
    "overlap",
    "overlap_ci",
    "record_table",
    "relative_abundance",
    "season_histories",
    "station_covariates",
]
