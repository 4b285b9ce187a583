"""Markdown exports write what came from outside as text: a crawled title or diff and a registry's city name
stay text when a real Markdown renderer (markdown-it, CommonMark with tables) turns the export into HTML."""

from __future__ import annotations

import shutil

import pytest
from markdown_it import MarkdownIt
from test_scoring_exports import ARAB, FIXTURES

from evidence.database import session_scope
from evidence.record import Document, Snapshot, WatchChange, WatchPass
from frameworks.weights import load_weights
from scoring.exports import Report, publish
from scoring.levels import edition_cities, read_levels
from scoring.ranks import rank_table
from scoring.scores import score
from sources import read_registry


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'evidence.db'}"


HOSTILE = "<img src=x onerror=alert(1)> | **bold** [link](javascript:alert(2))"
RENDER = MarkdownIt("commonmark").enable("table")


def test_a_score_table_keeps_a_hostile_city_name_as_text(tmp_path):
    registry_dir = tmp_path / "registry"
    shutil.copytree(FIXTURES / "scoring-registry", registry_dir)
    ae = registry_dir / "ae.yaml"
    ae.write_text(ae.read_text(encoding="utf-8").replace("{en: Dubai,", f"{{en: '{HOSTILE}',"), encoding="utf-8")
    registry = read_registry(registry_dir)
    levels = read_levels(FIXTURES / "scoring-levels-arab-2024.csv", ARAB, edition_cities(registry, ARAB), registry)
    table = score(levels, load_weights(ARAB, FIXTURES / "scoring-panel-arab-2024.csv"), ARAB)
    publish(Report(table, rank_table(table), "en", notes=("<b>note</b>",)), tmp_path / "out", ["md"])
    page = RENDER.render((tmp_path / "out" / "scores.md").read_text(encoding="utf-8"))
    assert "<img" not in page and "<strong>" not in page and "javascript:" not in page.split('href="')[-1][:12]
    assert "<b>" not in page and "&lt;b&gt;note&lt;/b&gt;" in page
    row = next(line for line in page.splitlines() if "onerror" in line)
    assert "&lt;img src=x onerror=alert(1)&gt; | **bold**" in row  # shown as written, in its own cell
    first_rows = [line for line in page.split("<tbody>")[1].split("</tr>") if "<td>" in line][:3]
    assert all(r.count("<td>") == first_rows[0].count("<td>") for r in first_rows)  # the | broke no row


def test_a_watch_report_keeps_crawled_titles_and_diffs_as_text(sqlite_url, data_dir):
    from watch.report import render

    with session_scope(sqlite_url) as s:
        doc = Document(city="cairo")
        s.add(doc)
        s.flush()
        old = Snapshot(document_id=doc.id, url="http://cairo.example/p", raw_sha256="a" * 64, text_sha256="a" * 64,
                       text="Old text.", title="Plan")
        new = Snapshot(document_id=doc.id, url="http://cairo.example/p", raw_sha256="b" * 64, text_sha256="b" * 64,
                       text="Old text.\n```\n<script>alert(3)</script>\n````", title="<script>alert(1)</script> *x*")
        s.add_all([old, new])
        s.flush()
        run = WatchPass(state="finished", step="done", flagged=["cairo"])
        s.add(run)
        s.flush()
        s.add(WatchChange(pass_id=run.id, city="cairo", url=new.url, old_snapshot_id=old.id, new_snapshot_id=new.id,
                          kind="substantive", added=["<script>alert(3)</script>"]))
        s.flush()
        text = render(s, run.id, "md")
    page = RENDER.render(text)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; *x*" in page  # the title, as text
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page.split("<code")[1]  # the diff stays inside its block
    assert "`````diff" in text
