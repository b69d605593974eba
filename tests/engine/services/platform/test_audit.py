import threading

from engine.authz import SYSTEM, Actor
from engine.models.audit import AuditEvent
from engine.services.platform import audit


def _actor():
    return Actor(kind="system", ip="127.0.0.1", user_agent="pytest")


def test_chain_verifies_when_untouched(clean_db):
    """Does an untouched chain verify, counting every row?"""
    for i in range(5):
        audit.record(_actor(), "client_record_viewed", client=f"c{i}", details={"i": i})
    result = audit.verify()
    assert result.ok and result.rows == 5


def test_editing_one_row_names_that_row(clean_db):
    """Does editing one stored row make verify fail naming exactly that row?"""
    for i in range(6):
        audit.record(SYSTEM, "client_record_viewed", client=f"c{i}")
    AuditEvent._get_collection().update_one({"seq": 4}, {"$set": {"client_id": "someone-else"}})
    result = audit.verify()
    assert not result.ok
    assert result.first_bad_seq == 4
    assert "altered" in result.reason


def test_deleting_a_row_is_detected(clean_db):
    """Does removing a row from the middle break the chain at that row?"""
    for _ in range(4):
        audit.record(SYSTEM, "client_record_viewed")
    AuditEvent._get_collection().delete_one({"seq": 2})
    result = audit.verify()
    assert not result.ok and result.first_bad_seq == 2


def test_rewriting_with_a_recomputed_plain_hash_is_detected(clean_db):
    """Can someone without the key forge a row by recomputing an unkeyed hash? (No.)"""
    import hashlib

    audit.record(SYSTEM, "client_record_viewed")
    audit.record(SYSTEM, "client_record_viewed")
    forged = hashlib.sha256(b"forged").hexdigest()
    AuditEvent._get_collection().update_one({"seq": 2}, {"$set": {"outcome": "denied", "mac": forged}})
    assert audit.verify().first_bad_seq == 2


def test_concurrent_writers_keep_one_unbroken_chain(clean_db):
    """Do writers racing on the head still produce a gap-free, verifiable chain?"""

    def write(n):
        for _ in range(n):
            audit.record(SYSTEM, "client_record_viewed")

    threads = [threading.Thread(target=write, args=(15,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = audit.verify()
    assert result.ok, result.reason
    assert result.rows == 60
