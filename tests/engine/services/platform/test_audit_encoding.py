"""The audit row encoding: raw MAC bytes, no repeated previous MAC, empty fields left out — and rows
written before that (hex MAC, `prev_mac`, every field) still verifying in the same chain."""

from datetime import UTC, datetime

from engine.authz import SYSTEM, Actor
from engine.models.audit import AuditEvent
from engine.services.platform import audit


def _rows():
    return list(AuditEvent._get_collection().find({}, sort=[("seq", 1)]))


def _append_old_format_row(action: str, client_id: str = "") -> None:
    """A row as the encoding before this one stored it: every field, `prev_mac`, MAC as hex text."""
    coll = AuditEvent._get_collection()
    head = coll.find_one({}, sort=[("seq", -1)])
    prev = audit._hex(head["mac"]) if head else ""
    row = {
        "seq": (head["seq"] + 1) if head else 1,
        "at": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        "actor_kind": "system",
        "actor_id": "",
        "action": action,
        "client_id": client_id,
        "object_type": "",
        "object_id": "",
        "outcome": "ok",
        "ip": "",
        "user_agent": "",
        "details": {},
    }
    coll.insert_one(dict(row, prev_mac=prev, mac=audit._mac(prev, row)))


def test_new_rows_are_stored_compactly_and_read_back_whole(clean_db):
    """Is a new row stored with a 32-byte MAC, without prev_mac or empty fields, and read back with
    every field it was recorded with?"""
    audit.record(SYSTEM, "client_record_viewed")
    actor = Actor(kind="staff", ip="10.0.0.9", user_agent="Firefox")
    audit.record(
        actor,
        "client_record_viewed",
        client="c1",
        object_type="client",
        object_id="c1",
        details={"view": "full"},
    )
    first, second = _rows()
    assert isinstance(first[audit.MAC_KEY], bytes) and len(first[audit.MAC_KEY]) == 32
    assert "prev_mac" not in first and "prev_mac" not in second
    assert set(first) == {"_id", "seq", audit.MAC_KEY, *(audit.STORED_KEYS[k] for k in ("at", "action"))}
    event = AuditEvent.objects.get(seq=2)
    assert (event.client_id, event.ip, event.user_agent, event.details) == (
        "c1",
        "10.0.0.9",
        "Firefox",
        {"view": "full"},
    )
    assert AuditEvent.objects.get(seq=1).client_id == "" and AuditEvent.objects.get(seq=1).details == {}
    result = audit.verify()
    assert result.ok and result.rows == 2


def test_old_rows_and_new_rows_verify_as_one_chain(clean_db):
    """Does a chain that starts with rows of the older encoding and goes on with new rows verify, and
    does tampering on either side name that row?"""
    _append_old_format_row("client_record_viewed", "c1")
    _append_old_format_row("client_record_viewed", "c2")
    audit.record(SYSTEM, "client_record_viewed", client="c3")
    audit.record(SYSTEM, "client_record_viewed", client="c4")
    rows = _rows()
    assert isinstance(rows[1]["mac"], str) and isinstance(rows[2][audit.MAC_KEY], bytes)
    assert audit.verify().ok and audit.verify().rows == 4

    coll = AuditEvent._get_collection()
    coll.update_one({"seq": 2}, {"$set": {"client_id": "someone-else"}})
    assert audit.verify().first_bad_seq == 2
    coll.update_one({"seq": 2}, {"$set": {"client_id": "c2"}})
    coll.update_one({"seq": 1}, {"$set": {"prev_mac": "0" * 64}})
    assert audit.verify().first_bad_seq == 1
    coll.update_one({"seq": 1}, {"$set": {"prev_mac": ""}})
    assert audit.verify().ok


def test_removing_or_adding_a_field_of_a_new_row_is_detected(clean_db):
    """Is a new row altered by removing a stored field, or by adding one that was left out as empty?"""
    for i in range(3):
        audit.record(SYSTEM, "client_record_viewed", client=f"c{i}", details={"i": i})
    coll = AuditEvent._get_collection()
    client, ip = audit.STORED_KEYS["client_id"], audit.STORED_KEYS["ip"]
    coll.update_one({"seq": 2}, {"$unset": {client: ""}})
    assert audit.verify().first_bad_seq == 2
    coll.update_one({"seq": 2}, {"$set": {client: "c1"}})
    assert audit.verify().ok
    coll.update_one({"seq": 3}, {"$set": {ip: "10.1.1.1"}})
    assert audit.verify().first_bad_seq == 3
