"""Errors that name the place where bad input was found (file, field, row, URL)."""

from __future__ import annotations

from pathlib import Path


class EvidenceError(Exception):
    """Base class: every error the tool raises on purpose. The English text is the error; `worded` names the
    review app's message for it (review/web/messages.yaml), so a page can say it in the reader's language."""

    key: str | None = None
    values: dict[str, object] | None = None

    def worded(self, key: str, **values: object) -> EvidenceError:
        self.key, self.values = key, values
        return self


class DataError(EvidenceError):
    """Bad input data: names the file and where in it (a field path or a row number)."""

    def __init__(self, source: str | Path, where: str, problem: str):
        self.source = str(source)
        self.where = where
        self.problem = problem
        super().__init__(f"{self.source}: {where}: {problem}" if where else f"{self.source}: {problem}")


class DataErrors(EvidenceError):
    """Several problems in one file: the file is rejected whole and every problem is listed."""

    def __init__(self, errors: list[DataError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def pydantic_location(loc: tuple) -> str:
    """Render a pydantic error location like ('indicators', 3, 'rungs', 0, 'level') as indicators[3].rungs[0].level."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
