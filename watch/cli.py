"""`evidence watch`: a pass now, or one every period; `evidence watch report` shows a pass's change report."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from evidence.errors import EvidenceError
from evidence.output import JsonOption, console, emit_json, errors

watch_app = typer.Typer(help="Re-crawl due sources, flag cities whose policies changed, send them back to review.",
                        invoke_without_command=True)


@watch_app.callback()
def watch(ctx: typer.Context,
          every: str | None = typer.Option(None, help="keep running: a pass every period, e.g. 7d, 12h"),
          everything: bool = typer.Option(False, "--all", help="re-fetch every source, due or not"),
          delay: float | None = typer.Option(None, help="minimum seconds between requests to one host"),
          timeout: float | None = typer.Option(None, help="seconds per request"),
          retries: int | None = typer.Option(None, help="retries per request"),
          no_notify: bool = typer.Option(False, "--no-notify", help="record the pass but send nothing"),
          passes: int | None = typer.Option(None, help="with --every: stop after this many passes"),
          as_json: bool = JsonOption) -> None:
    """One pass over the sources that are due (resuming a pass that died); refuses while another runs."""
    if ctx.invoked_subcommand:
        return
    from evidence.settings import load_settings
    from watch.passes import every as every_loop
    from watch.passes import interval, run_pass

    settings = load_settings()
    flags = {"delay": delay, "timeout": timeout, "retries": retries}
    limits = settings.crawl.model_copy(update={k: v for k, v in flags.items() if v is not None})
    progress = None if as_json else errors
    if every:
        every_loop(settings, interval(every), limits, progress, passes, lambda r: _show(r, as_json),
                   everything=everything, notify=not no_notify)
        return
    _show(run_pass(settings, everything, limits, progress, notify=not no_notify), as_json)


def _show(result: dict, as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    if result.get("recovered_lock"):
        held = result["recovered_lock"]
        console.print(f"[yellow]recovered a stale lock[/] held by pid {held['pid']} on {held['host']}")
    if result["state"] in ("nothing-due", "busy"):
        console.print(result.get("error") or "no source is due; nothing to do")
        return
    console.print(f"watch pass {result['pass']}: {result['state']}, crawls {result['crawls']}, "
                  f"{result['changes']['substantive']} substantive / {result['changes']['cosmetic']} cosmetic changes, "
                  f"flagged: {', '.join(result['flagged']) or 'none'}")
    if result["flagged"]:
        _report_table(result["pass"])


def _report_table(pass_id: int) -> None:
    from evidence.database import configured_session
    from watch.report import city_report

    with configured_session() as s:
        rows = city_report(s, pass_id)
    table = Table("city", "indicator", "old", "new", "proposal", "changed pages", title=f"watch pass {pass_id}")
    for city in rows:
        pages = "\n".join(c["url"] + (" (new)" if c["new_document"] else "") for c in city["changes"])
        for i in city["indicators"] or [{}]:
            table.add_row(city["name"], i.get("indicator", ""), _level(i.get("old_level")), _level(i.get("new_level")),
                          f"#{i['new_proposal']}" if i.get("new_proposal") else "", pages)
    console.print(table)


def _level(value) -> str:
    return "–" if value is None else str(value)


@watch_app.command("report")
def report(pass_id: int | None = typer.Option(None, "--pass", help="the pass (default: the latest)"),
           out: Path | None = typer.Option(None, help="write the report here (.md or .html)"),
           as_json: bool = JsonOption) -> None:
    """The change report of a pass: per flagged city, the diff excerpts, indicators and levels."""
    from evidence.database import configured_session
    from watch.report import city_report, latest_pass, pass_summary, render

    with configured_session() as s:
        chosen = pass_id if pass_id is not None else latest_pass(s)
    if chosen is None:
        raise EvidenceError("no watch pass recorded yet: run `evidence watch`")
    if out is not None:
        if out.suffix not in (".md", ".html"):
            raise EvidenceError(f"{out}: the report is written as .md or .html")
        with configured_session() as s:
            text = render(s, chosen, out.suffix[1:])
        if out.suffix == ".html":
            text = f"<!doctype html><html><head><meta charset=\"utf-8\"></head><body>{text}</body></html>"
        out.write_text(text, encoding="utf-8")
        console.print(f"written {out}")
        return
    if as_json:
        with configured_session() as s:
            emit_json({**pass_summary(s, chosen), "cities": city_report(s, chosen)})
        return
    _report_table(chosen)
