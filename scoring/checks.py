"""Checks on an imported table of published scores, each finding named and placed by line.

The table is a CSV transcribed from a report: `rank`, `city` and `total` (or `score` for a one-area
table) plus optional `name`/`note` columns; any other column is an area score. Lines starting with
`#` are comments (say where the table was transcribed from).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evidence.errors import DataError, DataErrors
from scoring.csvfile import read_rows
from scoring.ranks import competition_ranks
from scoring.scores import shown

TEXT_COLUMNS = {"rank", "city", "name", "note", "tier"}
TOLERANCE = 0.02                     # the reports round every area separately: totals drift by up to 0.02


@dataclass(frozen=True)
class PublishedRow:
    line: int
    rank: int
    city: str
    score: float
    areas: dict[str, float]


@dataclass(frozen=True)
class TableProblem:
    kind: str                        # duplicate-city | missing-city | total-not-sum-of-areas | rank-inconsistent-with-score
    city: str
    lines: list[int]
    message: str


def read_published(path: Path) -> tuple[str, list[str], list[PublishedRow]]:
    """The table's score column, its area columns and its rows; bad cells are errors naming the line."""
    where, header, lines = read_rows(path)
    score_column = "total" if "total" in header else "score"
    missing = [h for h in ("rank", "city", score_column) if h not in header]
    if missing:
        raise DataError(path, where, f"header needs rank, city and total (or score); missing {', '.join(missing)}")
    areas = [h for h in header if h not in TEXT_COLUMNS | {score_column}]
    rows, errors = [], []
    for n, values in lines:
        cells = dict(zip(header, (c.strip() for c in values)))
        try:
            rows.append(_published_row(n, cells, score_column, areas))
        except ValueError as e:
            errors.append(DataError(path, f"line {n} (city {cells.get('city') or '?'})", str(e)))
    if errors:
        raise DataErrors(errors)
    return score_column, areas, rows


def _published_row(line: int, cells: dict[str, str], score_column: str, areas: list[str]) -> PublishedRow:
    def number(column: str) -> float:
        raw = cells.get(column, "")
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{column} {raw!r} is not a number") from None

    if not cells.get("city"):
        raise ValueError("empty city")
    rank = number("rank")
    if rank != int(rank) or rank < 1:
        raise ValueError(f"rank {cells['rank']!r} is not a positive whole number")
    return PublishedRow(line, int(rank), cells["city"], number(score_column), {a: number(a) for a in areas})


def check_table(rows: list[PublishedRow], tolerance: float = TOLERANCE, expected: list[str] | None = None) -> list[TableProblem]:
    """Every problem found: cities listed twice or missing from `expected` (e.g. the cities of the
    report's total table), totals off the sum of areas, ranks the scores contradict."""
    return [*duplicate_cities(rows), *missing_cities(rows, expected or []),
            *totals_off_areas(rows, tolerance), *ranks_off_scores(rows)]


def duplicate_cities(rows: list[PublishedRow]) -> list[TableProblem]:
    by_city: dict[str, list[PublishedRow]] = {}
    for row in rows:
        by_city.setdefault(row.city, []).append(row)
    return [
        TableProblem("duplicate-city", city, [r.line for r in listed],
                f"{city} is listed {len(listed)} times: "
                + "; ".join(f"line {r.line} rank {r.rank} score {shown(r.score)}" for r in listed))
        for city, listed in by_city.items() if len(listed) > 1
    ]


def missing_cities(rows: list[PublishedRow], expected: list[str]) -> list[TableProblem]:
    listed = {r.city for r in rows}
    return [TableProblem("missing-city", city, [], f"{city} is in the reference table but not in this one")
            for city in dict.fromkeys(expected) if city not in listed]


def totals_off_areas(rows: list[PublishedRow], tolerance: float) -> list[TableProblem]:
    findings = []
    for row in rows:
        if not row.areas:
            continue
        areas_sum = sum(row.areas.values())
        if abs(row.score - areas_sum) > tolerance + 1e-9:
            findings.append(TableProblem("total-not-sum-of-areas", row.city, [row.line],
                                    f"total {shown(row.score)} but the areas sum to {shown(areas_sum)} "
                                    f"(off by {shown(abs(row.score - areas_sum))}, tolerance {tolerance})"))
    return findings


def ranks_off_scores(rows: list[PublishedRow]) -> list[TableProblem]:
    """Ranks recomputed from the printed scores (ties sharing a rank, 1, 1, 3) against the printed ranks."""
    if not rows:
        return []
    expected = competition_ranks(np.array([r.score for r in rows]))
    return [
        TableProblem("rank-inconsistent-with-score", row.city, [row.line],
                f"printed rank {row.rank} but score {shown(row.score)} ranks {int(rank)}")
        for row, rank in zip(rows, expected) if row.rank != rank
    ]
