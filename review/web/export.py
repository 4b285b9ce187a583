"""Downloads of what a page lists (queue, documents, search results, ranking, audit log) as CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from fastapi.responses import Response

from evidence.errors import DataError

FORMATS = ("csv", "json")


def export_format(value: str) -> str:
    """The `format` a page was asked for: empty (the page itself), csv or json; anything else is named."""
    if value and value not in FORMATS:
        raise DataError("format", value, "csv or json")
    return value


def download(rows: Sequence[dict], columns: Sequence[str], fmt: str, name: str) -> Response:
    """`rows` (each a mapping holding `columns`) as an attachment; lists are joined with spaces in CSV."""
    disposition = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    if fmt == "json":
        body = json.dumps([{c: r.get(c) for c in columns} for r in rows], default=str, ensure_ascii=False)
        return Response(body, media_type="application/json", headers=disposition)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for r in rows:
        writer.writerow([" ".join(map(str, v)) if isinstance(v := r.get(c), list | tuple) else v for c in columns])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=disposition)
