"""Claims on the inputs being proposed: two runs asking the same question at once pay the LLM once.

A run claims an input hash before it asks; another run that meets the claim waits for the proposal it leads
to. A claim is dropped with the proposal it led to (in the same transaction) or when its proposer failed; one
whose holder died is taken over: at once on the holder's own host (its process is gone), elsewhere once it is
older than the claim's lifetime.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from evidence.database import insert_unless_present
from evidence.record import ProposalClaim, now


def holder_name() -> str:
    """Who claims: this host and process, and a random part (one process may start several runs)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim(session: Session, digest: str, holder: str, lifetime: float) -> bool:
    """Claim the input `digest` for `holder`: True when it is now ours (new, already ours, or taken over)."""
    if insert_unless_present(session, ProposalClaim, {"input_hash": digest, "holder": holder, "claimed_at": now()},
                             ["input_hash"]) is not None:
        return True
    row = session.execute(select(ProposalClaim.holder, ProposalClaim.claimed_at)
                          .where(ProposalClaim.input_hash == digest)).first()
    if row is None:  # released between our insert and this read: claim it next time round
        return False
    if row.holder == holder:
        return True
    claimed_at = row.claimed_at if row.claimed_at.tzinfo else row.claimed_at.replace(tzinfo=now().tzinfo)
    if claimed_at + timedelta(seconds=lifetime) > now() and not _dead_here(row.holder):
        return False
    # the holder died: take over, unless another run took it over first (compare and set on the old time)
    taken = session.execute(update(ProposalClaim).where(ProposalClaim.input_hash == digest,
                                                        ProposalClaim.claimed_at == row.claimed_at)
                            .values(holder=holder, claimed_at=now()))
    return taken.rowcount == 1  # type: ignore[attr-defined]


def _dead_here(holder: str) -> bool:
    """Whether the holder was a process on this host that is gone (killed: its claim needs no waiting out)."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def release(session: Session, digest: str, holder: str) -> None:
    session.execute(delete(ProposalClaim).where(ProposalClaim.input_hash == digest, ProposalClaim.holder == holder))
