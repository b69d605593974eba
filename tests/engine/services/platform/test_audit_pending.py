"""Audit entries committed with the change they record (task completions), chained afterwards."""

from __future__ import annotations

import threading

import pytest

from engine import db
from engine.authz import SYSTEM, staff_actor
from engine.models.audit import AuditEvent
from engine.models.workflow import Task
from engine.services.inbox import tasks
from engine.services.platform import audit
from engine.services.processes import processes
from engine.workflow import store
from engine.workflow.deploy import deploy
from tests.helpers import bpmn, make_staff


@pytest.fixture()
def open_task(clean_db, review_form):
    deploy(SYSTEM, bpmn("t_gateways"))
    admin = staff_actor(make_staff(roles=("org_admin",)))
    processes.start_process("t_gateways")
    return admin, Task.objects.get(status="open")


def _completed_entries() -> list[dict]:
    return list(db.get_db()[audit.PENDING].find({"action": "task_completed"}))


def test_a_completion_commits_its_audit_entry_with_it(open_task):
    """Is a completion's audit entry committed with the completion, and chained later exactly once?"""
    admin, task = open_task
    tasks.complete(admin, task.id, {"approved": True})
    [entry] = _completed_entries()
    assert entry["object_id"] == str(task.id) and entry["actor_id"] == admin.id
    assert AuditEvent.objects(action="task_completed").count() == 0  # not chained yet
    assert audit.chain_pending() == 1
    assert audit.chain_pending() == 0
    assert _completed_entries() == []
    assert AuditEvent.objects(action="task_completed").count() == 1
    assert audit.verify().ok


def test_a_completion_that_loses_its_save_leaves_no_audit_entry(open_task):
    """When the compare-and-set save fails, is the audit entry (and the inbox change) not written either?"""
    admin, task = open_task
    doc = store.instances().find_one({"_id": task.instance_id})
    loaded = store.Loaded(doc=doc, workflow=store.restore(doc), owner="")
    loaded.doc["version"] += 5  # a version nobody holds: the guard matches nothing
    entry = audit.entry(admin, "task_completed", object_type="task", object_id=task.id)
    closing = (
        Task._get_collection_name(),
        "update_one",
        {"filter": {"_id": task.id}, "update": {"$set": {"status": "completed"}}},
    )
    assert not store.save(
        loaded, status="running", projected={}, waiting_messages=[], writes=[closing, entry]
    )
    assert _completed_entries() == []
    assert Task.objects.get(id=task.id).status == "open"


def test_readers_of_the_trail_see_entries_not_chained_yet(open_task):
    """Do the audit-trail reader and verify() chain what is pending first?"""
    admin, task = open_task
    tasks.complete(admin, task.id, {"approved": True})
    rows = audit.events_for(admin, action="task_completed")
    assert [r.object_id for r in rows] == [str(task.id)]


def test_concurrent_chainers_chain_each_entry_once(clean_db):
    """Do chainers running at once (with plain appends between) chain every entry once, in one chain?"""
    actor = SYSTEM
    pending = db.get_db()[audit.PENDING]
    for start in range(0, 600, 100):
        pending.insert_many(
            [audit.entry(actor, "probe", details={"n": n})[2]["document"] for n in range(start, start + 100)]
        )
    errors: list[BaseException] = []

    def chain() -> None:
        try:
            audit.chain_pending(limit=50)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def append() -> None:
        for _ in range(20):
            audit.record(actor, "plain")

    threads = [threading.Thread(target=chain) for _ in range(4)] + [threading.Thread(target=append)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = sorted(r.details["n"] for r in AuditEvent.objects(action="probe"))
    assert numbers == list(range(600))
    assert AuditEvent.objects(action="plain").count() == 20
    assert pending.count_documents({}) == 0
    assert audit.verify().ok
