"""Index the crawled sample: English queries find Arabic, Chinese and Russian evidence, and back again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from evidence.settings import Settings
from vectorstore.evaluate import evaluate_retrieval
from vectorstore.search import Filters, search

ROOT = Path(__file__).resolve().parents[1]
CITIES = {"arab-2024": ["riyadh", "cairo"], "g20-2023": ["shanghai", "moscow", "london"]}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """The sample's sites for five cities, crawled over loopback and indexed (fast model)."""
    tmp = tmp_path_factory.mktemp("sample")
    env = {"EVIDENCE_DATA_DIR": str(tmp / "data"), "EVIDENCE_DATABASE_URL": f"sqlite:///{tmp / 'e.db'}",
           "EVIDENCE_EMBEDDING_MODEL": "use-multilingual", "EVIDENCE_LLM_BASE_URL": ""}
    runner = CliRunner()
    for edition, cities in CITIES.items():
        result = runner.invoke(app, ["crawl", "--edition", edition, "--sample", "--sample-port", "0", "--timeout", "3",
                                     "--json", *[a for c in cities for a in ("--city", c)]], env=env)
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["index", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["chunks_added"] > 100
    return Settings(data_dir=tmp / "data", database_url=f"sqlite:///{tmp / 'e.db'}", embedding_model="use-multilingual"), \
        env, tmp


def top(settings, query, k=3, **filters):
    return search(settings, query, k, Filters(**filters))


def test_english_finds_arabic_chinese_and_russian_evidence(crawled):
    settings, _, _ = crawled
    arabic = top(settings, "5G mobile network coverage of the city's districts", city="riyadh")
    assert arabic[0].language == "ar" and "الجيل الخامس" in " ".join(h.text for h in arabic)
    chinese = top(settings, "gigabit fibre broadband for households", city="shanghai")
    assert chinese[0].language == "zh" and "千兆" in " ".join(h.text for h in chinese)
    russian = top(settings, "emergency dispatch service 112 in every district", city="moscow")
    assert russian[0].language == "ru" and "112" in " ".join(h.text for h in russian)


def test_chinese_finds_english_evidence(crawled):
    settings, _, _ = crawled
    hits = top(settings, "伦敦的千兆光纤宽带覆盖", city="london")
    assert hits[0].language == "en" and "gigabit" in " ".join(h.text for h in hits).lower()


def test_filters_exclude_what_they_should(crawled):
    settings, _, _ = crawled
    assert {h.city for h in top(settings, "5G", k=20, edition="arab-2024")} <= {"riyadh", "cairo"}
    assert {h.language for h in top(settings, "network", k=20, language="ru")} == {"ru"}
    assert all(h.city == "cairo" for h in top(settings, "smart meters", k=10, city="cairo"))
    assert {h.city for h in top(settings, "5G", k=10, edition="asia-2022")} == {"shanghai"}  # the only one in it


def test_the_forbidden_and_injection_pages_are_not_in_the_index(crawled):
    settings, _, _ = crawled
    urls = {h.url for h in top(settings, "internal draft", k=50, history=True)}
    assert not any("/internal/" in u or "/intranet/" in u or "/admin/" in u for u in urls)


def test_retrieval_evaluation_hybrid_is_at_least_as_good_as_either_alone(crawled, tmp_path):
    settings, env, _ = crawled
    gold = tmp_path / "gold.csv"
    lines = (ROOT / "sources" / "sample" / "gold.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    cities = {c for cs in CITIES.values() for c in cs}
    gold.write_text(lines[0] + "".join(line for line in lines[1:] if line.split(",")[1] in cities), encoding="utf-8")
    report = evaluate_retrieval(settings, gold, k=10)
    recall = {mode: r["recall"] for mode, r in report["modes"].items()}
    assert report["modes"]["hybrid"]["questions"] >= 25
    assert recall["hybrid"] >= max(recall["dense"], recall["lexical"]) and recall["hybrid"] >= 0.9, recall
    table = CliRunner().invoke(app, ["index", "evaluate", "--gold", str(gold)], env=env)
    assert table.exit_code == 0 and "recall@10" in table.output and "hybrid" in table.output
