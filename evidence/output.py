"""Terminal output shared by every command: rich tables for people, one JSON document for scripts."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console

console = Console()
errors = Console(stderr=True)
# every list and show command takes --json (the README promises it); one option, one wording
JsonOption = typer.Option(False, "--json", help="Print one JSON document instead of a table.")


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def emit_json(document: Any) -> None:
    """Print exactly one JSON document on stdout (no rich markup, no wrapping)."""
    print(json.dumps(document, ensure_ascii=False, indent=2, default=_plain))
