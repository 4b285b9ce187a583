"""Reviewing at edition scale, over real HTTP: the queue kept between requests still sees every change
made outside the app; pages, facets and filters by name; export; undo; a reason for a reject; bulk
accept; a decision typed when the session had ended is finished at sign-in."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import httpx
from sqlalchemy import update
from test_review_record import EDITION, PASSWORD, as_
from test_review_web import decisions, lite_app, signed_in, sqlite_url, token, version  # noqa: F401 (fixtures)

from evidence.database import session_scope
from evidence.record import Decision, Proposal, ReviewSession, Snapshot, now
from review.decisions import decide, undo
from review.queue import QueueFilter, build_queue


def ids_on(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-href="/items/(\d+)', page)]


def test_the_kept_queue_sees_decisions_proposals_and_snapshots_made_elsewhere(sqlite_url, lite_app):  # noqa: F811
    seeded = lite_app.seeded
    with session_scope(sqlite_url) as s:
        first = [i.id for i in build_queue(s, as_(s, "amal"))]
    assert seeded.cairo_fibre in first
    with session_scope(sqlite_url) as s:  # another process decides: round 1 done, amal cannot verify it
        decide(s, seeded.cairo_fibre, as_(s, "amal"), "accept", version=0)
    with session_scope(sqlite_url) as s:
        assert seeded.cairo_fibre not in [i.id for i in build_queue(s, as_(s, "amal"))]
        round_2 = {i.id: i for i in build_queue(s, as_(s, "basil"), QueueFilter(status="round-2"))}
        assert round_2[seeded.cairo_fibre].state.levels == {1: 2}
    with session_scope(sqlite_url) as s:  # a newer proposal for the same item replaces it in the queue
        s.add(Proposal(edition=EDITION, city="cairo", indicator="wired-network", level=1, method="llm", confidence=0.4,
                       input_hash="1" * 64))
    with session_scope(sqlite_url) as s:
        mine = {(i.city, i.indicator): i for i in build_queue(s, as_(s, "basil"), QueueFilter(status="all"))}
        assert mine[("cairo", "wired-network")].id != seeded.cairo_fibre and mine[("cairo", "wired-network")].level == 1
    with session_scope(sqlite_url) as s:  # marked stale by the watch: its evidence changed
        s.execute(update(Proposal).where(Proposal.id == seeded.tunis).values(stale=True))
    with session_scope(sqlite_url) as s:
        tunis = next(i for i in build_queue(s, as_(s, "lead")) if i.id == seeded.tunis)
        assert tunis.evidence_changed and "evidence-changed" in tunis.reasons


def test_the_queue_pages_filters_by_name_and_refuses_what_names_nothing(lite_app):  # noqa: F811
    lead = signed_in(lite_app, "lead")
    whole = lead.get("/queue").text
    assert len(ids_on(whole)) == 4 and 'id="pages"' not in whole
    by_name = lead.get("/queue", params={"city": "CAIRO", "language": "AR"}).text  # names, any case
    assert set(ids_on(by_name)) == {lite_app.seeded.cairo_5g}
    assert '<option value="cairo" selected>cairo (2)</option>' in by_name, "facets count the items"
    for field, value in (("city", "Atlantis"), ("edition", "xyz"), ("language", "qq"), ("indicator", "teleport")):
        reply = lead.get("/queue", params={field: value})
        assert reply.status_code == 400 and value in reply.text and "<header>" in reply.text, field
    by_confidence = lead.get("/queue", params={"sort": "-confidence"}).text
    assert ids_on(by_confidence)[0] == lite_app.seeded.cairo_fibre, "0.9, the most confident, first"


def test_the_queue_downloads_what_the_filter_keeps(lite_app):  # noqa: F811
    lead = signed_in(lite_app, "lead")
    rows = list(csv.DictReader(io.StringIO(lead.get("/queue", params={"city": "cairo", "format": "csv"}).text)))
    assert {int(r["id"]) for r in rows} == {lite_app.seeded.cairo_5g, lite_app.seeded.cairo_fibre}
    everything = json.loads(lead.get("/queue", params={"format": "json"}).text)
    assert len(everything) == 4 and {"on_table", "round_1_level", "reasons"} <= set(everything[0])
    assert lead.get("/queue", params={"format": "xml"}).status_code == 400


def test_a_page_of_the_queue_and_the_next_item_follow_the_filter(lite_app, monkeypatch):  # noqa: F811
    lead = signed_in(lite_app, "lead")
    lite_app.settings.review.queue_page_size = 5  # the smallest page the setting allows
    with session_scope(lite_app.settings.database) as s:
        for n in range(6):
            s.add(Proposal(edition=EDITION, city="riyadh", indicator=f"x{n}", level=0, method="offline",
                           confidence=0.99, input_hash=f"{n}" * 64))
    first, second = lead.get("/queue").text, lead.get("/queue", params={"page": 2}).text
    assert len(ids_on(first)) == 5 and len(ids_on(second)) == 5 and not set(ids_on(first)) & set(ids_on(second))
    assert "Page 2 of 2" in second and 'id="prev-page"' in second and 'id="next-page"' not in second
    item = lite_app.seeded.cairo_5g
    page = lead.get(f"/items/{item}", params={"city": "cairo"}).text
    reply = lead.post(f"/items/{item}/decide?city=cairo", data={"csrf_token": token(page), "version": version(page),
                                                                 "action": "accept"})
    assert reply.headers["location"] == f"/items/{lite_app.seeded.cairo_fibre}?city=cairo", "the next Cairo item"


def test_undo_takes_back_the_last_decision_as_a_new_audited_one(lite_app):  # noqa: F811
    amal, basil = signed_in(lite_app, "amal"), signed_in(lite_app, "basil")
    item = lite_app.seeded.cairo_fibre
    page = amal.get(f"/items/{item}").text
    amal.post(f"/items/{item}/decide", data={"csrf_token": token(page), "version": version(page), "action": "accept"})
    after = amal.get(f"/items/{lite_app.seeded.cairo_5g}").text  # the next page offers to undo
    undo_form = re.search(r'action="/items/(\d+)/undo".*?name="version" value="(\d+)"', after, re.S)
    assert undo_form and int(undo_form.group(1)) == item
    assert basil.post(f"/items/{item}/undo", data={"csrf_token": token(after), "version": undo_form.group(2)}
                      ).status_code == 403, "basil's session has its own CSRF token"
    reply = amal.post(f"/items/{item}/undo", data={"csrf_token": token(after), "version": undo_form.group(2)})
    assert reply.status_code == 303
    again = amal.get(f"/items/{item}").text
    assert 'id="accept"' in again and "round 1" in again.lower(), "back in round 1, hers to decide"
    rows = [d for d in decisions(lite_app.settings.database) if d[0] == item]
    assert [d[2] for d in rows] == ["accept", "undo"], "nothing removed: the undo is a decision of its own"
    with session_scope(lite_app.settings.database) as s:
        reviewer = as_(s, "basil")
        try:
            undo(s, item, reviewer, version=2)
        except Exception as e:  # the undo itself cannot be undone
            assert "no verdict to undo" in str(e)
        else:
            raise AssertionError("an undo was undone")


def test_a_reject_needs_a_reason_and_keeps_what_was_typed(lite_app):  # noqa: F811
    amal = signed_in(lite_app, "amal")
    item = lite_app.seeded.riyadh
    page = amal.get(f"/items/{item}").text
    reply = amal.post(f"/items/{item}/decide", data={"csrf_token": token(page), "version": version(page),
                                                      "action": "reject", "url": "https://example.org/kept"})
    assert reply.status_code == 400 and "needs a reason" in reply.text and "https://example.org/kept" in reply.text


def test_bulk_accept_decides_exactly_what_the_confirmation_listed(lite_app):  # noqa: F811
    lead, basil = signed_in(lite_app, "lead"), signed_in(lite_app, "basil")
    confirm = lead.get("/queue/accept", params={"city": "cairo", "min_confidence": "0.5"}).text
    listed = re.findall(r'name="item" value="(\d+):(\d+)"', confirm)
    assert {int(i) for i, _ in listed} == {lite_app.seeded.cairo_5g, lite_app.seeded.cairo_fibre}
    assert "accept the level on the table of 2 items" in confirm
    fibre = basil.get(f"/items/{lite_app.seeded.cairo_fibre}").text  # meanwhile basil decides one of them
    basil.post(f"/items/{lite_app.seeded.cairo_fibre}/decide",
               data={"csrf_token": token(fibre), "version": version(fibre), "action": "accept"})
    wrong = lead.post("/queue/accept", data={"csrf_token": token(confirm), "count": "5",
                                             "item": [f"{i}:{v}" for i, v in listed]})
    assert wrong.status_code == 400, "the count must be the one confirmed"
    done = lead.post("/queue/accept", data={"csrf_token": token(confirm), "count": str(len(listed)),
                                            "item": [f"{i}:{v}" for i, v in listed]}, follow_redirects=True)
    assert "1 items accepted, 1 left" in done.text
    by_lead = [d for d in decisions(lite_app.settings.database) if d[1] == lite_app.seeded.reviewers["lead"]]
    assert [(d[0], d[2]) for d in by_lead] == [(lite_app.seeded.cairo_5g, "accept")]


def test_a_decision_typed_after_the_session_ended_is_recorded_at_sign_in(lite_app):  # noqa: F811
    amal = signed_in(lite_app, "amal")
    item = lite_app.seeded.cairo_5g
    page = amal.get(f"/items/{item}").text
    with session_scope(lite_app.settings.database) as s:  # twelve hours pass
        s.execute(update(ReviewSession).values(expires_at=now() - timedelta(minutes=1)))
    reason = "٥G تغطي جميع الأحياء: the 2024 report says coverage is complete in every district"
    reply = amal.post(f"/items/{item}/decide", data={"csrf_token": token(page), "version": version(page),
                                                      "action": "change", "level": "2", "reason": reason})
    assert reply.status_code == 303 and reply.headers["location"] == f"/signin?next=/items/{item}"
    assert decisions(lite_app.settings.database) == [], "nothing recorded without a session"
    signin = amal.get("/signin", params={"next": f"/items/{item}"}).text
    assert 'id="draft-kept"' in signin
    back = amal.post("/signin", data={"name": "amal", "password": PASSWORD, "csrf_token": token(signin),
                                      "next": f"/items/{item}"})
    assert back.status_code == 303 and back.headers["location"].startswith("/items/")
    assert decisions(lite_app.settings.database) == [(item, lite_app.seeded.reviewers["amal"], "change", 2, reason, 1)]
    with session_scope(lite_app.settings.database) as s:
        assert s.query(Decision).count() == 1


def test_a_forged_post_is_not_kept_for_the_next_sign_in(lite_app):  # noqa: F811
    stranger = httpx.Client(base_url=lite_app.url)
    reply = stranger.post(f"/items/{lite_app.seeded.cairo_5g}/decide",
                          data={"csrf_token": "forged", "version": "0", "action": "accept"})
    assert reply.status_code == 303 and "draft" not in reply.headers.get("set-cookie", "")
    signin = stranger.get("/signin").text
    assert 'id="draft-kept"' not in signin


def test_snapshots_added_after_the_queue_was_read_mark_the_evidence_changed(lite_app):  # noqa: F811
    lead = signed_in(lite_app, "lead")
    assert "evidence changed" not in lead.get("/queue", params={"city": "tunis"}).text.lower()
    with session_scope(lite_app.settings.database) as s:
        old = s.query(Snapshot).filter(Snapshot.url.like("%tunis%")).one()
        s.add(Snapshot(document_id=old.document_id, url=old.url, raw_sha256="f" * 64, text_sha256="e" * 64,
                       text=old.text + " Mise à jour.", language="fr", fetched_at=now()))
    assert "evidence changed" in lead.get("/queue", params={"city": "tunis"}).text.lower()


def test_cities_and_indicators_are_opened_by_lists_and_unread_languages_refused(lite_app):  # noqa: F811
    lead = signed_in(lite_app, "lead")
    page = lead.get("/assignments").text
    chen = lite_app.seeded.reviewers["chen"]  # reads Chinese only
    refused = lead.post("/assignments", data={"csrf_token": token(page), "reviewer": chen, "edition": EDITION,
                                              "city": "Cairo, Tunis", "indicator": "wired-network"})
    assert refused.status_code == 400 and "cairo publishes in ar" in refused.text and "tunis publishes in ar, fr" in refused.text
    amal = lite_app.seeded.reviewers["amal"]
    opened = lead.post("/assignments", data={"csrf_token": token(page), "reviewer": amal, "edition": EDITION,
                                             "city": "cairo,riyadh", "indicator": "wired-network, emergency-system"},
                       follow_redirects=True)
    assert "4 assignment(s) open to amal" in opened.text
    with session_scope(lite_app.settings.database) as s:
        from review.assignments import open_assignments

        mine = {(a.city, a.indicator) for a in open_assignments(s, amal)}
        assert {("cairo", "wired-network"), ("riyadh", "emergency-system")} <= mine
        assert open_assignments(s, chen) == [], "nothing of the refused list was kept"


def test_progress_is_broken_down_by_city_language_and_reviewer(lite_app):  # noqa: F811
    amal, lead = signed_in(lite_app, "amal"), signed_in(lite_app, "lead")
    page = amal.get(f"/items/{lite_app.seeded.cairo_fibre}").text
    amal.post(f"/items/{lite_app.seeded.cairo_fibre}/decide",
              data={"csrf_token": token(page), "version": version(page), "action": "accept"})
    progress = lead.get("/progress").text
    cairo = re.search(r'<tr data-key="cairo">(.*?)</tr>', progress.split('id="by-city"')[1]).group(1)
    assert re.findall(r"<td>(\d+)</td>", cairo) == ["1", "1", "0", "0"], "one in round 1, one in round 2"
    assert 'data-key="fr"' in progress.split('id="by-language"')[1]
    reviewer_row = re.search(r'<tr data-key="amal">(.*?)</tr>', progress.split('id="by-reviewer"')[1]).group(1)
    assert re.findall(r"<td>(\d+)</td>", reviewer_row) == ["1", "0", "0"]


def test_an_item_shows_what_changed_what_was_read_and_a_search_for_it(lite_app):  # noqa: F811
    lead = signed_in(lite_app, "lead")
    riyadh = lead.get(f"/items/{lite_app.seeded.riyadh}").text
    diff = re.search(r'href="(/documents/\d+/diff\?old=\d+&amp;new=\d+)"', riyadh.split('id="evidence-changed"')[1])
    assert diff, "riyadh's document has a newer, different version"
    shown = lead.get(diff.group(1).replace("&amp;", "&")).text
    assert '<div class="add">' in shown
    search = re.search(r'id="prefilled-search"', riyadh) and re.search(r'href="(/search\?q=[^"]+&amp;city=riyadh)"', riyadh)
    assert search and lead.get(search.group(1).replace("&amp;", "&")).status_code == 200
    cairo = lead.get(f"/items/{lite_app.seeded.cairo_fibre}").text
    assert 'id="evidence-changed"' not in cairo and "No other passage was read" in cairo


def test_the_offline_rationale_is_worded_in_the_reviewers_language_without_chunk_codes(lite_app):  # noqa: F811
    item = lite_app.seeded.cairo_fibre
    with session_scope(lite_app.settings.database) as s:
        p = s.get(Proposal, item)
        chunk = p.citations[0].chunk_id
        p.rationale = f"Level 2: cue «gigabit» in {chunk}: ..."  # the prose, in English with its chunk code
        p.rationale_facts = {"v": 1, "level": 2, "next": 3, "cues": "cues.v2", "model": "use-multilingual", "above": None,
                             "reached": {"chunk": chunk, "cue": "gigabit", "similarity": 0.41, "status": "achieved",
                                         "sentence": "Cairo's gigabit fibre network now reaches 80 percent"}}
    lead = signed_in(lite_app, "lead")
    lead.get("/lang/ar")
    page = lead.get(f"/items/{item}").text
    rationale = page.split('id="rationale"')[1].split("</ul>")[0]
    assert "المستوى 2" in rationale and "«gigabit»" in rationale and "الاستشهاد 1" in rationale
    assert chunk not in rationale and "Level 2" not in page
