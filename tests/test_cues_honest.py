"""The cue vocabulary is generic language of the ladders, not the sample's own wording (issue 11).

A cue term that is a phrase (several words, or five or more Chinese/Japanese characters) and occurs verbatim
in the pages of exactly one sample city, and of no other, looks written from that city's pages: an
institution, a programme or a copied sentence. It is flagged unless it is ladder language:
- it occurs in the ladder texts of frameworks/*.yaml, or
- it is declared below as the rendering of words that the test finds in its own indicator's ladder (name,
  description or rung texts), or, for a hedge, as one of the hedge kinds the cue file's header names or a
  planned/under-way marker of review/proposer/status.yaml (which is written from grammar).

Six of the ten sample cities are the only sample city of their language, so a general term of French or
Japanese can only ever occur in one city's pages; the declared rendering is what separates "fibre optique"
(fibre) from the name of a city's IT office. Each declaration is visible here for review.
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path

import yaml

from review.proposer.cues import _UNSPACED, CUES_FILE, compile_term, fold

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sources" / "sample"
STATUS = ROOT / "review" / "proposer" / "status.yaml"

HEDGE_KINDS = {"plan", "pilot", "trial", "study", "draft", "negation", "only", "deadline", "under way"}

# (indicator, language, term) -> the ladder words the term renders (found by the test in that indicator's ladder)
GENERAL: dict[tuple[str, str, str], str] = {
    ("artificial-intelligence", "ru", "центр* обработки данных"): "computing centres",
    ("artificial-intelligence", "ar", "بين المحافظات"): "cross-regional",
    ("artificial-intelligence", "ar", "بين المناطق"): "cross-regional",
    ("artificial-intelligence", "ar", "توزيع الأحمال"): "scheduling",
    ("artificial-intelligence", "ar", "جدولة الحوسبة"): "computing (scheduling)",
    ("data-flow", "any", "UK GDPR"): "GDPR",
    ("data-flow", "ar", "قانون حماية البيانات"): "national or provincial regulation",
    ("data-flow", "en", "Data Protection Act"): "national or provincial regulation",
    ("data-flow", "ja", "個人情報の保護に関する法律"): "national or provincial regulation",
    ("data-flow", "ja", "官民データ活用推進基本法"): "national or provincial regulation",
    ("data-flow", "pt", "Lei Geral de Proteção de Dados"): "national or provincial regulation",
    ("data-flow", "pt", "lei federal"): "national or provincial regulation",
    ("data-flow", "ru", "федеральн* закон*"): "national or provincial regulation",
    ("data-flow", "zh", "个人信息保护法"): "national or provincial regulation",
    ("data-flow", "zh", "数据安全法"): "national or provincial regulation",
    ("data-flow", "zh", "网络安全法"): "national or provincial regulation",
    ("data-flow", "pt", "lei municipal"): "city-level regulation",
    ("data-flow", "zh", "地方性法规"): "city-level regulation",
    ("data-flow", "fr", "clauses contractuelles types"): "international rules",
    ("digital-society", "ar", "محو الأمية الرقمية"): "digital literacy",
    ("digital-society", "en", "digital inclusion"): "digital literacy",
    ("digital-society", "ar", "حماية البيانات"): "regulation",
    ("digital-society", "ar", "حوكمة البيانات"): "regulation",
    ("emergency-system", "ar", "غرفة العمليات"): "command centre",
    ("emergency-system", "ar", "غرفة عمليات"): "command centre",
    ("emergency-system", "ar", "مركز العمليات"): "command centre",
    ("emergency-system", "ar", "مركز القيادة"): "command centre",
    ("emergency-system", "en", "duty centre"): "command centre",
    ("emergency-system", "fr", "centre de veille"): "command centre",
    ("emergency-system", "fr", "centre opérationnel"): "command centre",
    ("emergency-system", "fr", "poste de commandement"): "command centre",
    ("emergency-system", "ja", "災害対策本部"): "emergency command",
    ("emergency-system", "ja", "監視カメラ"): "sensing network",
    ("emergency-system", "ja", "防災センター"): "emergency command centre",
    ("emergency-system", "pt", "sala de situação"): "command centre",
    ("emergency-system", "ar", "المستوى الوطني"): "multi-level",
    ("emergency-system", "ar", "ثلاثة مستويات"): "multi-level",
    ("emergency-system", "ar", "مستوى المنطقة"): "multi-level",
    ("emergency-system", "fr", "zone de défense"): "multi-level",
    ("emergency-system", "ar", "مناطق أخرى"): "cross-regional",
    ("emergency-system", "ar", "الدفاع المدني"): "emergency response system",
    ("emergency-system", "pt", "defesa civil"): "emergency response system",
    ("government-service", "en", "digital strategy"): "strategic plan",
    ("government-service", "fr", "direction des systèmes d'information"): "IT department",
    ("government-service", "fr", "schéma directeur"): "master plan",
    ("government-service", "pt", "plano diretor"): "master plan",
    ("government-service", "ru", "Департамент информационных технологий"): "IT department",
    ("government-service", "ar", "البوابة الموحدة"): "one-stop",
    ("government-service", "ar", "حساب موحد"): "one-stop",
    ("government-service", "ja", "ワンストップ"): "one-stop",
    ("government-service", "ru", "одного окна"): "one-stop",
    ("government-service", "ar", "الخدمات الإلكترونية"): "government service platform",
    ("government-service", "en", "service portal"): "government service platform",
    ("government-service", "fr", "démarches en ligne"): "government service platform",
    ("government-service", "ja", "オンライン化"): "government service platform",
    ("government-service", "ja", "オンライン手続"): "government service platform",
    ("government-service", "ru", "электронных услуг"): "government service platform",
    ("government-service", "fr", "budget participatif"): "citizen participation",
    ("government-service", "ar", "مناطق أخرى"): "cross-region",
    ("government-service", "ja", "住所地以外"): "cross-region",
    ("government-service", "pt", "outros municípios"): "cross-region",
    ("public-health", "ar", "السجل الصحي الإلكتروني"): "electronic medical records",
    ("public-health", "ar", "السجل الصحي الموحد"): "electronic medical records",
    ("public-health", "ar", "الملف الطبي الإلكتروني"): "electronic medical records",
    ("public-health", "ar", "ملف* صحي* إلكتروني*"): "electronic medical records",
    ("public-health", "ar", "ملف* طبي* إلكتروني*"): "electronic medical records",
    ("public-health", "de", "elektronische* Patientenakte*"): "electronic medical records",
    ("public-health", "fr", "dossier médical partagé"): "electronic medical records",
    ("public-health", "ja", "電子カルテ"): "electronic medical records",
    ("public-health", "pt", "prontuário* eletrônico*"): "electronic medical records",
    ("public-health", "ru", "электронн* медицинск* карт*"): "electronic medical records",
    ("public-health", "zh", "电子健康档案"): "electronic medical records",
    ("public-health", "ar", "الرعاية عن بعد"): "monitoring network",
    ("public-health", "ar", "المراقبة الصحية عن بعد"): "monitoring network",
    ("public-health", "ar", "المراقبة عن بعد"): "monitoring network",
    ("public-health", "en", "remotely monitor*"): "monitoring network",
    ("public-health", "en", "virtual ward*"): "monitoring network",
    ("public-health", "ja", "地域医療連携"): "medical and monitoring network",
    ("public-health", "ru", "дистанционн* мониторинг*"): "monitoring network",
    ("public-health", "zh", "医疗信息网络"): "medical and monitoring network",
    ("public-health", "en", "neighbouring region*"): "cross-regional",
    ("public-health", "pt", "outros municípios"): "cross-regional",
    ("smart-energy", "ar", "عدادات ذكية"): "smart meters",
    ("smart-energy", "ar", "الربط الكهربائي"): "cross-regional energy internet",
    ("smart-energy", "ar", "تكامل مصادر الطاقة النظيفة"): "complementary clean energies",
    ("smart-transport", "ar", "تتبع الحافلات"): "smart transport",
    ("smart-transport", "ar", "ذاتي القيادة"): "vehicle-road coordination",
    ("transport-network", "ar", "السكك الحديدية"): "intercity transport network",
    ("transport-network", "ar", "عالي السرعة"): "high-speed rail",
    ("transport-network", "ar", "فائق السرعة"): "high-speed rail",
    ("water-ecosystem", "ar", "التصريف المستدام"): "sponge city",
    ("water-ecosystem", "ar", "المدينة الإسفنجية"): "sponge city",
    ("wired-network", "any", "100 Mbit*"): "100 Mbps",
    ("wired-network", "ar", "الإنترنت الثابت"): "wired network",
    ("wired-network", "ar", "النطاق العريض"): "wired network",
    ("wired-network", "fr", "fibre optique"): "fibre",
    ("wired-network", "fr", "très haut débit"): "wired network",
    ("wired-network", "ja", "ブロードバンド"): "wired network",
    ("wired-network", "ja", "光ファイバ"): "fibre",
    ("wired-network", "pt", "banda larga"): "wired network",
    ("wired-network", "pt", "fibra óptica"): "fibre",
    ("wired-network", "any", "1 Gbit*"): "gigabit",
    ("wired-network", "any", "1 Gbps"): "gigabit",
    ("wired-network", "any", "1 Гбит*"): "gigabit",
    ("wired-network", "es", "1 Gbps"): "gigabit",
    ("wired-network", "fr", "1 Gbit/s"): "gigabit",
    ("wired-network", "ja", "ギガビット"): "gigabit",
    ("wired-network", "pt", "1 Gbps"): "gigabit",
    ("wired-network", "ar", "الضوئية بالكامل"): "all-optical",
    ("wired-network", "ar", "ضوئية بالكامل"): "all-optical",
    ("wireless-network", "de", "fünften Generation"): "5G",
    ("wireless-network", "ru", "пятого поколения"): "5G",
    ("wireless-network", "ar", "الإنترنت الفضائي"): "satellite internet",
    ("hedges", "de", "bis 20*"): "deadline",
    ("hedges", "ja", "モデル事業"): "pilot",
}

# fitted terms named in issue 11: institutions and a copied sentence of sample cities
KNOWN_FITTED = ["ДИТ", "IT-Dienstleistungszentrum", "デジタルサービス局", "ربط جميع المنشآت الصحية"]


def _text(path: Path) -> str:
    raw = path.read_text(encoding="utf-8", errors="ignore")
    raw = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", raw)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw)))


@cache
def city_pages() -> dict[str, str]:
    """Each sample city's page text: its sites (both versions) and the HTML sources of its PDFs."""
    pages: dict[str, list[str]] = {}
    for base in (SAMPLE / "sites", SAMPLE / "pdf-src", SAMPLE / "v2" / "sites"):
        for path in sorted(base.rglob("*")):
            if path.suffix.lower() in (".html", ".htm"):
                pages.setdefault(path.relative_to(base).parts[0], []).append(_text(path))
    return {city: fold("\n".join(texts)) for city, texts in pages.items()}


