"""Bulk migration on the studio's small intake-shaped process (tests/data/bpmn/s_flow_v1.bpmn: one client task
per packet form with a reminder timer, staff acknowledgement, staff payment): 400 instances at four
steps move to a version that adds a task after acknowledgement; preview counts are exact; every
instance that can move moves; those past the change finish on their version; a rollback restores an
instance exactly as snapshotted. (The 1,000-intake acceptance on the shipped client_intake is
test_migration_intake.py; this one checks the multi-instance and inbox details more closely.)

Instances are started once per step and their documents cloned, which is what real starts write.
"""

from __future__ import annotations

import pytest
from bson import ObjectId

from engine.authz import SYSTEM
from engine.errors import Conflict
from engine.models.migration import MigrationSnapshot
from engine.models.workflow import Task
from engine.services.processes import migration
from engine.workflow import runtime, store
from engine.workflow.deploy import deploy
from tests.helpers import bpmn, clone_instance

COPIES = 100  # four steps x 100 = 400 running instances


def _open(iid) -> list[Task]:
    return list(Task.objects(instance_id=iid, status="open").order_by("spec_name"))


def _complete_open(iid, data: dict) -> str:
    task = _open(iid)[0]
    runtime.complete_task(iid, task.task_id, data, by="test")
    return task.spec_name


def _seeds() -> dict[str, ObjectId]:
    """One instance per step: both forms open; one form left; at acknowledgement; at payment (past)."""
    seeds = {"fill_two": runtime.start("s_flow", data={"packet": ["s_form_a", "s_form_b"]})}
    seeds["fill_one"] = runtime.start("s_flow", data={"packet": ["s_form_a", "s_form_b"]})
    _complete_open(seeds["fill_one"], {"answer": "a"})
    seeds["acknowledge"] = runtime.start("s_flow", data={"packet": ["s_form_a"]})
    _complete_open(seeds["acknowledge"], {"answer": "a"})
    seeds["payment"] = runtime.start("s_flow", data={"packet": ["s_form_a"]})
    _complete_open(seeds["payment"], {"answer": "a"})
    _complete_open(seeds["payment"], {"ok": True})
    return seeds


@pytest.fixture()
def thousand(s_flow):
    seeds = _seeds()
    by_step = {step: clone_instance(iid, COPIES) for step, iid in seeds.items()}
    finished = runtime.start("s_flow", data={"packet": []})  # not affected: no longer running
    for data in ({"ok": True}, {}):
        _complete_open(finished, data)
    deploy(SYSTEM, bpmn("s_flow_v2"))
    return by_step, finished


def test_bulk_preview_move_finish_and_roll_back(thousand):
    """Are preview counts exact, does the batch move every instance that can move, do the others finish on
    their version, and does a rollback restore an instance exactly as snapshotted?"""
    by_step, finished = thousand
    movable = {*by_step["fill_two"], *by_step["fill_one"], *by_step["acknowledge"]}
    past = set(by_step["payment"])

    preview = migration.preview(SYSTEM, "s_flow", 2)
    assert (preview["total"], preview["can_move"], preview["refused"]) == (4 * COPIES, 3 * COPIES, COPIES)
    verdicts = {ObjectId(i["id"]): i for i in preview["items"]}
    assert str(finished) not in {i["id"] for i in preview["items"]}
    assert {i for i, v in verdicts.items() if v["can_move"]} == movable
    assert all("already past acknowledge" in verdicts[i]["reasons"][0] for i in past)

    before = {
        i: store.instances().find_one({"_id": i}) for i in (by_step["acknowledge"][3], by_step["fill_two"][7])
    }
    seen = []
    run = migration.migrate(SYSTEM, "s_flow", 2, progress=lambda c: seen.append(c["done"]))
    assert (run["moved"], run["refused"], run["failed"]) == (3 * COPIES, COPIES, 0)
    assert seen == list(range(1, 4 * COPIES + 1))
    assert {o["instance_id"] for o in run["outcomes"]} == {str(i) for i in past}
    versions = {d["_id"]: d["process_version"] for d in store.instances().find({}, {"process_version": 1})}
    assert all(versions[i] == 2 for i in movable) and all(versions[i] == 1 for i in past)

    # Moved at acknowledgement: the new task comes next, then payment, then the end.
    at_ack = by_step["acknowledge"][0]
    assert [_complete_open(at_ack, d) for d in ({"ok": True}, {"ok": True}, {})] == [
        "acknowledge",
        "welcome_call",
        "payment",
    ]
    # Moved while filling: the rest of the packet, then the new path.
    at_fill = by_step["fill_one"][0]
    steps = [_complete_open(at_fill, d) for d in ({"answer": "b"}, {"ok": True}, {"ok": True}, {})]
    assert steps == ["fill [child]", "acknowledge", "welcome_call", "payment"]
    # Past the change: finishes on version 1 without the new task.
    past_one = by_step["payment"][0]
    assert _complete_open(past_one, {}) == "payment"
    for iid in (at_ack, at_fill, past_one):
        doc = store.instances().find_one({"_id": iid})
        assert doc["status"] == "completed"
        assert store.restore(doc).last_task.data["finished"] is True

    # Rollback: exactly the snapshot (and the state before the move), inbox back as it was.
    for iid, old in before.items():
        snap = MigrationSnapshot.objects.get(instance_id=iid)
        migration.rollback(SYSTEM, iid)
        doc = store.instances().find_one({"_id": iid})
        for f in (
            "state_json",
            "serializer_version",
            "status",
            "waiting_messages",
            "process_version",
            "process_version_id",
        ):
            assert doc[f] == old[f]
        assert doc["state_json"] == snap.state_json and doc["projected"] == old["projected"]
        assert sorted(t.task_id for t in _open(iid)) == sorted(old["projected"]["tasks"])
    assert _complete_open(before_key := list(before)[0], {"ok": True}) == "acknowledge"
    assert _open(before_key)[0].spec_name == "payment"  # back on version 1: no welcome call


def test_rollback_refuses_when_the_instance_moved_on(s_flow):
    """Does a rollback refuse (409) once the moved instance has advanced, and succeed when forced?"""
    iid = runtime.start("s_flow", data={"packet": ["s_form_a"]})
    _complete_open(iid, {"answer": "a"})
    deploy(SYSTEM, bpmn("s_flow_v2"))
    assert migration.migrate(SYSTEM, "s_flow", 2)["moved"] == 1
    _complete_open(iid, {"ok": True})
    with pytest.raises(Conflict):
        migration.rollback(SYSTEM, iid)
    migration.rollback(SYSTEM, iid, force=True)
    assert [t.spec_name for t in _open(iid)] == ["acknowledge"]
    assert store.instances().find_one({"_id": iid})["process_version"] == 1
