"""Write the sample's office documents and scanned PDFs into `documents/` (committed; run again after editing).

- `digital-plan.docx`: a Word plan with headings, paragraphs and a table (python-docx);
- `indicators.xlsx`: a table of figures over two sheets (openpyxl);
- `scan-zh.pdf`, `scan-ar.pdf`: image-only PDFs, as a scanner makes them, of a Chinese and an Arabic notice:
  the text is rendered to a picture with the Noto fonts (Pillow, its libraqm shaping the Arabic script), so
  the PDF has no text layer and only OCR can read it.

    python sources/sample/make_documents.py

Needs Debian's fonts-noto-cjk and fonts-noto-core.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent / "documents"
CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
CJK_SC = 2  # the Simplified Chinese face in the collection (JP, KR, SC, TC, HK)
ARABIC_FONT = "/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf"

ZH = ["上海市智慧城市建设通知", "全市已建成五万个5G基站，", "实现中心城区连续覆盖。", "政务服务一网通办，",
      "市民可在线办理全部事项。"]
AR = ["إعلان أمانة مدينة الرياض", "تم تشغيل شبكة الجيل الخامس", "في جميع أحياء المدينة.",
      "الخدمات البلدية متاحة عبر البوابة الإلكترونية."]


def docx(target: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Digital Infrastructure Plan 2024"
    document.add_heading("Digital Infrastructure Plan 2024", level=1)
    document.add_paragraph("The city government connects every public school to the fibre network by 2025.")
    document.add_heading("Wireless networks", level=2)
    document.add_paragraph("Commercial 5G service covers all districts since March 2024.")
    table = document.add_table(rows=3, cols=3)
    for row, cells in zip(table.rows, [("Network", "2023", "2024"), ("5G base stations", "8,200", "11,450"),
                                       ("Public Wi-Fi hotspots", "1,100", "1,620")]):
        for cell, text in zip(row.cells, cells):
            cell.text = text
    document.save(str(target))


def xlsx(target: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Open data"
    sheet.append(["Indicator", "2022", "2023"])
    sheet.append(["Open datasets published", 412, 655])
    sheet.append(["Data portal visits (thousands)", 930, 1240])
    energy = book.create_sheet("Energy")
    energy.append(["Indicator", "Share"])
    energy.append(["Smart electricity meters", "87%"])
    book.save(target)


def scan(lines: list[str], font_path: str, target: Path, rtl: bool = False, index: int = 0) -> None:
    """An image-only PDF page: the lines drawn in black on white at 150 dpi, saved with no text layer."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(font_path, 44, index=index)
    width, line_height = 1240, 78
    page = Image.new("L", (width, 160 + line_height * len(lines)), 255)
    draw = ImageDraw.Draw(page)
    for n, line in enumerate(lines):
        y = 80 + n * line_height
        if rtl:
            draw.text((width - 80, y), line, font=font, fill=0, anchor="ra", direction="rtl", language="ar")
        else:
            draw.text((80, y), line, font=font, fill=0)
    page.save(target, "PDF", resolution=150.0)


def main() -> None:
    HERE.mkdir(exist_ok=True)
    docx(HERE / "digital-plan.docx")
    xlsx(HERE / "indicators.xlsx")
    scan(ZH, CJK_FONT, HERE / "scan-zh.pdf", index=CJK_SC)
    scan(AR, ARABIC_FONT, HERE / "scan-ar.pdf", rtl=True)
    for path in sorted(HERE.iterdir()):
        print(f"{path.name}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
