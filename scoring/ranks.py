"""Ranks and tiers by the methodology page.

Equal shown scores share a rank and the next rank skips (1, 1, 3). A tier holds the cities whose
rank falls within its cumulative share of the table; because tied cities share the better rank, a
tie across a boundary lands whole in the higher tier. Within a tier cities are listed
alphabetically (scoring.collation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evidence.vocabulary import Tier
from scoring.collation import name_in, sort_key
from scoring.scores import DECIMALS, ScoreTable


def competition_ranks(scores: np.ndarray, decimals: int = DECIMALS) -> np.ndarray:
    """Ranks along the last axis, highest score first, ties sharing the best rank (1, 1, 3).

    Works on one table (cities,) or a stack of resampled tables (resamples, cities) at once.
    """
    shown = np.round(np.asarray(scores, dtype=float), decimals)
    stacked = np.atleast_2d(shown)
    order = np.argsort(-stacked, axis=-1)  # tied cities get one rank whatever their order: no stable sort needed
    ordered = np.take_along_axis(stacked, order, axis=-1)
    positions = np.broadcast_to(np.arange(stacked.shape[-1]), stacked.shape)
    starts = np.ones(stacked.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    # each run of equal scores takes the position where it starts
    ranked = np.maximum.accumulate(np.where(starts, positions, 0), axis=-1) + 1
    ranks = np.empty_like(ranked)
    np.put_along_axis(ranks, order, ranked, axis=-1)
    return ranks.reshape(shown.shape)


def tier_ids(ranks: np.ndarray, tiers: list[Tier]) -> np.ndarray:
    """The tier of each rank: the first tier whose cumulative share reaches rank / cities.

    The leaders (rank 1) are always in the first tier, even in a table too small for its share to hold
    one city (3 cities: 1/3 is past 10 % and 30 %); in the G20 table (184 cities) this changes nothing.
    """
    ranks = np.asarray(ranks)
    share = ranks * 100.0 / ranks.shape[-1]
    bounds = np.array([t.upto for t in tiers])
    index = np.searchsorted(bounds, share - 1e-9, side="left")
    index = np.where(ranks == 1, 0, index)
    return np.array([t.id for t in tiers])[index]


@dataclass(frozen=True)
class Ranking:
    ranks: np.ndarray            # (cities,) by total
    tiers: np.ndarray            # (cities,) tier id
    area_ranks: np.ndarray       # (cities, areas)


def rank_table(table: ScoreTable) -> Ranking:
    return Ranking(
        competition_ranks(table.totals),
        tier_ids(competition_ranks(table.totals), table.edition.tiers),
        competition_ranks(table.area_scores.T).T,
    )


def by_rank(table: ScoreTable, ranks: np.ndarray, lang: str) -> list[int]:
    """Row order of a ranked table: by rank, alphabetically among tied cities."""
    key = sort_key(lang)
    return sorted(range(len(table.cities)), key=lambda n: (ranks[n], key(name_in(table.cities[n], lang))))


def by_tier(table: ScoreTable, ranking: Ranking, lang: str) -> list[int]:
    """Row order of a tier table: by tier, alphabetically within a tier (not by score)."""
    key = sort_key(lang)
    return sorted(range(len(table.cities)),
                  key=lambda n: (ranking.tiers[n], key(name_in(table.cities[n], lang))))
