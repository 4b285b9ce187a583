"""Expert weights: the author's panel as `expert,group,indicator,weight` rows, aggregated per indicator.

The reports do not say how the panel's weights were combined; the mean is the default, median and
trimmed mean are offered, and every indicator's spread is reported so disagreement is visible.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from scipy import stats

from evidence.errors import DataError, DataErrors
from evidence.vocabulary import Edition

HEADER = ["expert", "group", "indicator", "weight"]
Method = Literal["mean", "median", "trimmed"]
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class ExpertWeights:
    """The panel's raw weights: one row per expert, one column per indicator (edition order)."""

    edition: str
    experts: list[str]
    groups: list[str]          # the group of each expert, same order as `experts`
    indicators: list[str]
    matrix: np.ndarray         # shape (experts, indicators)
    source: str


@dataclass(frozen=True)
class IndicatorWeight:
    indicator: str
    weight: float
    std: float
    minimum: float
    maximum: float
    q1: float
    q3: float
    experts: int


def example_weights_path(edition: str) -> Path:
    return WEIGHTS_DIR / f"example-weights-{edition}.csv"


def read_weights(path: Path, edition: Edition) -> ExpertWeights:
    """Parse and check a panel file; every bad row is reported by line number, the file is rejected whole."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(path, "", "file not found") from None
    except UnicodeDecodeError as e:
        raise DataError(path, "", f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    except IsADirectoryError:
        raise DataError(path, "", "a folder, not a weights file") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise DataError(path, "", "no rows")
    header_line, header = lines[0][0], next(csv.reader([lines[0][1]]))
    if [h.strip() for h in header] != HEADER:
        raise DataError(path, f"line {header_line}", f"header must be {','.join(HEADER)}, got {','.join(header)}")

    known = [i.id for i in edition.indicators]
    errors: list[DataError] = []
    values: dict[tuple[str, str], float] = {}
    group_of: dict[str, str] = {}
    for n, line in lines[1:]:
        row = next(csv.reader(io.StringIO(line)))
        where = f"line {n}"
        if len(row) != 4:
            errors.append(DataError(path, where, f"expected 4 fields, got {len(row)}"))
            continue
        expert, group, indicator, raw = (c.strip() for c in row)
        problem = _row_problem(expert, group, indicator, raw, edition, known, group_of, values)
        if problem:
            errors.append(DataError(path, f"{where} (expert {expert or '?'}, indicator {indicator or '?'})", problem))
            continue
        group_of[expert] = group
        values[(expert, indicator)] = float(raw)

    experts = sorted(group_of)
    for expert in experts:
        for indicator in known:
            if (expert, indicator) not in values:
                errors.append(DataError(path, f"expert {expert}", f"missing weight for indicator {indicator}"))
    if errors:
        raise DataErrors(errors)
    matrix = np.array([[values[(e, i)] for i in known] for e in experts], dtype=float)
    _check_magnitude(path, matrix, np.array([i.top for i in edition.indicators], dtype=float))
    return ExpertWeights(edition.id, experts, [group_of[e] for e in experts], known, matrix, str(path))


def _check_magnitude(path: Path, matrix: np.ndarray, tops: np.ndarray) -> None:
    """Weights so large that a city's total (Σ level × weight, at most Σ top × weight) or the panel's sums
    overflow would make every total NaN or infinite, and such totals would still be ranked: refused."""
    with np.errstate(over="ignore", invalid="ignore"):
        worst = float((matrix.max(axis=0) * tops).sum())
        sums = matrix.sum(axis=0)
    if not math.isfinite(worst) or not np.isfinite(sums).all():
        raise DataError(path, "weights", f"too large: the totals would overflow (the largest weight is "
                                         f"{matrix.max():g}); scale the panel's weights down")


def _row_problem(expert, group, indicator, raw, edition, known, group_of, values) -> str | None:
    if not expert:
        return "empty expert"
    if group not in edition.panel.groups:
        return f"unknown group {group!r}; the {edition.id} panel has {', '.join(edition.panel.groups)}"
    if group_of.get(expert, group) != group:
        return f"expert {expert} is already in group {group_of[expert]}"
    if indicator not in known:
        return f"unknown indicator {indicator!r} for edition {edition.id}"
    if not raw:
        return "missing weight"
    try:
        weight = float(raw)
    except ValueError:
        return f"weight {raw!r} is not a number"
    if not math.isfinite(weight) or weight < 0:
        return f"weight {raw} must be a non-negative number"
    if (expert, indicator) in values:
        return "duplicate row for this expert and indicator"
    return None


def combine(matrix: np.ndarray, method: Method = "mean", trim: float = 0.1) -> np.ndarray:
    """Aggregate expert rows (axis -2) into one weight per indicator; works on stacked resamples too."""
    if method == "mean":
        return matrix.mean(axis=-2)
    if method == "median":
        return np.median(matrix, axis=-2)
    if method == "trimmed":
        return stats.trim_mean(matrix, trim, axis=-2)
    raise ValueError(f"unknown aggregation method {method!r}; use mean, median or trimmed")


def aggregate(weights: ExpertWeights, method: Method = "mean", trim: float = 0.1) -> list[IndicatorWeight]:
    m = weights.matrix
    combined = combine(m, method, trim)
    q1, q3 = np.percentile(m, [25, 75], axis=0)
    return [
        IndicatorWeight(ind, float(combined[j]), float(m[:, j].std(ddof=1)) if len(m) > 1 else 0.0,
                        float(m[:, j].min()), float(m[:, j].max()), float(q1[j]), float(q3[j]), len(m))
        for j, ind in enumerate(weights.indicators)
    ]


@dataclass(frozen=True)
class Weights:
    """The panel and the per-indicator weights aggregated from it."""

    panel: ExpertWeights
    vector: np.ndarray           # one weight per indicator, edition order
    method: Method
    example: bool                # True for the invented demo weights shipped in frameworks/weights/


def load_weights(edition: Edition, path: Path | None = None, method: Method = "mean", trim: float = 0.1) -> Weights:
    """The author's panel from `path`, or the edition's example weights when no file is given."""
    source = path or example_weights_path(edition.id)
    if path is None and not source.exists():
        raise DataError(source, "", f"no example weights ship for edition {edition.id}; pass --weights PANEL.csv")
    panel = read_weights(source, edition)
    vector = combine(panel.matrix, method, trim)
    if not (vector > 0).any():  # every total would be 0: every city tied first
        raise DataError(source, "weights", f"every indicator's {method} weight is 0: no city could score above "
                                           "another; give some indicator a positive weight")
    return Weights(panel, vector, method, example=path is None)
