"""Deployments: a camera (or a whole station) at a location between setup and retrieval, with
the periods it did not work, its camera height, bait, habitat, feature type and free
covariates.

Imported from camtrapR's camera-trap table or Camtrap DP's ``deployments.csv``
(:func:`import_deployments`), read as a DataFrame (:func:`deployments`), edited one at a
time (:func:`set_deployment`, :func:`delete_deployment`; the notebook's table editor is
:class:`traptagger_lab.widgets.deployments.DeploymentEditor`), and checked against the
photos (:func:`deployment_checks`). Effort comes from deployments where a survey has them
(:func:`~traptagger_lab.deployments.effort.effort_inputs`), counted as camtrapR counts it.
"""

from traptagger_lab.deployments.checks import CheckParams, deployment_checks
from traptagger_lab.deployments.editing import delete_deployment, set_deployment
from traptagger_lab.deployments.rows import DeploymentImport
from traptagger_lab.deployments.store import (
    deployment_problems,
    deployments,
    import_deployments,
)

__all__ = [
    "CheckParams",
    "DeploymentImport",
    "delete_deployment",
    "deployment_checks",
    "deployment_problems",
    "deployments",
    "import_deployments",
    "set_deployment",
]
