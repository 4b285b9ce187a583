"""Text from outside (crawled pages, registry names, a panel's file) written into Markdown: as text, never
as markup. Markdown passes raw HTML through, so a crawled `<script>` or `<img onerror=…>` in a title
would run wherever the export is rendered; a `|` would break a table and a run of backticks a fence."""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


class Verbatim(str):
    """Markdown already made safe (a fenced block): `text` leaves it alone."""


def text(value: object) -> str:
    """`value` as inline Markdown text: HTML's characters as entities, Markdown's backslash-escaped, on one
    line (a heading or a table cell ends at a newline)."""
    if isinstance(value, Verbatim):
        return value
    out = re.sub(r"[&<>]", lambda m: _ENTITIES[m.group()], str(value))
    out = _SPECIAL.sub(r"\\\1", out)
    return re.sub(r"\s*[\r\n]+\s*", " ", out)


def fenced(body: str, info: str = "") -> Verbatim:
    """`body` as a fenced code block whose fence is longer than any run of backticks inside it, so the text
    cannot close it (inside a fence nothing is markup)."""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return Verbatim(f"{fence}{info}\n{body}\n{fence}")
