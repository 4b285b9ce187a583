"""A list of sources to import (`evidence sources import FILE`): CSV with a header line, or YAML
`sources: [{city, url, kind, ...}]`, the fields of a registry source plus the city's id.

The whole file is checked before anything is written, each row against the registry's own `Source` model:
one bad row rejects the file, and every problem is listed with its row and field.
"""

from __future__ import annotations

import re
from pathlib import Path

from evidence.datafile import read_csv, read_yaml, validate
from evidence.errors import DataError, DataErrors
from evidence.vocabulary import Source
from sources import Registry

LIST_FIELDS = ("allowed_domains",)  # a CSV cell holding several values, separated by spaces, commas or semicolons


def read_rows(path: Path) -> list[tuple[str, dict]]:
    """(row label, fields) for each row of the file, as written (nothing validated yet)."""
    if path.suffix.lower() == ".csv":
        # line 1 is the header: the first row is line 2, as an editor shows it
        return [(f"line {n}", _csv_fields(row)) for n, row in enumerate(read_csv(path), start=2)]
    if path.suffix.lower() in (".yaml", ".yml"):
        data = read_yaml(path)
        rows = data.get("sources")
        if set(data) != {"sources"} or not isinstance(rows, list):
            raise DataError(path, "(top level)", "expected one key, `sources:`, holding a list of sources")
        return [(f"sources[{n}]", row if isinstance(row, dict) else {"": row}) for n, row in enumerate(rows)]
    raise DataError(path, "", "expected a .csv or a .yaml file")


def _csv_fields(row: dict) -> dict:
    """A CSV row's non-empty cells; list cells split. (A cell beyond the header is kept under key None,
    which the model then rejects as an unknown field.)"""
    fields = {str(k) if k is not None else "(cell beyond the header)": v for k, v in row.items()
              if v not in (None, "", [])}
    for name in LIST_FIELDS:
        if name in fields:
            fields[name] = [d for d in re.split(r"[\s,;]+", fields[name]) if d]
    return fields


def checked_rows(path: Path, registry: Registry) -> list[tuple[str, dict]]:
    """(city id, source fields) for every row, after checking all of them; DataErrors names each bad row."""
    out, errors = [], []
    for label, fields in read_rows(path):
        source = {k: v for k, v in fields.items() if k != "city"}
        city = fields.get("city")
        if not city:
            errors.append(DataError(path, f"{label}.city", "Field required"))
        elif city not in registry.ids():
            errors.append(DataError(path, f"{label}.city", f"no city {city!r} in the registry (add it with "
                                                           "`evidence cities add`)"))
        try:
            out.append((str(city), as_written(validate(Source, source, path, prefix=label))))
        except DataErrors as e:
            errors.extend(e.errors)
    if errors:
        raise DataErrors(errors)
    if not out:
        raise DataError(path, "", "no sources in the file")
    return out


def as_written(source: Source) -> dict:
    """The source as a registry file holds it: its URL and kind, then what differs from the defaults."""
    return {"url": source.url, "kind": source.kind, **source.model_dump(mode="json", exclude_defaults=True)}
