"""Checking a proposal against its evidence: every quote must be in its cited chunk.

Whitespace is normalised (runs of spaces and line breaks are one space) and HTML entities are undone
(evidence is passed to the model HTML-escaped); nothing else is forgiven. A citation of a chunk that was
not in the evidence, of a quote that is not in its chunk, or of text that addresses an AI reader is
unsupported: it is kept for the audit trail with verified=False and never counts as support. A level of 1
or more needs at least one verified citation; a level outside the ladder is rejected.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field

from review.proposer.evidence import Evidence
from review.proposer.model import ProposalOut
from review.proposer.untrusted import instruction_to_machines

MIN_QUOTE_CHARS = 8  # shorter quotes ("5G") would verify anywhere and show nothing


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", html.unescape(text))).strip()


@dataclass(frozen=True)
class CheckedCitation:
    chunk_id: str
    quote: str
    verified: bool
    problem: str | None = None


@dataclass
class Verification:
    citations: list[CheckedCitation]
    problems: list[str] = field(default_factory=list)  # what makes the output unacceptable (retry with these)
    flags: list[str] = field(default_factory=list)  # what a reviewer must know about an accepted output

    @property
    def acceptable(self) -> bool:
        return not self.problems

    @property
    def verified(self) -> list[CheckedCitation]:
        return [c for c in self.citations if c.verified]


def check_citation(chunk_id: str, quote: str, evidence: Evidence) -> CheckedCitation:
    passage = evidence.by_chunk().get(chunk_id)
    wanted = normalise(quote)
    if passage is None:
        return CheckedCitation(chunk_id, quote, False, f"chunk {chunk_id} is not one of the evidence passages")
    if len(wanted) < MIN_QUOTE_CHARS:
        return CheckedCitation(chunk_id, quote, False, f"the quote {quote!r} is too short to check")
    if wanted not in normalise(passage.text):
        return CheckedCitation(chunk_id, quote, False, f"the quote {quote[:80]!r} does not occur in chunk {chunk_id}")
    if instruction_to_machines(wanted):
        return CheckedCitation(chunk_id, quote, False, f"the quote in {chunk_id} is an instruction to AI readers")
    return CheckedCitation(chunk_id, quote, True)


def verify(out: ProposalOut, evidence: Evidence, top: int) -> Verification:
    checked = [check_citation(c.chunk_id, c.quote, evidence) for c in out.citations]
    result = Verification(checked)
    if not 0 <= out.level <= top:
        result.problems.append(f"level {out.level} is outside this ladder (0 to {top})")
    unsupported = [c for c in checked if not c.verified]
    if unsupported:
        result.flags.append("unsupported-citation")
    if out.level >= 1 and not result.verified:
        result.problems.append(f"level {out.level} needs at least one verified citation; "
                               + ("; ".join(c.problem or "" for c in unsupported) or "none was given"))
    return result
