"""Charts of a scored edition, as PNG and SVG: stacked area bars of the top cities, the cluster
comparison, and rank intervals. Matplotlib's object API (Figure, rendered by Agg), so no display
and no global pyplot state is involved.

Chinese names need a CJK font (Debian: fonts-noto-cjk); without one the charts fall back to
English names and say so, rather than drawing empty boxes.
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import numpy as np
from matplotlib import font_manager, rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from scoring.clusters import ClusterComparison
from scoring.collation import name_in
from scoring.ranks import Ranking, by_rank
from scoring.scores import ScoreTable
from scoring.stability import HIGH, LOW, Stability

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
                "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN", "Noto Sans SC")
FORMATS = ("png", "svg")


@cache
def cjk_font(families: tuple[str, ...] = CJK_FAMILIES) -> str | None:
    """The first installed font family among `families` that can draw Chinese, or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((family for family in families if family in installed), None)


def chart_lang(lang: str, families: tuple[str, ...] = CJK_FAMILIES) -> str:
    """The language the charts can be drawn in: Chinese only with a CJK font, else English."""
    if lang != "zh" or cjk_font(families):
        return lang
    warnings.warn("no CJK font found (install fonts-noto-cjk): charts use English names", stacklevel=2)
    return "en"


def _style(lang: str) -> dict:
    family = cjk_font() if lang == "zh" else None
    return {"font.family": [family, "DejaVu Sans"] if family else ["DejaVu Sans"], "svg.fonttype": "none"}


def _figure(rows: int, width: float = 9, per_row: float = 0.35) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, per_row * rows + 1.5))
    return fig, fig.subplots()


def _save(fig: Figure, out: Path, stem: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.{fmt}" for fmt in FORMATS]
    for path in paths:
        fig.savefig(path, dpi=150, bbox_inches="tight")
    return paths


def area_bars(table: ScoreTable, ranking: Ranking, out: Path, lang: str = "en", top: int = 20) -> list[Path]:
    """Horizontal bars of the top cities' totals, stacked by area."""
    lang = chart_lang(lang)
    rows = by_rank(table, ranking.ranks, lang)[:top]
    labels = [f"{int(ranking.ranks[n])}. {name_in(table.cities[n], lang)}" for n in rows]
    return _stacked(table, labels, table.area_scores[rows], lang, out, "area-bars",
                    "总分" if lang == "zh" else "Total score", table.edition.title.get(lang))


def cluster_bars(table: ScoreTable, comparison: ClusterComparison, out: Path, lang: str = "en") -> list[Path]:
    """Mean scores of each cluster (members scored in brackets), stacked by area, best first."""
    lang = chart_lang(lang)
    order = np.argsort(-comparison.totals, kind="stable")
    labels = [f"{comparison.clusters[k].name.get(lang)} ({comparison.members[k]})" for k in order]
    title = ("城市群比较：" if lang == "zh" else "City clusters: ") + table.edition.title.get(lang)
    return _stacked(table, labels, comparison.area_scores[order], lang, out, "clusters",
                    "平均总分" if lang == "zh" else "Mean total score", title)


def _stacked(table: ScoreTable, labels: list[str], area_scores: np.ndarray, lang: str, out: Path, stem: str,
             xlabel: str, title: str) -> list[Path]:
    with rc_context(_style(lang)):
        fig, ax = _figure(len(labels))
        left = np.zeros(len(labels))
        for j, area in enumerate(table.edition.areas):
            ax.barh(labels, area_scores[:, j], left=left, label=area.name.get(lang))
            left += area_scores[:, j]
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        ax.legend(loc="lower right", fontsize="small")
        return _save(fig, out, stem)


def rank_intervals(table: ScoreTable, stability: Stability, out: Path, lang: str = "en", top: int = 40) -> list[Path]:
    """Each city's rank with the whole panel and its 5th-95th percentile range over resampled panels."""
    lang = chart_lang(lang)
    rows = by_rank(table, stability.rank, lang)[:top]
    y = np.arange(len(rows))
    with rc_context(_style(lang)):
        fig, ax = _figure(len(rows), width=8, per_row=0.3)
        ax.hlines(y, stability.low[rows], stability.high[rows], color="tab:blue", linewidth=3, alpha=0.6,
                  label=f"{LOW}–{HIGH}%")
        ax.plot(stability.rank[rows], y, "o", color="black", markersize=4, label="rank" if lang != "zh" else "排名")
        ax.set_yticks(y, [name_in(table.cities[n], lang) for n in rows])
        ax.invert_yaxis()
        ax.set_xlabel("排名" if lang == "zh" else "Rank")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # ranks are whole numbers
        ax.set_title(f"排名区间（{stability.resamples} 次重抽样专家组）" if lang == "zh"
                      else f"Rank intervals over {stability.resamples} resampled panels")
        ax.legend(loc="upper right", fontsize="small")
        return _save(fig, out, "rank-intervals")
