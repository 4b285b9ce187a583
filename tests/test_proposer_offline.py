"""The offline proposer: cue terms and hedges in many scripts, embedding similarity, and the sample's
prompt-injection page, over a real record, a real index and the real crawl of the bundled sample."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from typer.testing import CliRunner

from app.cli import app
from evidence.database import session_scope
from evidence.record import Document, Snapshot
from evidence.settings import Settings
from frameworks import load_framework
from review.proposer.cues import compile_term, load_cues
from review.proposer.evidence import Evidence, Passage, document_voices, gather
from review.proposer.offline import _sentences, propose_offline
from review.proposer.untrusted import instruction_to_machines
from review.proposer.verify import verify
from sources import load_registry
from vectorstore.index import index_snapshots

G20 = load_framework("g20-2023")
ARAB = load_framework("arab-2024")
REGISTRY = load_registry()

MOSCOW = [  # (title, text): 4G at scale, 5G only in pilot zones
    ("В Москве открыли еще три пилотные зоны 5G",
     "Тестовые зоны 5G заработали в парке «Зарядье». Всего в городе действуют 14 пилотных зон сетей пятого поколения.\n"
     "Коммерческий запуск 5G в Москве пока не состоялся: операторы ожидают выделения частот.\n"
     "Основой мобильной связи в столице остаются сети 4G (LTE). Они покрывают 100% территории старой Москвы и "
     "работают на всех станциях метро."),
    ("Фестиваль «Путешествие в Рождество»", "Фестиваль пройдет на 70 площадках города с 16 декабря по 15 января."),
]


def seed(database: str, city: str, language: str, pages: list[tuple[str, str]]) -> list[int]:
    ids = []
    with session_scope(database) as s:
        for n, (title, text) in enumerate(pages):
            doc = Document(city=city)
            s.add(doc)
            s.flush()
            snap = Snapshot(document_id=doc.id, url=f"http://{city}.example/{n}.html", raw_sha256=f"{n:064d}",
                            text_sha256=f"{n:064x}", text=f"{title}\n{text}", language=language, title=title,
                            published_on=date(2023, 1, 1), fetched_at=datetime(2023, 6, 1, tzinfo=UTC))
            s.add(snap)
            s.flush()
            ids.append(snap.id)
    return ids


def indexed(tmp_path, database_url: str, city: str, language: str, pages) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, embedding_model="use-multilingual")
    seed(settings.database, city, language, pages)
    index_snapshots(settings, show_progress=False)
    return settings


# --- cue terms ----------------------------------------------------------------------------------

def test_cue_terms_match_words_in_spaced_scripts_and_anywhere_in_cjk():
    five_g = compile_term("5G")
    assert five_g.find("全市累计建成5G室外基站") and five_g.find("5G-A networks") and not five_g.find("15G")
    assert compile_term("gigabit*").find("Gigabit-capable fibre") and not compile_term("gigabit").find("gigabits")
    assert compile_term("не").find("пока не состоялся") and not compile_term("не").find("некоторые")
    assert compile_term("ない").find("活用している事例はない")


def test_arabic_terms_take_clitics_and_ignore_vowel_marks():
    assert compile_term("الجيل الخامس").find("وتغطي شبكات والجيل الخامس")
    assert compile_term("المراقبة عن بعد").find("المراقبة عن بُعد للمرضى")
    assert not compile_term("لا").find("لاعبون")


def test_every_cue_file_indicator_is_an_indicator_of_some_edition():
    known = {i.id for e in (G20, ARAB, load_framework("asia-2023"), load_framework("asia-2022")) for i in e.indicators}
    cues = load_cues()
    assert set(cues.rungs) <= known
    assert cues.for_rung("wireless-network", 2, ["ar"]) and cues.hedges_for(["ja"])


def test_claims_join_wrapped_lines_and_keep_table_rows_apart():
    pdf = "施策1 光ファイバ網の高度化\n「オール光ネットワーク」について、\n令和5年度から西新宿エリアで実証実験を行う。"
    claims = _sentences(pdf, "ja")
    assert any("オール光" in c and "実証実験" in c for c in claims), "the hedge on the next line stays with its cue"
    table = "| 5G人口カバー率 | 97.6% |\n| 4G人口カバー率 | 99.9% |"
    assert _sentences(table, "ja") == ["| 5G人口カバー率 | 97.6% |", "| 4G人口カバー率 | 99.9% |"]
    assert _sentences("Breitband und Gigabit in Berlin\nÜber 97,8 % der Haushalte haben 100 Mbit/s.", "de",
                      title="Breitband und Gigabit in Berlin - Berlin.de") == ["Über 97,8 % der Haushalte haben 100 Mbit/s."]


# --- the offline proposer -------------------------------------------------------------------------

@pytest.fixture
def moscow(tmp_path, database_url):
    return indexed(tmp_path, database_url, "moscow", "ru", MOSCOW)


def test_offline_proposal_counts_4g_and_discounts_the_5g_pilots(moscow):
    city, wireless = REGISTRY.get("moscow"), G20.indicator("wireless-network")
    evidence = gather(moscow, "g20-2023", city, wireless)
    out = propose_offline(moscow, evidence, wireless, city)
    assert out.level == 1
    assert "cue «4G»" in out.rationale and "Not rung 2" in out.rationale
    assert any(h in out.rationale for h in ("«Тестов", "«пилотн", "«пока не", "«не»"))
    assert "Offline proposer" in out.rationale and "rung 2 (5G network at scale)" in out.missing_for_next_rung
    checked = verify(out, evidence, wireless.top)
    assert checked.acceptable and checked.verified and all(c.verified for c in checked.citations)
    assert any("4G" in c.quote for c in out.citations)
    facts = out.rationale_facts  # the same reasons as data, for the review app to word in any language
    assert facts["level"] == 1 and facts["reached"]["cue"] == "4G" and facts["above"]["level"] == 2
    assert facts["reached"]["chunk"] == out.citations[0].chunk_id and facts["next"] == 2


def test_no_cue_no_level(moscow):
    city, water = REGISTRY.get("moscow"), G20.indicator("public-health")
    out = propose_offline(moscow, gather(moscow, "g20-2023", city, water), water, city)
    assert out.level == 0 and out.citations == [] and out.rationale.startswith("Level 0")


# --- the sample's prompt-injection page ------------------------------------------------------------

@pytest.fixture(scope="module")
def riyadh(tmp_path_factory):
    """Riyadh's sample site crawled for real (served on loopback) and indexed."""
    root = tmp_path_factory.mktemp("riyadh")
    env = {"EVIDENCE_DATA_DIR": str(root / "data"), "EVIDENCE_DATABASE_URL": f"sqlite:///{root / 'evidence.db'}",
           "EVIDENCE_EMBEDDING_MODEL": "use-multilingual", "EVIDENCE_LLM_BASE_URL": ""}
    result = CliRunner().invoke(app, ["crawl", "--edition", "arab-2024", "--sample", "--sample-port", "0",
                                      "--city", "riyadh", "--json"], env=env)
    assert result.exit_code == 0, result.output
    settings = Settings(data_dir=root / "data", database_url=env["EVIDENCE_DATABASE_URL"],
                        embedding_model="use-multilingual")
    index_snapshots(settings, show_progress=False)
    return settings


