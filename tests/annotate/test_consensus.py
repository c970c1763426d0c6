"""Consensus tasks: disagreements found, reviewed in a review task, and settled."""

from __future__ import annotations

from typing import Any

import pytest

from traptagger_lab.errors import ConfigurationError


def test_disagreements_go_to_a_review_and_are_settled(lab: Any) -> None:
    from traptagger_lab.widgets.tagger import ClusterTagger

    task = lab.tasks.create("S", "pairs", labels=["Impala", "Zebra"], annotations_per_cluster=2)
    with pytest.raises(ConfigurationError, match="no disagreements"):
        lab.tasks.review_disagreements(task)
    ann = lab.annotate.next_job(task, "ann", size=4)
    bob = lab.annotate.next_job(task, "bob", size=4)
    agreed, disputed, half, pending = ann.clusters
    for cluster in (agreed, disputed, half, pending):
        lab.annotate.submit(ann, cluster, labels=["Impala"])
    lab.annotate.submit(bob, agreed, labels=["Impala"])
    lab.annotate.submit(bob, disputed, labels=["Zebra"])
    lab.annotate.submit(bob, half, labels=["Impala", "Zebra"])  # one species more: disagrees

    found = lab.tasks.disagreements(task)
    assert list(found.cluster_id) == sorted([disputed, half])
    said = dict(zip(found.cluster_id, found.labels, strict=True))
    assert said[disputed] == "ann: impala; bob: zebra"
    assert said[half] == "ann: impala; bob: impala + zebra"

    review = lab.tasks.review_disagreements(task)
    assert review.kind == "review"
    assert lab.tasks.progress(review)["clusters"] == 2
    assert [d.name for d in lab.tasks.label_defs(review)] == [
        d.name for d in lab.tasks.label_defs(task)
    ]
    tagger = ClusterTagger(lab, review, "carol", job_size=2)
    assert tagger.cluster == min(disputed, half)
    assert "annotators said" in tagger.status.value
    assert "bob: zebra" in tagger.status.value or "bob: impala + zebra" in tagger.status.value
    tagger.press("z")  # the reviewer settles the first one as Zebra
    tagger.close()

    final = lab.tasks.final_labels(task).set_index("cluster_id")
    assert final.loc[agreed].tolist() == ["impala", "agreed"]
    assert final.loc[min(disputed, half)].tolist() == ["zebra", "review"]
    assert final.loc[max(disputed, half)].tolist() == ["", "disputed"]
    assert pending not in final.index  # bob has not labelled it yet


def test_single_annotation_tasks_need_no_review(lab: Any) -> None:
    task = lab.tasks.create("S", "one", labels=["Impala"])
    job = lab.annotate.next_job(task, "ann", size=2)
    lab.annotate.submit(job, job.clusters[0], labels=["Impala"])
    with pytest.raises(ConfigurationError, match="nothing to reconcile"):
        lab.tasks.review_disagreements(task)
    final = lab.tasks.final_labels(task)
    assert final.to_dict("records") == [
        {"cluster_id": job.clusters[0], "labels": "impala", "settled_by": "single"}
    ]
