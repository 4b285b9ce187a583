"""Levels × aggregated expert weights → area scores and totals (total = Σ level × weight).

Scores are kept at full precision and shown to 2 decimals; ranking compares the shown values, so
cities that print the same score share a rank as in the reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evidence.vocabulary import City, Edition
from frameworks.weights import Weights
from scoring.levels import Gap, LevelTable

DECIMALS = 2


@dataclass(frozen=True)
class ScoreTable:
    edition: Edition
    cities: tuple[City, ...]
    area_scores: np.ndarray      # (cities, areas), areas in edition order
    gaps: tuple[Gap, ...] = ()
    weights: Weights | None = None

    @property
    def areas(self) -> list[str]:
        return [a.id for a in self.edition.areas]

    @property
    def totals(self) -> np.ndarray:
        return self.area_scores.sum(axis=1)

    @property
    def complete(self) -> bool:
        return not self.gaps


def area_matrix(edition: Edition) -> np.ndarray:
    """(indicators × areas) membership: multiplying per-indicator scores by it sums them per area."""
    areas = [a.id for a in edition.areas]
    out = np.zeros((len(edition.indicators), len(areas)))
    for n, ind in enumerate(edition.indicators):
        out[n, areas.index(ind.area)] = 1.0
    return out


def score(levels: LevelTable, weights: Weights, edition: Edition) -> ScoreTable:
    """Area scores of every city; a gap counts as level 0 in the sums and is listed in `gaps`."""
    filled = np.nan_to_num(levels.values, nan=0.0)
    area_scores = (filled * weights.vector) @ area_matrix(edition)
    return ScoreTable(edition, levels.cities, area_scores, tuple(levels.gaps()), weights)


def from_area_scores(edition: Edition, cities: tuple[City, ...], area_scores: np.ndarray) -> ScoreTable:
    """A table from already computed area scores, e.g. a published table being reproduced."""
    area_scores = np.asarray(area_scores, dtype=float)
    if area_scores.shape != (len(cities), len(edition.areas)):
        raise ValueError(f"expected {len(cities)} × {len(edition.areas)} area scores, got {area_scores.shape}")
    return ScoreTable(edition, tuple(cities), area_scores)


def shown(value: float) -> str:
    return f"{value:.{DECIMALS}f}"
