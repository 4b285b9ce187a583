"""How stable each city's rank is when the expert panel varies: a bootstrap over experts.

Each resample draws the panel again with replacement (within each expert group by default, so
every resampled panel keeps the published composition, e.g. 8 experts in each of 4 groups),
aggregates the weights, rescores every city and ranks them. All resamples of a chunk are computed
as one array: weights (resamples × indicators) @ levels.T gives every total at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from evidence.vocabulary import Tier
from frameworks.weights import ExpertWeights, Method, combine
from scoring.ranks import competition_ranks, tier_ids

LOW, HIGH = 5, 95                    # the rank interval's percentiles


@dataclass(frozen=True)
class Stability:
    rank: np.ndarray                 # (cities,) rank with the whole panel
    tier: np.ndarray                 # (cities,) tier with the whole panel
    low: np.ndarray                  # (cities,) 5th percentile of the resampled ranks
    high: np.ndarray                 # (cities,) 95th percentile
    tier_probability: np.ndarray     # (cities,) share of resamples keeping the city in its tier
    resamples: int
    method: str
    stratified: bool


def expert_draws(panel: ExpertWeights, resamples: int, rng: np.random.Generator, stratify: bool = True) -> np.ndarray:
    """(resamples, experts) indices into the panel: who sits on each resampled panel."""
    if not stratify:
        n = len(panel.experts)
        return rng.integers(0, n, size=(resamples, n))
    groups = np.array(panel.groups)
    draws = []
    for group in dict.fromkeys(panel.groups):
        members = np.flatnonzero(groups == group)
        draws.append(members[rng.integers(0, len(members), size=(resamples, len(members)))])
    return np.concatenate(draws, axis=1)


def rank_stability(levels: np.ndarray, panel: ExpertWeights, tiers: list[Tier], resamples: int = 2000,
                   seed: int = 0, method: Method = "mean", trim: float = 0.1, stratify: bool = True,
                   chunk: int = 500, progress: Callable[[int], None] | None = None) -> Stability:
    """Rank intervals and tier probabilities of every city over `resamples` bootstrap panels.

    `levels` is (cities, indicators) with gaps as 0; `progress` is told how many resamples each
    finished chunk held.
    """
    levels = np.nan_to_num(np.asarray(levels, dtype=float), nan=0.0)
    base_rank = competition_ranks(levels @ combine(panel.matrix, method, trim))
    base_tier = tier_ids(base_rank, tiers)
    rng = np.random.default_rng(seed)
    ranks = np.empty((resamples, levels.shape[0]), dtype=np.int64)
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        weights = combine(panel.matrix[expert_draws(panel, size, rng, stratify)], method, trim)  # (size, indicators)
        ranks[start:start + size] = competition_ranks(weights @ levels.T)
        if progress:
            progress(size)
    return Stability(
        base_rank, base_tier,
        np.percentile(ranks, LOW, axis=0, method="lower"),
        np.percentile(ranks, HIGH, axis=0, method="higher"),
        (tier_ids(ranks, tiers) == base_tier).mean(axis=0),
        resamples, method, stratify,
    )
