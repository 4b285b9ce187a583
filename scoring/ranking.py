"""The ranking as it stands: confirmed levels (review.decisions) scored as `evidence score --levels` from
the record does (the same ladder check, weights, area sums, ranks with ties, tiers, charts). Incomplete while
any item is open or any city lacks a confirmed level; a missing level counts as 0 and is listed as a gap.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from frameworks import load_framework
from frameworks.weights import load_weights
from review.decisions import current_proposals, decisions_of, review_state
from scoring.charts import area_bars
from scoring.collation import name_in
from scoring.levels import edition_cities, levels_from_record
from scoring.ranks import Ranking, by_rank, rank_table
from scoring.scores import ScoreTable, score, shown
from sources import load_registry


@dataclass(frozen=True)
class RankRow:
    rank: int | None  # None: nothing of the city is confirmed yet, so it has no place in the ranking
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
    edition = load_framework(edition_id)
    registry = load_registry()
    levels = levels_from_record(session, edition, edition_cities(registry, edition), registry,
                                "confirmed levels (review)")
    table = score(levels, load_weights(edition, weights_path), edition)
    return table, rank_table(table)


def ranking_view(session: Session, edition_id: str, lang: str = "en", weights_path: Path | None = None) -> RankingView:
    table, ranking = scored(session, edition_id, weights_path)
    edition = table.edition
    tiers = {t.id: t.name.get(lang) for t in edition.tiers}
    gaps_per_city: dict[str, int] = {}
    for gap in table.gaps:
        gaps_per_city[gap.city] = gaps_per_city.get(gap.city, 0) + 1
    everything = len(edition.indicators)

    def row(n: int) -> RankRow:
        city = table.cities[n]
        gaps = gaps_per_city.get(city.id, 0)
        placed = gaps < everything  # a city with no confirmed level is not ranked 0-and-tied, nor tiered
        return RankRow(int(ranking.ranks[n]) if placed else None, city.id, name_in(city, lang), shown(table.totals[n]),
                       tuple(shown(v) for v in table.area_scores[n]),
                       tiers.get(int(ranking.tiers[n]), str(ranking.tiers[n])) if placed else "—", gaps)

    order = by_rank(table, ranking.ranks, lang)
    rows = tuple(row(n) for n in sorted(order, key=lambda n: gaps_per_city.get(table.cities[n].id, 0) >= everything))
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
