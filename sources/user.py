"""Writing the user's own registry folder (the first of the setting `registry_dirs`): cities and sources added
by command instead of by hand.

Every write is checked by loading the whole registry as it would be after the write (`read_registry` with the
new file content in place of the old), so a command accepts exactly what the YAML loader accepts and fails
with the same errors, naming the file and field. Nothing is written unless all of it is valid; the file is
replaced atomically, so a failed or interrupted write leaves the previous file as it was.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import yaml

from evidence.datafile import read_yaml
from evidence.errors import DataError, EvidenceError
from sources import Registry, read_registry

HEADER = ("# Written by `evidence cities add` / `evidence sources add|import` (format: sources/cities/README.md).\n"
          "# The commands rewrite this file: a comment added here by hand is not kept.\n")


def user_folder(dirs: list[Path]) -> Path:
    """The folder commands write to: the first of `registry_dirs`."""
    if not dirs:
        raise EvidenceError("no user registry folder to write to: set EVIDENCE_REGISTRY_DIRS (a JSON list of folders, "
                            "e.g. '[\"/home/me/registry\"]') or `registry_dirs` in evidence.toml")
    folder = dirs[0].resolve()
    if not folder.is_dir():
        raise EvidenceError(f"{folder}: the user registry folder (first of EVIDENCE_REGISTRY_DIRS) is not a folder")
    return folder


def country_path(folder: Path, country: str) -> Path:
    return folder / f"{country.strip().lower()}.yaml"


def current(path: Path, country: str) -> dict:
    """The file's content as it is now, or an empty country file."""
    return read_yaml(path) if path.exists() else {"country": country.strip().upper(), "cities": []}


def with_city(data: dict, city: dict) -> dict:
    return {**data, "cities": [*(data.get("cities") or []), city]}


def with_sources(data: dict, city_id: str, sources: list[dict]) -> dict:
    extra = dict(data.get("sources") or {})
    extra[city_id] = [*(extra.get(city_id) or []), *sources]
    return {**data, "sources": extra}


def check(dirs: list[Path], pending: dict[Path, dict]) -> Registry:
    """The registry as it would be with `pending` written: raises DataErrors, as loading it would."""
    return read_registry(extra=tuple(p.resolve() for p in dirs), pending=pending)


def write(pending: dict[Path, dict]) -> None:
    """Write the checked files, each atomically (the next `load_registry()` reads them)."""
    for path, data in pending.items():
        text = HEADER + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def add_city(dirs: list[Path], country: str, city: dict) -> Path:
    """Add a city (its fields as in a country file, without `country`) to the user's file of its country."""
    if not re.fullmatch(r"[A-Za-z]{2}", country.strip()):
        raise DataError("--country", country, "expected an ISO 3166-1 alpha-2 code such as SA or CN")
    path = country_path(user_folder(dirs), country)
    pending = {path: with_city(current(path, country), city)}
    check(dirs, pending)
    write(pending)
    return path


def add_sources(dirs: list[Path], registry: Registry, sources: list[tuple[str, dict]]) -> list[Path]:
    """Add sources ((city id, fields as in a country file)) to the user's country files of their cities."""
    folder = user_folder(dirs)
    pending: dict[Path, dict] = {}
    for city_id, source in sources:
        city = registry.get(city_id)
        path = country_path(folder, city.country)
        pending[path] = with_sources(pending.get(path) or current(path, city.country), city_id, [source])
    check(dirs, pending)
    write(pending)
    return sorted(pending)
