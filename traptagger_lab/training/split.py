"""Train / validation / test split by site, so no site's background leaks between splits (pure).

Photos from one camera share background, light and often the same animals; a
model tested on photos of sites it trained on looks better than it is. Every
crop of a site therefore goes to the same split. Sites are dealt out largest
first, each to the split whose classes most lack examples of what the site
holds, so each class's share per split comes near the asked fractions; when
there are at least as many sites as splits, no split is left empty.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

import pandas as pd

from traptagger_lab.errors import ConfigurationError

SPLITS = ("train", "val", "test")


def check_fractions(fractions: Mapping[str, float]) -> dict[str, float]:
    """The fractions, checked: known split names, non-negative, summing to 1."""
    unknown = set(fractions) - set(SPLITS)
    if unknown:
        raise ConfigurationError(f"unknown splits {sorted(unknown)}; use {', '.join(SPLITS)}")
    if any(v < 0 for v in fractions.values()) or abs(sum(fractions.values()) - 1) > 1e-6:
        raise ConfigurationError(f"split fractions must be >= 0 and sum to 1, not {fractions}")
    return {s: float(fractions.get(s, 0.0)) for s in SPLITS if fractions.get(s, 0.0) > 0}


def split_by_site(
    counts: pd.DataFrame,
    fractions: Mapping[str, float] | None = None,
    seed: int = 0,
    fixed: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Each site's split.

    Args:
        counts: One row per site and label with column ``n`` (crops), columns ``site``, ``label``.
        fractions: Share of crops per split (default train 0.7, val 0.15, test 0.15).
        seed: Breaks ties between sites of equal size reproducibly.
        fixed: Sites whose split the user chose (e.g. a held-out region as ``test``).
    """
    wanted = check_fractions(fractions or {"train": 0.7, "val": 0.15, "test": 0.15})
    fixed = dict(fixed or {})
    bad = {s: v for s, v in fixed.items() if v not in wanted}
    if bad:
        raise ConfigurationError(f"sites fixed to splits that get no share: {bad}")
    per_site = counts.pivot_table(index="site", columns="label", values="n", aggfunc="sum").fillna(
        0.0
    )
    totals = per_site.sum(axis=0).clip(lower=1.0)
    filled = {s: pd.Series(0.0, index=per_site.columns) for s in wanted}
    sites_in = dict.fromkeys(wanted, 0)
    chosen: dict[str, str] = {}
    for site, split in fixed.items():
        if site in per_site.index:
            chosen[site] = split
            filled[split] += per_site.loc[site]
            sites_in[split] += 1
    order = [s for s in per_site.index if s not in chosen]
    random.Random(seed).shuffle(order)
    order.sort(key=lambda s: -float(per_site.loc[s].sum()))
    for position, site in enumerate(order):
        row = per_site.loc[site]
        left = len(order) - position
        empty = [s for s in wanted if sites_in[s] == 0]
        candidates = empty if empty and left <= len(empty) else list(wanted)

        def lack(split: str, row: pd.Series = row) -> float:
            share = (row / totals).sum()
            return float(
                ((wanted[split] - filled[split] / totals) * row / totals).sum() / max(share, 1e-12)
            )

        best = max(candidates, key=lambda s: (lack(s), wanted[s]))
        chosen[site] = best
        filled[best] += row
        sites_in[best] += 1
    return chosen
