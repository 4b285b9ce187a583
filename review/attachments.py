"""Evidence a reviewer attaches to an item (a URL to crawl, a file a city sent), kept for re-review.

Files are stored by the SHA-256 of their bytes in the attachments store (`<data dir>/attachments/`, or the
shared bucket: evidence.storage), before any decision is
written: if the decision then loses a conflict, the file is still there and the form offers it again.
The collector picks up `pending` attachments; the proposer's next proposal on them is a new item.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.errors import DataError
from evidence.record import Attachment, Decision, Proposal
from evidence.storage import blob_store

MAX_BYTES = 25 * 1024 * 1024
_SAFE_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)


@dataclass(frozen=True)
class Attached:
    """One piece of attached evidence, ready to record: a URL, or a file already stored by hash."""

    kind: str  # url | file
    url: str | None = None
    filename: str | None = None
    sha256: str | None = None
    size: int | None = None
    content_type: str | None = None

    @property
    def token(self) -> str:
        """How a form carries a stored file across a conflict without uploading it again."""
        return f"{self.sha256}:{self.size}:{self.filename}"


def url_evidence(url: str) -> Attached:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "\x00" in url:
        raise DataError("attach", "url", f"{url!r} is not an http(s) URL")
    return Attached("url", url=url)


def store_file(data_dir: Path, filename: str, stream: BinaryIO, content_type: str | None = None) -> Attached:
    """Copy an upload into the store (size-capped), named by its hash; the same bytes are stored once."""
    name = _SAFE_NAME.sub("_", Path(filename or "upload").name).strip() or "upload"
    digest, data = hashlib.sha256(), bytearray()
    while block := stream.read(1 << 16):
        if len(data) + len(block) > MAX_BYTES:
            raise DataError(name, "", f"larger than {MAX_BYTES // (1024 * 1024)} MB; send a link instead")
        digest.update(block)
        data += block
    if not data:
        raise DataError(name, "", "the file is empty")
    blob_store(data_dir, "attachments").put(digest.hexdigest(), bytes(data))
    return Attached("file", filename=name, sha256=digest.hexdigest(), size=len(data), content_type=content_type)


def kept_file(data_dir: Path, token: str) -> Attached:
    """A file stored by an earlier (conflicting) submission, named by its form token."""
    sha, _, rest = token.partition(":")
    size, _, name = rest.partition(":")
    if not re.fullmatch(r"[0-9a-f]{64}", sha) or not size.isdigit() or not blob_store(data_dir, "attachments").exists(sha):
        raise DataError("attach", "kept_file", f"no stored file {token!r}")
    return Attached("file", filename=name or sha, sha256=sha, size=int(size))


def record(session: Session, decision: Decision, evidence: list[Attached]) -> list[Attachment]:
    rows = [Attachment(decision_id=decision.id, kind=e.kind, url=e.url, filename=e.filename, sha256=e.sha256,
                       size=e.size, content_type=e.content_type) for e in evidence]
    session.add_all(rows)
    session.flush()
    return rows


def pending(session: Session, edition: str | None = None) -> list[tuple[Attachment, Proposal]]:
    """Attached evidence not yet collected, with the item it was attached to (for the collector)."""
    query = (select(Attachment, Proposal).join(Decision, Attachment.decision_id == Decision.id)
             .join(Proposal, Decision.proposal_id == Proposal.id).where(Attachment.state == "pending")
             .order_by(Attachment.id))
    if edition:
        query = query.where(Proposal.edition == edition)
    return [(a, p) for a, p in session.execute(query).all()]
