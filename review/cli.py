"""`evidence review list|show|decide|assign|unassign|log|confirmed` and `evidence reviewers add|list`:
the web app's work, scriptable (`evidence serve` runs the app itself: `app.serve`). The same rules apply
as in the browser (routing, rounds, versions); `--as` names the reviewer acting (or set EVIDENCE_REVIEWER).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from evidence.output import JsonOption, console, emit_json

review_app = typer.Typer(help="Review proposals: the queue, one item, decisions, assignments, the audit log.",
                         no_args_is_help=True)
reviewers_app = typer.Typer(help="Reviewer accounts (passwords are hashed with Argon2id).", no_args_is_help=True)

AsOption = typer.Option(..., "--as", envvar="EVIDENCE_REVIEWER", help="the reviewer acting (name)")


def _reviewer(session, name: str):
    from sqlalchemy import select

    from evidence.errors import DataError
    from evidence.record import Reviewer

    reviewer = session.scalar(select(Reviewer).where(Reviewer.name == name))
    if reviewer is None:
        raise DataError("--as", name, "no such reviewer; add one with `evidence reviewers add`")
    return reviewer


def _state(state) -> dict:
    return {"status": state.status, "round": state.round, "on_table": state.on_table, "version": state.version,
            "levels": state.levels, "confirmed": state.confirmed}


@review_app.command("list")
def list_items(name: str = AsOption, edition: str | None = typer.Option(None), city: str | None = typer.Option(None),
               indicator: str | None = typer.Option(None), language: str | None = typer.Option(None, help="evidence language"),
               status: str = typer.Option("open", help="open, all, round-1, round-2, round-3 or confirmed"),
               everything: bool = typer.Option(False, help="also items you cannot decide now"),
               as_json: bool = JsonOption) -> None:
    """The queue of a reviewer: routed items, those that most need a human first."""
    from evidence.database import configured_session
    from review.queue import QueueFilter, build_queue

    filters = QueueFilter(edition, city, indicator, language, status, actionable=not everything)
    with configured_session() as session:
        items = build_queue(session, _reviewer(session, name), filters)
    if as_json:
        emit_json([{"id": i.id, "edition": i.edition, "city": i.city, "indicator": i.indicator, "level": i.level,
                    "method": i.method, "confidence": i.confidence, "other_level": i.other_level,
                    "languages": list(i.languages), "evidence_changed": i.evidence_changed, "weight": i.weight,
                    "priority": i.priority, "reasons": list(i.reasons), "actionable": i.actionable, **_state(i.state)}
                   for i in items])
        return
    table = Table("#", "edition", "city", "indicator", "level", "method", "conf.", "languages", "status", "why first",
                  "priority", title=f"queue of {name}: {len(items)} item(s)")
    for i in items:
        table.add_row(str(i.id), i.edition, i.city, i.indicator, str(i.level), i.method, f"{i.confidence:.2f}",
                      ",".join(i.languages), i.status, ", ".join(i.reasons), f"{i.priority:.2f}")
    console.print(table)


@review_app.command("show")
def show(item: int, name: str = AsOption, lang: str = typer.Option("en", help="en or zh"), as_json: bool = JsonOption) -> None:
    """One item: the ladder, the proposal, each citation in its snapshot, the history."""
    from evidence.database import configured_session
    from review.item import load_item

    with configured_session() as session:
        view = load_item(session, item, _reviewer(session, name), lang)
        p = view.proposal
        document = {
            "id": p.id, "edition": p.edition, "city": p.city, "indicator": p.indicator, "level": p.level,
            "method": p.method, "model": p.model, "confidence": p.confidence, "rationale": p.rationale,
            "missing_evidence": p.missing_evidence, "flags": p.flags, "languages": view.languages,
            "ladder": [{"level": r.level, "text": r.text, "proposed": r.proposed, "next": r.next} for r in view.rungs],
            "citations": [{"chunk_id": c.chunk_id, "quote": c.quote, "verified": c.verified, "found": c.found,
                           "url": c.url, "snapshot_date": c.snapshot_date, "language": c.language,
                           "context": c.before + "[[" + c.marked + "]]" + c.after} for c in view.passages],
            "other": {"id": view.other.id, "method": view.other.method, "level": view.other.level} if view.other else None,
            "history": [{"version": h.sequence, "at": h.at, "who": h.who, "round": h.round, "action": h.action,
                         "level": h.level, "reason": h.reason, "evidence": list(h.evidence)} for h in view.history],
            **_state(view.state),
        }
    if as_json:
        emit_json(document)
        return
    _print_item(view)


def _print_item(view) -> None:
    from rich.markup import escape

    p = view.proposal
    console.print(f"[bold]#{p.id} {escape(view.city_name)} · {escape(view.indicator_name)}[/] ({escape(view.edition_title)})")
    console.print(f"status {view.state.status}, next round {view.state.round}, version {view.state.version}; "
                  f"proposed level {p.level} by {p.method} (confidence {p.confidence:.2f})")
    for r in view.rungs:
        mark = " [cyan]◀ proposed[/]" if r.proposed else (" [yellow]next[/]" if r.next else "")
        console.print(f"  {r.level}. {escape(r.text)}{mark}")
    console.print(Text.assemble(("rationale ", "bold"), p.rationale or "-"))
    console.print(Text.assemble(("missing for the next rung ", "bold"), p.missing_evidence or "-"))
    for c in view.passages:
        ok = "verified" if c.verified else "[red]NOT verified[/]"
        console.print(f"[bold]{escape(c.url or c.chunk_id)}[/] snapshot {c.snapshot_date} ({ok})")
        console.print(Text.assemble("  …", c.before[-120:], (c.marked, "reverse"), c.after[:120], "…"))
    for h in view.history:
        console.print(Text(f"  v{h.sequence} {h.at:%Y-%m-%d %H:%M} {h.who} round {h.round} {h.action} {h.level} {h.reason}"))


@review_app.command("decide")
def decide_command(item: int, name: str = AsOption,
                   action: str = typer.Option(..., help="accept, change, reject or attach"),
                   level: int | None = typer.Option(None, help="the new level (change)"),
                   reason: str = typer.Option("", help="why (required to change the level)"),
                   url: list[str] = typer.Option([], help="a URL to crawl (attach; repeat the option)"),
                   file: list[Path] = typer.Option([], help="a file to attach (repeat the option)"),
                   version: int | None = typer.Option(None, help="the version you decided from; refused if the item moved on"),
                   as_json: bool = JsonOption) -> None:
    """Record a decision on an item (the same checks as the web app)."""
    from evidence.database import session_scope
    from evidence.errors import DataError
    from evidence.settings import load_settings
    from review.attachments import store_file, url_evidence
    from review.decisions import decide

    settings = load_settings()
    evidence = [url_evidence(u) for u in url]
    for path in file:
        if not path.is_file():
            raise DataError(path, "", "file not found")
        with path.open("rb") as stream:
            evidence.append(store_file(settings.data_dir, path.name, stream))
    with session_scope(settings.database) as session:
        d = decide(session, item, _reviewer(session, name), action, level=level, reason=reason, version=version,
                   evidence=evidence)
        result = {"decision": d.id, "item": item, "round": d.round, "action": d.action, "level": d.level,
                  "version": d.sequence}
    if as_json:
        emit_json(result)
        return
    console.print(f"item #{item}: round {result['round']} {result['action']}"
                  f"{'' if result['level'] is None else ' level ' + str(result['level'])} recorded (version {result['version']})")


@review_app.command("assign")
def assign(name: str = AsOption, reviewer: str = typer.Option(..., help="the reviewer to open items to"),
           edition: str = typer.Option(...), city: str | None = typer.Option(None),
           indicator: str | None = typer.Option(None)) -> None:
    """Open an edition's items (optionally one city, one indicator) to a reviewer (authors only)."""
    from evidence.database import configured_session
    from review.assignments import open_assignment

    with configured_session() as session:
        a = open_assignment(session, _reviewer(session, reviewer), edition, _reviewer(session, name), city, indicator)
        console.print(f"assignment #{a.id}: {edition} {city or 'every city'} {indicator or 'every indicator'} "
                      f"opened to {reviewer}")