@cache
def ladders() -> dict[str, str]:
    """Per indicator id, the text of its name, description and rungs in every framework and language."""
    out: dict[str, list[str]] = {}
    for path in sorted((ROOT / "frameworks").glob("*.yaml")):
        for indicator in yaml.safe_load(path.read_text(encoding="utf-8")).get("indicators", []):
            texts = out.setdefault(indicator["id"], [])
            for key in ("name", "description"):
                if isinstance(indicator.get(key), dict):
                    texts += map(str, indicator[key].values())
            for rung in indicator.get("rungs", []):
                texts += map(str, rung.get("text", {}).values())
    return {ind: fold("\n".join(texts)) for ind, texts in out.items()}


def cue_terms() -> list[tuple[str, str, str]]:
    """(indicator or "hedges", language, term) for every term of cues.yaml."""
    data = yaml.safe_load(CUES_FILE.read_text(encoding="utf-8"))
    terms = [("hedges", lang, str(t)) for lang, ts in data["hedges"].items() for t in ts]
    for indicator, entry in data["indicators"].items():
        for by_language in [*entry["rungs"].values(), entry.get("topic", {})]:
            terms += [(indicator, lang, str(t)) for lang, ts in by_language.items() for t in ts]
    return terms


def is_phrase(term: str) -> bool:
    if _UNSPACED.search(term):
        return len(term.replace("*", "").replace(" ", "")) >= 5
    return bool(re.search(r"\s", term.strip()))


