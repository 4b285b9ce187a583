"""The decisions' hash chain: each decision's digest covers its own content and the digest of the decision
before it (in id order), so editing, removing or slipping in a row by hand breaks the chain from there on.

The digest is SHA-256 over the previous digest and a canonical JSON of the decision (its ids, round,
action, level, reason, time, place in its item's history and the evidence attached). Its definition is
part of the record (migration 0007 chained the decisions already made with it): change it only with a
new version and a migration that re-chains.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

GENESIS = "0" * 64  # the "previous digest" of the first decision
HEAD = "decisions"  # the name of the chain's head row (table decision_chain)


def moment(at: datetime) -> str:
    """A time as the chain hashes it: UTC, microseconds (SQLite gives it back without its zone, in UTC)."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def decision_digest(previous: str, decision: dict, evidence: list[dict]) -> str:
    """The digest of one decision, given the previous one's (GENESIS for the first)."""
    content = {"v": 1, "id": decision["id"], "proposal": decision["proposal_id"],
               "reviewer": decision["reviewer_id"], "round": decision["round"], "action": decision["action"],
               "level": decision["level"], "reason": decision["reason"] or "", "at": moment(decision["created_at"]),
               "sequence": decision["sequence"],
               "evidence": sorted(json.dumps([e.get(k) for k in ("kind", "url", "filename", "sha256", "size")])
                                  for e in evidence)}
    if decision.get("undoes") is not None:  # added with undo; absent from older decisions' digests
        content["undoes"] = decision["undoes"]
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((previous + canonical).encode("utf-8")).hexdigest()
