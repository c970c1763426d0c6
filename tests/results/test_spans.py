"""Records per sequence (aggregated in SQL) give exactly the tables records per photo give."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from traptagger_lab.annotate.sightings import add_labelled_box
from traptagger_lab.annotate.simulate import synthetic_survey
from traptagger_lab.db.engine import transaction
from traptagger_lab.db.models import Image, Label
from traptagger_lab.results import camtrap
from traptagger_lab.results.api import Results
from traptagger_lab.results.observations import observations


@pytest.fixture
def dense(database_url: str, lab_factory: Any) -> Any:
    """Sequences close together (minutes apart) at six two-camera sites, one photo of
    which has a box labelled with another species."""
    lab = lab_factory(database_url=database_url)
    with transaction(lab.sessions) as session:
        task = synthetic_survey(
            session, "Dense", images=2400, clusters=700, sites=6, species=4, days=2, cameras=2
        )
        image = session.execute(
            select(Image.id, Image.cluster_id).order_by(Image.id).offset(40).limit(1)
        ).one()
        other = session.scalar(
            select(Label.id).where(Label.task_id == task.id, Label.name == "Species D")
        )
        add_labelled_box(
            session, task.id, image.id, image.cluster_id, (0.1, 0.1, 0.2, 0.2), other, "person",
            "ann", dt.datetime(2024, 6, 1),
        )  # fmt: skip
    return lab, task


def _per_photo(lab: Any, task: Any, by: str) -> pd.DataFrame:
    records = camtrap.records_from_observations(observations(lab.workspace, task))
    records = records.drop_duplicates(["Station", "Camera", "Species", "Directory", "FileName"])
    return records.drop(columns=["Individual", "cluster_id", *(["Camera"] if by == "site" else [])])


def _same(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    columns = list(theirs.columns)
    assert list(ours.columns) == columns
    pd.testing.assert_frame_equal(
        ours.sort_values(columns).reset_index(drop=True),
        theirs.sort_values(columns).reset_index(drop=True),
    )


@pytest.mark.parametrize("minutes", [60, 0.05, 0])
@pytest.mark.parametrize("compared_to", camtrap.COMPARED_TO)
def test_sequence_records_give_the_per_photo_table(
    dense: Any, minutes: float, compared_to: str
) -> None:
    lab, task = dense
    results = Results(lab.workspace, task, min_delta_minutes=minutes)
    records = results.records
    assert records["DateTimeLast"].notna().sum() > 300  # most are whole sequences...
    assert (records["Species"] == "Species D").any()  # ...and the labelled box is its own
    for by in ("site", "camera"):
        ours = results.record_table(compared_to, by)
        theirs = camtrap.independent_records(_per_photo(lab, task, by), minutes, compared_to, by)
        _same(ours, theirs)
        assert len(ours) > 50


def test_a_date_window_cuts_sequences_at_its_edges(dense: Any) -> None:
    lab, task = dense
    photos = _per_photo(lab, task, "site")
    middle = photos["DateTimeOriginal"].sort_values().iloc[len(photos) // 2]
    results = Results(
        lab.workspace, task, min_delta_minutes=0, start=middle.date(), end=middle.date()
    )
    inside = photos[photos["DateTimeOriginal"].dt.date == middle.date()]
    _same(results.record_table(), camtrap.independent_records(inside, 0))


def test_sequence_records_need_their_photos_to_be_read_when_they_could_count(dense: Any) -> None:
    lab, task = dense
    records = Results(lab.workspace, task).records.drop(columns=["Individual", "Camera"])
    with pytest.raises(ValueError, match="expand"):
        camtrap.independent_records(records, 0.05)
