"""CSV files written by hand (levels, transcribed tables): `#` comments and blank lines skipped,
a byte-order mark tolerated, and every row kept with its line number so errors can name it."""

from __future__ import annotations

import csv
from pathlib import Path

from evidence.errors import DataError


def read_rows(path: Path) -> tuple[str, list[str], list[tuple[int, list[str]]]]:
    """Where the header is ("line N"), its stripped cells, and (line number, cells) of each data row."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(path, "", "file not found") from None
    except UnicodeDecodeError as e:
        raise DataError(path, "", f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise DataError(path, "", "no rows")
    header = [h.strip() for h in next(csv.reader([lines[0][1]]))]
    return f"line {lines[0][0]}", header, [(n, next(csv.reader([line]))) for n, line in lines[1:]]
