"""Cluster suggestions and auto-label rules (TrapTagger's, by survey kind)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from traptagger_lab.classify.aggregate import (
    NOTHING,
    RULES,
    UNKNOWN,
    AutoLabelRule,
    ScoredDetection,
    suggest,
)


def _dets(*labels: tuple[str, float], area: float = 0.01) -> list[ScoredDetection]:
    return [ScoredDetection(i, label, score, area) for i, (label, score) in enumerate(labels)]


def test_most_confident_detections_win_and_auto_label_on_trails() -> None:
    dets = _dets(("zebra", 0.9), ("zebra", 0.8), ("impala", 0.95), ("zebra", 0.3))
    result = suggest(dets, {"zebra": 0.5}, {}, RULES["trails"])
    assert (result.label, result.detections) == ("zebra", 2)
    assert result.share == 0.5
    assert not result.auto
    result = suggest(dets[:3], {"zebra": 0.5}, {}, RULES["trails"])
    assert result.auto
    assert "2 of 3 relevant detections are zebra" in result.reason


def test_plains_need_five_detections() -> None:
    four = _dets(*[("wildebeest", 0.9)] * 4)
    assert not suggest(four, {}, {}, RULES["plains"]).auto
    assert suggest(_dets(*[("wildebeest", 0.9)] * 5), {}, {}, RULES["plains"]).auto


def test_translations_thresholds_and_small_boxes() -> None:
    dets = _dets(("gazelle_thomsons", 0.7), ("gazelle_grants", 0.7), ("bird", 0.99))
    result = suggest(
        dets,
        {},
        {"gazelle_thomsons": "Gazelle", "gazelle_grants": "Gazelle", "bird": None},
        RULES["trails"],
    )
    assert (result.label, result.detections, result.auto) == ("Gazelle", 2, True)
    assert result.reason.startswith("2 of 3 relevant detections are Gazelle (auto-labelled:")
    mixed = suggest(_dets(("lion", 0.9), ("zebra", 0.9), ("zebra", 0.9)), {}, {}, RULES["plains"])
    assert (mixed.label, mixed.auto) == ("zebra", False)
    assert "(not auto-labelled: the rule asks for at least 5 and more than 25%)" in mixed.reason
    tiny = _dets(("lion", 0.99), area=0.001)
    assert suggest(tiny, {}, {}, RULES["trails"]).label == UNKNOWN  # an animal, too small
    unsure = suggest(_dets(("lion", 0.4)), {"lion": 0.6}, {}, RULES["trails"])
    assert unsure.label == UNKNOWN  # an animal the classifier cannot name
    assert "threshold" in unsure.reason
    empty = suggest([], {}, {}, RULES["trails"])
    assert (empty.label, empty.reason) == (NOTHING, "no relevant detection")


def test_auto_label_rules_defaults_and_ranges() -> None:
    assert AutoLabelRule.model_fields["min_area"].default == 0.0025
    assert AutoLabelRule(min_detections=2, min_share=0.3).min_area == 0.0025
    assert {kind: rule.model_dump() for kind, rule in RULES.items()} == {
        "trails": {"min_detections": 1, "min_share": 0.5, "min_area": 0.0025},
        "baited": {"min_detections": 1, "min_share": 0.5, "min_area": 0.0025},
        "plains": {"min_detections": 5, "min_share": 0.25, "min_area": 0.002},
        "waterhole": {"min_detections": 5, "min_share": 0.25, "min_area": 0.002},
    }
    with pytest.raises(ValidationError) as caught:
        AutoLabelRule()  # type: ignore[call-arg]  # count and share have no default
    assert {e["loc"] for e in caught.value.errors()} == {("min_detections",), ("min_share",)}
    for bad in ({"min_detections": 0}, {"min_share": 1.5}, {"min_area": -0.1}):
        with pytest.raises(ValidationError) as caught:
            AutoLabelRule(**{"min_detections": 1, "min_share": 0.5, **bad})
        assert [e["loc"] for e in caught.value.errors()] == [(next(iter(bad)),)]
