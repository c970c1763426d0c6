"""A survey's settled labels: the AI's accepted auto-labels and every people's pass merged
into one label set per sequence, with provenance; results and exports count each
sequence once."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import insert, select

from traptagger_lab.annotate.settled import AUTO_KIND, Pass, Settled, merge
from traptagger_lab.db.engine import transaction
from traptagger_lab.db.models import Annotation, Cluster, ClusterSuggestion, Task
from traptagger_lab.errors import ConfigurationError

AT = dt.datetime(2024, 5, 1, 12, 0)


def _settled(*labels: str, who: str = "ann", how: str = "single") -> Settled:
    return Settled(tuple(labels), who, how, AT)


AI = Pass(1, "AI labels", AUTO_KIND)
SPECIES = Pass(2, "species", "species")
REFINE = Pass(3, "antelopes", "sublabel", refines="Antelope")
EMPTY = Pass(4, "empties", "empty_review")


def test_people_override_the_ai_and_a_sublabel_refines_its_parent() -> None:
    merged = merge(
        [
            (AI, {1: _settled("Zebra", who="auto: trails"), 2: _settled("Zebra")}),
            (SPECIES, {2: _settled("Antelope", "Zebra"), 3: _settled("Antelope")}),
            (REFINE, {2: _settled("Impala"), 3: _settled("Kudu")}),
            (EMPTY, {1: _settled("Nothing")}),
        ]
    )
    assert merged[1].names() == ["Nothing"]
    assert merged[2].names() == ["Zebra", "Impala"]  # Zebra kept beside the refined Antelope
    assert merged[3].names() == ["Kudu"]
    zebra, impala = merged[2].labels
    assert zebra.source is SPECIES
    assert impala.source is REFINE
    assert impala.replaced == "Antelope"
    assert merged[1].labels[0].replaced == "Zebra"
    assert not merged[1].labels[0].by_machine


def test_a_pass_that_has_not_settled_a_sequence_leaves_it_as_it_was() -> None:
    merged = merge(
        [
            (AI, {1: _settled("Zebra", who="auto: trails")}),
            (SPECIES, {1: _settled(who="ann, bob", how="disputed")}),  # still disputed
            (REFINE, {4: _settled("Impala")}),  # refines a label the sequence never had
        ]
    )
    assert merged[1].names() == ["Zebra"]
    assert merged[1].labels[0].by_machine
    assert merged[1].labels[0].classified_by == "auto: trails"
    assert merged[4].names() == ["Impala"]
    assert merged[4].labels[0].replaced == ""


def test_a_later_pass_overrides_an_earlier_one_case_blind() -> None:
    later = Pass(5, "second look", "species")
    merged = merge([(SPECIES, {1: _settled("Impala")}), (later, {1: _settled("impala", "Kudu")})])
    assert merged[1].names() == ["impala", "Kudu"]
    assert {label.source.task_id for label in merged[1].labels} == {5}
    assert merged[1].labels[0].replaced == "Impala"


# -- on the databases ----------------------------------------------------------------------


def _clusters(lab: Any, survey: str = "S") -> list[int]:
    with lab.sessions() as session:
        survey_id = lab.survey(survey).id
        return list(
            session.scalars(
                select(Cluster.id)
                .where(Cluster.survey_id == survey_id, Cluster.active.is_(True))
                .order_by(Cluster.id)
            )
        )


def _suggest(lab: Any, suggestions: dict[int, tuple[str, int, float]]) -> None:
    """Suggestions as a classifier run leaves them (label, supporting detections, share)."""
    with transaction(lab.sessions) as session:
        session.execute(
            insert(ClusterSuggestion),
            [
                {
                    "cluster_id": c,
                    "model": "tiny-classifier",
                    "label": label,
                    "detections": n,
                    "share": share,
                    "auto": False,
                    "reason": "",
                }
                for c, (label, n, share) in suggestions.items()
            ],
        )


def _label_all(lab: Any, task: Any, answer: Callable[[int], list[str]], who: str = "ann") -> int:
    done = 0
    while (job := lab.annotate.next_job(task, who, size=10)) is not None:
        for cluster in job.clusters:
            lab.annotate.submit(job, cluster, labels=answer(cluster))
            done += 1
    return done


def _species(results: Any) -> dict[str, int]:
    table = results.record_table()
    return {str(k): int(v) for k, v in table["Species"].value_counts().sort_index().items()}


@pytest.fixture
def auto_labelled(lab: Any) -> tuple[Any, list[int], list[int]]:
    """Survey S with the AI sure of Zebra on its first clusters (accepted), unsure of one
    more, and calling the rest empty."""
    clusters = _clusters(lab)
    sure, unsure = clusters[:3], clusters[3]
    _suggest(
        lab,
        {
            **{c: ("Zebra", 4, 0.9) for c in sure},
            unsure: ("Zebra", 1, 0.3),
            **{c: ("nothing", 0, 0.0) for c in clusters[4:]},
        },
    )
    report = lab.accept_suggestions("S")
    assert (report.accepted, report.rule) == (3, "trails")
    return lab, sure, [c for c in clusters if c not in sure]


def test_auto_labels_and_a_species_task_count_every_sequence_once(
    auto_labelled: tuple[Any, list[int], list[int]],
) -> None:
    lab, sure, rest = auto_labelled
    task = lab.tasks.create("S", "species", labels=["Impala", "Zebra"], exclude_auto=True)
    assert lab.tasks.progress(task)["clusters"] == len(rest)  # the AI settled the others
    assert _label_all(lab, task, lambda c: ["Impala"]) == len(rest)

    settled = lab.settled_labels("S")
    assert sorted(settled["cluster_id"]) == sorted(sure + rest)
    by_ai = settled[settled["source"] == "ai"]
    assert sorted(by_ai["cluster_id"]) == sure
    assert set(by_ai["annotators"]) == {"auto: trails"}
    assert set(by_ai["label"]) == {"Zebra"}
    assert set(settled.loc[settled["source"] == "people", "annotators"]) == {"ann"}

    every = lab.results("S", min_delta_minutes=0)
    people = lab.results("S", min_delta_minutes=0, people_only=True)
    assert set(_species(every)) == {"Impala", "Zebra"}
    assert set(_species(people)) == {"Impala"}
    assert _species(every)["Impala"] == _species(people)["Impala"]
    timed = set(people.records["cluster_id"])  # (sequences with a capture time)
    assert len(timed) > len(rest) / 2
    assert timed <= set(rest)
    assert set(every.records["cluster_id"]) == timed | set(sure)
    by_task = lab.results(task, min_delta_minutes=0)  # brings the survey's AI labels too
    assert set(by_task.records["cluster_id"]) == timed | set(sure)


def test_accepting_with_another_rule_replaces_and_undo_withdraws(
    auto_labelled: tuple[Any, list[int], list[int]],
) -> None:
    lab, sure, rest = auto_labelled
    again = lab.accept_suggestions("S")
    assert (again.accepted, again.kept, again.changed, again.withdrawn) == (0, 3, 0, 0)
    baited = lab.accept_suggestions("S", rule="plains")  # 5 detections needed: none pass
    assert (baited.withdrawn, baited.labelled) == (3, 0)
    assert lab.settled_labels("S").empty
    back = lab.accept_suggestions("S", rule="trails")
    assert back.accepted == 3
    suggestions = lab.cluster_suggestions("S").set_index("cluster_id")
    assert suggestions.loc[sure, "auto"].all()
    assert not suggestions.loc[rest[0], "auto"]
    assert "auto-labelled" in suggestions.loc[sure[0], "reason"]
    undone = lab.undo_suggestions("S")
    assert undone.withdrawn == 3
    assert lab.settled_labels("S").empty
    with lab.sessions() as session:
        task = session.scalars(select(Task).where(Task.kind == AUTO_KIND)).one()
        history = session.scalars(select(Annotation).where(Annotation.task_id == task.id)).all()
    assert len(history) == 6  # every accepted label stays in the history, inactive
    assert not any(a.active for a in history)
    assert {a.annotator for a in history} == {"auto: trails"}
    with pytest.raises(ConfigurationError, match="auto-label rule 'nope'"):
        lab.accept_suggestions("S", rule="nope")


def test_a_survey_without_suggestions_is_told_to_classify(lab: Any) -> None:
    with pytest.raises(ConfigurationError, match="classify it first"):
        lab.accept_suggestions("S")


def test_a_sublabel_task_refines_instead_of_adding_records(lab: Any) -> None:
    species = lab.tasks.create("S", "species", labels={"Antelope": [], "Zebra": []})
    _label_all(lab, species, lambda c: ["Antelope"])
    refine = lab.tasks.create(
        "S", "antelopes", labels=["Impala", "Kudu"], kind="sublabel", refine=(species, "Antelope")
    )
    _label_all(lab, refine, lambda c: ["Impala"], who="bob")

    before = lab.results(species, min_delta_minutes=0)  # the task and the passes refining it
    both = lab.results([species, refine], min_delta_minutes=0)
    survey = lab.results("S", min_delta_minutes=0)
    counts = {
        name: len(r.record_table()) for name, r in [("t", before), ("b", both), ("s", survey)]
    }
    assert len(set(counts.values())) == 1
    assert _species(both) == {"Impala": counts["b"]}
    only_species = lab.results(species, min_delta_minutes=0)
    assert set(only_species.record_table()["Species"]) == {"Impala"}
    settled = lab.settled_labels([species, refine])
    assert set(settled["replaced"]) == {"Antelope"}
    assert set(settled["task"]) == {"antelopes"}


def test_every_pass_kind_merged_on_one_survey(
    auto_labelled: tuple[Any, list[int], list[int]], tmp_path: Path
) -> None:
    lab, sure, rest = auto_labelled
    empty_one, refined = rest[1], rest[2:]
    species = lab.tasks.create(
        "S", "species", labels={"Antelope": [], "Zebra": []}, exclude_auto=True
    )
    _label_all(lab, species, lambda c: ["Antelope"])
    refine = lab.tasks.create(
        "S", "antelopes", labels=["Impala", "Kudu"], kind="sublabel", refine=(species, "Antelope")
    )
    _label_all(lab, refine, lambda c: ["Impala"], who="bob")
    check = lab.tasks.create("S", "check", labels=["Zebra", "Kudu"], kind="ai_check")
    checked = _label_all(lab, check, lambda c: ["Kudu"] if c == sure[0] else ["Zebra"], "carol")
    assert checked == len(sure) + 1  # the unsure Zebra is checked too
    empties = lab.tasks.create("S", "empties", labels=["Impala"], kind="empty_review")
    _label_all(lab, empties, lambda c: ["Nothing"] if c == empty_one else ["Impala"], "dan")

    settled = lab.settled_labels("S").set_index("cluster_id")
    assert settled.loc[sure[0], "label"] == "Kudu"  # the AI corrected by a person
    assert settled.loc[sure[0], "kind"] == "ai_check"
    assert settled.loc[sure[1], "label"] == "Zebra"
    assert settled.loc[sure[1], "source"] == "people"  # confirmed: a person's now
    assert settled.loc[empty_one, "label"] == "Nothing"
    assert settled.loc[refined[0], "label"] == "Impala"
    assert settled.index.is_unique  # one label per sequence here: nothing counted twice

    results = lab.results("S", min_delta_minutes=0)
    records = results.records
    assert not records.duplicated(["cluster_id", "Camera"]).any()
    assert empty_one not in set(records["cluster_id"])
    images = lab.images("S")
    timed = set(images.loc[images["timestamp"].notna(), "cluster_id"])  # those a record needs
    animals = settled[(settled["label"] != "Nothing") & settled.index.isin(timed)]
    expected = animals["label"].value_counts().to_dict()
    assert records.drop_duplicates("cluster_id")["Species"].value_counts().to_dict() == expected

    lab.export("S", "camtrap-dp", str(tmp_path / "dp"))
    observed = pd.read_csv(tmp_path / "dp" / "observations.csv")
    assert set(observed["classificationMethod"]) == {"human"}  # people checked every AI label
    lab.undo_suggestions("S")
    kept = lab.accept_suggestions("S", rule="trails")
    assert kept.labelled == 3
    lab.export("S", "camtrap-dp", str(tmp_path / "dp2"))
    observed = pd.read_csv(tmp_path / "dp2" / "observations.csv")
    assert set(observed["classificationMethod"]) == {"human"}  # people still override the AI


def test_provenance_reaches_camtrap_dp_coco_and_md_json(
    auto_labelled: tuple[Any, list[int], list[int]], tmp_path: Path
) -> None:
    lab, sure, _rest = auto_labelled
    task = lab.tasks.create("S", "species", labels=["Impala"], exclude_auto=True)
    _label_all(lab, task, lambda c: ["Impala"])

    lab.export("S", "camtrap-dp", str(tmp_path / "dp"))
    observed = pd.read_csv(tmp_path / "dp" / "observations.csv")
    machine = observed[observed["classificationMethod"] == "machine"]
    human = observed[observed["classificationMethod"] == "human"]
    assert set(machine["scientificName"]) == {"Zebra"}
    assert set(machine["classifiedBy"]) == {"auto: trails"}
    assert set(human["scientificName"].dropna()) == {"Impala"}
    assert set(human["classifiedBy"].dropna()) == {"ann"}
    assert observed["classificationTimestamp"].dropna().str.endswith("Z").all()
    assert set(machine["eventID"].dropna().astype(int)) == set(sure)

    lab.export("S", "coco", str(tmp_path / "coco.json"))
    document = json.loads((tmp_path / "coco.json").read_text())
    names = {c["id"]: c["name"] for c in document["categories"]}
    methods = {
        (names[a["category_id"]], a["classification_method"]) for a in document["annotations"]
    }
    assert methods == {("Zebra", "machine"), ("Impala", "human")}

    lab.export("S", "md-json", str(tmp_path / "md.json"))
    md = json.loads((tmp_path / "md.json").read_text())
    boxes = [
        d for image in md["images"] for d in image.get("detections") or [] if "classifications" in d
    ]
    assert "auto-labels" in md["info"]["classifier"] or not boxes
    if boxes:
        assert {d["classification_method"] for d in boxes} <= {"machine", "human"}

    people = lab.export("S", "csv", str(tmp_path / "people.csv"), people_only=True, per="image")
    every = lab.export("S", "csv", str(tmp_path / "every.csv"), per="image")
    assert people.rows < every.rows


def test_the_command_line_accepts_lists_and_undoes(
    auto_labelled: tuple[Any, list[int], list[int]],
) -> None:
    from typer.testing import CliRunner

    from traptagger_lab.cli import app

    lab, sure, _ = auto_labelled
    env = {
        "TRAPTAGGER_DATABASE_URL": lab.settings.resolved_database_url(),
        "TRAPTAGGER_STORAGE_URL": lab.settings.resolved_storage_url(),
        "TRAPTAGGER_DASK_SCHEDULER": "sync",
    }
    runner = CliRunner()
    listed = runner.invoke(app, ["labels", "S", "--csv"], env=env)
    assert listed.exit_code == 0, listed.output
    rows = pd.read_csv(io.StringIO(listed.stdout))
    assert sorted(rows["cluster_id"]) == sure
    assert set(rows["annotators"]) == {"auto: trails"}
    undone = runner.invoke(app, ["accept-suggestions", "S", "--undo"], env=env)
    assert undone.exit_code == 0, undone.output
    assert "3 withdrawn" in undone.stdout
    wrong = runner.invoke(app, ["accept-suggestions", "S", "--rule", "desert"], env=env)
    assert wrong.exit_code != 0
    assert "auto-label rule 'desert'" in wrong.output
    assert "Traceback" not in wrong.output
    again = runner.invoke(app, ["accept-suggestions", "S", "--rule", "baited"], env=env)
    assert again.exit_code == 0, again.output
    assert "3 sequence(s) labelled by the AI (auto: baited)" in again.stdout
    people = runner.invoke(app, ["results", "S", "--people-only"], env=env)
    assert people.exit_code != 0  # nobody labelled anything yet
    assert "no labels yet" in people.output
