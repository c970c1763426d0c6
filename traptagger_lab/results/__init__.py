"""Results ecologists publish: activity, occupancy, record tables, effort and diversity.

Pure functions work on plain arrays and DataFrames; the ones that take a
:class:`~traptagger_lab.workspace.Workspace` read its database (a task object, a task
name, or a survey name meaning that survey's default task).
"""

from traptagger_lab.results.activity import activity_density, overlap, overlap_ci
from traptagger_lab.results.api import (
    detection_history,
    diversity,
    record_table,
    relative_abundance,
)
from traptagger_lab.results.camtrap import accumulation, independent_records
from traptagger_lab.results.occupancy import naive_occupancy, occupancy
from traptagger_lab.results.records import camera_operation

__all__ = [
    "accumulation",
    "activity_density",
    "camera_operation",
    "detection_history",
    "diversity",
    "independent_records",
    "naive_occupancy",
    "occupancy",
    "overlap",
    "overlap_ci",
    "record_table",
    "relative_abundance",
]
