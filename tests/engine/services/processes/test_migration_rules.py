"""Migration rules beyond the bulk acceptance: an element changed under a waiting task, a changed timer,
a removed element, an instance a worker holds, and the preview being the same verdict as the run."""

from __future__ import annotations

import threading
import time

from engine.authz import SYSTEM
from engine.models.migration import MigrationSnapshot
from engine.models.workflow import Task, Timer
from engine.services.processes import migration
from engine.workflow import runtime, store
from engine.workflow.deploy import deploy
from tests.helpers import bpmn


def _variant(**replacements) -> bytes:
    text = bpmn("s_flow_v1").decode()
    for old, new in replacements.items():
        assert old in text
        text = text.replace(old, new)
    return text.encode()


def _at_acknowledge():
    iid = runtime.start("s_flow", data={"packet": ["s_form_a"]})
    task = Task.objects.get(instance_id=iid, status="open")
    runtime.complete_task(iid, task.task_id, {"answer": "x"}, by="t")
    return iid


def test_a_waiting_task_whose_form_changed_moves_and_its_inbox_row_follows(s_flow):
    """When the element an instance waits at gets another form, does the instance move and its open inbox
    row show the new form (same task, not a second row)?"""
    iid = _at_acknowledge()
    deploy(
        SYSTEM,
        _variant(
            **{
                '<spiffworkflow:property name="formKey" value="s_ack"/>': '<spiffworkflow:property name="formKey" value="s_form_b"/>'
            }
        ),
    )
    run = migration.migrate(SYSTEM, "s_flow", 2)
    assert run["moved"] == 1
    rows = list(Task.objects(instance_id=iid, status="open"))
    assert [(r.spec_name, r.form_key) for r in rows] == [("acknowledge", "s_form_b")]
    history = store.instances().find_one({"_id": iid})["history"]
    assert history[-1]["kind"] == "migrated" and history[-1]["details"]["updated"] == ["acknowledge"]


def test_a_changed_timer_is_re_armed_and_an_unchanged_one_keeps_its_due_time(s_flow):
    """Does a reminder whose duration changed get a new due time, while a move that leaves it alone keeps it?"""
    iid = runtime.start("s_flow", data={"packet": ["s_form_a"]})
    due = Timer.objects.get(instance_id=iid, status="waiting").due_at
    deploy(SYSTEM, _variant(**{'name="Collect payment"': 'name="Take the payment"'}))
    assert migration.migrate(SYSTEM, "s_flow", 2)["moved"] == 1
    assert Timer.objects.get(instance_id=iid, status="waiting").due_at == due
    deploy(SYSTEM, _variant(**{'"P3D"': '"P1D"'}))
    assert migration.migrate(SYSTEM, "s_flow", 3)["moved"] == 1
    waiting = Timer.objects.get(instance_id=iid, status="waiting")
    assert waiting.due_at < due
    assert store.instances().find_one({"_id": iid})["history"][-1]["details"]["reset"] == ["reminder"]


def test_removed_element_refuses_with_its_name_and_preview_agrees(s_flow):
    """Is an instance waiting at an element the new version removes refused (preview and run alike), naming it?"""
    at_fill = runtime.start("s_flow", data={"packet": ["s_form_a"]})
    at_ack = _at_acknowledge()
    no_ack = _variant(
        **{
            '<bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="acknowledge"/>': '<bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="payment"/>'
        }
    )
    start, end = (
        no_ack.index(b'<bpmn:userTask id="acknowledge"'),
        no_ack.index(b'<bpmn:userTask id="payment"'),
    )
    no_ack = no_ack[:start] + no_ack[end:]
    no_ack = no_ack.replace(b'<bpmn:sequenceFlow id="f3" sourceRef="acknowledge" targetRef="payment"/>', b"")
    no_ack = no_ack.replace(b"<bpmn:flowNodeRef>acknowledge</bpmn:flowNodeRef>", b"")
    deploy(SYSTEM, no_ack)
    preview = {i["id"]: i for i in migration.preview(SYSTEM, "s_flow", 2)["items"]}
    assert preview[str(at_fill)]["can_move"] is True
    assert preview[str(at_ack)]["reasons"] == [
        "is at acknowledge (Acknowledge the packet), which the new version removes",
        "already past fill, which changed (outputs)",
    ]
    run = migration.migrate(SYSTEM, "s_flow", 2)
    assert (run["moved"], run["refused"]) == (1, 1)
    assert run["outcomes"][0]["reasons"] == preview[str(at_ack)]["reasons"]
    assert MigrationSnapshot.objects(instance_id=at_ack).count() == 0


def test_an_instance_a_worker_holds_is_moved_once_the_lease_is_free(s_flow):
    """Does the batch wait for a worker's lease instead of overwriting, and move the instance afterwards?"""
    iid = _at_acknowledge()
    deploy(SYSTEM, bpmn("s_flow_v2"))
    held = store.acquire(iid)
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(migration.migrate(SYSTEM, "s_flow", 2)))
    thread.start()
    time.sleep(0.5)
    assert store.instances().find_one({"_id": iid})["process_version"] == 1  # not touched while held
    store.release(held)
    thread.join(20)
    assert result["moved"] == 1
    assert store.instances().find_one({"_id": iid})["process_version"] == 2


def test_a_move_that_would_break_the_instance_is_refused_in_preview_and_run(s_flow):
    """When the new version's reminder names task data the instance lacks, is the move refused (both in the
    preview and the run) and the instance left running where it was?"""
    iid = runtime.start("s_flow", data={"packet": ["s_form_a"]})
    before = store.instances().find_one({"_id": iid})
    deploy(SYSTEM, _variant(**{'"P3D"': "reminder_delay"}))
    [item] = migration.preview(SYSTEM, "s_flow", 2)["items"]
    assert item["can_move"] is False and "would fail" in item["reasons"][-1]
    run = migration.migrate(SYSTEM, "s_flow", 2)
    assert (run["moved"], run["refused"]) == (0, 1) and run["outcomes"][0]["reasons"] == item["reasons"]
    after = store.instances().find_one({"_id": iid})
    assert (after["state_json"], after["version"], after["status"]) == (
        before["state_json"],
        before["version"],
        "running",
    )
