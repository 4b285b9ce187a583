"""`make demo`: the whole pipeline on the embedded defaults and the bundled sample, step by step.

Each step is a real `evidence` command, run in-process, so what the demo shows is what a user gets:
crawl the sample sites (served on loopback), index and search them, propose levels (offline unless an
LLM endpoint is configured), measure the proposals against the answer key, set up reviewers, score, and
run a quarterly watch pass against the sample's second version (São Paulo publishes a 5G decree, Berlin
only changes a footer date), and say how to open the review app. Running it again shows the incremental
path: conditional re-fetches, nothing to re-embed, no proposal sent twice.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
from rich.rule import Rule

from app.cli import app
from collector.server import SampleServer
from evidence.errors import EvidenceError
from evidence.output import console, errors
from evidence.settings import load_settings

GOLD = "sources/sample/gold.csv"
WATCH = "A watch pass while the sample's second version is served (the sites as a quarter later)"
SAMPLE_PORT = 8800  # `evidence crawl --sample`'s default, so the watch pass finds the same URLs
ARAB = ["--city", "cairo", "--city", "dubai", "--city", "riyadh"]
REVIEWERS = [("author", "author", "ar,en,zh,fr,de,ru,ja,pt"), ("amal", "reviewer", "ar,en"),
             ("basil", "reviewer", "ar,en")]


def demo_passwords(data_dir: Path) -> dict[str, str]:
    """A random password (16 characters) per demo account, made once and kept owner-only in
    `<data dir>/demo-passwords.txt`: the demo's accounts follow the same 12-character rule as everyone's,
    and no two installations share them."""
    path = data_dir / "demo-passwords.txt"
    known = dict(line.split(" ", 1) for line in path.read_text(encoding="utf-8").splitlines() if " " in line) \
        if path.exists() else {}
    missing = {name: secrets.token_urlsafe(12) for name, _, _ in REVIEWERS if name not in known}
    if missing:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.writelines(f"{name} {password}\n" for name, password in missing.items())
    return {**known, **missing}


def steps(out: str, passwords: dict[str, str]) -> list[tuple[str, list[str]]]:
    return [
        ("The edition frameworks", ["frameworks", "list"]),
        ("Crawl the sample's G20 cities (loopback sites: robots.txt, sitemaps, legacy encodings, PDFs, failures)",
         ["crawl", "--edition", "g20-2023", "--sample"]),
        ("Crawl the sample's Arab League cities", ["crawl", "--edition", "arab-2024", "--sample"]),
        ("Chunk, embed and index the snapshots (incremental)", ["index"]),
        ("Search in English for evidence written in Arabic", ["search", "5G mobile network coverage across the city",
                                                             "--city", "riyadh", "--k", "3"]),
        ("Search in Chinese across every city", ["search", "城市应急指挥中心", "--k", "3"]),
        ("Retrieval on the answer key: English queries, local-language evidence", ["index", "evaluate", "--gold", GOLD]),
        ("Propose levels for the G20 sample cities", ["propose", "--edition", "g20-2023"]),
        ("Propose levels for the Arab League sample cities", ["propose", "--edition", "arab-2024"]),
        ("How often the proposer is right on the answer key", ["eval", "--gold", GOLD]),
        *[(f"Reviewer account: {name}", ["reviewers", "add", name, "--role", role, "--languages", langs,
                                         "--password", passwords[name], "--exist-ok"]) for name, role, langs in REVIEWERS],
        *[(f"The author opens arab-2024 to {name}", ["review", "assign", "--as", "author", "--reviewer", name,
                                                      "--edition", "arab-2024"]) for name in ("amal", "basil")],
        ("amal's review queue", ["review", "list", "--as", "amal", "--edition", "arab-2024"]),
        (f"Scores, tiers, clusters and rank stability of the answer key's levels (EXAMPLE weights) -> {out}",
         ["score", "--edition", "arab-2024", "--levels", GOLD, *ARAB, "--stability", "2000", "--out", out]),
        (WATCH, ["watch", "--all", "--no-notify", "--timeout", "3", "--retries", "1"]),  # the sample crawl's limits
        ("The change report of that pass", ["watch", "report"]),
        ("The review app", ["serve", "--dry-run"]),
    ]


def run(args: list[str]) -> None:
    try:
        app(args, standalone_mode=False)
    except click.exceptions.Exit as done:
        if done.exit_code not in (0, None):
            raise EvidenceError(f"evidence {' '.join(args)} exited with {done.exit_code}") from None


def main() -> None:
    data_dir = load_settings().data_dir
    out, passwords = str(data_dir / "demo" / "scores"), demo_passwords(data_dir)
    for title, args in steps(out, passwords):
        console.print(Rule(f"[bold]{title}[/]"))
        shown = ["…" if n and args[n - 1] == "--password" else a for n, a in enumerate(args)]
        console.print(f"[dim]$ evidence {' '.join(shown)}[/]")
        if title == WATCH:  # the crawled sources point at the sample's loopback sites: serve them, changed
            with SampleServer(version="v2", port=SAMPLE_PORT):
                run(args)
        else:
            run(args)
    console.print(Rule("[bold]Done[/]"))
    console.print(f"Ranking tables and charts: [bold]{out}[/]")
    console.print("Open the review app:  [bold].venv/bin/evidence serve[/]  then http://127.0.0.1:8000  —  sign in as "
                  f"[bold]amal[/] / {passwords['amal']} (first review), [bold]basil[/] / {passwords['basil']} "
                  f"(verification) or [bold]author[/] / {passwords['author']} (kept in {data_dir / 'demo-passwords.txt'}).",
                  highlight=False, markup=True)


if __name__ == "__main__":
    try:
        main()
    except EvidenceError as e:
        errors.print(f"[red]demo stopped:[/] {e}", highlight=False)
        raise SystemExit(2) from None