@review_app.command("unassign")
def unassign(assignment: int, name: str = AsOption) -> None:
    """Close an assignment (authors only); decisions already made stay."""
    from evidence.database import configured_session
    from review.assignments import close_assignment

    with configured_session() as session:
        close_assignment(session, assignment, _reviewer(session, name))
    console.print(f"assignment #{assignment} closed")


@review_app.command("log")
def log(item: int | None = typer.Option(None), edition: str | None = typer.Option(None),
        verify: bool = typer.Option(False, "--verify", help="check the decisions' hash chain instead: exit 1 "
                                    "if a decision was edited, removed or added by hand"),
        as_json: bool = JsonOption) -> None:
    """The audit log: every decision (who, when, what, why, evidence) and assignment."""
    from evidence.database import configured_session
    from review.decisions import audit_log

    if verify:
        _verify(as_json)
        return
    with configured_session() as session:
        steps = audit_log(session, item, edition)
    if as_json:
        emit_json(steps)
        return
    table = Table("when", "who", "what", "item", "round", "level", "reason", "evidence", title=f"audit log: {len(steps)} step(s)")
    for s in steps:
        where = " ".join(x for x in (f"#{s.item}" if s.item else "", s.city or "", s.indicator or "") if x)
        table.add_row(f"{s.at:%Y-%m-%d %H:%M:%S}", Text(s.who), s.what, where, str(s.round or ""),
                      "" if s.level is None else str(s.level), Text(s.reason), Text("; ".join(s.evidence)))
    console.print(table)


