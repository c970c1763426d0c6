"""From per-detection species scores to a cluster's AI suggestion and auto-label (pure core).

As in TrapTagger: a cluster's suggestion is the (translated) label with the most
distinct confident detections, among relevant boxes large enough to classify;
a cluster is *auto-labelled* when that label has enough detections and a large
enough share of the cluster's relevant detections, by rules that depend on the
kind of survey. Every decision carries its reason, so a user can see why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import Field

from traptagger_lab.params import StageParams

#: The suggestion for a cluster with no relevant detection: the AI calls it empty.
NOTHING = "nothing"
#: The suggestion for a cluster with animals the classifier cannot name (boxes too small to
#: classify, or no score above its class threshold): people must say what it is.
UNKNOWN = "unknown"
#: Suggestions that name no species (neither goes to an AI-check task).
NO_SPECIES = frozenset({NOTHING, UNKNOWN})


class AutoLabelRule(StageParams):
    """When a suggestion becomes a label without a person looking (no defaults for the
    count and share: each survey kind has its own, in :data:`RULES`)."""

    min_detections: int = Field(
        ge=1,
        description="Fewest detections the label needs above its class threshold (detections).",
    )
    min_share: float = Field(
        ge=0,
        le=1,
        description="Share of the cluster's usable detections (relevant and not too small) "
        "the label must exceed (0-1).",
    )
    min_area: float = Field(
        default=0.0025,
        ge=0,
        le=1,
        description="Smallest box counted; smaller ones are too small to classify "
        "(share of the frame's area, 0-1).",
    )


#: TrapTagger's rules by survey kind (CLUSTER_DET_COUNT / DET_RATIO / CLASSIFICATION_DET_AREA).
RULES: dict[str, AutoLabelRule] = {
    "trails": AutoLabelRule(min_detections=1, min_share=0.5, min_area=0.0025),
    "baited": AutoLabelRule(min_detections=1, min_share=0.5, min_area=0.0025),
    "plains": AutoLabelRule(min_detections=5, min_share=0.25, min_area=0.002),
    "waterhole": AutoLabelRule(min_detections=5, min_share=0.25, min_area=0.002),
}


@dataclass(frozen=True)
class ScoredDetection:
    """A relevant detection of a cluster with the classifier's top label."""

    detection_id: int
    label: str
    score: float
    area: float


@dataclass(frozen=True)
class Suggestion:
    """The AI's view of a cluster: label, support, whether it auto-labels, and why."""

    label: str
    detections: int
    share: float
    auto: bool
    reason: str


def suggest(
    detections: Sequence[ScoredDetection],
    thresholds: Mapping[str, float],
    translations: Mapping[str, str | None],
    rule: AutoLabelRule,
    default_threshold: float = 0.5,
) -> Suggestion:
    """Suggest a label for one cluster from its relevant detections.

    Args:
        detections: The cluster's relevant detections with their top classifier label.
        thresholds: Per classifier label, the score a detection needs to count.
        translations: Classifier label -> task label (None drops the label).
        rule: The survey kind's auto-label rule.
        default_threshold: Threshold of labels missing from ``thresholds``.
    """
    if not detections:
        return Suggestion(NOTHING, 0, 0.0, False, "no relevant detection")
    usable = [d for d in detections if d.area >= rule.min_area]
    if not usable:
        return Suggestion(
            UNKNOWN,
            0,
            0.0,
            False,
            f"no relevant detection large enough to classify (of {len(detections)})",
        )
    votes: Counter[str] = Counter()
    for d in usable:
        label = translations.get(d.label, d.label)
        if label is not None and d.score >= thresholds.get(d.label, default_threshold):
            votes[label] += 1
    if not votes:
        return Suggestion(
            UNKNOWN, 0, 0.0, False, f"no detection above its class threshold (of {len(usable)})"
        )
    label, count = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    share = count / len(usable)
    auto, reason = decide(label, count, share, rule)
    return Suggestion(label, count, share, auto, reason)


def decide(label: str, count: int, share: float, rule: AutoLabelRule) -> tuple[bool, str]:
    """Whether ``rule`` auto-labels a cluster whose suggestion ``label`` has ``count``
    supporting detections, ``share`` of its usable ones; and why. Suggestions that name no
    species (:data:`NO_SPECIES`) never auto-label."""
    if label in NO_SPECIES:
        return False, f"the AI names no species ({label})"
    auto = count >= rule.min_detections and share > rule.min_share
    usable = round(count / share) if share > 0 else count
    reason = (
        f"{count} of {usable} relevant detections are {label} "
        f"({'auto-labelled' if auto else 'not auto-labelled'}: the rule asks for at least "
        f"{rule.min_detections} and more than {rule.min_share:.0%})"
    )
    return auto, reason
