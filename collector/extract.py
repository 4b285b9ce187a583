"""From a response body to a document's text and metadata: HTML with trafilatura, PDF with pypdf.

Encodings: the HTTP header's charset is trusted, then a BOM, then the page's own <meta charset> (w3lib's
order, which is the browsers'); only a page that declares nothing, or whose declaration turns its text into
replacement characters, is detected (charset-normalizer). Language: declared (<html lang>, Content-Language,
a PDF's /Lang) wins; otherwise py3langid identifies it (its model ships inside the package: nothing is
downloaded at run time).
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
import py3langid
import trafilatura
from charset_normalizer import from_bytes
from pypdf import PdfReader
from w3lib.encoding import html_to_unicode
from w3lib.html import strip_html5_whitespace
from w3lib.url import safe_url_string

from collector.ocr import OcrError, OcrLimits, ocr_pdf
from collector.office import OfficeError, office_kind, office_text

logging.getLogger("pypdf").setLevel(logging.ERROR)  # font warnings on every CJK page say nothing to a user

HTML_TYPES = ("text/html", "application/xhtml+xml")
# CJK fonts map some simplified characters to radical code points that NFKC leaves alone (民 -> U+2EA0)
RADICALS = str.maketrans("\u2ea0\u2ed3\u2ed4\u2ecb\u2ec5\u2ec6\u2ec4\u2ed8\u2edb\u2eda\u2edc\u2edd\u2ee2\u2ee5"
                         "\u2ee6\u2ee8\u2ee9\u2eec\u2eee\u2ef0\u2ec9\u2ec8\u2ec1\u2ed7\u2ed9\u2ee3\u2ee4\u2ea9"
                         "\u2ed1\u2e93\u2e81\u2e87",
                         "民长门车见角西青风页飞食马鱼鸟麦黄齐齿龙贝讠虎雨韦骨鬼王長幺厂几")
# dates found by htmldate's extensive search are mostly copyright years; a wrong date is worse than none
DATE_PARAMS = {"extensive_search": False, "original_date": True}


UNREAD = "pages left unread"  # the text layer reached the character limit before the last page


class ExtractionError(Exception):
    """The body could not be turned into text; the message is the reason recorded with the fetch."""


@dataclass
class Extraction:
    text: str
    kind: str  # html | pdf | text | docx | xlsx | pptx | odt | ods | odp | doc | xls | ppt
    title: str | None = None
    published_on: date | None = None
    language: str | None = None
    language_source: str | None = None  # declared | detected
    charset: str | None = None
    meta: dict = field(default_factory=dict)
    cut: str | None = None  # why the text stops short of the document's end (the size cap), recorded with the fetch
    # an HTML page's http(s) links, absolute, in page order: read from the tree parsed here, so the crawl
    # process does not parse the page a second time to find them
    links: list[str] = field(default_factory=list)


def extract(body: bytes, content_type: str | None, url: str, content_language: str | None = None,
            max_chars: int | None = None, ocr: OcrLimits | None = None) -> Extraction:
    """Text and metadata of a fetched body, its text cut at `max_chars` (the reason in `cut`); a PDF without a
    text layer is read by OCR within `ocr` (pages 0: not at all); raises ExtractionError with the reason it
    cannot."""
    found = _extract(body, content_type, url, content_language, max_chars, ocr or OcrLimits())
    if max_chars is not None and (found.cut == UNREAD or len(found.text) > max_chars):
        found.text = found.text[:max_chars]
        found.cut = f"text cut at {max_chars:,} characters (the per-document limit)"
    return found


def _extract(body: bytes, content_type: str | None, url: str, content_language: str | None,
             max_chars: int | None, ocr: OcrLimits) -> Extraction:
    media = (content_type or "").split(";")[0].strip().lower()
    if body.startswith(b"%PDF") or media == "application/pdf":
        return extract_pdf(body, max_chars, ocr)
    office = office_kind(body)
    if office is not None:
        return extract_office(body, office, content_language)
    if media in HTML_TYPES or (not media and body.lstrip()[:15].lower().startswith((b"<!doctype", b"<html"))):
        return extract_html(body, content_type, url, content_language)
    if media == "text/plain":
        text, charset = decode(body, content_type)
        return _finish(Extraction(text=text.strip(), kind="text", charset=charset), content_language)
    raise ExtractionError(f"unsupported content type {media or 'none'}")


def decode(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Unicode text and the encoding used (header, BOM, meta, then detection)."""
    encoding, text = html_to_unicode(content_type, body, auto_detect_fun=_detect)
    if text.count("\ufffd") > max(3, len(text) // 200):  # a wrong declaration: the bytes say otherwise
        detected = _detect(body)
        if detected:
            return body.decode(detected, errors="replace"), detected
    return text, encoding


def _detect(body: bytes) -> str | None:
    best = from_bytes(body).best()
    return best.encoding if best else None


def extract_html(body: bytes, content_type: str | None, url: str, content_language: str | None = None) -> Extraction:
    html, charset = decode(body, content_type)
    try:
        tree = lxml.html.document_fromstring(html)
    except (ValueError, lxml.etree.ParserError) as e:
        raise ExtractionError(f"unreadable HTML: {e}") from None
    declared = tree.get("lang") or _meta_language(tree) or content_language
    links = page_links(tree, url, charset)  # before trafilatura, which prunes the tree
    doc: Any = trafilatura.bare_extraction(tree, url=url, with_metadata=True, include_tables=True, favor_recall=True,
                                      date_extraction_params=DATE_PARAMS)
    text = (doc.text if doc else None) or trafilatura.html2txt(html)
    if not text or not text.strip():
        raise ExtractionError("no text in the page")
    found = Extraction(text=text.strip(), kind="html", title=doc.title if doc else None, charset=charset,
                       published_on=_date(doc.date if doc else None),
                       meta={k: v for k, v in {"description": getattr(doc, "description", None),
                                               "sitename": getattr(doc, "sitename", None)}.items() if v},
                       links=links)
    return _finish(found, declared)


def page_links(tree, url: str, encoding: str) -> list[str]:
    """The page's <a>/<area> links as Scrapy's LinkExtractor makes them (whitespace stripped, joined to the
    <base href>, percent-encoded in the page's encoding), http(s) only, each once."""
    base_element = tree.find(".//base[@href]")
    base = urljoin(url, strip_html5_whitespace(base_element.get("href"))) if base_element is not None else url
    links: dict[str, None] = {}
    for element in tree.iter("a", "area"):
        href = element.get("href")
        if href is None:
            continue
        try:
            link = urljoin(url, safe_url_string(urljoin(base, strip_html5_whitespace(href)), encoding=encoding))
        except ValueError:  # a bogus link (an invalid port, an unencodable host): nothing to follow
            continue
        if urlsplit(link).scheme in ("http", "https"):
            links[link] = None
    return list(links)


def _meta_language(tree) -> str | None:
    for meta in tree.iter("meta"):
        if (meta.get("http-equiv") or "").lower() == "content-language" or meta.get("name") == "language":
            return meta.get("content")
    return None


def extract_office(body: bytes, kind: str, content_language: str | None = None) -> Extraction:
    try:
        text, title = office_text(body, kind)
    except OfficeError as e:
        raise ExtractionError(str(e)) from None
    if not text:
        raise ExtractionError(f"no text in the {kind} document")
    return _finish(Extraction(text=unicodedata.normalize("NFC", text), kind=kind, title=title), content_language)


def extract_pdf(body: bytes, max_chars: int | None = None, ocr: OcrLimits | None = None) -> Extraction:
    try:
        reader = PdfReader(io.BytesIO(body))
        if reader.is_encrypted:
            reader.decrypt("")
        pages = _page_texts(reader, max_chars)
        info: dict[str, Any] = dict(reader.metadata or {})
        root: Any = reader.trailer["/Root"]  # the catalogue dictionary, behind an indirect reference
        declared = root.get("/Lang")
    except Exception as e:  # pypdf raises many types on broken files; every one means the same here
        raise ExtractionError(f"corrupt PDF: {type(e).__name__}: {e}") from None
    text = _pdf_text(pages)
    meta: dict[str, Any] = {"pages": len(pages)}
    cut = UNREAD if len(pages) < len(reader.pages) else None
    if not text:
        text, cut = _ocr(body, len(reader.pages), ocr or OcrLimits(), meta)
    if info.get("/CreationDate"):
        meta["pdf_created"] = str(info.get("/CreationDate"))
    return _finish(Extraction(text=text, kind="pdf", title=(info.get("/Title") or None), meta=meta, cut=cut),
                   str(declared) if declared else None)


def _pdf_text(pages: list[str]) -> str:
    # PDF text layers map CJK glyphs to Kangxi radicals and Arabic to presentation forms: NFKC gives the
    # characters a reader (and a search) expects
    return unicodedata.normalize("NFKC", "\n\n".join(p.strip() for p in pages)).translate(RADICALS).strip()


def _ocr(body: bytes, page_count: int, limits: OcrLimits, meta: dict) -> tuple[str, str | None]:
    """A scan's text by OCR; `meta` records that it is OCR text, in which languages, from how many pages."""
    if limits.pages <= 0:
        raise ExtractionError("PDF has no text layer (a scan?) and OCR is off (crawl.ocr_pages = 0)")
    try:
        found = ocr_pdf(body, page_count, limits)
    except OcrError as e:
        raise ExtractionError(f"PDF has no text layer and OCR failed: {e}") from None
    text = _pdf_text(found.pages)
    if not text and found.cut:
        raise ExtractionError(f"PDF has no text layer; {found.cut}")
    if not text:
        raise ExtractionError(f"PDF has no text layer, and OCR ({found.packs}) found no text in it")
    meta.update({"ocr": True, "ocr_languages": found.packs, "ocr_pages": len(found.pages)})
    return text, found.cut


def _page_texts(reader: PdfReader, max_chars: int | None) -> list[str]:
    """Each page's text, stopping once `max_chars` are in hand: pages sharing one huge content stream (a PDF
    bomb) would otherwise each parse it again."""
    pages, total = [], 0
    for page in reader.pages:
        pages.append(page.extract_text() or "")
        total += len(pages[-1])
        if max_chars is not None and total >= max_chars:
            break
    return pages


def _finish(found: Extraction, declared: str | None) -> Extraction:
    language = normalise_language(declared)
    if language:
        found.language, found.language_source = language, "declared"
    else:
        found.language, found.language_source = identify_language(found.text), "detected"
    return found


def normalise_language(tag: str | None) -> str | None:
    """'zh-CN' -> 'zh', 'EN_gb' -> 'en'; None for empty or malformed tags."""
    match = re.match(r"\s*([A-Za-z]{2,3})(?:[-_]|\s*$)", tag or "")
    return match.group(1).lower() if match else None


def identify_language(text: str) -> str:
    return py3langid.classify(text[:4000])[0]


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
