"""The audit trail: who did what to which client's data, when, from where, with what outcome.

Rows form a hash chain: each row's MAC is HMAC-SHA256(key, previous MAC ‖
canonical row). The key derives from PORTICO_SECRET_KEY and is never stored in
the database, so someone with database access alone cannot rewrite history
without `verify()` naming the first row that no longer fits.

Concurrent writers: a row's `seq` is unique, so two writers that read the same
head race on the insert; the loser re-reads the head and tries again. Within one
process, threads do not race each other: appends are grouped (see `_append`).

Encoding (rows are ~100 per finished intake, so bytes per row count): the MAC is stored as its 32
raw bytes, not 64 hex characters; the previous row's MAC is not stored again (the chain already
binds it: each MAC is computed over it, and `verify()` takes it from the previous row); empty
string and empty `details` fields, an "ok" outcome and a "system" actor kind are left out and read
back as such; fields are stored under one- or two-letter keys (`STORED_KEYS`; field names were a
third of a row), and ids that are database ids are stored as 12-byte ObjectIds rather than 24
characters (read back as the same text). The MAC input is unchanged (hex text of the previous MAC,
canonical JSON of every chained field under its full name, ids as text), so older rows, stored with
full names, `prev_mac` and a hex `mac`, verify in the same chain. A row holding a field under both
its short and its full name was altered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bson import Binary, ObjectId
from pymongo.errors import BulkWriteError

from engine import config, db, persistence
from engine.authz import Actor
from engine.models import utcnow
from engine.models.audit import AuditEvent, id_value

_MAX_RACE_RETRIES = 200
_DUPLICATE_KEY = 11000
_CHAINED_FIELDS = (
    "seq",
    "at",
    "actor_kind",
    "actor_id",
    "action",
    "client_id",
    "object_type",
    "object_id",
    "outcome",
    "ip",
    "user_agent",
    "details",
)
# Left out of the stored row when they hold this value; verify() reads a missing one back as it.
_DEFAULTS = {
    "actor_kind": "system",
    "actor_id": "",
    "client_id": "",
    "object_type": "",
    "object_id": "",
    "outcome": "ok",
    "ip": "",
    "user_agent": "",
    "details": {},
}
# The key each chained field is stored under (engine.models.audit.AuditEvent declares the same).
STORED_KEYS = {
    "seq": "seq",
    "at": "t",
    "actor_kind": "k",
    "actor_id": "a",
    "action": "n",
    "client_id": "c",
    "object_type": "y",
    "object_id": "o",
    "outcome": "r",
    "ip": "i",
    "user_agent": "u",
    "details": "d",
}
MAC_KEY = "m"
_ID_FIELDS = ("actor_id", "client_id", "object_id")


def _key() -> bytes:
    return config.current().derived_key("audit-chain")


def _canonical(values: dict) -> bytes:
    def default(obj):
        if isinstance(obj, datetime):
            # Millisecond precision: what MongoDB keeps of a datetime.
            return obj.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{obj.microsecond // 1000:03d}"
        return str(obj)

    return json.dumps(
        {k: values[k] for k in _CHAINED_FIELDS}, sort_keys=True, separators=(",", ":"), default=default
    ).encode()


def _mac(prev_mac: str, values: dict) -> str:
    return hmac.new(_key(), prev_mac.encode() + b"\n" + _canonical(values), hashlib.sha256).hexdigest()


def _hex(stored) -> str:
    """A stored MAC as hex text: raw bytes (current rows) or hex text (older rows)."""
    if isinstance(stored, bytes):
        return stored.hex()
    return stored if isinstance(stored, str) else ""


def _stored_row(row: dict, mac: str) -> dict:
    """The document stored for a chained row (`row`: every chained field under its full name)."""
    doc = {}
    for name, value in row.items():
        if name in _DEFAULTS and value == _DEFAULTS[name]:
            continue
        doc[STORED_KEYS.get(name, name)] = id_value(value) if name in _ID_FIELDS else value
    doc[MAC_KEY] = Binary(bytes.fromhex(mac))
    return doc


def chained_values(doc: dict) -> dict | None:
    """Every chained field of a stored row under its full name, as the MAC was computed over it; None
    when a field is stored under both its short and its full name (the row was altered)."""
    values: dict = {}
    for name, key in STORED_KEYS.items():
        if key != name and key in doc and name in doc:
            return None
        value = doc[key] if key in doc else doc.get(name, _DEFAULTS.get(name, ""))
        values[name] = str(value) if isinstance(value, ObjectId) else value
    return values


def stored_mac(doc: dict) -> str:
    """A stored row's MAC as hex text, whichever encoding stored it."""
    return _hex(doc[MAC_KEY] if MAC_KEY in doc else doc.get("mac"))