def _verify(as_json: bool) -> None:
    from evidence.database import configured_session
    from review.decisions import verify_chain

    with configured_session() as session:
        check = verify_chain(session)
    if as_json:
        emit_json({"intact": check.intact, "decisions": check.decisions, "head": check.head,
                   "problems": [{"decision": d, "problem": p} for d, p in check.problems]})
    elif check.intact:
        console.print(f"audit log intact: {check.decisions} decision(s) chained; head {check.head}")
    else:
        console.print(f"[red]audit log broken[/]: {len(check.problems)} problem(s) in {check.decisions} decision(s)")
        for decision, problem in check.problems:
            console.print(Text(f"  {'decision #' + str(decision) if decision else 'chain'}: {problem}"))
    if not check.intact:
        raise typer.Exit(1)


@review_app.command("confirmed")
def confirmed(edition: str = typer.Option(...), as_json: bool = JsonOption) -> None:
    """The levels confirmed by the last round: what reaches scoring."""
    from evidence.database import configured_session
    from review.decisions import confirmations

    with configured_session() as session:
        found = confirmations(session, edition)
    rows = [{"city": c, "indicator": i, "level": v.level, "item": v.proposal_id, "decision": v.decision_id}
            for (c, i), v in sorted(found.items())]
    if as_json:
        emit_json(rows)
        return
    table = Table("city", "indicator", "level", "item", "decision", title=f"{edition}: {len(rows)} confirmed level(s)")
    for r in rows:
        table.add_row(str(r["city"]), str(r["indicator"]), str(r["level"]), f"#{r['item']}", f"#{r['decision']}")
    console.print(table)


@reviewers_app.command("add")
def reviewers_add(name: str, role: str = typer.Option("reviewer", help="reviewer or author"),
                  languages: str = typer.Option("", help="languages read, ISO 639-1, comma-separated: ar,en"),
                  email: str | None = typer.Option(None),
                  password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                               help="asked for when not given"),
                  exist_ok: bool = typer.Option(False, "--exist-ok", help="an existing reviewer of that name is fine "
                                                "(left as it is), so scripts can run again")) -> None:
    """Create a reviewer account."""
    from sqlalchemy import select

    from evidence.database import configured_session
    from evidence.record import Reviewer
    from review.auth import add_reviewer

    with configured_session() as session:
        r = session.scalar(select(Reviewer).where(Reviewer.name == name.strip())) if exist_ok else None
        existed = r is not None
        r = r or add_reviewer(session, name, password, role, languages.split(","), email)
        console.print(f"reviewer #{r.id} {r.name} ({r.role}; reads {', '.join(r.languages) or 'no language given'})"
                      + (" already existed: left unchanged" if existed else ""))


