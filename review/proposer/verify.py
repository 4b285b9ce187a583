"""Checking a proposal against its evidence: every quote must be in its cited chunk, and only
achievements support a level.

Whitespace is normalised (runs of spaces and line breaks are one space) and HTML entities are undone
(evidence is passed to the model HTML-escaped); nothing else is forgiven. A citation of a chunk that was
not in the evidence, of a quote that is not in its chunk, or of text that addresses an AI reader is
unsupported: it is kept for the audit trail with verified=False and never counts as support. A level of 1
or more needs at least one verified citation; a level outside the ladder is rejected.

Verbatim is not support: each citation's status (achieved, under way, planned) is the proposer's, checked
against the rules of status.py (the quote's grammar, its section, the document's year); a disagreement is
flagged for the reviewer, and where the proposer calls achieved what the rules read as a plan or work under
way, the rules' reading stands (a small model took a work report's tasks for achievements: issue 12).
A level whose verified citations are all plans or work under way rests on no
achievement: the level is lowered to 0 and flagged, never shown as supported.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field

from review.proposer.evidence import Evidence
from review.proposer.model import ProposalOut
from review.proposer.status import DocumentVoice, Judgement, judge
from review.proposer.untrusted import instruction_to_machines

# A quote must be long enough to carry a claim, counted the way its script writes words. "5G", "建成" or
# "smart city" verify almost anywhere and show nothing; a claim needs a subject, a verb and what was done.
# Spaced scripts (Latin, Cyrillic, Arabic, Korean...): at least 4 words and 20 characters ("5G covers 96%
# of districts" passes, "fibre to the home" does not). Unspaced scripts (Chinese, Japanese kana, Thai,
# Lao, Khmer, Myanmar) count characters: a Chinese word is about 1.5 to 2 characters, so 8 characters
# ("全省5G基站达32万个" has 7 plus two numbers) is about 4 words; in a mixed quote each word of a spaced
# script counts as 2 such characters ("建成5G基站32万个": 6 + 2 x 2 = 10).
MIN_QUOTE_WORDS = 4
MIN_QUOTE_CHARS = 20
MIN_QUOTE_UNSPACED = 8
_UNSPACED = re.compile(r"[\u0E00-\u0EFF\u1000-\u109F\u1780-\u17FF\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF"
                       r"\uF900-\uFAFF\U00020000-\U0003134F]")


def too_short(quote: str) -> str | None:
    """Why a (normalised) quote is too short to carry a claim in its script, or None."""
    unspaced = len(_UNSPACED.findall(quote))
    words = len(re.findall(r"\w+", _UNSPACED.sub(" ", quote)))
    if unspaced:
        if unspaced + 2 * words < MIN_QUOTE_UNSPACED:
            return f"{unspaced} characters and {words} other words (at least {MIN_QUOTE_UNSPACED} characters)"
        return None
    if words < MIN_QUOTE_WORDS or len(quote) < MIN_QUOTE_CHARS:
        return f"{words} words, {len(quote)} characters (at least {MIN_QUOTE_WORDS} words and {MIN_QUOTE_CHARS})"
    return None


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", html.unescape(text))).strip()


@dataclass(frozen=True)
class CheckedCitation:
    chunk_id: str
    quote: str
    verified: bool  # found verbatim in its chunk
    problem: str | None = None
    status: str | None = None  # achieved | under-way | planned, as the proposer says
    status_reason: str = ""

    @property
    def supports(self) -> bool:
        """Verbatim and an achievement: the only kind of citation a level may rest on."""
        return self.verified and self.status == "achieved"


@dataclass
class Verification:
    citations: list[CheckedCitation]
    problems: list[str] = field(default_factory=list)  # what makes the output unacceptable (retry with these)
    flags: list[str] = field(default_factory=list)  # what a reviewer must know about an accepted output
    level: int = 0  # the level that stands: the proposed one, or 0 when it rests on no achievement

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
    short = too_short(wanted)
    if short:
        return CheckedCitation(chunk_id, quote, False, f"the quote {quote!r} is too short to carry a claim: {short}")
    if wanted not in normalise(passage.text):
        return CheckedCitation(chunk_id, quote, False, f"the quote {quote[:80]!r} does not occur in chunk {chunk_id}")
    if instruction_to_machines(wanted):
        return CheckedCitation(chunk_id, quote, False, f"the quote in {chunk_id} is an instruction to AI readers")
    return CheckedCitation(chunk_id, quote, True)


def with_status(cited: CheckedCitation, claimed: str, evidence: Evidence, languages: list[str],
                reason: str | None) -> tuple[CheckedCitation, bool]:
    """The citation with its status and the reason for it; True when the rules disagree with the claim."""
    if reason is not None or not cited.verified:
        return CheckedCitation(**{**cited.__dict__, "status": claimed, "status_reason": reason or ""}), False
    passage = evidence.by_chunk()[cited.chunk_id]
    voice = evidence.voices.get(passage.snapshot_id, DocumentVoice(None, 0, 0))
    read_in = [passage.language] if passage.language and passage.language != "und" else languages
    rules: Judgement = judge(normalise(cited.quote), 0, passage.section, read_in, voice)
    disputed = rules.status != claimed
    if disputed and claimed == "achieved":  # the cautious reading stands: a model takes plans for deeds
        why = f"the proposer said achieved; the rules read it as {rules.status} ({rules.reason})"
        return CheckedCitation(**{**cited.__dict__, "status": rules.status, "status_reason": why}), True
    why = f"the rules read it as {rules.status} ({rules.reason})" if disputed else rules.reason
    return CheckedCitation(**{**cited.__dict__, "status": claimed, "status_reason": why}), disputed


def verify(out: ProposalOut, evidence: Evidence, top: int, languages: list[str] | None = None,
           reasons: list[str] | None = None) -> Verification:
    """`reasons`: the proposer's own reason for each citation's status (the offline rules give theirs)."""
    checked, disputed = [], False
    for n, c in enumerate(out.citations):
        cited, against = with_status(check_citation(c.chunk_id, c.quote, evidence), c.status, evidence,
                                     languages or [], reasons[n] if reasons else None)
        checked.append(cited)
        disputed |= against
    result = Verification(checked, level=out.level)
    if disputed:
        result.flags.append("status-disputed")
    if not 0 <= out.level <= top:
        result.problems.append(f"level {out.level} is outside this ladder (0 to {top})")
    unsupported = [c for c in checked if not c.verified]
    if unsupported:
        result.flags.append("unsupported-citation")
    if out.level >= 1 and not result.verified:
        result.problems.append(f"level {out.level} needs at least one verified citation; "
                               + ("; ".join(c.problem or "" for c in unsupported) or "none was given"))
    elif out.level >= 1 and not any(c.supports for c in checked):
        result.flags.append("rests-on-plans")
        result.level = 0
    return result