def _values(
    actor: Actor,
    action: str,
    *,
    client=None,
    object_type: str = "",
    object_id="",
    outcome: str = "ok",
    details: dict | None = None,
) -> dict:
    client_id = str(getattr(client, "id", client) or "")
    at = utcnow()
    return {
        "at": at.replace(microsecond=at.microsecond // 1000 * 1000),
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


def record(
    actor: Actor,
    action: str,
    *,
    client=None,
    object_type: str = "",
    object_id="",
    outcome: str = "ok",
    details: dict | None = None,
) -> AuditEvent:
    """Append one audit event for `actor`. `client` may be a Client or an id."""
    item = _Pending(
        _values(
            actor,
            action,
            client=client,
            object_type=object_type,
            object_id=object_id,
            outcome=outcome,
            details=details,
        )
    )
    with _queue_lock:
        _queue.append(item)
    with _append_lock:
        if item.event is None and item.error is None:  # not written by the thread before us
            with _queue_lock:
                batch = _queue[:]
                _queue.clear()
            _append(batch)
    if item.error is not None:
        raise item.error
    assert item.event is not None  # noqa: S101 - _append ends every item with an event or an error
    return item.event


# An audit event committed in the same transaction as the change it records (a task completion):
# it cannot be lost between the change and its append, and the change pays one insert for it, not
# a head read and a chained insert. The worker's sweep chains such entries in batches
# (`chain_pending`), and every reader of the trail chains what is left first.
PENDING = "audit_pending"
_CHAIN_BATCH = 500


def entry(
    actor: Actor,
    action: str,
    *,
    client=None,
    object_type: str = "",
    object_id="",
    outcome: str = "ok",
    details: dict | None = None,
) -> persistence.Write:
    """An audit event to commit with other writes (engine.persistence.commit_writes); chained later."""
    values = _values(
        actor,
        action,
        client=client,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        details=details,
    )
    return (PENDING, "insert", {"document": dict(values, _id=ObjectId())})


def commit_entries(entries: list[persistence.Write]) -> None:
    """Commit `entries` (from `entry`) on their own, when the writes they were meant to go with failed
    but what they record happened. An entry already committed (same id, not chained yet) is skipped."""
    docs = [args["document"] for _name, _kind, args in entries]
    if not docs:
        return
    try:
        db.get_db()[PENDING].insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        if any(e.get("code") != _DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
            raise


def record_pending(
    actor: Actor,
    action: str,
    *,
    client=None,
    object_type: str = "",
    object_id="",
    outcome: str = "ok",
    details: dict | None = None,
) -> None:
    """Append one audit event as an entry chained later, alone (for frequent reads, an inbox page):
    one insert into a collection without secondary indexes, where `record` reads the head and inserts
    into four indexes (~3x the database time). Stored before this returns, like `record`'s."""
    commit_entries(
        [
            entry(
                actor,
                action,
                client=client,
                object_type=object_type,
                object_id=object_id,
                outcome=outcome,
                details=details,
            )
        ]
    )


def chain_pending(limit: int = _CHAIN_BATCH) -> int:
    """Chain the committed entries not chained yet, oldest first, in batches. Returns how many.

    Each batch's chained rows and the removal of its entries are one transaction: an entry is
    chained once, whoever else chains at the same time (a batch another process took first is read
    again).
    """
    pending = db.get_db()[PENDING]
    chained = 0
    for _round in range(_MAX_RACE_RETRIES):
        batch = list(pending.find({}, sort=[("_id", 1)], limit=limit))
        if not batch:
            return chained
        with _append_lock:
            taken = _chain(batch)
        if taken:
            chained += len(batch)
            if len(batch) < limit:
                return chained
    return chained


def _chain(batch: list[dict]) -> bool:
    """Chain `batch` onto the head; False if another process removed some of its entries first."""
    coll = persistence.collection(AuditEvent)
    events = persistence.collection_name(AuditEvent)
    for attempt in range(_MAX_RACE_RETRIES):
        if attempt:
            time.sleep(random.uniform(0, min(0.05, 0.001 * 2 ** min(attempt, 6))))  # noqa: S311 - see _append
        head = _head(coll)
        seq = (head["seq"] + 1) if head else 1
        prev = stored_mac(head) if head else ""
        writes: list[persistence.Write] = []
        for pending in batch:
            row = dict({k: v for k, v in pending.items() if k != "_id"}, seq=seq)
            prev = _mac(prev, row)
            writes.append((events, "insert", {"document": _stored_row(row, prev)}))
            seq += 1
        removals = [(PENDING, "delete_one", {"filter": {"_id": p["_id"]}}) for p in batch]
        try:
            persistence.commit_writes(
                [*writes, *removals], guards=list(range(len(writes), len(writes) + len(batch)))
            )
        except persistence.GuardFailed:
            return False
        except Exception as exc:
            if not persistence.is_duplicate_key(exc):
                raise
            _saw(seq - len(batch))  # another process took these seqs: read the head again
            continue
        _saw(seq - 1)
        return True
    raise RuntimeError("audit chain too contended to append")  # never expected in practice


# Appends are grouped per process. Every append races for the chain's head, and threads racing in
# one process mostly lose to each other (8 concurrent requests: ~2.4 attempts, ~4.7 round trips per
# event). Instead one thread at a time appends, taking every event queued by then with it: one head
# read and one ordered insert for the whole group. A caller returns once its own row is stored.
@dataclass
class _Pending:
    values: dict
    event: AuditEvent | None = None
    error: BaseException | None = None


_queue: list[_Pending] = []
_queue_lock = threading.Lock()
_append_lock = threading.Lock()


def _append(batch: list[_Pending]) -> None:
    """Chain and insert `batch` in order, one insert per attempt; ends each item with .event or .error.

    Other processes still race for the head: the unique index on seq decides. Rows inserted before
    the first taken seq stay (they chain onto the real head); the rest are chained again and retried.
    """
    coll = persistence.collection(AuditEvent)
    todo = batch
    try:
        for attempt in range(_MAX_RACE_RETRIES):
            if attempt:
                # Lost a race to another process: wait a random moment, growing, so that racing
                # processes stop colliding in lockstep (without it two busy processes could starve
                # each other through every retry).
                time.sleep(random.uniform(0, min(0.05, 0.001 * 2 ** min(attempt, 6))))  # noqa: S311
            head = _head(coll)
            first = (head["seq"] + 1) if head else 1
            prev = stored_mac(head) if head else ""
            rows, docs = [], []
            for seq, item in enumerate(todo, start=first):
                row = dict(item.values, seq=seq)
                mac = _mac(prev, row)
                rows.append(dict(row, prev_mac=prev, mac=mac))
                docs.append(_stored_row(row, mac))
                prev = mac
            try:
                coll.insert_many(docs, ordered=True)
                stored = len(docs)
            except BulkWriteError as exc:
                if any(e.get("code") != _DUPLICATE_KEY for e in exc.details.get("writeErrors", [])):
                    raise
                stored = exc.details.get("nInserted", 0)
            for item, row, doc in zip(todo[:stored], rows, docs, strict=False):
                item.event = AuditEvent(id=doc["_id"], **row)
            _saw(first + stored if stored < len(docs) else first + stored - 1)  # ours, or the taken seq
            todo = todo[stored:]
            if not todo:
                return
        raise RuntimeError("audit chain too contended to append")  # never expected in practice
    except BaseException as exc:
        for item in todo:
            item.error = exc
        if not isinstance(exc, Exception):
            raise


# The head is the row with the highest seq, read with a range on seq, which costs only the rows inside
# it, never as "sort by seq descending, take one" (engine.persistence, "Sort before limit").
# So the head is read as "the highest seq >= a seq this process has seen". Any bound at or below
# the real head finds it, whatever other processes appended since (they only add higher seqs); a
# bound above it (the chain was emptied, or restored from an older backup) finds nothing, and a
# bound is searched for afresh. Threads may race on it: every value it takes is a seq that existed.
_seen_seq = 0
_HEAD_FIELDS = {"seq": 1, "mac": 1, MAC_KEY: 1}


def _saw(seq: int) -> None:
    global _seen_seq
    _seen_seq = max(_seen_seq, seq)


def _head(coll) -> dict | None:
    """The chain's last row ({"seq", "mac"}), or None when the chain is empty."""
    global _seen_seq
    if _seen_seq:
        head = coll.find_one({"seq": {"$gte": _seen_seq}}, _HEAD_FIELDS, sort=[("seq", -1)])
        if head is not None:
            _saw(head["seq"])
            return head
    bound = _bound_near_head(coll)
    # Without row 1 the chain is empty (or broken): read it whole, which is then cheap or necessary.
    head = coll.find_one({"seq": {"$gte": bound}} if bound else {}, _HEAD_FIELDS, sort=[("seq", -1)])
    _seen_seq = head["seq"] if head else 0
    return head


def _bound_near_head(coll) -> int:
    """A seq that exists, found in O(log rows) lookups by seq; 0 when row 1 is missing.

    Gallops up from row 1 while rows exist, then bisects between the last row found and the first
    missing one. The chain has no gaps; a gap (a deleted row, which verify() reports) only makes
    the bound lower than the head, never wrong.
    """

    def exists(seq: int) -> bool:
        return coll.find_one({"seq": seq}, {"_id": 1}) is not None

    if not exists(1):
        return 0
    low, step = 1, 1
    while exists(low + step):
        low += step
        step *= 2
    high = low + step  # missing
    while high - low > 1:
        middle = (low + high) // 2
        if exists(middle):
            low = middle
        else:
            high = middle
    return low


_compacted = False


def compact_stored_rows(batch: int = 500) -> int:
    """Rewrite rows stored before the short keys under them (same values, same MAC, as raw bytes);
    how many. Readers of the trail query the short keys, so an older row is found by them once it
    is rewritten. A row already rewritten is left alone (the filter names a full-name field), so
    several processes may run this at once. Once a process finds none it does not look again.
    """
    global _compacted
    if _compacted:
        return 0
    coll = persistence.collection(AuditEvent)
    done = 0
    while True:
        rows = list(coll.find({"action": {"$exists": True}}, limit=batch))
        if not rows:
            _compacted = True
            return done
        rewritten = 0
        for row in rows:
            values, mac = chained_values(row), stored_mac(row)
            if values is None or MAC_KEY in row or not re.fullmatch(r"[0-9a-f]{64}", mac):
                continue  # an altered row stays as it is, for verify() to report
            compact = dict(_stored_row(values, mac), _id=row["_id"])
            rewritten += coll.replace_one(
                {"_id": row["_id"], "action": {"$exists": True}}, compact
            ).modified_count
        done += rewritten
        if len(rows) < batch or not rewritten:
            _compacted = True
            return done


@dataclass
class VerifyResult:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify(batch: int = 2000, *, anchors: Sequence[tuple[int, str]] = ()) -> VerifyResult:
    """Walk the chain in order; report the first row that was changed, removed or inserted.

    `anchors` ((seq, mac) pairs from `anchor`): each anchored row must still exist with that MAC, so
    rows deleted from the end, or an end replaced, are reported too. Entries committed but not
    chained yet are chained first.
    """
    chain_pending()
    pinned = dict(anchors)
    prev_mac = ""
    expected_seq = 1
    count = 0
    coll = persistence.collection(AuditEvent)
    for doc in coll.find({}, sort=[("seq", 1)], batch_size=batch):
        count += 1
        seq = doc.get("seq")
        if seq != expected_seq:
            return VerifyResult(False, count, expected_seq, f"row {expected_seq} is missing (found {seq})")
        values = chained_values(doc)
        if values is None or (MAC_KEY in doc and "mac" in doc):
            return VerifyResult(False, count, seq, f"row {seq} was altered")
        if "prev_mac" in doc and doc["prev_mac"] != prev_mac:  # older rows repeat the previous MAC
            return VerifyResult(False, count, seq, f"row {seq} does not follow row {seq - 1}")
        mac = _mac(prev_mac, values)
        if not hmac.compare_digest(stored_mac(doc), mac):
            return VerifyResult(False, count, seq, f"row {seq} was altered")
        if seq in pinned and not hmac.compare_digest(pinned[seq], mac):
            return VerifyResult(
                False,
                count,
                seq,
                f"row {seq} is not the row anchored at seq {seq}: the chain from there on was replaced",
            )
        prev_mac = mac
        expected_seq += 1
    beyond = [seq for seq in pinned if seq >= expected_seq]
    if beyond:
        return VerifyResult(
            False,
            count,
            expected_seq,
            f"rows {expected_seq} to {max(beyond)} are missing: the chain ends before "
            f"an anchor at seq {max(beyond)}",
        )
    return VerifyResult(True, count)


def events_for(
    actor: Actor,
    *,
    client_id: str | None = None,
    action: str | None = None,
    limit: int = 100,
    before_seq: int | None = None,
) -> list[AuditEvent]:
    """Audit rows newest first (permission audit.view). Raises NotAuthenticated or Forbidden."""
    actor.require("audit.view")
    chain_pending()
    query: dict = {}
    if client_id:
        query["client_id"] = client_id
    if action:
        query["action"] = action
    if before_seq:
        query["seq__lt"] = before_seq
    return list(AuditEvent.objects(**query).order_by("-seq").limit(min(max(limit, 1), 500)))
