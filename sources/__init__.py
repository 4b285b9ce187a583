"""The city registry: who to read. One YAML file per country under `sources/cities/`.

See `sources/cities/README.md` for the format the author extends by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from evidence.datafile import read_yaml, validate
from evidence.errors import DataError, DataErrors
from evidence.vocabulary import City
from frameworks import edition_ids

CITIES_DIR = Path(__file__).resolve().parent / "cities"


class CountryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    country: str
    cities: list[dict]


@dataclass(frozen=True)
class Registry:
    cities: tuple[City, ...]

    def get(self, city_id: str) -> City:
        for city in self.cities:
            if city.id == city_id:
                return city
        raise KeyError(f"no city {city_id!r} in the registry")

    def in_edition(self, edition: str, table: str | None = None) -> list[City]:
        return [c for c in self.cities
                if edition in c.editions and (table is None or table in c.tables_in(edition))]

    def ids(self) -> set[str]:
        return {c.id for c in self.cities}


def read_country_file(path: Path, editions: set[str]) -> list[City]:
    data = validate(CountryFile, read_yaml(path), path)
    cities, errors = [], []
    for n, raw in enumerate(data.cities):
        label = f"cities[{n}]" + (f" ({raw['id']})" if isinstance(raw, dict) and "id" in raw else "")
        try:
            city = validate(City, {"country": data.country, **raw}, path, prefix=label)
        except DataErrors as e:
            errors.extend(e.errors)
            continue
        for edition in city.editions:
            if edition not in editions:
                known = ", ".join(sorted(editions))
                errors.append(DataError(path, f"{label}.editions", f"unknown edition {edition!r}; known: {known}"))
        cities.append(city)
    if errors:
        raise DataErrors(errors)
    return cities


def read_registry(directory: Path = CITIES_DIR, editions: set[str] | None = None,
                  extra: tuple[Path, ...] = ()) -> Registry:
    """Load every country file of the shipped folder and then of the user's folders; any broken file
    rejects the registry, listing every problem (a user's city may not reuse a shipped id)."""
    editions = editions if editions is not None else set(edition_ids())
    cities: list[City] = []
    where: dict[str, Path] = {}
    errors: list[DataError] = []
    for folder in extra:
        if not folder.is_dir():
            errors.append(DataError(folder, "EVIDENCE_REGISTRY_DIRS", "not a folder"))
    files = [p for folder in (directory, *extra) if folder.is_dir() for p in sorted(folder.glob("*.yaml"))]
    for path in files:
        try:
            found = read_country_file(path, editions)
        except DataErrors as e:
            errors.extend(e.errors)
            continue
        except DataError as e:
            errors.append(e)
            continue
        for city in found:
            if city.id in where:
                errors.append(DataError(path, f"city {city.id}", f"id already used in {where[city.id].name}"))
            where.setdefault(city.id, path)
        cities.extend(found)
    if errors:
        raise DataErrors(errors)
    return Registry(tuple(cities))


def load_registry() -> Registry:
    """The shipped registry with the user's folders (setting `registry_dirs`) layered over it."""
    from evidence.settings import load_settings

    return _registry(tuple(p.resolve() for p in load_settings().registry_dirs))


@cache
def _registry(extra: tuple[Path, ...]) -> Registry:
    return read_registry(extra=extra)
