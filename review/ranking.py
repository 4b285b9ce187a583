"""The ranking as it stands: confirmed levels (review.decisions) scored by the scoring module
(weights, area sums, ranks with ties, tiers, charts). Incomplete while any item is open or any city
lacks a confirmed level; a missing level counts as 0 and is listed as a gap, as in `evidence score`.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from review.decisions import confirmations, current_proposals, decisions_of, review_state


@dataclass(frozen=True)
class RankRow:
    rank: int
    city: str
    name: str
    total: str
    areas: tuple[str, ...]
    tier: str
    gaps: int


@dataclass(frozen=True)
class RankingView:
    edition: str
    title: str
    areas: tuple[str, ...]
    rows: tuple[RankRow, ...]
    open_items: int
    gaps: int
    confirmed: int               # city-indicator levels confirmed
    example_weights: bool
    weights_method: str

    @property
    def complete(self) -> bool:
        return self.open_items == 0 and self.gaps == 0


def scored(session: Session, edition_id: str, weights_path: Path | None = None):
    """The scoring module's ScoreTable and Ranking for the confirmed levels of an edition."""
    from frameworks import load_framework
    from scoring.levels import LevelTable, edition_cities
    from scoring.ranks import rank_table
    from scoring.scores import load_weights, score
    from sources import load_registry

    edition = load_framework(edition_id)
    cities = edition_cities(load_registry(), edition)
    indicators = tuple(i.id for i in edition.indicators)
    row, col = {c.id: n for n, c in enumerate(cities)}, {i: n for n, i in enumerate(indicators)}
    values = np.full((len(cities), len(indicators)), np.nan)
    for (city, indicator), confirmation in confirmations(session, edition_id).items():
        if city in row and indicator in col:  # levels were checked against the ladder when decided
            values[row[city], col[indicator]] = confirmation.level
    levels = LevelTable(edition.id, cities, indicators, values, "confirmed levels (review)")
    table = score(levels, load_weights(edition, weights_path), edition)
    return table, rank_table(table)


def ranking_view(session: Session, edition_id: str, lang: str = "en", weights_path: Path | None = None) -> RankingView:
    from scoring.collation import name_in
    from scoring.ranks import by_rank
    from scoring.scores import shown

    table, ranking = scored(session, edition_id, weights_path)
    edition = table.edition
    tiers = {t.id: t.name.get(lang) for t in edition.tiers}
    gaps_per_city: dict[str, int] = {}
    for gap in table.gaps:
        gaps_per_city[gap.city] = gaps_per_city.get(gap.city, 0) + 1
    rows = tuple(RankRow(int(ranking.ranks[n]), table.cities[n].id, name_in(table.cities[n], lang),
                         shown(table.totals[n]), tuple(shown(v) for v in table.area_scores[n]),
                         tiers.get(int(ranking.tiers[n]), str(ranking.tiers[n])), gaps_per_city.get(table.cities[n].id, 0))
                 for n in by_rank(table, ranking.ranks, lang))
    return RankingView(edition.id, edition.title.get(lang), tuple(a.name.get(lang) for a in edition.areas), rows,
                       open_items(session, edition_id), len(table.gaps),
                       len(table.cities) * len(edition.indicators) - len(table.gaps), table.weights.example,
                       table.weights.method)


def open_items(session: Session, edition_id: str) -> int:
    items = list(current_proposals(session, edition_id).values())
    decided = decisions_of(session, [p.id for p in items])
    return sum(not review_state(p.level, decided[p.id]).closed for p in items)


def chart_svg(session: Session, edition_id: str, lang: str = "en", weights_path: Path | None = None,
              top: int = 20) -> str | None:
    """The scoring module's stacked area bars of the top cities that have a confirmed level, as SVG
    text (ranks as in the whole table); None before anything is confirmed."""
    from scoring.charts import area_bars
    from scoring.ranks import Ranking
    from scoring.scores import ScoreTable

    table, ranking = scored(session, edition_id, weights_path)
    unconfirmed = {(g.city, g.indicator) for g in table.gaps}
    keep = [n for n, c in enumerate(table.cities)
            if any((c.id, i.id) not in unconfirmed for i in table.edition.indicators)]
    if not keep:
        return None
    shown_table = ScoreTable(table.edition, tuple(table.cities[n] for n in keep), table.area_scores[keep])
    shown_ranking = Ranking(ranking.ranks[keep], ranking.tiers[keep], ranking.area_ranks[keep])
    with tempfile.TemporaryDirectory() as tmp:
        files = area_bars(shown_table, shown_ranking, Path(tmp), lang, top)
        return next(p for p in files if p.suffix == ".svg").read_text(encoding="utf-8")
