"""Render the sample's PDF documents from their HTML sources with headless Chromium.

Each `pdf-src/<city>/<path>.html` becomes `sites/<city>/<path>.pdf`. Chromium shapes
Arabic and CJK text and embeds the fonts, so the PDFs carry a real text layer the
collector must extract, as government PDFs do. Run it after editing a source:

    python sources/sample/make_pdfs.py            # every source
    python sources/sample/make_pdfs.py shanghai   # one city

Needs Debian's chromium and fonts-noto-cjk / fonts-noto-core; the PDFs are committed,
so nothing else needs them.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
]


def render(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}",
             f"--print-to-pdf={target}", source.as_uri()],
            check=True, capture_output=True, timeout=120,
        )
    print(f"{source.relative_to(HERE)} -> {target.relative_to(HERE)}")


def main(cities: list[str]) -> None:
    root = HERE / "pdf-src"
    for source in sorted(root.glob("*/**/*.html")):
        city = source.relative_to(root).parts[0]
        if cities and city not in cities:
            continue
        render(source, HERE / "sites" / source.relative_to(root).with_suffix(".pdf"))


if __name__ == "__main__":
    main(sys.argv[1:])
