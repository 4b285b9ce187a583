"""Confirmed ladder levels per city and indicator: from a CSV or Excel file, or from the record.

A levels table covers the cities of one edition (or one of its tables); a missing level is a gap,
kept as NaN so scoring can refuse an incomplete table or list every gap. Every bad row is reported
with its file and line (or decision id), and the input is rejected whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from evidence.database import session_scope
from evidence.errors import DataError, DataErrors
from evidence.vocabulary import City, Edition
from review.decisions import confirmations
from scoring.csvfile import read_rows
from sources import Registry

REQUIRED = ("city", "indicator", "level")


@dataclass(frozen=True)
class Gap:
    city: str
    indicator: str


@dataclass(frozen=True)
class LevelTable:
    """Levels of `cities` × `indicators` (edition order); NaN where no level was given."""

    edition: str
    cities: tuple[City, ...]
    indicators: tuple[str, ...]
    values: np.ndarray
    source: str
    skipped: int = 0                 # rows of other editions in a multi-edition file
    notes: list[str] = field(default_factory=list)

    def gaps(self) -> list[Gap]:
        rows, cols = np.nonzero(np.isnan(self.values))
        return [Gap(self.cities[r].id, self.indicators[c]) for r, c in zip(rows, cols)]

    @property
    def complete(self) -> bool:
        return not np.isnan(self.values).any()


def gap_lines(gaps: list[Gap] | tuple[Gap, ...]) -> list[str]:
    """Every gap, one line per city: `city: indicator, indicator`."""
    by_city: dict[str, list[str]] = {}
    for gap in gaps:
        by_city.setdefault(gap.city, []).append(gap.indicator)
    return [f"{city}: {', '.join(indicators)}" for city, indicators in by_city.items()]


@dataclass(frozen=True)
class _Row:
    where: str
    city: str
    indicator: str
    level: str
    edition: str | None = None


def edition_cities(registry: Registry, edition: Edition, table: str | None = None,
                   only: list[str] | None = None) -> tuple[City, ...]:
    """The cities a table of `edition` must cover; `only` narrows it to named cities (each checked)."""
    cities = registry.in_edition(edition.id, table)
    if not only:
        return tuple(cities)
    by_id = {c.id: c for c in cities}
    missing = [c for c in only if c not in by_id]
    if missing:
        scope = f"table {table} of edition {edition.id}" if table else f"edition {edition.id}"
        raise DataError("--city", ", ".join(missing), f"not in {scope}")
    return tuple(by_id[c] for c in only)


def read_levels(path: Path, edition: Edition, cities: tuple[City, ...], registry: Registry) -> LevelTable:
    """Read `city,indicator,level` rows (extra columns such as edition or note are allowed)."""
    rows = _excel_rows(path) if path.suffix.lower() in (".xlsx", ".xlsm") else _csv_rows(path)
    skipped = [r for r in rows if r.edition and r.edition != edition.id]
    rows = [r for r in rows if not (r.edition and r.edition != edition.id)]
    table = build_table(rows, edition, cities, registry, str(path))
    if skipped:
        other = sorted({r.edition for r in skipped if r.edition})
        note = f"ignored {len(skipped)} rows of other editions ({', '.join(other)})"
        return LevelTable(table.edition, table.cities, table.indicators, table.values, table.source,
                          len(skipped), [note])
    return table


def build_table(rows: list[_Row], edition: Edition, cities: tuple[City, ...], registry: Registry,
                source: str) -> LevelTable:
    """Check every row against the registry and the ladders; any problem rejects the table whole."""
    col = {c.id: n for n, c in enumerate(cities)}
    indicators = tuple(i.id for i in edition.indicators)
    ind_col = {ind: n for n, ind in enumerate(indicators)}
    values = np.full((len(cities), len(indicators)), np.nan)
    first_seen: dict[tuple[str, str], str] = {}
    errors: list[DataError] = []
    for row in rows:
        where = f"{row.where} (city {row.city or '?'}, indicator {row.indicator or '?'})"
        problem = _row_problem(row, edition, col, ind_col, registry, first_seen)
        if problem:
            errors.append(DataError(source, where, problem))
            continue
        first_seen[(row.city, row.indicator)] = row.where
        values[col[row.city], ind_col[row.indicator]] = int(row.level)
    if errors:
        raise DataErrors(errors)
    return LevelTable(edition.id, cities, indicators, values, source)


def _row_problem(row: _Row, edition: Edition, col: dict, ind_col: dict, registry: Registry,
                 first_seen: dict) -> str | None:
    if row.city not in col:
        if row.city not in registry.ids():
            return f"unknown city {row.city!r}: not in the city registry"
        return f"city {row.city!r} is not among the cities scored for edition {edition.id}"
    if row.indicator not in ind_col:
        return f"unknown indicator {row.indicator!r} for edition {edition.id}"
    try:
        level = int(row.level)
    except ValueError:
        return f"level {row.level!r} is not a whole number" if row.level else "missing level"
    top = edition.indicator(row.indicator).top
    if level < 0:
        return f"level {level} is negative; levels run from 0 (no evidence) to {top}"
    if level > top:
        return f"level {level} is above the top of the {row.indicator} ladder ({top})"
    if (row.city, row.indicator) in first_seen:
        return f"a level for this city and indicator was already given at {first_seen[(row.city, row.indicator)]}"
    return None


def _csv_rows(path: Path) -> list[_Row]:
    where, header, rows = read_rows(path)
    index = _header_index(header, path, where)
    return [_row(cells, index, f"line {n}") for n, cells in rows]


def _excel_rows(path: Path) -> list[_Row]:
    from openpyxl import load_workbook

    try:
        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
    except FileNotFoundError:
        raise DataError(path, "", "file not found") from None
    except Exception as e:  # openpyxl raises several types for a file that is not a workbook
        raise DataError(path, "", f"not a readable Excel workbook ({e})") from None
    table = [(n, ["" if v is None else str(v).strip() for v in values])
             for n, values in enumerate(sheet.iter_rows(values_only=True), 1)]
    table = [(n, cells) for n, cells in table if any(cells) and not cells[0].startswith("#")]
    if not table:
        raise DataError(path, "", "no rows")
    index = _header_index(table[0][1], path, f"{sheet.title}!row {table[0][0]}")
    return [_row([_whole(c) for c in cells], index, f"{sheet.title}!row {n}") for n, cells in table[1:]]


def _whole(cell: str) -> str:
    """Excel stores 3 as 3.0 when typed as a number; read it back as the level it is."""
    return cell[:-2] if cell.endswith(".0") and cell[:-2].lstrip("-").isdigit() else cell


def _header_index(header: list[str], path: Path, where: str) -> dict[str, int]:
    missing = [h for h in REQUIRED if h not in header]
    if missing:
        raise DataError(path, where, f"header must contain {','.join(REQUIRED)}; missing {', '.join(missing)}")
    return {h: header.index(h) for h in (*REQUIRED, "edition") if h in header}


def _row(cells: list[str], index: dict[str, int], where: str) -> _Row:
    def cell(name: str) -> str:
        n = index.get(name)
        return cells[n].strip() if n is not None and n < len(cells) else ""

    return _Row(where, cell("city"), cell("indicator"), cell("level"), cell("edition") or None)


# --- from the record --------------------------------------------------------------------------

def levels_from_record(session: Session, edition: Edition, cities: tuple[City, ...], registry: Registry,
                       source: str) -> LevelTable:
    """The levels the review confirmed (`review.decisions`: round 2 agreeing with round 1, or the author's
    round 3) for `cities`, checked like a file: a bad level names its decision."""
    scored = {c.id for c in cities}
    rows = [_Row(f"decision #{c.decision_id}", city, indicator, str(c.level))
            for (city, indicator), c in sorted(confirmations(session, edition.id).items()) if city in scored]
    return build_table(rows, edition, cities, registry, source)


def levels_from_database(database_url: str, edition: Edition, cities: tuple[City, ...],
                         registry: Registry) -> LevelTable:
    """`levels_from_record` in a session of its own (`evidence score` without --levels)."""
    with session_scope(database_url) as session:
        return levels_from_record(session, edition, cities, registry, f"database {_safe(database_url)}")


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