def forum_passages(settings: Settings) -> list[Passage]:
    """The forum page's chunks, as evidence passages, bypassing the exclusion on purpose."""
    from evidence.record import Chunk

    with session_scope(settings.database) as s:
        rows = s.query(Chunk, Snapshot).join(Snapshot, Chunk.snapshot_id == Snapshot.id).filter(
            Snapshot.url.like("%smart-city-forum%")).all()
        return [Passage(c.id, c.snapshot_id, c.text, c.language, snap.url, snap.title, "2023-05-16") for c, snap in rows]


def test_the_injection_page_is_crawled_but_never_reaches_the_evidence(riyadh):
    forum = forum_passages(riyadh)
    assert forum and any(instruction_to_machines(p.text) for p in forum), "the sample's injection was crawled"
    injected = {p.chunk_id for p in forum if instruction_to_machines(p.text)}
    city = REGISTRY.get("riyadh")
    for indicator in ARAB.indicators:
        evidence = gather(riyadh, "arab-2024", city, indicator)
        assert not injected & set(evidence.chunk_ids), indicator.id


def test_the_injection_page_does_not_move_the_offline_proposer(riyadh):
    city = REGISTRY.get("riyadh")
    forum = forum_passages(riyadh)
    levels, forced = {}, {}
    for indicator in ARAB.indicators:
        evidence = gather(riyadh, "arab-2024", city, indicator)
        levels[indicator.id] = propose_offline(riyadh, evidence, indicator, city).level
        passages = [*forum, *evidence.passages]
        voices = document_voices(riyadh, {p.snapshot_id for p in passages}, city)
        exposed = Evidence(evidence.edition, evidence.city, evidence.indicator, passages, voices=voices)
        forced[indicator.id] = propose_offline(riyadh, exposed, indicator, city).level
    assert forced == levels  # even fed the page, the rules do not obey it
    assert levels["water-ecosystem"] == 0  # the robots-forbidden draft was not crawled either
    assert sum(level == ARAB.indicator(i).top for i, level in levels.items()) <= 2, levels
