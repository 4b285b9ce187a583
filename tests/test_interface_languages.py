"""Every string of the interface is in every interface language: templates carry no text of their own
(everything visible comes from the catalogue, `t(...)`, or from the data), and a page rendered in Arabic
or Chinese shows no English sentence of the catalogue."""

from __future__ import annotations

import re
from pathlib import Path

from test_review_web import lite_app, signed_in, sqlite_url  # noqa: F401 (fixtures)

from review.web.i18n import LANGUAGES, catalogue

TEMPLATES = Path(__file__).resolve().parents[1] / "review" / "web" / "templates"
# what a template may write itself: keys of the shortcut list, formats and symbols, not words
ALLOWED = {"CSV", "JSON", "Ctrl", "Enter", "Esc", "j", "k", "o", "a", "c", "r", "e", "n", "q", "u", "B",
           "https://"}
LITERAL_ATTRIBUTES = re.compile(r'\b(?:title|placeholder|alt|aria-label)="([^"{]*[A-Za-z\u4e00-\u9fff][^"{]*)"')


def visible_literals(template: str) -> list[str]:
    text = re.sub(r"\{#.*?#\}|\{% block page %\}.*?\{% endblock %\}", " ", template, flags=re.S)  # page: an id
    bad = [m.group(1) for m in LITERAL_ATTRIBUTES.finditer(text) if m.group(1) not in ALLOWED]
    text = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", " ", text, flags=re.S)
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"&[a-z]+;|&#\d+;", " ", text)
    words = [w for w in re.split(r"[\s·|/,()\[\]:–—→←?0-9.+-]+", text) if w]
    return bad + [w for w in words if re.search(r"[A-Za-z\u4e00-\u9fff\u0600-\u06ff]", w) and w not in ALLOWED]


def test_no_template_writes_a_word_of_its_own():
    found = {p.name: visible_literals(p.read_text(encoding="utf-8")) for p in sorted(TEMPLATES.glob("*.html"))}
    assert {name: words for name, words in found.items() if words} == {}


def test_the_check_catches_a_word_written_into_a_template():
    assert visible_literals("<p>{{ t('x') }} Submitted</p>") == ["Submitted"]
    assert visible_literals('<input placeholder="type here">') == ["type here"]
    assert visible_literals("<p>{{ t('x') }} · CSV</p>") == []


def test_every_message_is_in_every_interface_language_with_the_same_placeholders():
    for key, texts in catalogue().items():
        names = {lang: set(re.findall(r"\{(\w+)\}", texts[lang])) for lang in LANGUAGES}
        assert len({frozenset(n) for n in names.values()}) == 1, f"{key}: placeholders differ {names}"


def english_sentences() -> set[str]:
    """The catalogue's English texts that a translated page must not show (longer than a word or two and
    different from their translations: product names and codes are the same in every language)."""
    out = set()
    for texts in catalogue().values():
        english = texts["en"]
        if "{" not in english and len(english.split()) >= 3 and all(texts[lang] != english for lang in LANGUAGES[1:]):
            out.add(english)
    return out


def test_pages_in_arabic_and_chinese_show_no_english_interface_text(lite_app):  # noqa: F811
    lead = signed_in(lite_app, "lead")
    seeded = lite_app.seeded
    pages = ["/queue", f"/items/{seeded.cairo_5g}", f"/items/{seeded.riyadh}", "/search", "/documents", "/ranking",
             "/progress", "/watch", "/log", "/assignments", "/queue/accept", "/items/99999", "/queue?city=Atlantis"]
    english = english_sentences()
    for lang in LANGUAGES[1:]:
        lead.get(f"/lang/{lang}")
        for path in pages:
            html = lead.get(path).text
            shown = re.sub(r"<[^>]+>", "\n", html)
            leaked = sorted(e for e in english if e in shown)
            assert not leaked, f"{path} in {lang} shows English: {leaked[:5]}"
            assert f'lang="{"zh-CN" if lang == "zh" else lang}"' in html
            assert ('dir="rtl"' in html) == (lang == "ar"), path


def test_errors_of_the_review_are_said_in_the_readers_language(lite_app):  # noqa: F811
    from test_review_web import token, version

    amal = signed_in(lite_app, "amal")
    amal.get("/lang/ar")
    item = lite_app.seeded.riyadh
    page = amal.get(f"/items/{item}").text
    reply = amal.post(f"/items/{item}/decide", data={"csrf_token": token(page), "version": version(page),
                                                      "action": "change", "level": "0"})
    assert reply.status_code == 400 and "تغيير المستوى يحتاج إلى سبب." in reply.text
    assert "needs a reason" not in reply.text
    missing = amal.get("/items/99999")
    assert missing.status_code == 404 and "لا يوجد بند #99999." in missing.text
    unknown = amal.get("/queue", params={"city": "Atlantis"})
    assert unknown.status_code == 400 and "ليست مدينة معروفة هنا" in unknown.text
