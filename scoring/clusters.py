"""City clusters: named groups of registry cities, compared on their average total and area scores.

The clusters are data (`scoring/clusters/<edition>.yaml`). The 2023 press release names the
clusters but not their members; each file says how its members were chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import Field

from evidence.datafile import read_yaml, validate
from evidence.errors import DataError, DataErrors
from evidence.vocabulary import Edition, Slug, Strict, Text
from scoring.scores import ScoreTable
from sources import Registry

CLUSTERS_DIR = Path(__file__).resolve().parent / "clusters"


class Cluster(Strict):
    id: Slug
    name: Text
    definition: str = Field(min_length=1)   # how the members were chosen
    note: str | None = None
    cities: list[Slug] = Field(min_length=1)


class ClusterFile(Strict):
    edition: Slug
    note: str | None = None
    clusters: list[Cluster] = Field(min_length=1)


@dataclass(frozen=True)
class ClusterComparison:
    clusters: list[Cluster]
    members: list[int]               # members of each cluster present in the scored table
    totals: np.ndarray               # (clusters,) mean total
    area_scores: np.ndarray          # (clusters, areas) mean area scores


def clusters_path(edition: str) -> Path:
    return CLUSTERS_DIR / f"{edition}.yaml"


def read_clusters(path: Path, edition: Edition, registry: Registry) -> list[Cluster]:
    """Load a cluster file: ids unique, every member a registry city of the edition."""
    data = validate(ClusterFile, read_yaml(path), path)
    if data.edition != edition.id:
        raise DataError(path, "edition", f"clusters are for {data.edition}, not {edition.id}")
    in_edition = {c.id for c in registry.in_edition(edition.id)}
    errors, seen = [], set()
    for n, cluster in enumerate(data.clusters):
        if cluster.id in seen:
            errors.append(DataError(path, f"clusters[{n}].id", f"cluster id {cluster.id!r} is used twice"))
        seen.add(cluster.id)
        for m, city in enumerate(cluster.cities):
            if city not in in_edition:
                why = "not in the city registry" if city not in registry.ids() else f"not a city of {edition.id}"
                errors.append(DataError(path, f"clusters[{n}] ({cluster.id}).cities[{m}]", f"{city!r} is {why}"))
    if errors:
        raise DataErrors(errors)
    return data.clusters


def compare(table: ScoreTable, clusters: list[Cluster]) -> ClusterComparison:
    """Mean total and area scores per cluster over its members in the table (a table scored for a
    few cities only covers part of a cluster: `members` says how many; clusters with none are left out)."""
    row = {c.id: n for n, c in enumerate(table.cities)}
    present = [(k, [row[c] for c in k.cities if c in row]) for k in clusters]
    present = [(k, rows) for k, rows in present if rows]
    if not present:
        return ClusterComparison([], [], np.zeros(0), np.zeros((0, len(table.areas))))
    means = np.array([table.area_scores[rows].mean(axis=0) for _, rows in present])
    return ClusterComparison([k for k, _ in present], [len(rows) for _, rows in present], means.sum(axis=1), means)
