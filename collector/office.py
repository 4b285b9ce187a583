"""Office documents to text: Word, Excel, PowerPoint and OpenDocument, current and legacy formats.

The format is read from the bytes (a ZIP's part names, an OLE2 file's stream names), not from the URL or the
Content-Type, which portals often get wrong (`application/octet-stream`, `.doc` for a .docx). Libraries:
python-docx and python-pptx (OOXML text and tables, in document order), python-calamine (every spreadsheet
format: xlsx, xls, ods), odfdo (OpenDocument text and presentations); the legacy binary Word and PowerPoint
formats through Debian's catdoc / catppt, which no maintained Python library reads.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
import zipfile
from pathlib import Path

MAX_UNZIPPED = 200 * 1024 * 1024  # a document's parts, uncompressed: more is a ZIP bomb, not a policy paper
LEGACY_SECONDS = 30.0
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODF_KINDS = {"application/vnd.oasis.opendocument.text": "odt",
             "application/vnd.oasis.opendocument.spreadsheet": "ods",
             "application/vnd.oasis.opendocument.presentation": "odp"}
OOXML_PARTS = {"word/document.xml": "docx", "xl/workbook.xml": "xlsx", "ppt/presentation.xml": "pptx"}
# an OLE2 file's directory names its streams in UTF-16: the Word, Excel and PowerPoint ones tell the format
OLE_STREAMS = {"WordDocument": "doc", "Workbook": "xls", "Book": "xls", "PowerPoint Document": "ppt"}
# the types and extensions the spider follows (Scrapy skips them by default)
EXTENSIONS = ("doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp")


class OfficeError(Exception):
    """The document could not be read; the message is the reason recorded with the fetch."""


def office_kind(body: bytes) -> str | None:
    """docx, xlsx, pptx, odt, ods, odp, doc, xls or ppt, from the bytes; None for anything else."""
    if body.startswith(OLE_MAGIC):
        head = body[:1 << 20]
        return next((kind for name, kind in OLE_STREAMS.items() if name.encode("utf-16-le") in head), None)
    if not body.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            names = set(z.namelist())
            if "mimetype" in names:
                return ODF_KINDS.get(z.read("mimetype")[:100].decode("ascii", "replace").strip())
    except (zipfile.BadZipFile, OSError):
        return None
    return next((kind for part, kind in OOXML_PARTS.items() if part in names), None)


def office_text(body: bytes, kind: str) -> tuple[str, str | None]:
    """(text, title) of an office document of that kind; OfficeError with the reason it cannot."""
    if kind in ("doc", "ppt"):
        return _legacy(body, kind), None
    if kind != "xls":
        _refuse_bombs(body)
    try:
        return READERS[kind](body)
    except OfficeError:
        raise
    except Exception as e:  # each library raises its own types on a broken file; all mean the same here
        raise OfficeError(f"unreadable {kind}: {type(e).__name__}: {e}") from None


def _refuse_bombs(body: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        size = sum(i.file_size for i in z.infolist())
    if size > MAX_UNZIPPED:
        raise OfficeError(f"its parts unzip to {size:,} bytes (more than {MAX_UNZIPPED:,}): refused as a ZIP bomb")


def _docx(body: bytes) -> tuple[str, str | None]:
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(body))
    blocks = [_rows(block.rows) if isinstance(block, Table) else block.text
              for block in document.iter_inner_content()]
    return _joined(blocks), document.core_properties.title or None


def _rows(rows) -> str:
    """A table, one line per row, cells separated by ' | ' (a merged cell is given once)."""
    lines = []
    for row in rows:
        cells: list[str] = []
        for cell in row.cells:
            text = cell.text.strip()
            if not cells or text != cells[-1]:
                cells.append(text)
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def _pptx(body: bytes) -> tuple[str, str | None]:
    from pptx import Presentation

    deck = Presentation(io.BytesIO(body))
    blocks = []
    for slide in deck.slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                blocks.append(shape.text_frame.text)
            elif getattr(shape, "has_table", False) and shape.has_table:
                blocks.append(_rows(shape.table.rows))
    return _joined(blocks), deck.core_properties.title or None


def _spreadsheet(body: bytes) -> tuple[str, str | None]:
    """Each sheet under its name, one line per non-empty row."""
    from python_calamine import load_workbook

    book = load_workbook(io.BytesIO(body))
    blocks = []
    for name in book.sheet_names:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=True)
        lines = [" | ".join(_cell(c) for c in row) for row in rows if any(_cell(c) for c in row)]
        if lines:
            blocks.append(f"{name}\n" + "\n".join(lines))
    return _joined(blocks), None


def _cell(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # calamine reads every number as a float: 2024, not 2024.0
    return str(value).strip()


def _odf(body: bytes) -> tuple[str, str | None]:
    import odfdo

    document = odfdo.Document(io.BytesIO(body))
    return document.get_formatted_text().strip(), document.meta.title or None


def _legacy(body: bytes, kind: str) -> str:
    """Word 97-2003 / PowerPoint 97-2003 through catdoc / catppt (Debian's catdoc package), time-bound."""
    tool = {"doc": "catdoc", "ppt": "catppt"}[kind]
    with tempfile.TemporaryDirectory(prefix="evidence-office-") as folder:
        path = Path(folder) / f"document.{kind}"
        path.write_bytes(body)
        try:
            done = subprocess.run([tool, "-d", "utf-8", str(path)], check=False, capture_output=True, timeout=LEGACY_SECONDS)
        except FileNotFoundError:
            raise OfficeError(f"{tool} is not installed (Debian package catdoc: `make system`)") from None
        except subprocess.TimeoutExpired:
            raise OfficeError(f"{tool} took more than {LEGACY_SECONDS:g} s") from None
    if done.returncode != 0:
        raise OfficeError(f"unreadable {kind}: {done.stderr.decode('utf-8', 'replace').strip()[:300]}")
    return done.stdout.decode("utf-8", "replace").strip()


def _joined(blocks: list[str]) -> str:
    return "\n\n".join(b.strip() for b in blocks if b and b.strip())


READERS = {"docx": _docx, "pptx": _pptx, "xlsx": _spreadsheet, "xls": _spreadsheet, "ods": _spreadsheet,
           "odt": _odf, "odp": _odf}
