"""ClusterTagger driven headless through its key handler and buttons; the database is checked."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from traptagger_lab.db.models import Annotation, Label
from traptagger_lab.errors import ConfigurationError
from traptagger_lab.sample import SampleSurvey


def test_tagging_with_keys(sample_survey: SampleSurvey, lab_factory: Any, tmp_path: Path) -> None:
    from traptagger_lab.widgets.tagger import ClusterTagger

    lab = lab_factory()
    lab.ingest(str(sample_survey.root), survey="S")
    lab.sequences("S")
    box = {"category": "1", "conf": 0.9, "bbox": [0.3, 0.5, 0.2, 0.2]}
    (tmp_path / "md.json").write_text(
        json.dumps({"images": [{"file": p, "detections": [box]} for p in sample_survey.photos]})
    )
    lab.import_detections("S", str(tmp_path / "md.json"))
    task = lab.tasks.create("S", "species", labels=["Impala", "Zebra"], tags=["juvenile"])
    tagger = ClusterTagger(lab, task, "ann", job_size=3)
    assert "How to annotate" in tagger.tutorial.value  # first job of this annotator
    first = tagger.cluster
    picture = Image.open(BytesIO(tagger.picture.value))
    assert picture.width == 640  # the sample's compressed copies (not upscaled)
    red = picture.getpixel((int(0.3 * 640) + 1, int(0.6 * 480)))
    assert red[0] > 200
    assert red[1] < 100

    tagger.press("z")  # Zebra
    second = tagger.cluster
    assert second != first
    tagger.tags[0].value = True
    tagger.multi.value = True
    tagger.press("i")
    tagger.press("z")
    tagger.press("Enter")  # two species and a tag
    assert not tagger.multi.value  # "several species" is cleared after a submit
    tagger.press("u")  # back to the second cluster, showing the answer given
    assert tagger.cluster == second
    assert tagger.selected == ["Impala", "Zebra"]
    assert tagger.tags[0].value
    assert "you said: Impala, Zebra, juvenile" in tagger.status.value
    tagger.press("+")  # several species off again
    tagger.tags[0].value = False
    tagger.press("i")  # correct it: Impala only
    assert tagger.cluster not in (first, second)  # forward again to the work
    with lab.sessions() as session:
        names = dict(session.execute(select(Label.id, Label.name)).all())
        rows = session.scalars(select(Annotation).order_by(Annotation.id)).all()
    by_cluster: dict[int, list[str]] = {}
    for row in rows:
        if row.active:
            by_cluster.setdefault(row.cluster_id, []).append(names[row.label_id])
    assert by_cluster[first] == ["Zebra"]
    assert by_cluster[second] == ["Impala"]
    assert any(not r.active and names[r.label_id] == "juvenile" for r in rows)  # history kept
    tagger._pace.result(timeout=30)  # type: ignore[union-attr]  # refreshed in the background
    tagger.press("ArrowRight")
    assert "estimating time to go" in tagger.status.value  # no ETA from two labels
    assert "you: 2 sequences" in tagger.status.value  # a relabel is not counted twice
    assert tagger.labelled == {first, second}

    while tagger.cluster is not None:  # work through every job to the end
        tagger.press("n" if tagger.position % 2 else "z")
        if tagger.cluster is None:
            break
    assert "All done" in tagger.title.value
    tagger.close()
    second_visit = ClusterTagger(lab, task, "ann")
    assert second_visit.tutorial.value == ""  # the tutorial is for the first job only
    second_visit.close()


def test_ai_check_confirms_with_enter(sample_survey: SampleSurvey, lab_factory: Any) -> None:
    from traptagger_lab.db.models import ClusterSuggestion
    from traptagger_lab.widgets.tagger import AICheck

    lab = lab_factory()
    lab.ingest(str(sample_survey.root), survey="S")
    lab.sequences("S")
    with lab.sessions() as session, session.begin():
        from traptagger_lab.db.models import Cluster

        for cluster_id in session.scalars(select(Cluster.id)):
            session.add(
                ClusterSuggestion(
                    cluster_id=cluster_id,
                    model="m",
                    label="zebra",
                    detections=3,
                    share=1.0,
                    auto=False,
                    reason="3 of 3 relevant detections are zebra",
                )
            )
    task = lab.tasks.create("S", "check", labels=["Impala", "Zebra"], kind="ai_check")
    species = lab.tasks.create("S", "species", labels=["Impala", "Zebra"])
    with pytest.raises(ConfigurationError, match="AICheck is for ai_check tasks"):
        AICheck(lab, species, "ann")
    tagger = AICheck(lab, task, "ann", job_size=2)
    assert "AI suggests Zebra" in tagger.status.value
    first = tagger.cluster
    tagger.press("Enter")  # confirm
    second = tagger.cluster
    tagger.press("i")  # correct
    with lab.sessions() as session:
        names = dict(session.execute(select(Label.id, Label.name)).all())
        given = {
            a.cluster_id: names[a.label_id]
            for a in session.scalars(select(Annotation).where(Annotation.active.is_(True)))
        }
    assert given == {first: "Zebra", second: "Impala"}
    tagger.close()


def test_empty_review_preselects_nothing(sample_survey: SampleSurvey, lab_factory: Any) -> None:
    from traptagger_lab.widgets.tagger import EmptyReview

    lab = lab_factory()
    lab.ingest(str(sample_survey.root), survey="S")
    lab.sequences("S")
    task = lab.tasks.create("S", "empty", labels=["Impala"], kind="empty_review")
    tagger = EmptyReview(lab, task, "ann", job_size=2)
    assert "AI suggests Nothing" in tagger.status.value
    tagger.press("Enter")
    with lab.sessions() as session:
        label = session.scalars(
            select(Label.name).join(Annotation, Annotation.label_id == Label.id)
        ).one()
    assert label == "Nothing"
    tagger.close()


def test_a_lost_lease_loads_fresh_work(sample_survey: SampleSurvey, lab_factory: Any) -> None:
    """The lease ran out and someone else took the sequence: the tagger says so, records
    nothing for it, and carries on with a new job instead of failing."""
    import datetime as dt

    from sqlalchemy import update

    from traptagger_lab.db.engine import transaction
    from traptagger_lab.db.models import JobItem
    from traptagger_lab.widgets.tagger import ClusterTagger

    lab = lab_factory()
    lab.ingest(str(sample_survey.root), survey="S")
    lab.sequences("S")
    task = lab.tasks.create("S", "species", labels=["Impala", "Zebra"])
    tagger = ClusterTagger(lab, task, "ann", job_size=2)
    lost = tagger.cluster
    with transaction(lab.sessions) as session:  # ann went for lunch
        session.execute(
            update(JobItem)
            .where(JobItem.job_id == tagger.job.id)
            .values(leased_until=dt.datetime(2000, 1, 1))
        )
    bob = lab.annotate.next_job(task, "bob", size=1)
    assert bob.clusters == (lost,)

    tagger.press("z")
    assert "went to someone else" in tagger.status.value
    assert tagger.cluster is not None
    assert tagger.cluster != lost
    with lab.sessions() as session:
        assert session.scalars(select(Annotation).where(Annotation.annotator == "ann")).all() == []


def _tagger_on_sample(sample_survey: SampleSurvey, lab_factory: Any, size: int) -> Any:
    from traptagger_lab.widgets.tagger import ClusterTagger

    lab = lab_factory()
    lab.ingest(str(sample_survey.root), survey="S")
    lab.sequences("S")
    task = lab.tasks.create("S", "species", labels=["Impala", "Zebra"])
    return lab, task, ClusterTagger(lab, task, "ann", job_size=size)


def _active_labels(lab: Any, cluster: int) -> list[str]:
    with lab.sessions() as session:
        return list(
            session.scalars(
                select(Label.name)
                .join(Annotation, Annotation.label_id == Label.id)
                .where(Annotation.cluster_id == cluster, Annotation.active.is_(True))
                .order_by(Label.name)
            )
        )


def test_several_species_by_keyboard(sample_survey: SampleSurvey, lab_factory: Any) -> None:
    lab, _, tagger = _tagger_on_sample(sample_survey, lab_factory, 3)
    nothing = tagger.species.index("Nothing")
    impala, zebra = tagger.species.index("Impala"), tagger.species.index("Zebra")
    first = tagger.cluster
    tagger.press("+")
    assert tagger.multi.value
    tagger.press("i")
    tagger.press("z")
    styles = [b.button_style for b in tagger.label_buttons]
    assert styles[impala] == styles[zebra] == "info"
    assert styles[nothing] == ""
    tagger.press(next(k for k, v in tagger.hotkeys.items() if v == "Nothing"))
    assert tagger.selected == ["Nothing"]  # Nothing excludes the others
    assert [b.button_style for b in tagger.label_buttons].count("info") == 1
    tagger.press("i")
    assert tagger.selected == ["Impala"]  # and a species excludes Nothing
    tagger.press("z")
    tagger.press("z")  # pressed again: unselected
    tagger.press("z")
    tagger.press("Enter")
    assert _active_labels(lab, first) == ["Impala", "Zebra"]
    assert not tagger.multi.value
    assert tagger.selected == []
    assert all(b.button_style == "" for b in tagger.label_buttons)
    tagger.close()


def test_back_across_jobs_and_after_all_done(sample_survey: SampleSurvey, lab_factory: Any) -> None:
    lab, _, tagger = _tagger_on_sample(sample_survey, lab_factory, 2)
    first_job = tagger.job
    tagger.press("z")
    tagger.press("i")  # the first job's last sequence
    last_of_first = first_job.clusters[1]
    assert tagger.job.id != first_job.id
    assert tagger.position == 0
    tagger.press("u")  # at the start of the next job: back into the previous one
    assert tagger.cluster == last_of_first
    assert tagger.selected == ["Impala"]
    assert "you said: Impala" in tagger.status.value
    tagger.press("z")  # corrected in its own (finished) job
    assert _active_labels(lab, last_of_first) == ["Zebra"]
    assert tagger.job.id != first_job.id
    assert tagger.cluster == tagger.job.clusters[0]

    while tagger.cluster is not None:
        tagger.press("z")
    assert "All done" in tagger.title.value
    assert tagger.picture.layout.display == "none"  # no broken image
    done = len(tagger.labelled)
    tagger.press("u")
    tagger.press("u")
    back_two = tagger.cluster
    assert back_two is not None
    assert tagger.selected == ["Zebra"]
    tagger.press("i")  # corrected after All done
    assert _active_labels(lab, back_two) == ["Impala"]
    tagger.press("n")  # forward past the newest: All done again
    assert tagger.cluster is None
    assert "All done" in tagger.title.value
    assert len(tagger.labelled) == done  # corrections are not counted again
    tagger.close()


def test_skipping_the_last_sequence_does_not_bring_it_back(
    sample_survey: SampleSurvey, lab_factory: Any
) -> None:
    lab, _, tagger = _tagger_on_sample(sample_survey, lab_factory, 2)
    tagger.press("z")
    skipped = tagger.cluster
    tagger.press("n")  # the job's last sequence, skipped
    assert tagger.cluster is not None
    assert tagger.cluster != skipped
    assert skipped not in tagger.job.clusters
    assert lab.tasks.progress(tagger.task)["in_progress"] == len(tagger.job.clusters)  # released
    tagger.close()


def test_counters_and_eta(sample_survey: SampleSurvey, lab_factory: Any) -> None:
    lab, _, tagger = _tagger_on_sample(sample_survey, lab_factory, 10)
    first = tagger.cluster
    tagger.press("z")
    tagger.press("u")
    tagger.press("i")  # a relabel
    assert tagger.labelled == {first}
    pace = lab.tasks.pace(tagger.task, "ann")
    assert pace.mine == 1
    assert tagger.eta(pace) == "estimating time"  # not "about 17.0 h" after one label
    assert "estimating time to go; you: 1 sequence" in tagger._describe(pace)
    for _ in range(4):
        tagger.press("z")
    pace = lab.tasks.pace(tagger.task, "ann")
    eta = tagger.eta(pace)
    assert eta.startswith("about ")
    assert eta.endswith(" min")  # 13 sequences left at this session's pace (seconds each)
    assert "per hour" not in tagger._describe(pace)  # a speed only after a minute's work
    tagger.close()


def test_heartbeat_keeps_the_lease_while_active(
    sample_survey: SampleSurvey, lab_factory: Any
) -> None:
    import datetime as dt

    from traptagger_lab.db.models import JobItem

    lab, _, tagger = _tagger_on_sample(sample_survey, lab_factory, 3)

    def leased_until() -> set[Any]:
        with lab.sessions() as session:
            return set(
                session.scalars(select(JobItem.leased_until).where(JobItem.job_id == tagger.job.id))
            )

    before = leased_until()
    assert max(before) - min(before) < dt.timedelta(seconds=1)
    tagger.beat()
    after = leased_until()
    assert min(after) > max(before)  # extended by the page's heartbeat
    tagger._last_action -= 31 * 60  # idle for longer than the idle limit
    tagger.beat()
    assert leased_until() == after  # not extended: the lease will lapse
    tagger.close()
