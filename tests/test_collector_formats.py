"""Every format: the sample's docx, xlsx table and scanned PDFs (Chinese, Arabic) yield their text; pptx and
odt too; OCR is bounded in pages and time and marked in the snapshot; the spider follows office links."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from PIL import Image
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from collector.extract import ExtractionError, extract
from collector.ocr import OcrLimits, city_scripts
from collector.office import MAX_UNZIPPED, office_kind
from evidence.database import session_scope
from evidence.record import Snapshot

DOCUMENTS = Path(__file__).resolve().parents[1] / "sources" / "sample" / "documents"


def read(name: str, **ocr) -> dict:
    found = extract((DOCUMENTS / name).read_bytes(), "application/octet-stream", f"http://x/{name}",
                    ocr=OcrLimits(**ocr))
    return {"text": found.text, "kind": found.kind, "language": found.language, "meta": found.meta, "cut": found.cut}


def test_the_sample_docx_gives_paragraphs_and_table_rows_in_order():
    found = read("digital-plan.docx")
    assert found["kind"] == "docx" and found["language"] == "en"
    text = found["text"]
    assert text.index("Wireless networks") < text.index("Commercial 5G service covers all districts")
    assert "5G base stations | 8,200 | 11,450" in text


def test_the_sample_xlsx_gives_each_sheet_as_rows():
    text = read("indicators.xlsx")["text"]
    assert "Open data\nIndicator | 2022 | 2023\nOpen datasets published | 412 | 655" in text
    assert "Energy\nIndicator | Share\nSmart electricity meters | 87%" in text


def test_a_chinese_scan_is_read_by_ocr_and_marked_as_such():
    found = read("scan-zh.pdf", languages=city_scripts(["zh"], "CN"))
    assert found["kind"] == "pdf" and found["language"] == "zh"
    assert "5G基站" in found["text"] and "一网通办" in found["text"]
    assert found["meta"]["ocr"] is True and found["meta"]["ocr_languages"] == "chi_sim+eng"


def test_an_arabic_scan_is_read_by_ocr():
    found = read("scan-ar.pdf", languages=("ar", "en"))
    assert "شبكة الجيل الخامس" in found["text"] and found["language"] == "ar"
    assert found["meta"]["ocr_languages"] == "ara+eng" and found["meta"]["ocr_pages"] == 1


def test_ocr_is_bounded_in_pages_and_time(tmp_path):
    page = Image.open(_rendered_page(tmp_path)).convert("L")
    pdf = io.BytesIO()
    page.save(pdf, "PDF", resolution=150.0, save_all=True, append_images=[page, page])
    three = pdf.getvalue()
    found = extract(three, "application/pdf", "http://x/three.pdf", ocr=OcrLimits(pages=1, languages=("ar",)))
    assert found.meta["ocr_pages"] == 1 and found.cut == "OCR read the first 1 of 3 pages (the limit)"
    with pytest.raises(ExtractionError, match=r"no text layer; OCR stopped at 0.001 s after 0 pages"):
        extract(three, "application/pdf", "http://x/three.pdf", ocr=OcrLimits(seconds=0.001))
    with pytest.raises(ExtractionError, match="OCR is off"):
        extract(three, "application/pdf", "http://x/three.pdf", ocr=OcrLimits(pages=0))


def _rendered_page(folder: Path) -> Path:
    """The Arabic scan's page as an image (pdftoppm, as OCR renders it)."""
    import subprocess

    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(DOCUMENTS / "scan-ar.pdf"), str(folder / "p")],
                   check=True)
    return folder / "p.png"


