"""Anchors of the audit chain: its head's sequence and MAC, kept outside the database.

The chain alone cannot show rows cut off its end (a shorter chain verifies), nor a tail rewritten by
someone holding the key; `portico audit anchor` prints (and appends to a file) an anchor, and
`portico audit verify --anchor F` checks the chain against every anchor in F (audit.verify(anchors=)).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from engine import persistence
from engine.models import utcnow
from engine.models.audit import AuditEvent
from engine.services.platform.audit import _head, chain_pending, stored_mac


@dataclass(frozen=True)
class Anchor:
    """The chain's head as seen at one moment, kept outside the database (see `anchor`)."""

    seq: int
    mac: str  # hex
    at: datetime

    def line(self) -> str:
        return f"{self.at.astimezone(UTC).isoformat(timespec='seconds')} seq={self.seq} mac={self.mac}"


_ANCHOR_LINE = re.compile(r"\bseq=(\d+) mac=([0-9a-f]{64})\b")


def anchor() -> Anchor | None:
    """The head's sequence and MAC, or None for an empty chain.

    The chain alone cannot show rows cut off its end (a shorter chain verifies), nor a tail rewritten
    by someone holding the key. Kept somewhere the database's users cannot write (a log host, a
    ticket, paper), an anchor lets `audit.verify(anchors=...)` detect both.
    """
    chain_pending()
    head = _head(persistence.collection(AuditEvent))
    if head is None:
        return None
    return Anchor(seq=head["seq"], mac=stored_mac(head), at=utcnow())


def parse_anchors(text: str) -> list[tuple[int, str]]:
    """(seq, mac) of every anchor line in `text` (lines written by Anchor.line; others are ignored)."""
    return [(int(m.group(1)), m.group(2)) for m in map(_ANCHOR_LINE.search, text.splitlines()) if m]
