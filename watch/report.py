"""The change report of a pass: per flagged city, what changed (diff excerpts, links to both snapshots),
the indicators it bears on, and the old and new proposed level; as data, Markdown and HTML."""

from __future__ import annotations

import difflib

from jinja2 import Environment
from sqlalchemy import select

from evidence import markdown
from evidence.database import lookup
from evidence.errors import DataError
from evidence.record import Snapshot, WatchChange, WatchPass, WatchRequeue
from evidence.settings import load_settings
from sources import load_registry

EXCERPT_LINES = 12


def base_url() -> str:
    """Where the web app is served: snapshot links in exports and notifications point there."""
    return load_settings().watch.base_url.rstrip("/")


def snapshot_link(snapshot_id: int | None) -> str | None:
    return f"{base_url()}/watch/snapshots/{snapshot_id}" if snapshot_id else None


def excerpt(old: str, new: str) -> str:
    """The changed lines with a line of context, capped: enough to see the change beside the proposal."""
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=1))[2:]
    return "\n".join(lines[:EXCERPT_LINES] + (["…"] if len(lines) > EXCERPT_LINES else []))


class NoSuchPass(DataError):
    """A pass id that is not in the record (a stale link, a typo in --pass)."""

    def __init__(self, pass_id: int):
        super().__init__("watch pass", f"#{pass_id}", "no such pass")


def pass_row(session, pass_id: int) -> WatchPass:
    """The record of a pass; NoSuchPass when it is not there."""
    row = lookup(session, WatchPass, pass_id)
    if row is None:
        raise NoSuchPass(pass_id)
    return row


def latest_pass(session) -> int | None:
    return session.scalar(select(WatchPass.id).order_by(WatchPass.id.desc()).limit(1))


def pass_summary(session, pass_id: int) -> dict:
    row = pass_row(session, pass_id)
    changes = session.scalars(select(WatchChange).where(WatchChange.pass_id == pass_id)).all()
    return {"pass": row.id, "state": row.state, "step": row.step, "started_at": row.started_at,
            "finished_at": row.finished_at, "crawls": row.crawls, "sources": len(row.sources),
            "changes": {"cosmetic": sum(c.kind == "cosmetic" for c in changes),
                        "substantive": sum(c.kind == "substantive" for c in changes),
                        "recovered": sum(c.kind == "recovered" for c in changes)},  # first text after failing
            "flagged": row.flagged, "notified": row.notified}


def city_report(session, pass_id: int, only_flagged: bool = True) -> list[dict]:
    """One entry per city the pass saw change (only flagged cities unless asked), with its changes and re-queues."""
    registry = load_registry()
    row = pass_row(session, pass_id)
    changes = session.scalars(select(WatchChange).where(WatchChange.pass_id == pass_id).order_by(WatchChange.id)).all()
    requeues = session.scalars(select(WatchRequeue).where(WatchRequeue.pass_id == pass_id)
                               .order_by(WatchRequeue.id)).all()
    cities = sorted({c.city for c in changes if not only_flagged or c.city in row.flagged})
    out = []
    for city in cities:
        mine = [c for c in changes if c.city == city and (c.kind == "substantive" or not only_flagged)]
        out.append({"city": city, "name": _name(registry, city), "flagged": city in row.flagged,
                    "changes": [_change(session, c) for c in mine],
                    "indicators": [{"edition": r.edition, "indicator": r.indicator, "old_level": r.old_level,
                                    "new_level": r.new_level, "old_proposal": r.old_proposal_id,
                                    "new_proposal": r.new_proposal_id, "changes": r.changes}
                                   for r in requeues if r.city == city]})
    return out


def _name(registry, city: str) -> str:
    try:
        return registry.get(city).name.en
    except KeyError:
        return city


def _change(session, c: WatchChange) -> dict:
    old = session.get(Snapshot, c.old_snapshot_id) if c.old_snapshot_id else None
    new = session.get(Snapshot, c.new_snapshot_id)
    return {"id": c.id, "url": c.url, "kind": c.kind, "title": new.title, "new_document": old is None,
            "old_snapshot": c.old_snapshot_id, "new_snapshot": c.new_snapshot_id,
            "old_link": snapshot_link(c.old_snapshot_id), "new_link": snapshot_link(c.new_snapshot_id),
            "added": c.added, "removed": c.removed, "indicators": [i for _, i in c.indicators],
            "excerpt": excerpt(old.text if old else "", new.text)}


# every value is written as Markdown text (evidence.markdown): crawled titles and URLs never become markup
_MARKDOWN = Environment(trim_blocks=True, lstrip_blocks=True, finalize=markdown.text)
_MARKDOWN.filters["fenced"] = markdown.fenced
MARKDOWN = _MARKDOWN.from_string("""\
# Watch pass {{ summary.pass }}: {{ cities|length }} {{ "city" if cities|length == 1 else "cities" }} flagged

{{ summary.changes.substantive }} substantive and {{ summary.changes.cosmetic }} cosmetic changes.
{% for city in cities %}

## {{ city.name }} ({{ city.city }})

| edition | indicator | old level | new level | new proposal |
|---|---|---|---|---|
{% for i in city.indicators %}
| {{ i.edition }} | {{ i.indicator }} | {{ i.old_level if i.old_level is not none else "–" }} | {{ i.new_level if i.new_level is not none else "–" }} | #{{ i.new_proposal }} |
{% endfor %}
{% for c in city.changes %}

### {{ c.title or c.url }}{{ " (new document)" if c.new_document }}
{{ c.url }} · bears on: {{ c.indicators|join(", ") or "no indicator" }} ·
{% if c.old_link %}[before]({{ c.old_link }}) · {% endif %}[after]({{ c.new_link }})

{{ c.excerpt|fenced("diff") }}
{% endfor %}
{% endfor %}
""")

HTML = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string("""\
<section class="watch-report">
<h1>Watch pass {{ summary.pass }}: {{ cities|length }} {{ "city" if cities|length == 1 else "cities" }} flagged</h1>
<p>{{ summary.changes.substantive }} substantive and {{ summary.changes.cosmetic }} cosmetic changes.</p>
{% for city in cities %}
<h2>{{ city.name }} <small>{{ city.city }}</small></h2>
<table><tr><th>edition</th><th>indicator</th><th>old level</th><th>new level</th><th>new proposal</th></tr>
{% for i in city.indicators %}
<tr><td>{{ i.edition }}</td><td>{{ i.indicator }}</td><td>{{ i.old_level if i.old_level is not none else "–" }}</td>
<td>{{ i.new_level if i.new_level is not none else "–" }}</td><td><a href="{{ base }}/items/{{ i.new_proposal }}">#{{ i.new_proposal }}</a></td></tr>
{% endfor %}
</table>
{% for c in city.changes %}
<h3>{{ c.title or c.url }}{{ " (new document)" if c.new_document }}</h3>
<p><a href="{{ c.url }}">{{ c.url }}</a> · bears on: {{ c.indicators|join(", ") or "no indicator" }} ·
{% if c.old_link %}<a href="{{ c.old_link }}">before</a> · {% endif %}<a href="{{ c.new_link }}">after</a></p>
<pre class="diff">{{ c.excerpt }}</pre>
{% endfor %}
{% endfor %}
</section>
""")


def render(session, pass_id: int, form: str) -> str:
    """The report as Markdown (`md`) or an HTML fragment (`html`)."""
    context = {"summary": pass_summary(session, pass_id), "cities": city_report(session, pass_id), "base": base_url()}
    return (MARKDOWN if form == "md" else HTML).render(**context)
