"""The local demo: a workspace with a sample survey, ingested and clustered.

``make demo`` calls this through ``traptagger demo`` and then opens the
workspace in Jupyter. Running it again reuses the workspace (ingest only adds
new files).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from traptagger_lab.lab import open_lab
from traptagger_lab.sample import SPECIES, make_sample_survey

log = logging.getLogger(__name__)


def build_demo(
    workspace: Path, data: Path | None = None, survey: str = "Demo survey", **settings: Any
) -> dict[str, Any]:
    """Create or refresh the demo workspace and return a summary of it.

    Args:
        workspace: Folder of the demo workspace (created if missing).
        data: The user's own photos (``SITE/CAMERA/...``); default: a generated sample survey.
        survey: Name of the survey to create.
        **settings: Other settings (an organisation's database and store, on the demo hub).
    """
    workspace = Path(workspace).resolve()
    if data is None:
        data = workspace / "sample-data"
        if not (data / "sample_truth.csv").exists():
            made = make_sample_survey(data)
            log.info("wrote a sample survey of %d photos to %s", len(made.photos), data)
    with open_lab(str(workspace), **settings) as lab:
        report = lab.ingest(str(data), survey=survey)
        clusters = lab.sequences(survey)
        if lab.tasks.list(survey).empty:  # something for the annotators to do
            lab.tasks.create(survey, "Species", labels=[name.title() for name in sorted(SPECIES)])
        return {
            "workspace": str(workspace),
            "database": lab.settings.resolved_database_url(),
            "store": lab.store.url,
            "survey": survey,
            "ingest": report.as_dict(),
            "clusters": clusters.clusters,
            "status": lab.status_counts(survey),
        }
