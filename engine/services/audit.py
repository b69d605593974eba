"""The audit trail: who did what to which client's data, when, from where, with what outcome.

Rows form a hash chain: each row's MAC is HMAC-SHA256(key, previous MAC ‖
canonical row). The key derives from PORTICO_SECRET_KEY and is never stored in
the database, so someone with database access alone cannot rewrite history
without `verify()` naming the first row that no longer fits.

Concurrent writers: a row's `seq` is unique, so two writers that read the same
head race on the insert; the loser re-reads the head and tries again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo.errors import DuplicateKeyError

from engine import config
from engine.authz import Actor
from engine.models import utcnow
from engine.models.audit import AuditEvent

_MAX_RACE_RETRIES = 50
_CHAINED_FIELDS = ("seq", "at", "actor_kind", "actor_id", "action", "client_id", "object_type",
                   "object_id", "outcome", "ip", "user_agent", "details")


def _key() -> bytes:
    return config.current().derived_key("audit-chain")


def _canonical(values: dict) -> bytes:
    def default(obj):
        if isinstance(obj, datetime):
            # Millisecond precision: what MongoDB keeps of a datetime.
            return obj.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{obj.microsecond // 1000:03d}"
        return str(obj)

    return json.dumps({k: values[k] for k in _CHAINED_FIELDS}, sort_keys=True, separators=(",", ":"),
                      default=default).encode()


def _mac(prev_mac: str, values: dict) -> str:
    return hmac.new(_key(), prev_mac.encode() + b"\n" + _canonical(values), hashlib.sha256).hexdigest()


def record(actor: Actor, action: str, *, client=None, object_type: str = "", object_id="",
           outcome: str = "ok", details: dict | None = None) -> AuditEvent:
    """Append one audit event for `actor`. `client` may be a Client or an id."""
    client_id = str(getattr(client, "id", client) or "")
    at = utcnow()
    at = at.replace(microsecond=at.microsecond // 1000 * 1000)
    values = {
        "at": at,
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "action": action,
        "client_id": client_id,
        "object_type": object_type,
        "object_id": str(object_id or ""),
        "outcome": outcome,
        "ip": actor.ip or "",
        "user_agent": (actor.user_agent or "")[:300],
        "details": details or {},
    }
    for _ in range(_MAX_RACE_RETRIES):
        head = AuditEvent.objects.order_by("-seq").only("seq", "mac").first()
        seq = (head.seq + 1) if head else 1
        prev = head.mac if head else ""
        row = dict(values, seq=seq)
        event = AuditEvent(**row, prev_mac=prev, mac=_mac(prev, row))
        try:
            # Plain insert: one round trip, and the unique index on seq decides races.
            event.id = AuditEvent._get_collection().insert_one(event.to_mongo()).inserted_id
            return event
        except DuplicateKeyError:
            continue  # another writer took this seq; chain onto theirs
    raise RuntimeError("audit chain too contended to append")  # never expected in practice


@dataclass
class VerifyResult:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify(batch: int = 2000) -> VerifyResult:
    """Walk the chain in order; report the first row that was changed, removed or inserted."""
    prev_mac = ""
    expected_seq = 1
    count = 0
    coll = AuditEvent._get_collection()
    for doc in coll.find({}, sort=[("seq", 1)], batch_size=batch):
        count += 1
        seq = doc.get("seq")
        if seq != expected_seq:
            return VerifyResult(False, count, expected_seq, f"row {expected_seq} is missing (found {seq})")
        values = {k: doc.get(k, "" if k != "details" else {}) for k in _CHAINED_FIELDS}
        if doc.get("prev_mac", "") != prev_mac:
            return VerifyResult(False, count, seq, f"row {seq} does not follow row {seq - 1}")
        if not hmac.compare_digest(doc.get("mac", ""), _mac(prev_mac, values)):
            return VerifyResult(False, count, seq, f"row {seq} was altered")
        prev_mac = doc["mac"]
        expected_seq += 1
    return VerifyResult(True, count)


def events_for(actor: Actor, *, client_id: str | None = None, action: str | None = None,
               limit: int = 100, before_seq: int | None = None) -> list[AuditEvent]:
    """Audit rows newest first (permission audit.view). Raises NotAuthenticated or Forbidden."""
    actor.require("audit.view")
    query: dict = {}
    if client_id:
        query["client_id"] = client_id
    if action:
        query["action"] = action
    if before_seq:
        query["seq__lt"] = before_seq
    return list(AuditEvent.objects(**query).order_by("-seq").limit(min(max(limit, 1), 500)))
