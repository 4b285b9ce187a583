"""The review flow in a real browser: Playwright drives Debian's Chromium against `evidence serve`
started on loopback over a seeded record. A reviewer signs in, opens the top item of the queue with
the keyboard, sees the cited quote highlighted, changes the level with a reason; a second reviewer
verifies it; the ranking page then shows the new score.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from test_review_record import CAIRO_QUOTE, EDITION, PASSWORD, RIYADH_NEW, RIYADH_OLD, STATUS_REASON, seed
from test_review_web import free_port

from frameworks import load_framework
from frameworks.weights import load_weights
from scoring.scores import shown

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@pytest.fixture
def served(tmp_path):
    database = f"sqlite:///{tmp_path / 'evidence.db'}"
    seeded = seed(database)
    port = free_port()
    env = {**os.environ, "EVIDENCE_DATABASE_URL": database, "EVIDENCE_DATA_DIR": str(tmp_path / "data")}
    env.pop("EVIDENCE_LLM_BASE_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert server.poll() is None, f"evidence serve exited: {server.stdout.read()}"
            assert time.time() < deadline, "evidence serve did not start listening"
            time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}", seeded
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture
def page():
    """A fresh page in Debian's Chromium, closed with its browser after the test."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def sign_in(page, url: str, name: str) -> None:
    page.goto(f"{url}/queue")
    expect(page).to_have_url(f"{url}/signin?next=/queue")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("#signin")
    expect(page).to_have_url(f"{url}/queue")


def test_reviewer_changes_a_level_a_second_verifies_and_the_ranking_moves(served, page):
    url, seeded = served
    item = f"{url}/items/{seeded.cairo_5g}"
    edition = load_framework(EDITION)
    weight = load_weights(edition).vector[[i.id for i in edition.indicators].index("wireless-network")]
    sign_in(page, url, "amal")
    page.keyboard.press("Enter")  # the queue's first item: the doubtful Cairo wireless proposal
    expect(page).to_have_url(item)
    quote = page.locator("mark.quote")
    expect(quote).to_be_visible()
    expect(quote).to_have_text(CAIRO_QUOTE)
    expect(page.locator(".rung.proposed")).to_have_attribute("data-level", "1")
    page.keyboard.press("2")  # choose level 2; the reason field takes the focus
    page.keyboard.type("The quote says 5G covers every district of the city: rung 2 at scale.")
    page.click("#change")
    expect(page.locator(".flash")).to_contain_text(f"#{seeded.cairo_5g}: round 1, change 2")
    page.click("header button:has-text('Sign out')")

    sign_in(page, url, "basil")
    page.goto(item)
    expect(page.locator("#status")).to_have_text("round 2: verification")
    expect(page.locator("#accept")).to_have_text("Accept level 2")
    page.keyboard.press("a")
    expect(page.locator(".flash")).to_contain_text(f"#{seeded.cairo_5g}: round 2, accept 2")

    page.goto(f"{url}/ranking?edition={EDITION}")
    cairo = page.locator('tr[data-city="cairo"]')
    expect(cairo.locator("td.total")).to_have_text(shown(2 * weight))
    expect(cairo.locator("td").first).to_have_text("1")
    expect(page.locator("#incomplete")).to_be_visible()

    page.goto(item)
    expect(page.locator("#status")).to_have_text("confirmed")
    expect(page.locator("#confirmed")).to_have_text("2")


def test_each_quote_shows_what_was_checked_and_its_status_in_english_and_chinese(served, page):
    url, seeded = served
    sign_in(page, url, "amal")
    page.goto(f"{url}/items/{seeded.cairo_5g}")
    citation = page.locator("article.citation").first
    expect(citation.locator(".badge.ok").first).to_have_text("quote found verbatim")
    status = citation.locator(".badge.status")
    expect(status).to_have_attribute("data-status", "achieved")
    expect(status).to_have_text("achieved: supports the rung")
    expect(citation.locator(".status-reason")).to_contain_text(STATUS_REASON)
    page.context.add_cookies([{"name": "lang", "value": "zh", "url": url}])
    page.reload()
    citation = page.locator("article.citation").first
    expect(citation.locator(".badge.ok").first).to_have_text("引文原文已找到")
    expect(citation.locator(".badge.status")).to_have_text("已实现：可支撑该等级")
    expect(citation.locator(".status-reason")).to_contain_text("判定依据")


def test_the_author_filters_the_documents_opens_one_and_reads_the_coloured_diff(served, page):
    url, _ = served
    sign_in(page, url, "lead")
    page.click("nav a[href='/documents']")
    page.select_option("#city", "riyadh")
    page.click("form.filters button[type=submit]")
    rows = page.locator("table.documents tbody tr")
    expect(rows).to_have_count(1)
    with page.expect_download() as download:
        page.click("#export-csv")
    assert "riyadh" in Path(download.value.path()).read_text(encoding="utf-8")
    rows.first.locator("a").click()
    page.click("a.diff-link")
    expect(page.locator(".diff .add")).to_contain_text(RIYADH_NEW)
    expect(page.locator(".diff .del")).to_contain_text(RIYADH_OLD)
    color = page.locator(".diff .add").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert color == "rgb(230, 255, 236)"  # coloured, from the app's stylesheet


