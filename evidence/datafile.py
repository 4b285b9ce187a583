"""Reading data files (YAML, CSV) and validating them into the vocabulary, with errors that name the place."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from evidence.errors import DataError, DataErrors, pydantic_location

M = TypeVar("M", bound=BaseModel)


def read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(path, "", "file not found") from None
    except UnicodeDecodeError as e:
        raise DataError(path, "", f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        raise DataError(path, where, f"not valid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict):
        raise DataError(path, "", "expected a mapping at the top level")
    return data


def read_csv(path: Path) -> list[dict]:
    """The rows of a UTF-8 CSV file with a header line, as dicts."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f))
    except FileNotFoundError:
        raise DataError(path, "", "file not found") from None
    except UnicodeDecodeError as e:
        raise DataError(path, "", f"not UTF-8 text ({e.reason} at byte {e.start})") from None


def validate(model: type[M], data: dict, path: Path, prefix: str = "") -> M:
    """Validate `data` as `model`; every problem is reported with the file and the field path."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        errors = []
        for err in e.errors():
            where = pydantic_location((prefix, *err["loc"]) if prefix else tuple(err["loc"]))
            errors.append(DataError(path, where or "(top level)", err["msg"]))
        raise DataErrors(errors) from None