def test_pptx_odt_and_ods_give_their_text(tmp_path):
    import odfdo
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Smart mobility"
    slide.placeholders[1].text = "Traffic signals adapt to live flows at 600 junctions."
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(4), Inches(4), Inches(1)).table
    for (r, c), text in {(0, 0): "Line", (0, 1): "Riders", (1, 0): "Metro 1", (1, 1): "410000"}.items():
        table.cell(r, c).text = text
    out = io.BytesIO()
    deck.save(out)
    found = extract(out.getvalue(), None, "http://x/deck.pptx")
    assert found.kind == "pptx" and "Traffic signals adapt to live flows" in found.text and "Metro 1 | 410000" in found.text
    document = odfdo.Document("text")
    document.body.append(odfdo.Paragraph("La ville publie ses données ouvertes sous licence libre."))
    out = io.BytesIO()
    document.save(out)
    found = extract(out.getvalue(), "application/vnd.oasis.opendocument.text", "http://x/plan.odt")
    assert found.kind == "odt" and found.language == "fr" and "données ouvertes" in found.text
    sheet = odfdo.Document("spreadsheet")
    table = odfdo.Table("Budget")
    table.set_values([["Item", "2024"], ["Fibre to schools", 120]])
    sheet.body.append(table)
    out = io.BytesIO()
    sheet.save(out)
    found = extract(out.getvalue(), None, "http://x/budget.ods")
    assert (found.kind, found.text) == ("ods", "Budget\nItem | 2024\nFibre to schools | 120")


def test_office_formats_are_told_by_their_bytes_and_zip_bombs_refused():
    assert office_kind((DOCUMENTS / "digital-plan.docx").read_bytes()) == "docx"
    assert office_kind((DOCUMENTS / "indicators.xlsx").read_bytes()) == "xlsx"
    assert office_kind(b"PK\x03\x04 not a zip") is None and office_kind(b"%PDF-1.7") is None
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w") as part:
            block = b"\0" * (1 << 20)
            for _ in range(MAX_UNZIPPED // len(block) + 1):
                part.write(block)
    with pytest.raises(ExtractionError, match="refused as a ZIP bomb"):
        extract(bomb.getvalue(), None, "http://x/bomb.docx")


def test_the_spider_follows_office_and_scan_links_and_snapshots_say_ocr(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    links = "".join(f'<p><a href="{n}">{n}</a></p>' for n in ("digital-plan.docx", "indicators.xlsx", "scan-zh.pdf"))
    (site / "index.html").write_text(f"<html><head><title>Documents</title></head><body><p>{'Documents. ' * 40}</p>"
                                     f"{links}</body></html>", encoding="utf-8")
    for name in ("digital-plan.docx", "indicators.xlsx", "scan-zh.pdf"):
        (site / name).write_bytes((DOCUMENTS / name).read_bytes())
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sources = tmp_path / "sources.yaml"
    sources.write_text(yaml.safe_dump({"sources": [{"city": "shanghai", "url": f"http://127.0.0.1:{server.server_address[1]}/",
                                                    "allow_private": True, "provenance": "loopback"}]}), encoding="utf-8")
    database = f"sqlite:///{tmp_path / 'e.db'}"
    monkeypatch.chdir(tmp_path)
    env = {"EVIDENCE_DATA_DIR": str(tmp_path / "data"), "EVIDENCE_DATABASE_URL": database, "EVIDENCE_CRAWL_DELAY": "0"}
    try:
        result = CliRunner().invoke(app, ["crawl", "--edition", "g20-2023", "--city", "shanghai", "--sources",
                                          str(sources), "--json"], env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["new_snapshots"] == 4
    with session_scope(database) as s:
        kinds = {snap.url.rsplit("/", 1)[1]: snap.meta for snap in s.scalars(select(Snapshot))}
        scan = s.scalars(select(Snapshot).where(Snapshot.url.endswith("scan-zh.pdf"))).one()
        assert "5G基站" in scan.text
    assert kinds["digital-plan.docx"]["kind"] == "docx" and kinds["indicators.xlsx"]["kind"] == "xlsx"
    assert kinds["scan-zh.pdf"]["ocr"] is True and kinds["scan-zh.pdf"]["ocr_languages"] == "chi_sim+eng"
