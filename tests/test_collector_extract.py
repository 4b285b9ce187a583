"""Turning bodies into text: encodings (declared, wrongly declared, undeclared), languages, PDFs, failures."""

from __future__ import annotations

import re

import pytest

from collector.extract import ExtractionError, extract, normalise_language
from collector.sample import SAMPLE

PAGE = ("<html{lang}><head>{meta}<title>{title}</title></head><body><nav>Home | News | Contact</nav>"
        "<article><h1>{title}</h1><p>{body}</p><p>{body}</p></article><footer>(c) 2023</footer></body></html>")
TEXTS = {
    "zh": ("关于加快推进千兆光网建设的通知", "全市已实现光纤到户全覆盖，千兆宽带已在全市规模商用，家庭千兆宽带用户达到七十一万户。"),
    "ru": ("О развитии сетей связи", "В городе Москве построено более двадцати тысяч базовых станций, гигабитный доступ получили девять из десяти квартир."),
    "ar": ("العدادات الذكية", "أعلنت الشركة اكتمال تركيب العدادات الذكية لجميع المشتركين في المدينة وعددهم نحو مليوني مشترك سكني وتجاري."),
    "ja": ("防災訓練の実施結果", "九都県市は都県境を越えて被災地を支援する水平的な応援体制を常設しており、本日合同防災訓練を実施しました。"),
    "zh-hant": ("關於加快推進光纖網路建設的通知", "全市已實現光纖到戶全覆蓋，十億位元寬頻已在全市規模商用，家庭用戶達到七十一萬戶。"),
    "de": ("Gigabit für Berlin", "Der Senat hat beschlossen, den Ausbau der Glasfasernetze in allen Bezirken bis zum Jahr 2030 zu beschleunigen."),
}


def page(language: str, meta: str = "", lang_attr: bool = False) -> str:
    title, body = TEXTS[language]
    return PAGE.format(lang=f" lang='{language}'" if lang_attr else "", meta=meta, title=title, body=body)


@pytest.mark.parametrize("language,codec", [("zh", "gbk"), ("zh-hant", "big5"), ("ru", "koi8-r"),
                                            ("ar", "windows-1256"), ("ja", "shift_jis")])
def test_a_legacy_charset_in_the_header_is_trusted(language, codec):
    text = page(language)
    found = extract(text.encode(codec), f"text/html; charset={codec}", "http://gov.example/notice.html")
    title = re.search("<title>(.*)</title>", text).group(1)
    assert title in found.text and "\ufffd" not in found.text


@pytest.mark.parametrize("language,codec", [("zh", "gbk"), ("ru", "koi8-r"), ("ja", "shift_jis")])
def test_the_page_s_own_meta_charset_is_used_when_the_header_has_none(language, codec):
    text = page(language, meta=f"<meta charset='{codec}'>")
    found = extract(text.encode(codec), "text/html", "http://gov.example/notice.html")
    assert TEXTS[language][1][:20] in found.text


@pytest.mark.parametrize("language,codec", [("ru", "windows-1251"), ("zh", "gb18030"), ("ar", "windows-1256")])
def test_undeclared_or_wrongly_declared_encodings_are_detected(language, codec):
    body = page(language).encode(codec)
    for content_type in ("text/html", "text/html; charset=utf-8"):  # none, and a server that lies
        found = extract(body, content_type, "http://gov.example/page.html")
        assert TEXTS[language][1][:20] in found.text, (content_type, found.charset)


@pytest.mark.parametrize("language", ["ar", "de", "ja", "ru", "zh"])
def test_language_is_identified_when_the_page_does_not_declare_it(language):
    found = extract(page(language).encode("utf-8"), "text/html; charset=utf-8", "http://gov.example/")
    assert (found.language, found.language_source) == (language, "detected")
    declared = extract(page(language, lang_attr=True).encode("utf-8"), "text/html", "http://gov.example/")
    assert (declared.language, declared.language_source) == (language, "declared")


def test_language_tags_are_normalised():
    assert [normalise_language(t) for t in ("zh-CN", "EN_gb", "ar", "", None, "x")] == ["zh", "en", "ar", None, None, None]


def test_sample_pdfs_give_clean_text_and_their_declared_language():
    pdfs = sorted((SAMPLE / "sites").rglob("*.pdf"))
    assert len(pdfs) >= 8
    for pdf in pdfs:
        found = extract(pdf.read_bytes(), "application/pdf", pdf.name)
        assert found.kind == "pdf" and len(found.text) > 200 and found.title
        assert found.language_source == "declared" and found.meta["pages"] >= 1
        odd = [ch for ch in found.text if "\u2e80" <= ch <= "\u2fdf" or "\ufb50" <= ch <= "\ufeff"]
        assert odd == [], f"{pdf}: radicals or presentation forms left: {odd[:5]}"


def test_what_cannot_be_read_is_an_extraction_error_with_the_reason():
    with pytest.raises(ExtractionError, match=r"^corrupt PDF"):
        extract(b"%PDF-1.7\n1 0 obj <<", "application/pdf", "x.pdf")
    with pytest.raises(ExtractionError, match=r"^unsupported content type image/png$"):
        extract(b"\x89PNG\r\n", "image/png", "x.png")
    with pytest.raises(ExtractionError, match=r"^no text in the page$"):
        extract(b"<html><body><nav></nav></body></html>", "text/html", "x.html")


def test_html_metadata_title_and_date():
    html = page("de").replace("<head>", "<head><meta property='article:published_time' content='2023-03-14'>")
    found = extract(html.encode(), "text/html; charset=utf-8", "http://gov.example/gigabit.html")
    assert found.title == TEXTS["de"][0] and str(found.published_on) == "2023-03-14"
    assert "Home | News" not in found.text  # navigation is boilerplate, not text
