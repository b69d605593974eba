"""The audit trail: who did what to which client's data, when, from where, with what outcome.

Rows form a hash chain: each row's MAC is HMAC-SHA256(key, previous MAC ‖
canonical row). The key derives from PORTICO_SECRET_KEY and is never stored in
the database, so someone with database access alone cannot rewrite history
without `verify()` naming the first row that no longer fits.

Concurrent writers: a row's `seq` is unique, so two writers that read the same
head race on the insert; the loser re-reads the head and tries again.

Encoding (rows are ~100 per finished intake, so bytes per row count): the MAC is stored as its 32
raw bytes, not 64 hex characters; the previous row's MAC is not stored again (the chain already
binds it: each MAC is computed over it, and `verify()` takes it from the previous row); empty
string and empty `details` fields are left out and read back as empty. The MAC input is unchanged
(hex text of the previous MAC, canonical JSON of every chained field), so older rows, stored with
`prev_mac` and a hex `mac`, verify in the same chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from bson import Binary
from pymongo.errors import DuplicateKeyError

from engine import config
from engine.authz import Actor
from engine.models import utcnow
from engine.models.audit import AuditEvent

_MAX_RACE_RETRIES = 50
_CHAINED_FIELDS = ("seq", "at", "actor_kind", "actor_id", "action", "client_id", "object_type",
                   "object_id", "outcome", "ip", "user_agent", "details")
# Left out of the stored row when empty; verify() reads a missing one back as empty.
_OMIT_WHEN_EMPTY = ("actor_id", "client_id", "object_type", "object_id", "ip", "user_agent", "details")


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


def _hex(stored) -> str:
    """A stored MAC as hex text: raw bytes (current rows) or hex text (older rows)."""
    if isinstance(stored, bytes):
        return stored.hex()
    return stored if isinstance(stored, str) else ""


def _stored_row(row: dict, mac: str) -> dict:
    doc = {k: v for k, v in row.items() if not (k in _OMIT_WHEN_EMPTY and v in ("", {}))}
    doc["mac"] = Binary(bytes.fromhex(mac))
    return doc


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
    coll = AuditEvent._get_collection()
    for _ in range(_MAX_RACE_RETRIES):
        head = coll.find_one({}, {"seq": 1, "mac": 1}, sort=[("seq", -1)])
        seq = (head["seq"] + 1) if head else 1
        prev = _hex(head.get("mac")) if head else ""
        row = dict(values, seq=seq)
        mac = _mac(prev, row)
        try:
            # Plain insert: one round trip, and the unique index on seq decides races.
            inserted = coll.insert_one(_stored_row(row, mac)).inserted_id
            return AuditEvent(id=inserted, **row, prev_mac=prev, mac=mac)
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
        if "prev_mac" in doc and doc["prev_mac"] != prev_mac:  # older rows repeat the previous MAC
            return VerifyResult(False, count, seq, f"row {seq} does not follow row {seq - 1}")
        mac = _mac(prev_mac, values)
        if not hmac.compare_digest(_hex(doc.get("mac")), mac):
            return VerifyResult(False, count, seq, f"row {seq} was altered")
        prev_mac = mac
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
