"""One transaction for several writes (engine.persistence.commit_writes): all or nothing, guards."""

from __future__ import annotations

import pytest
from bson import ObjectId

from engine import persistence
from engine.db import get_db


def test_a_lost_guard_is_the_answer_even_when_a_later_insert_collides(clean_db):
    """When the compare-and-set guard lost to a racing writer whose rows exist already, is the answer
    GuardFailed (a lost race: reload and retry) rather than the unique index's error (a 500)?"""
    db = get_db()
    db["probe_rows"].create_index("key", unique=True)
    doc_id = ObjectId()
    db["probe_docs"].insert_one({"_id": doc_id, "version": 2})  # the winner saved version 2 ...
    db["probe_rows"].insert_one({"key": "timer-1"})  # ... and added its row
    writes = [
        (
            "probe_docs",
            "update_one",
            {"filter": {"_id": doc_id, "version": 1}, "update": {"$inc": {"version": 1}}},
        ),
        ("probe_rows", "insert", {"document": {"key": "timer-1"}}),
    ]
    with pytest.raises(persistence.GuardFailed) as lost:
        persistence.commit_writes(writes, guards=[0])
    assert lost.value.failed == [0]
    assert db["probe_docs"].find_one({"_id": doc_id})["version"] == 2
    assert db["probe_rows"].count_documents({}) == 1


def test_writes_commit_together_or_not_at_all(clean_db):
    """Does a failing write undo the writes before it in the same transaction?"""
    db = get_db()
    db["probe_rows"].create_index("key", unique=True)
    db["probe_rows"].insert_one({"key": "taken"})
    writes = [
        ("probe_docs", "insert", {"document": {"_id": ObjectId(), "n": 1}}),
        ("probe_rows", "insert", {"document": {"key": "taken"}}),
    ]
    with pytest.raises(Exception) as failed:
        persistence.commit_writes(writes)
    assert persistence.is_duplicate_key(failed.value)
    assert db["probe_docs"].count_documents({}) == 0
