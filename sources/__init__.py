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
from evidence.vocabulary import City, Source
from frameworks import edition_ids

CITIES_DIR = Path(__file__).resolve().parent / "cities"


class CountryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    country: str
    cities: list[dict] = []
    # more sources for cities registered in another file (a shipped city), by city id: how a user's folder
    # adds a source to a city it does not define (`evidence sources add`)
    sources: dict[str, list[dict]] = {}


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


@dataclass
class CountryData:
    """One country file's cities, and the sources it adds to cities of other files."""

    cities: list[City]
    extra: dict[str, list[tuple[str, Source]]]  # city id -> (field path, source)


def read_country_file(path: Path, editions: set[str]) -> list[City]:
    return parse_country(read_yaml(path), path, editions).cities


def parse_country(raw_file: dict, path: Path, editions: set[str]) -> CountryData:
    """A country file's content validated; every problem named with the file and the field."""
    data = validate(CountryFile, raw_file, path)
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
    extra: dict[str, list[tuple[str, Source]]] = {}
    for city_id, entries in data.sources.items():
        for n, raw in enumerate(entries):
            try:
                extra.setdefault(city_id, []).append(
                    (f"sources.{city_id}[{n}]", validate(Source, raw, path, prefix=f"sources.{city_id}[{n}]")))
            except DataErrors as e:
                errors.extend(e.errors)
    if errors:
        raise DataErrors(errors)
    return CountryData(cities, extra)


def read_registry(directory: Path = CITIES_DIR, editions: set[str] | None = None,
                  extra: tuple[Path, ...] = (), pending: dict[Path, dict] | None = None) -> Registry:
    """Load every country file of the shipped folder and then of the user's folders; any broken file
    rejects the registry, listing every problem (a user's city may not reuse a shipped id). `pending` is
    file content not yet written (path -> data), read in place of the file: what a write would leave."""
    editions = editions if editions is not None else set(edition_ids())
    pending = pending or {}
    errors: list[DataError] = []
    for folder in extra:
        if not folder.is_dir():
            errors.append(DataError(folder, "EVIDENCE_REGISTRY_DIRS", "not a folder"))
    files = sorted({p for folder in (directory, *extra) if folder.is_dir() for p in folder.glob("*.yaml")}
                   | set(pending), key=lambda p: (_rank(p, directory, extra), p.name))
    parsed: list[tuple[Path, CountryData]] = []
    for path in files:
        try:
            parsed.append((path, parse_country(pending[path] if path in pending else read_yaml(path), path, editions)))
        except DataErrors as e:
            errors.extend(e.errors)
        except DataError as e:
            errors.append(e)
    cities = _merge(parsed, errors)
    if errors:
        raise DataErrors(errors)
    return Registry(tuple(cities))


def _rank(path: Path, directory: Path, extra: tuple[Path, ...]) -> int:
    """The shipped folder first, then the user's folders in their order."""
    folders = [directory, *extra]
    return next((n for n, f in enumerate(folders) if path.parent == f), len(folders))


def _merge(parsed: list[tuple[Path, CountryData]], errors: list[DataError]) -> list[City]:
    """The files' cities in order, each with the sources other files add to it; ids used twice, sources for
    unknown cities and a URL given twice for one city are errors."""
    where: dict[str, Path] = {}
    cities: dict[str, City] = {}
    for path, data in parsed:
        for city in data.cities:
            if city.id in where:
                errors.append(DataError(path, f"city {city.id}", f"id already used in {where[city.id].name}"))
                continue
            where[city.id] = path
            cities[city.id] = city
    seen = {city_id: {s.url for s in city.sources} for city_id, city in cities.items()}
    added: dict[str, list[Source]] = {}
    for path, data in parsed:
        for city_id, entries in data.extra.items():
            if city_id not in cities:
                errors.append(DataError(path, f"sources.{city_id}", f"no city {city_id!r} in the registry"))
                continue
            for label, source in entries:
                if source.url in seen[city_id]:
                    errors.append(DataError(path, f"{label}.url", f"{source.url} is already a source of {city_id}"))
                seen[city_id].add(source.url)
                added.setdefault(city_id, []).append(source)
    return [c.model_copy(update={"sources": [*c.sources, *added[c.id]]}) if c.id in added else c
            for c in cities.values()]


def load_registry() -> Registry:
    """The shipped registry with the user's folders (setting `registry_dirs`) layered over it."""
    from evidence.settings import load_settings

    extra = tuple(p.resolve() for p in load_settings().registry_dirs)
    return _registry(extra, _stamp(extra))


def _stamp(folders: tuple[Path, ...]) -> tuple:
    """What the user's files are now (a file added, edited or removed by hand loads afresh)."""
    return tuple((p, p.stat().st_mtime_ns, p.stat().st_size) for f in folders if f.is_dir() for p in sorted(f.glob("*.yaml")))


@cache
def _registry(extra: tuple[Path, ...], stamp: tuple) -> Registry:
    return read_registry(extra=extra)
