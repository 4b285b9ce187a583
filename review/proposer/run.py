"""A proposal run: gather evidence, skip what was already proposed, propose the rest, record each one.

Every proposal is committed as soon as it is made, keyed by an input hash (method, model, prompt or cue
version, the ladder, the exact evidence). A question whose hash is already in the record is not sent
again, so a killed run, run again, resumes where it stopped, and an unchanged question costs nothing.
LLM calls run on a thread pool (`concurrency`) under the shared rate limit; the record is written from
this thread only. A new proposal for a question makes the older ones of the same method stale.
Runs at once (two `propose` commands, distributed workers) make one proposal per input: a question is claimed
before it is asked (review.proposer.claims), and the row is inserted ON CONFLICT of its unique input hash.
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Literal

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select, update

from evidence.database import insert_unless_present, session_scope
from evidence.errors import EvidenceError
from evidence.output import console
from evidence.record import Citation, Document, Proposal
from evidence.settings import Settings
from evidence.vocabulary import City, Edition, Indicator
from frameworks import load_framework
from review.proposer.claims import claim, holder_name, release
from review.proposer.cues import Cues, load_cues
from review.proposer.evidence import BUDGET_TOKENS, OFFLINE_BUDGET_TOKENS, Evidence, gather
from review.proposer.llm import LLMConfig, LLMProposer, LLMResult, evidence_budget
from review.proposer.offline import RULES as offline_rules
from review.proposer.offline import propose_offline
from review.proposer.verify import CheckedCitation, verify
from sources import load_registry

MethodName = Literal["llm", "offline"]
CLAIM_POLL_SECONDS = 0.5  # how often a run waiting on another's claim looks for its proposal
OFFLINE_CLAIM_SECONDS = 600.0  # an offline proposal takes a second or so: a claim this old is a dead holder's


@dataclass(frozen=True)
class Question:
    edition: Edition
    city: City
    indicator: Indicator
    document: int | None = None  # ask of this one document only (an answer key labels documents one by one)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.edition.id, self.city.id, self.indicator.id

    @property
    def scope(self) -> tuple[str, str, str, int | None]:
        return *self.key, self.document


def questions(edition_id: str, cities: list[str] | None = None, indicators: list[str] | None = None) -> list[Question]:
    edition = load_framework(edition_id)
    registry = load_registry()
    try:
        chosen = [registry.get(c) for c in cities] if cities else registry.in_edition(edition_id)
        inds = [edition.indicator(i) for i in indicators] if indicators else list(edition.indicators)
    except KeyError as e:
        raise EvidenceError(str(e.args[0])) from None
    return [Question(edition, c, i) for c in chosen for i in inds]


@dataclass
class Outcome:
    question: Question
    status: str  # proposed | reused | no-evidence | failed
    level: int | None = None
    proposal_id: int | None = None
    flags: list[str] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    error: str | None = None


@dataclass
class RunReport:
    method: str
    model: str
    prompt_version: str
    outcomes: list[Outcome]
    evidence_seconds: float
    propose_seconds: float

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    def as_dict(self) -> dict:
        return {"method": self.method, "model": self.model, "prompt_version": self.prompt_version,
                "evidence_seconds": round(self.evidence_seconds, 2), "propose_seconds": round(self.propose_seconds, 2),
                "counts": {s: self.count(s) for s in ("proposed", "reused", "no-evidence", "failed")},
                "outcomes": [{"edition": o.question.edition.id, "city": o.question.city.id,
                              "indicator": o.question.indicator.id, "status": o.status, "level": o.level,
                              "proposal_id": o.proposal_id, "flags": o.flags, "tokens_in": o.tokens_in,
                              "tokens_out": o.tokens_out, "latency_ms": round(o.latency_ms, 1), "error": o.error}
                             for o in self.outcomes]}


@dataclass(frozen=True)
class Known:
    """A proposal already in the record for an input hash."""

    id: int
    level: int
    flags: list[str]

    def reused(self, q: Question) -> Outcome:
        return Outcome(q, "reused", self.level, self.id, list(self.flags))


@dataclass
class Made:
    """What a proposer made for one question, ready to record."""

    level: int
    rationale: str
    confidence: float
    missing: str
    citations: list[CheckedCitation]
    flags: list[str]
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    facts: dict | None = None  # the offline rationale as data (review.proposer.offline.facts)


def input_hash(method: str, model: str, depends: str, question: Question, evidence: Evidence) -> str:
    """Identifies everything a proposal is made from: same hash, same question asked the same way."""
    ladder = [(r.level, r.text.en, r.text.zh) for r in question.indicator.rungs]
    document = json.dumps([method, model, depends, *question.key, ladder, evidence.digest()], ensure_ascii=False)
    return hashlib.sha256(document.encode()).hexdigest()


class ProposalRun:
    def __init__(self, settings: Settings, method: MethodName, llm: LLMConfig | None = None, concurrency: int = 4,
                 budget: int | None = None, show_progress: bool = True, cues: Cues | None = None) -> None:
        if method == "llm" and not (llm and llm.base_url):
            raise EvidenceError("the llm method needs an endpoint: set EVIDENCE_LLM_BASE_URL (and EVIDENCE_LLM_MODEL)")
        self.settings, self.method = settings, method
        self.budget = budget or (BUDGET_TOKENS if method == "llm" else OFFLINE_BUDGET_TOKENS)
        self.concurrency = max(1, concurrency)
        self.proposer = LLMProposer(llm) if method == "llm" and llm else None
        self.model = llm.model if self.proposer and llm else settings.embedding_model
        self.cues = cues or load_cues()  # another vocabulary: an author's own, or one held out from a city
        self.version = self.proposer.prompt.id if self.proposer else self.cues.id
        # what the output depends on beyond the evidence: the template's or the rules' exact text
        self.depends = (self.proposer.prompt.digest if self.proposer
                        else f"{self.cues.digest}:rules-{offline_rules}")
        self.show_progress = show_progress
        self.holder = holder_name()
        # a claim outlives the longest a question can take (every attempt and transport retry at its deadline)
        self.claim_seconds = (llm.attempts * (llm.transport_retries + 1) * llm.total_deadline + 60
                              if self.proposer and llm else OFFLINE_CLAIM_SECONDS)
        self.budgets: list[int] = []  # the evidence tokens each question of the last run was given

    def budget_for(self, q: Question) -> int:
        """The evidence tokens for one question: the run's budget, cut so the whole prompt fits the context."""
        if self.proposer is None:
            return self.budget
        return evidence_budget(self.proposer.config, self.proposer.prompt, q.edition, q.city, q.indicator, self.budget)

    def describe_budget(self) -> str:
        config = self.proposer.config if self.proposer else None
        if not config or not config.context:
            return f"prompt budget: {self.budget} evidence tokens per question" + \
                ("" if config is None else f", answers of at most {config.max_tokens} tokens")
        used = f"{min(self.budgets)}–{max(self.budgets)}" if self.budgets else str(self.budget)
        return (f"prompt budget: {used} evidence tokens per question (at most {self.budget}; context {config.context} "
                f"= prompt without evidence + evidence + answer of at most {config.max_tokens} + margin)")

    def run(self, batch: list[Question]) -> RunReport:
        started = time.perf_counter()
        with self._progress() as progress:
            gathered = self._gather(batch, progress)
            evidence_seconds = time.perf_counter() - started
            outcomes = self._propose(gathered, progress)
        order = {q.scope: n for n, q in enumerate(batch)}
        outcomes.sort(key=lambda o: order[o.question.scope])
        return RunReport(self.method, self.model, self.version, outcomes, evidence_seconds,
                         time.perf_counter() - started - evidence_seconds)

    def _progress(self) -> Progress:
        return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.fields[note]}"), console=console, disable=not self.show_progress)

    def _gather(self, batch: list[Question], progress: Progress) -> list[tuple[Question, Evidence, str]]:
        task = progress.add_task("gathering evidence", total=len(batch), note="")
        with session_scope(self.settings.database) as session:
            collected = set(session.scalars(select(Document.city).distinct()))
        out = []
        self.budgets = []
        for q in batch:
            progress.update(task, note=f"{q.city.id} · {q.indicator.id}")
            budget = self.budget_for(q)
            self.budgets.append(budget)
            evidence = gather(self.settings, q.edition.id, q.city, q.indicator, budget, document=q.document,
                              cues=self.cues) \
                if q.city.id in collected else Evidence(q.edition.id, q.city.id, q.indicator.id, [])
            out.append((q, evidence, input_hash(self.method, self.model, self.depends, q, evidence)))
            progress.advance(task)
        return out

    def _propose(self, gathered: list[tuple[Question, Evidence, str]], progress: Progress) -> list[Outcome]:
        outcomes, todo, seen = [], [], set()
        known = self._known([h for *_, h in gathered])
        for q, evidence, digest in gathered:
            if not evidence.passages:
                outcomes.append(Outcome(q, "no-evidence", error="nothing collected for this city yet"))
            elif digest in known:
                outcomes.append(known[digest].reused(q))
            elif digest in seen:
                outcomes.append(Outcome(q, "reused"))  # the same input twice in one batch: made once
            else:
                seen.add(digest)
                todo.append((q, evidence, digest))
        task = progress.add_task(f"proposing ({self.method}, {self.model})", total=len(todo), note="")
        while todo:
            waiting = []
            for (q, evidence, digest), made in self._make(todo):
                if made is None:  # another run is proposing it right now: its proposal will do
                    waiting.append((q, evidence, digest))
                    continue
                outcomes.append(self._record(q, evidence, digest, made))
                progress.update(task, advance=1, note=f"{q.city.id} · {q.indicator.id}")
            todo = self._made_elsewhere(waiting, outcomes, lambda: progress.advance(task))
        return outcomes

    def _known(self, digests: list[str]) -> dict[str, Known]:
        if not digests:
            return {}
        with session_scope(self.settings.database) as session:
            rows = session.execute(select(Proposal.input_hash, Proposal.id, Proposal.level, Proposal.flags)
                                   .where(Proposal.input_hash.in_(digests)))
            return {row.input_hash: Known(row.id, row.level, list(row.flags)) for row in rows}

    def _made_elsewhere(self, waiting: list[tuple[Question, Evidence, str]], outcomes: list[Outcome],
                        advance) -> list[tuple[Question, Evidence, str]]:
        """The questions another run held: those it has proposed are reused; the rest are tried again (their
        claim may be released by a failure or expire), after a pause."""
        if not waiting:
            return []
        time.sleep(CLAIM_POLL_SECONDS)
        known = self._known([digest for *_, digest in waiting])
        for q, _, digest in waiting:
            if digest in known:
                outcomes.append(known[digest].reused(q))
                advance()
        return [item for item in waiting if item[2] not in known]

    def _claim(self, digest: str) -> bool:
        """Whether this run is to ask the question: claimed, and not proposed by another run since we looked
        (that run recorded its proposal and dropped its claim in one transaction)."""
        with session_scope(self.settings.database) as session:
            if not claim(session, digest, self.holder, self.claim_seconds):
                return False
            if session.scalar(select(Proposal.id).where(Proposal.input_hash == digest)) is None:
                return True
            release(session, digest, self.holder)
            return False

    def _make(self, todo: list[tuple[Question, Evidence, str]]):
        """Yield (item, Made | error text | None) as each proposal is made: offline inline, LLM calls on the pool;
        None for a question another run has claimed. Each is claimed just before it is asked."""
        if self.proposer is None:
            for item in todo:
                yield item, self._offline(*item[:2]) if self._claim(item[2]) else None
            return
        with ThreadPoolExecutor(self.concurrency) as pool:
            pending: dict[Future, tuple] = {}
            queue = list(reversed(todo))
            while queue or pending:
                while queue and len(pending) < self.concurrency:
                    item = queue.pop()
                    if self._claim(item[2]):
                        pending[pool.submit(self._llm, *item[:2])] = item
                    else:
                        yield item, None
                if not pending:
                    continue
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
    def _offline(self, q: Question, evidence: Evidence) -> Made:
        started = time.perf_counter()
        out = propose_offline(self.settings, evidence, q.indicator, q.city, self.cues)
        checked = verify(out, evidence, q.indicator.top, q.city.languages, out.status_reasons)
        return Made(checked.level, out.rationale, out.confidence, out.missing_for_next_rung, checked.citations,
                    _flags(checked.flags, checked.acceptable, evidence),
                    latency_ms=(time.perf_counter() - started) * 1000, facts=out.rationale_facts)

    def _llm(self, q: Question, evidence: Evidence) -> Made | LLMResult:
        assert self.proposer
        result = self.proposer.propose(q.edition, q.city, q.indicator, evidence)
        if result.out is None or result.verification is None:
            return result
        checked = result.verification
        flags = _flags(checked.flags, checked.acceptable, evidence) + (["retried"] if result.attempts > 1 else [])
        confidence = result.out.confidence if checked.acceptable and checked.level == result.out.level else 0.0
        return Made(checked.level, result.out.rationale, confidence, result.out.missing_for_next_rung,
                    checked.citations, flags,
                    result.tokens_in, result.tokens_out, result.latency_ms)

    def _record(self, q: Question, evidence: Evidence, digest: str, made: Made | LLMResult) -> Outcome:
        if isinstance(made, LLMResult):
            with session_scope(self.settings.database) as session:
                release(session, digest, self.holder)  # another run may try it
            return Outcome(q, "failed", tokens_in=made.tokens_in, tokens_out=made.tokens_out,
                           latency_ms=made.latency_ms, error=made.error)
        with session_scope(self.settings.database) as session:
            values = {"edition": q.edition.id, "city": q.city.id, "indicator": q.indicator.id, "level": made.level,
                      "method": self.method, "model": self.model, "prompt_version": self.version,
                      "rationale": made.rationale, "rationale_facts": made.facts, "confidence": made.confidence,
                      "missing_evidence": made.missing,
                      "flags": made.flags, "evidence_chunks": evidence.chunk_ids,
                      "evidence_snapshots": evidence.snapshot_ids, "input_hash": digest,
                      "tokens_in": made.tokens_in, "tokens_out": made.tokens_out, "latency_ms": made.latency_ms}
            proposal_id = insert_unless_present(session, Proposal, values, ["input_hash"])
            release(session, digest, self.holder)
            if proposal_id is None:  # our claim had expired and another run recorded the same input first
                row = session.execute(select(Proposal.id, Proposal.level, Proposal.flags)
                                      .where(Proposal.input_hash == digest)).one()
                return Known(row.id, row.level, list(row.flags)).reused(q)
            session.execute(update(Proposal).where(
                Proposal.edition == q.edition.id, Proposal.city == q.city.id, Proposal.indicator == q.indicator.id,
                Proposal.method == self.method, Proposal.stale.is_(False), Proposal.id != proposal_id)
                .values(stale=True))
            session.add_all(Citation(proposal_id=proposal_id, chunk_id=c.chunk_id, quote=c.quote, verified=c.verified,
                                     status=c.status, status_reason=c.status_reason) for c in made.citations)
        return Outcome(q, "proposed", made.level, proposal_id, made.flags, made.tokens_in, made.tokens_out,
                       made.latency_ms)


def _flags(flags: list[str], acceptable: bool, evidence: Evidence) -> list[str]:
    out = list(flags) + ([] if acceptable else ["no-verified-citation"])
    out += [f"excluded-evidence:{chunk_id}" for chunk_id, _ in evidence.excluded]
    return out


def default_method(settings: Settings) -> MethodName:
    return "llm" if settings.llm_base_url else "offline"