def test_enter_in_the_address_field_attaches_it_and_never_accepts(served, page):
    url, seeded = served
    sign_in(page, url, "amal")
    page.goto(f"{url}/items/{seeded.cairo_5g}")
    page.fill("#url", "https://www.cairo.gov.eg/5g-decree.pdf")
    page.press("#url", "Enter")
    expect(page.locator(".flash")).to_contain_text(f"#{seeded.cairo_5g}: round 1, attach")
    page.goto(f"{url}/items/{seeded.cairo_5g}")
    expect(page.locator("#status")).to_have_text("round 1: first review")  # nothing was decided
    expect(page.locator("body")).to_contain_text("https://www.cairo.gov.eg/5g-decree.pdf")  # kept


# --- at edition scale: Arabic, undo, an ended session, bulk accept, export, a phone's width ------------

def test_an_arabic_reviewer_reviews_an_arabic_item_right_to_left_and_round_2_sees_round_1(served, page):
    url, seeded = served
    sign_in(page, url, "amal")
    page.click("#lang-ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    page.goto(f"{url}/items/{seeded.cairo_5g}")
    expect(page.locator(".rung[data-level='2']")).to_contain_text("شبكة 5G / 5G-A في الاستخدام التجاري على نطاق واسع")
    expect(page.locator("h1")).to_contain_text("الشبكة اللاسلكية")
    page.select_option("#level", "2")
    page.fill("#reason", "تقرير ٢٠٢٤: اكتمال تغطية الجيل الخامس في جميع الأحياء")
    page.click("#change")
    expect(page.locator("#flash")).to_contain_text(f"#{seeded.cairo_5g}")
    expect(page.locator("#flash")).to_contain_text("الجولة 1")
    page.click("#sign-out")
    sign_in(page, url, "basil")
    page.goto(f"{url}/items/{seeded.cairo_5g}")
    expect(page.locator("#earlier-rounds")).to_contain_text("amal")
    expect(page.locator("#earlier-rounds")).to_contain_text("اكتمال تغطية الجيل الخامس")


def test_undo_with_the_keyboard_puts_the_item_back(served, page):
    url, seeded = served
    sign_in(page, url, "amal")
    page.goto(f"{url}/items/{seeded.cairo_fibre}")
    page.keyboard.press("a")
    expect(page.locator("#undo")).to_be_visible()
    page.keyboard.press("u")
    expect(page).to_have_url(f"{url}/items/{seeded.cairo_fibre}")
    expect(page.locator("#status")).to_have_text("round 1: first review")
    expect(page.locator(".history")).to_contain_text("undo")


def test_a_reason_typed_as_the_session_ends_is_recorded_after_signing_in(served, page, tmp_path):
    from datetime import timedelta

    from sqlalchemy import update

    from evidence.database import session_scope
    from evidence.record import ReviewSession, now

    url, seeded = served
    sign_in(page, url, "amal")
    page.goto(f"{url}/items/{seeded.riyadh}")
    page.fill("#reason", "a command centre alone is not a city-wide emergency system")
    with session_scope(f"sqlite:///{tmp_path / 'evidence.db'}") as s:  # the served record: twelve hours pass
        s.execute(update(ReviewSession).values(expires_at=now() - timedelta(minutes=1)))
    page.click("#reject")
    expect(page.locator("#draft-kept")).to_be_visible()
    page.fill("#name", "amal")
    page.fill("#password", PASSWORD)
    page.click("#signin")
    expect(page.locator("#flash")).to_contain_text(f"#{seeded.riyadh}: round 1, reject 0")
    page.goto(f"{url}/items/{seeded.riyadh}")
    expect(page.locator(".history")).to_contain_text("a command centre alone is not a city-wide emergency system")


def test_the_author_bulk_accepts_a_filtered_set_and_downloads_the_queue(served, page):
    url, seeded = served
    sign_in(page, url, "lead")
    page.select_option("#city", "cairo")
    page.fill("#min_confidence", "0.8")
    page.click("#queue-filters button[type=submit]")
    with page.expect_download() as download:
        page.click("#export-csv")
    assert download.value.suggested_filename == "queue.csv"
    assert str(seeded.cairo_fibre) in Path(download.value.path()).read_text(encoding="utf-8")
    page.click("#bulk-accept")
    expect(page.locator("#bulk-count")).to_contain_text("1 items")
    page.click("#bulk-confirm")
    expect(page.locator("#flash")).to_contain_text("1 items accepted, 0 left")


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_queue_item_and_ranking_fit_a_phone_without_scrolling_sideways(served, page, lang):
    url, seeded = served
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, url, "lead")
    page.goto(f"{url}/lang/{lang}?next=/queue")
    for path in ("/queue", f"/items/{seeded.cairo_5g}", "/ranking", "/documents"):
        page.goto(f"{url}{path}")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 375, f"{path} in {lang} is {width} px wide"
    page.goto(f"{url}/items/{seeded.cairo_5g}")
    assert page.locator("#accept").bounding_box()["height"] >= 44
