"""Scanned PDFs to text: pages rendered by poppler's pdftoppm, read by Debian's tesseract-ocr.

Bounded: at most `pages` pages, and `seconds` for the whole document (each tool's run gets what is left of
it), so a 500-page scan costs what a short one does. The languages come from the city (its registry
languages, mapped to the installed tesseract packs, English always added); the packs installed are those of
the registry's scripts (SYSTEM_PACKAGES in the Makefile).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# tesseract separates CJK characters by spaces; between two of them a space is never meant
CJK_GAP = re.compile(r"(?<=[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef])[ \t]+(?=[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef])")
ONE_THREAD = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # the extraction pool already uses every core
DPI = 200  # enough for body text; 300 doubles the time for little more accuracy on printed pages
# ISO 639-1 -> tesseract packs; languages without a pack of their own use their script's (Cyrillic: rus)
PACKS = {"zh": ("chi_sim",), "zh-Hant": ("chi_tra",), "ar": ("ara",), "ja": ("jpn",), "ko": ("kor",), "ru": ("rus",),
         "kk": ("rus",), "ky": ("rus",), "tg": ("rus",), "mn": ("rus",), "tt": ("rus",), "uz": ("rus",),
         "fr": ("fra",), "de": ("deu",), "es": ("spa",), "pt": ("por",), "tr": ("tur",), "th": ("tha",),
         "hi": ("hin",), "mr": ("hin",), "ne": ("hin",), "ur": ("urd",), "fa": ("fas",), "el": ("ell",),
         "id": ("ind",), "ms": ("ind",), "vi": ("vie",), "en": ("eng",)}


TRADITIONAL = {"TW", "HK", "MO"}  # where Chinese is written in traditional characters


def city_scripts(languages: list[str], country: str) -> tuple[str, ...]:
    """A city's languages as OCR reads them: Chinese is traditional in Taiwan, Hong Kong and Macau (both packs
    at once make tesseract switch script line by line)."""
    return tuple("zh-Hant" if lang == "zh" and country in TRADITIONAL else lang for lang in languages)


@dataclass(frozen=True)
class OcrLimits:
    pages: int = 20
    seconds: float = 45.0
    languages: tuple[str, ...] = ()  # the city's, ISO 639-1 (and zh-Hant: `city_scripts`)


@dataclass
class OcrText:
    pages: list[str]
    packs: str  # the tesseract languages used, e.g. chi_sim+chi_tra+eng
    cut: str | None = None


class OcrError(Exception):
    """OCR could not run or gave nothing; the message is the reason recorded with the fetch."""


@cache
def installed_packs() -> frozenset[str]:
    try:
        done = subprocess.run(["tesseract", "--list-langs"], check=False, capture_output=True, text=True, timeout=30)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return frozenset()
    return frozenset(line.strip() for line in done.stdout.splitlines()[1:] if line.strip())


def packs_for(languages: tuple[str, ...]) -> str:
    """The tesseract `-l` value for these languages: their installed packs, then English."""
    installed = installed_packs()
    wanted = [p for lang in languages for p in PACKS.get(lang, ()) if p in installed]
    return "+".join(dict.fromkeys([*wanted, "eng"]))


def ocr_pdf(body: bytes, page_count: int, limits: OcrLimits) -> OcrText:
    """The text of each page read (at most `limits.pages`), within `limits.seconds`."""
    if not installed_packs():
        raise OcrError("tesseract is not installed (Debian package tesseract-ocr: `make system`)")
    deadline = time.monotonic() + limits.seconds
    packs = packs_for(limits.languages)
    wanted = min(page_count, limits.pages)
    texts: list[str] = []
    with tempfile.TemporaryDirectory(prefix="evidence-ocr-") as folder:
        pdf = Path(folder) / "scan.pdf"
        pdf.write_bytes(body)
        for number in range(1, wanted + 1):
            image = _render(pdf, number, deadline)
            if image is None:
                return OcrText(texts, packs, f"OCR stopped at {limits.seconds:g} s after {len(texts)} pages")
            text = _read(image, packs, deadline)
            if text is None:
                return OcrText(texts, packs, f"OCR stopped at {limits.seconds:g} s after {len(texts)} pages")
            texts.append(text)
            image.unlink()
    cut = f"OCR read the first {wanted} of {page_count} pages (the limit)" if wanted < page_count else None
    return OcrText(texts, packs, cut)


def _run(args: list[str], deadline: float) -> subprocess.CompletedProcess | None:
    """The tool's run, or None when the document's time is up."""
    left = deadline - time.monotonic()
    if left <= 0:
        return None
    try:
        done = subprocess.run(args, check=False, capture_output=True, timeout=left, env=ONE_THREAD)
    except subprocess.TimeoutExpired:
        return None
    except FileNotFoundError:
        raise OcrError(f"{args[0]} is not installed (`make system`)") from None
    if done.returncode != 0:
        raise OcrError(f"{args[0]} failed: {done.stderr.decode('utf-8', 'replace').strip()[:300]}")
    return done


def _render(pdf: Path, number: int, deadline: float) -> Path | None:
    prefix = pdf.with_name(f"page-{number}")
    if _run(["pdftoppm", "-r", str(DPI), "-gray", "-png", "-singlefile", "-f", str(number), "-l", str(number),
             str(pdf), str(prefix)], deadline) is None:
        return None
    return prefix.with_suffix(".png")


def _read(image: Path, packs: str, deadline: float) -> str | None:
    done = _run(["tesseract", str(image), "stdout", "-l", packs, "--psm", "3"], deadline)
    return None if done is None else CJK_GAP.sub("", done.stdout.decode("utf-8", "replace"))
