"""Audit rows under short keys, database ids as ObjectIds: smaller rows, the same MAC input, so rows
of every earlier encoding verify in one chain and are found by the same queries once rewritten."""

from datetime import UTC, datetime
from types import SimpleNamespace

import bson
from bson import ObjectId

from engine.authz import SYSTEM, Actor
from engine.models.audit import AuditEvent
from engine.services.platform import audit


def _rows():
    return list(AuditEvent._get_collection().find({}, sort=[("seq", 1)]))


def _append_full_name_row(action: str, client_id: str = "", actor_id: str = "") -> None:
    """A row as the encoding before short keys stored it: full names, `prev_mac`, hex MAC."""
    coll = AuditEvent._get_collection()
    head = coll.find_one({}, sort=[("seq", -1)])
    prev = audit.stored_mac(head) if head else ""
    row = {
        "seq": (head["seq"] + 1) if head else 1,
        "at": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        "actor_kind": "staff",
        "actor_id": actor_id,
        "action": action,
        "client_id": client_id,
        "object_type": "client",
        "object_id": client_id,
        "outcome": "ok",
        "ip": "10.0.0.1",
        "user_agent": "Firefox",
        "details": {"view": "full"},
    }
    coll.insert_one(dict(row, prev_mac=prev, mac=audit._mac(prev, row)))


def test_a_row_is_stored_under_short_keys_with_ids_as_object_ids(clean_db):
    """Is a typical row (staff viewing a client) stored under short keys with 12-byte ids, at most
    70 % of the bytes of the same row under full names with ids as text, and read back whole?"""
    staff, client = str(ObjectId()), str(ObjectId())
    actor = Actor(
        kind="staff",
        account=SimpleNamespace(id=ObjectId(staff)),
        ip="10.0.0.9",  # type: ignore[arg-type]
        user_agent="Mozilla/5.0 (X11; Linux x86_64)",
    )
    audit.record(
        actor,
        "client_record_viewed",
        client=client,
        object_type="client",
        object_id=client,
        details={"view": "full"},
    )
    stored = _rows()[0]
    assert not set(stored) - {"_id", "seq", audit.MAC_KEY, *audit.STORED_KEYS.values()}
    assert stored[audit.STORED_KEYS["client_id"]] == ObjectId(client)
    assert stored[audit.STORED_KEYS["actor_id"]] == ObjectId(staff)
    # The encoding before: full names, ids as text, the MAC as raw bytes, "ok" stored (425 -> 260 bytes).
    before = dict(audit.chained_values(stored), _id=stored["_id"], mac=stored[audit.MAC_KEY])
    assert len(bson.encode(stored)) <= 0.7 * len(bson.encode(before))
    event = AuditEvent.objects.get(client_id=client, action="client_record_viewed")
    assert (event.actor_id, event.client_id, event.object_id, event.outcome, event.actor_kind) == (
        staff,
        client,
        client,
        "ok",
        "staff",
    )
    auditor = Actor(
        kind="staff",
        account=SimpleNamespace(id=ObjectId()),  # type: ignore[arg-type]
        permissions=frozenset({"audit.view"}),
    )
    assert [e.seq for e in audit.events_for(auditor, client_id=client)] == [1]
    assert audit.verify().ok


def test_a_field_under_both_names_is_an_alteration(clean_db):
    """Is a row that holds a field under its short and its full name reported as altered (a reader
    would see one value, the MAC another)?"""
    audit.record(SYSTEM, "client_record_viewed", client="c1", outcome="denied")
    audit.record(SYSTEM, "client_record_viewed", client="c2")
    coll = AuditEvent._get_collection()
    coll.update_one({"seq": 2}, {"$set": {"client_id": "c2"}})
    result = audit.verify()
    assert not result.ok and result.first_bad_seq == 2
    coll.update_one({"seq": 2}, {"$unset": {"client_id": ""}})
    assert audit.verify().ok
    coll.update_one({"seq": 1}, {"$unset": {audit.STORED_KEYS["outcome"]: ""}})  # "denied" -> "ok"
    assert audit.verify().first_bad_seq == 1


def test_full_name_rows_verify_and_are_rewritten_under_short_keys(clean_db):
    """Do rows stored under full names verify in one chain with new rows, and once the workers' sweep
    rewrites them, are they found by the readers' queries and does the chain still verify?"""
    client, staff = str(ObjectId()), str(ObjectId())
    _append_full_name_row("client_record_viewed", client, staff)
    _append_full_name_row("client_record_viewed", client, staff)
    audit.record(SYSTEM, "client_record_viewed", client=client)
    assert audit.verify().ok
    assert AuditEvent.objects(client_id=client).count() == 1  # only the new row, before the rewrite
    audit._compacted = False
    assert audit.compact_stored_rows(batch=1) == 2
    rows = _rows()
    assert all(
        "action" not in r and "prev_mac" not in r and isinstance(r[audit.MAC_KEY], bytes) for r in rows
    )
    assert audit.verify().ok and audit.verify().rows == 3
    assert AuditEvent.objects(client_id=client).count() == 3
    assert [e.actor_id for e in AuditEvent.objects(client_id=client).order_by("seq")][:2] == [staff, staff]
    assert audit.compact_stored_rows() == 0


def test_an_altered_full_name_row_is_not_rewritten_into_a_valid_one(clean_db):
    """Does the rewrite leave a tampered older row for verify() to report, at the same seq?"""
    _append_full_name_row("client_record_viewed", "c1")
    _append_full_name_row("client_record_viewed", "c2")
    AuditEvent._get_collection().update_one({"seq": 2}, {"$set": {"client_id": "someone-else"}})
    audit._compacted = False
    audit.compact_stored_rows()
    assert audit.verify().first_bad_seq == 2