def status_markers(language: str) -> set[str]:
    entry = yaml.safe_load(STATUS.read_text(encoding="utf-8"))["languages"].get(language, {})
    return {*entry.get("planned", []), *entry.get("under_way", [])}


def single_city_phrases() -> list[tuple[str, str, str, str]]:
    """Phrases of cues.yaml found in exactly one sample city's pages and not in any ladder text."""
    pages, all_ladders = city_pages(), "\n".join(ladders().values())
    found = []
    for where, lang, term in cue_terms():
        if not is_phrase(term):
            continue
        compiled = compile_term(term)
        cities = [city for city, text in pages.items() if compiled.find(text)]
        if len(cities) == 1 and not compiled.find(all_ladders):
            found.append((where, lang, term, cities[0]))
    return found


def test_no_cue_phrase_is_one_sample_citys_own():
    offending = []
    for where, lang, term, city in single_city_phrases():
        if where == "hedges" and term in status_markers(lang):
            continue
        if (where, lang, term) not in GENERAL:
            offending.append(f"{where} [{lang}] {term!r} (only in {city}'s pages)")
    assert not offending, "cue phrases fitted to one sample city:\n" + "\n".join(offending)


def test_each_declared_rendering_is_in_its_own_ladder():
    wrong = []
    for (where, _lang, term), words in GENERAL.items():
        if where == "hedges":
            if words not in HEDGE_KINDS:
                wrong.append(f"{term!r}: {words!r} is not a hedge kind")
        elif fold(words).lower() not in ladders().get(where, "").lower():
            wrong.append(f"{where} {term!r}: {words!r} is not in the {where} ladder")
    assert not wrong, "\n".join(wrong)


def test_the_declarations_name_real_cue_terms():
    terms = set(cue_terms())
    stale = [key for key in GENERAL if key not in terms]
    assert not stale, f"declared but not in cues.yaml: {stale}"


def test_the_fitted_terms_of_issue_11_are_gone():
    text = CUES_FILE.read_text(encoding="utf-8")
    for term in KNOWN_FITTED:
        assert f'"{term}"' not in text and f"[{term}," not in text and f" {term}," not in text, term
    assert all(term not in [t for _, _, t in cue_terms()] for term in KNOWN_FITTED)
