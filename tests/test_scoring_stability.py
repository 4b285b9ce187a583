"""Rank stability: a bootstrap over the expert panel, vectorised, checked against a loop."""

from __future__ import annotations

import numpy as np

from evidence.vocabulary import Text, Tier
from frameworks.weights import ExpertWeights, combine
from scoring.ranks import competition_ranks, tier_ids
from scoring.stability import expert_draws, rank_stability

TIERS = [Tier(id=1, upto=10, name=Text(en="1", zh="1")), Tier(id=2, upto=30, name=Text(en="2", zh="2")),
         Tier(id=3, upto=60, name=Text(en="3", zh="3")), Tier(id=4, upto=100, name=Text(en="4", zh="4"))]


def panel(experts: int = 12, indicators: int = 8, seed: int = 1, spread: float = 4.0) -> ExpertWeights:
    rng = np.random.default_rng(seed)
    groups = ["a", "b", "c"] * (experts // 3)
    matrix = rng.uniform(5 - spread / 2, 5 + spread / 2, size=(experts, indicators)) * rng.uniform(0.5, 1.5, indicators)
    return ExpertWeights("test", [f"e{i}" for i in range(experts)], sorted(groups),
                         [f"i{j}" for j in range(indicators)], matrix, "test")


def test_a_city_far_ahead_is_always_first():
    levels = np.random.default_rng(2).integers(0, 3, size=(30, 8)).astype(float)
    levels[7] = 4  # far ahead of everyone on every indicator
    result = rank_stability(levels, panel(), TIERS, resamples=400, seed=5)
    assert (result.low[7], result.high[7], result.rank[7]) == (1, 1, 1)
    assert result.tier_probability[7] == 1.0


def test_intervals_are_sane():
    levels = np.random.default_rng(4).integers(0, 4, size=(60, 8)).astype(float)
    result = rank_stability(levels, panel(spread=8), TIERS, resamples=300, seed=1)
    assert np.all(result.low >= 1) and np.all(result.low <= result.high) and np.all(result.high <= 60)
    assert np.all((result.tier_probability >= 0) & (result.tier_probability <= 1))
    assert (result.high - result.low).max() > 0  # a varied panel does move some cities
    assert list(result.rank) == list(competition_ranks(levels @ combine(panel(spread=8).matrix)))
    # cities with identical levels behave identically
    levels[10] = levels[11]
    again = rank_stability(levels, panel(spread=8), TIERS, resamples=300, seed=1)
    tenth, eleventh = (again.low[10], again.high[10], again.tier_probability[10]), \
        (again.low[11], again.high[11], again.tier_probability[11])
    assert tenth == eleventh


def test_vectorised_result_equals_a_plain_loop_over_the_same_panels():
    levels = np.random.default_rng(9).integers(0, 4, size=(25, 8)).astype(float)
    p = panel(spread=8)
    result = rank_stability(levels, p, TIERS, resamples=200, seed=3, method="median", chunk=64)
    rng = np.random.default_rng(3)
    draws = np.concatenate([expert_draws(p, size, rng) for size in (64, 64, 64, 8)])
    ranks, tiers = [], []
    for draw in draws:
        weights = np.median(p.matrix[draw], axis=0)
        r = competition_ranks(np.array([sum(level * w for level, w in zip(city, weights)) for city in levels]))
        ranks.append(r)
        tiers.append(tier_ids(r, TIERS))
    ranks = np.array(ranks)
    assert list(result.low) == list(np.percentile(ranks, 5, axis=0, method="lower"))
    assert list(result.high) == list(np.percentile(ranks, 95, axis=0, method="higher"))
    assert np.allclose(result.tier_probability, (np.array(tiers) == result.tier).mean(axis=0))


def test_resampled_panels_keep_the_group_composition():
    p = panel(experts=12)
    draws = expert_draws(p, 500, np.random.default_rng(0))
    groups = np.array(p.groups)[draws]
    assert all((groups == g).sum(axis=1).tolist() == [4] * 500 for g in "abc")
    free = expert_draws(p, 500, np.random.default_rng(0), stratify=False)
    assert any((np.array(p.groups)[row] == "a").sum() != 4 for row in free)