@reviewers_app.command("disable")
def reviewers_disable(name: str) -> None:
    """Disable an account: it cannot sign in and every session of it ends now (its decisions stay)."""
    from evidence.database import configured_session
    from review.auth import disable_reviewer, reviewer_named

    with configured_session() as session:
        ended = disable_reviewer(session, reviewer_named(session, name))
    console.print(Text(f"{name} disabled; {ended} session(s) ended"))


@reviewers_app.command("enable")
def reviewers_enable(name: str) -> None:
    """Let a disabled account sign in again."""
    from evidence.database import configured_session
    from review.auth import enable_reviewer, reviewer_named

    with configured_session() as session:
        enable_reviewer(reviewer_named(session, name))
    console.print(Text(f"{name} enabled"))


@reviewers_app.command("signout")
def reviewers_signout(name: str) -> None:
    """End every session of a reviewer (a lost laptop, a copied cookie); they can sign in again."""
    from evidence.database import configured_session
    from review.auth import end_sessions, reviewer_named

    with configured_session() as session:
        ended = end_sessions(session, reviewer_named(session, name), "revoked")
    console.print(Text(f"{ended} session(s) of {name} ended"))


@reviewers_app.command("password")
def reviewers_password(name: str,
                       password: str = typer.Option(..., prompt="New password", hide_input=True,
                                                    confirmation_prompt=True, help="asked for when not given")) -> None:
    """Set a reviewer's password; every session of theirs ends."""
    from evidence.database import configured_session
    from review.auth import change_password, reviewer_named

    with configured_session() as session:
        ended = change_password(session, reviewer_named(session, name), password)
    console.print(Text(f"password of {name} changed; {ended} session(s) ended"))


@reviewers_app.command("list")
def reviewers_list(as_json: bool = JsonOption) -> None:
    """Reviewer accounts and what is open to them."""
    from sqlalchemy import select

    from evidence.database import configured_session
    from evidence.record import Reviewer
    from review.assignments import open_assignments
    from review.auth import open_sessions

    with configured_session() as session:
        rows: list[dict[str, Any]] = []
        for reviewer in session.scalars(select(Reviewer).order_by(Reviewer.name)):
            scopes = [" ".join(x for x in (a.edition, a.city, a.indicator) if x)
                      for a in open_assignments(session, reviewer.id)]
            rows.append({"id": reviewer.id, "name": reviewer.name, "role": reviewer.role,
                         "languages": reviewer.languages, "assignments": scopes,
                         "disabled": reviewer.disabled_at is not None,
                         "sessions": len(open_sessions(session, reviewer))})
    if as_json:
        emit_json(rows)
        return
    table = Table("#", "name", "role", "languages", "open to them", "sessions", title=f"{len(rows)} reviewer(s)")
    for r in rows:
        table.add_row(str(r["id"]), Text(r["name"] + (" (disabled)" if r["disabled"] else "")), r["role"],
                      ",".join(r["languages"]), "; ".join(r["assignments"]), str(r["sessions"]))
    console.print(table)


attachments_app = typer.Typer(help="Evidence submitted on review items (a URL, a file).", no_args_is_help=True)


@attachments_app.command("collect")
def attachments_collect(allow_private: bool = typer.Option(False, "--allow-private", help="let a submitted URL "
                                                           "point at a loopback or private address (a test site)"),
                        as_json: bool = JsonOption) -> None:
    """Collect the pending attachments through the collector, index them, send their items back to review."""
    from evidence.output import errors
    from evidence.settings import load_settings
    from review.submissions import collect_pending

    result = collect_pending(load_settings(), allow_private=allow_private, console=None if as_json else errors)
    if as_json:
        emit_json(result)
        return
    table = Table("attachment", "kind", "what", "outcome", title=f"{len(result['collected'])} collected, "
                  f"{len(result['failed'])} failed")
    for row in result["collected"] + result["failed"]:
        outcome = f"snapshot {row['snapshot']}, item #{row['proposal']}" if row["snapshot"] else row["reason"]
        table.add_row(str(row["attachment"]), row["kind"], row["url"] or row["filename"], outcome)
    console.print(table)
    for item in result["reproposed"]:
        console.print(f"{item['edition']} {item['city']} {item['indicator']}: back in review as item "
                      f"#{item['proposal']} (level {item['level']}), flagged evidence-submitted")
