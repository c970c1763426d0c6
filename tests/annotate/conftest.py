"""Fixtures of the annotation tests."""

from __future__ import annotations

from typing import Any

import pytest

from traptagger_lab.sample import SampleSurvey


@pytest.fixture
def lab(database_url: str, sample_survey: SampleSurvey, lab_factory: Any) -> Any:
    """A lab on each backend with the sample survey ingested and clustered (survey "S")."""
    lab = lab_factory(database_url=database_url)
    lab.ingest(str(sample_survey.root), survey="S")
    lab.sequences("S")
    return lab
