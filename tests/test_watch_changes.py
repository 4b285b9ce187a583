"""Classifying a change: the sample's own v1/v2 lines, cosmetic against substantive."""

from __future__ import annotations

import re
from pathlib import Path

from lxml import html

from watch.changes import classify, known_lines

SITES = Path(__file__).resolve().parents[1] / "sources" / "sample"


def page_text(path: Path) -> str:
    """The page's paragraphs, one per line (what an extracted snapshot looks like)."""
    tree = html.fromstring(path.read_bytes())
    blocks = tree.xpath("//h1|//h2|//p|//li")
    return "\n".join(re.sub(r"\s+", " ", b.text_content()).strip() for b in blocks)


def test_berlin_footer_date_and_counter_are_cosmetic():
    page = "berlin/sen/wirtschaft/gigabit.html"
    old, new = page_text(SITES / "sites" / page), page_text(SITES / "v2" / "sites" / page)
    assert old != new
    found = classify(old, new)
    assert found.kind == "cosmetic" and not found.added and not found.removed
    assert len(found.cosmetic) == 1 and found.cosmetic[0][0].startswith("Stand:")


def test_sao_paulo_news_list_gains_a_substantive_headline():
    page = "sao-paulo/noticias/index.html"
    old, new = page_text(SITES / "sites" / page), page_text(SITES / "v2" / "sites" / page)
    found = classify(old, new)
    assert found.kind == "substantive"
    assert found.added == [line for line in new.splitlines() if "5G chega aos 96 distritos" in line]
    assert found.cosmetic and found.cosmetic[0][0].startswith("Última atualização")


def test_lines_the_city_already_showed_are_not_news():
    old = "Portal\nÚltimas notícias"
    new = "Portal\nÚltimas notícias\n- 22/02/2023 Sinal 4G chega a 99,7% da área urbana"
    elsewhere = known_lines(["22/02/2023 — Sinal 4G chega a 99,7% da área urbana"])
    assert classify(old, new).kind == "substantive"
    assert classify(old, new, before=elsewhere).kind == "cosmetic"  # moved onto the home page, not new


def test_a_removed_paragraph_is_substantive_unless_still_shown_elsewhere():
    old = "Programa 5G Para Todos cobre todos os distritos da cidade\nRodapé"
    new = "Rodapé"
    assert classify(old, new).removed == ["Programa 5G Para Todos cobre todos os distritos da cidade"]
    still = known_lines(["Programa 5G Para Todos cobre todos os distritos da cidade"])
    assert classify(old, new, after=still).kind == "cosmetic"


def test_a_new_document_is_all_added_short_labels_aside():
    found = classify(None, "Menu\nO Decreto 62.405 institui o Programa 5G Para Todos")
    assert found.kind == "substantive" and found.added == ["O Decreto 62.405 institui o Programa 5G Para Todos"]


# a policy paragraph added under a label, in languages written with spaces between words and without
UNSPACED_AND_SPACED = {
    "zh": ("联系我们", "全市已建成5G基站三万个，覆盖所有街道和乡镇。"),
    "ja": ("お問い合わせ", "東京都は全ての区役所でオンライン申請の受付を開始しました。"),
    "th": ("ติดต่อเรา", "กรุงเทพมหานครเปิดให้บริการอินเทอร์เน็ตฟรีในทุกเขต"),
    "ar": ("اتصل بنا", "أطلقت الأمانة منصة رقمية موحدة لجميع الخدمات البلدية"),
}


def test_changes_are_counted_in_words_of_their_script():
    """An unspaced paragraph was one "word" for `split()`, so no change in Chinese, Japanese or Thai was ever
    substantive; a short label stays cosmetic in every script."""
    for language, (label, paragraph) in UNSPACED_AND_SPACED.items():
        old = f"{label}\n"
        changed = classify(old, f"{label}\n{paragraph}\n")
        assert changed.kind == "substantive" and changed.added == [paragraph], language
        assert classify("", f"{label}\n").kind == "cosmetic", language
