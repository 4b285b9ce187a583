"""Edition frameworks as data: one YAML file per edition, validated whole on load.

    >>> from frameworks import load_framework
    >>> load_framework("arab-2024").indicator("wireless-network").rung(2).text.en
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from evidence.datafile import read_yaml, validate
from evidence.errors import DataError
from evidence.vocabulary import Edition
from frameworks.translations import with_translations

FRAMEWORKS_DIR = Path(__file__).resolve().parent


def framework_path(edition: str) -> Path:
    return FRAMEWORKS_DIR / f"{edition}.yaml"


def edition_ids(directory: Path = FRAMEWORKS_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml"))


def read_framework(path: Path) -> Edition:
    """Load and validate one framework file, then with its translations; a broken file (or translation)
    raises naming the file and the field."""
    data = read_yaml(path)
    if "translations" in data:
        raise DataError(path, "translations", "translations live in frameworks/translations/, not in the framework")
    edition = validate(Edition, data, path)  # the framework alone first: its errors name its own fields
    if edition.id != path.stem:
        raise DataError(path, "id", f"edition id {edition.id!r} must match the file name {path.stem!r}")
    translated = with_translations(data, edition.id, path.parent / "translations")
    return validate(Edition, translated, path) if translated["translations"] else edition


@cache
def load_framework(edition: str) -> Edition:
    path = framework_path(edition)
    if not path.exists():
        raise DataError(path, "", f"no framework for edition {edition!r}; known: {', '.join(edition_ids())}")
    return read_framework(path)


def load_all() -> list[Edition]:
    return [load_framework(e) for e in edition_ids()]
