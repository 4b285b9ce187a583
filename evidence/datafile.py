"""Reading data files (YAML, CSV) and validating them into the vocabulary, with errors that name the place."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from evidence.errors import DataError, DataErrors, pydantic_location

M = TypeVar("M", bound=BaseModel)
MAX_DEPTH = 64  # levels of nesting a data file may have; the deepest shipped file has 6


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a key given twice in one mapping (the second would silently replace
    the first: a registry file with two `cities:` keys loses every city of the first) and nesting deeper
    than MAX_DEPTH (which would otherwise end in a RecursionError)."""

    depth = 0

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults` may be overridden: not a duplicate
                    continue
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, (str, int, float, bool)) or key is None:
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})", key_node.start_mark)
                    seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> dict:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=StrictLoader)  # a SafeLoader
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
