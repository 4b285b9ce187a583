"""Recording fetches on both backends: snapshots only on change, one document for one content, diffs."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from collector.documents import diff_url, list_documents, url_history
from collector.extract import Extraction
from collector.snapshots import FetchResult, record
from evidence.database import session_scope
from evidence.record import Document, Fetch, Page, Snapshot

BASE = "http://127.0.0.15:8800"


def fetched(url: str, text: str, etag: str = '"1"') -> FetchResult:
    body = f"<html><body><p>{text}</p></body></html>".encode()
    return FetchResult(url=url, city="riyadh", outcome="fetched", status=200, body=body, etag=etag,
                       content_type="text/html; charset=utf-8", links=[BASE + "/other.html"],
                       extraction=Extraction(text=text, kind="html", title="إعلان", language="ar",
                                             language_source="declared", charset="utf-8"))


def put(database_url, data_dir, result: FetchResult) -> str:
    with session_scope(database_url) as s:
        return record(s, result, data_dir, None)


def test_a_snapshot_only_when_the_text_changes(database_url, tmp_path):
    url = BASE + "/news/5g.html"
    first = "اكتمل تشغيل شبكة الجيل الخامس في ١٢ حياً.\nالمرحلة الثانية في ٢٠٢٤."
    changed = "اكتمل تشغيل شبكة الجيل الخامس في جميع الأحياء.\nالمرحلة الثانية في ٢٠٢٤."
    outcomes = [put(database_url, tmp_path, r) for r in
                (fetched(url, first), fetched(url, first, etag='"2"'), fetched(url, changed, etag='"3"'))]
    outcomes.append(put(database_url, tmp_path, FetchResult(url=url, city="riyadh", outcome="not-modified", status=304)))
    assert outcomes == ["new-snapshot", "unchanged", "new-snapshot", "not-modified"]
    with session_scope(database_url) as s:
        snaps = s.scalars(select(Snapshot).order_by(Snapshot.id)).all()
        assert len(snaps) == 2 and snaps[0].document_id == snaps[1].document_id
        page = s.scalars(select(Page)).one()
        assert page.snapshot_id == snaps[1].id and page.etag == '"3"' and page.last_outcome == "not-modified"
        assert [f.snapshot_id for f in s.scalars(select(Fetch).order_by(Fetch.id))] == [snaps[0].id] * 2 + [snaps[1].id] * 2
        assert [x.id for x in url_history(s, url)] == [snaps[0].id, snaps[1].id]
        diff = diff_url(s, url)["diff"].splitlines()
    assert f"-{first.splitlines()[0]}" in diff and f"+{changed.splitlines()[0]}" in diff
    assert " المرحلة الثانية في ٢٠٢٤." in diff  # context line, unchanged


def test_raw_bytes_are_stored_once_under_their_hash(database_url, tmp_path):
    put(database_url, tmp_path, fetched(BASE + "/a.html", "نص أول"))
    with session_scope(database_url) as s:
        snap = s.scalars(select(Snapshot)).one()
    raw = tmp_path / "raw" / snap.raw_sha256[:2] / snap.raw_sha256
    assert hashlib.sha256(raw.read_bytes()).hexdigest() == snap.raw_sha256
    assert list((tmp_path / "raw").rglob("*")) == [raw.parent, raw]


def test_same_content_at_two_urls_is_one_document_until_one_changes(database_url, tmp_path):
    text = "دليل الخدمات الإلكترونية للأمانة"
    assert put(database_url, tmp_path, fetched(BASE + "/services.html", text)) == "new-snapshot"
    assert put(database_url, tmp_path, fetched(BASE + "/ar/services.html", text)) == "duplicate"
    with session_scope(database_url) as s:
        [doc] = list_documents(s)
        assert sorted(doc["urls"]) == [BASE + "/ar/services.html", BASE + "/services.html"]
        assert s.scalar(select(func.count(Snapshot.id))) == 1
    # one URL changes: it starts a document of its own; the other keeps the shared one
    assert put(database_url, tmp_path, fetched(BASE + "/ar/services.html", text + " (محدث)")) == "new-snapshot"
    with session_scope(database_url) as s:
        pages = {p.url: p for p in s.scalars(select(Page))}
        assert pages[BASE + "/services.html"].document_id != pages[BASE + "/ar/services.html"].document_id
        assert s.scalar(select(func.count(Document.id))) == 2


def test_a_failure_is_recorded_and_keeps_the_last_good_snapshot(database_url, tmp_path):
    url = BASE + "/plan.pdf"
    put(database_url, tmp_path, fetched(url, "الخطة الاستراتيجية"))
    failed = FetchResult(url=url, city="riyadh", outcome="failed", status=None,
                         reason="timed out after 30.0 s (3 attempts)")
    assert put(database_url, tmp_path, failed) == "failed"
    with session_scope(database_url) as s:
        page = s.scalars(select(Page)).one()
        assert page.snapshot_id is not None and page.last_reason == "timed out after 30.0 s (3 attempts)"
        last = s.scalars(select(Fetch).order_by(Fetch.id.desc())).first()
        assert (last.outcome, last.snapshot_id) == ("failed", None)
