"""Scoring: confirmed levels × the expert panel's weights → area scores, totals, ranks, tiers,
cluster comparisons, rank stability, and the published tables and charts.

Pure functions with I/O at the edges, one job per module:

| module | job |
|---|---|
| `levels` | levels from CSV / Excel (`city,indicator,level`) or the record's final-round verdicts |
| `ranking` | the ranking as it stands in review: the confirmed levels scored, the area-bar chart as SVG |
| `scores` | total = Σ level × weight, per area and in total |
| `ranks` | ranks with ties (1, 1, 3) and tiers; cities listed alphabetically within a tier |
| `collation` | alphabetical order: pinyin for Chinese names, the Unicode Collation Algorithm otherwise |
| `clusters` | named city groups (data in `clusters/<edition>.yaml`) and their mean scores |
| `stability` | bootstrap over the expert panel: rank intervals and the chance to stay in a tier |
| `exports` / `charts` | CSV, Excel, Markdown, HTML; PNG and SVG charts |
| `checks` | findings on an imported published table |
| `cli` | `evidence score`, `evidence score stability`, `evidence score check` |

    >>> from scoring.levels import read_levels, edition_cities
    >>> from frameworks.weights import load_weights
    >>> from scoring.scores import score
    >>> from scoring.ranks import rank_table
"""
