"""Results ecologists publish: activity, occupancy, record tables, effort and diversity.

Pure functions work on plain arrays and DataFrames; the ones that take a lab
read its database (a task object, a task name, or a survey name meaning that
survey's default task).
"""

from traptagger_lab.results.activity import activity_density, overlap, overlap_ci
from traptagger_lab.results.occupancy import naive_occupancy, occupancy

__all__ = ["activity_density", "naive_occupancy", "occupancy", "overlap", "overlap_ci"]
