"""The scheduler's sweep: half-written projections repaired, unsent operations relayed, shipped BPMN deployed."""

from __future__ import annotations

from datetime import timedelta

from bson import ObjectId

from engine.models import utcnow
from engine.models.workflow import OutboxMessage, ProcessDefinition, Task
from engine.services.processes import processes
from engine.workflow import dispatch, scheduler, store
from tests.helpers import wait_for


def test_dirty_projection_is_repaired(deployed):
    """If a writer died after its save but before writing the inbox rows, does the sweep write them?"""
    iid = ObjectId(processes.start_process("t_gateways"))
    Task.objects(instance_id=iid).delete()  # as if the projection never ran
    store.instances().update_one(
        {"_id": iid}, {"$set": {"dirty": True, "updated_at": utcnow() - timedelta(minutes=1)}}
    )
    assert scheduler.sweep_once()["repaired"] == 1
    assert [t.name for t in Task.objects(instance_id=iid, status="open")] == ["Review the request"]
    assert store.instances().find_one({"_id": iid})["dirty"] is False


def test_unsent_operation_is_relayed(deployed, worker):
    """Is an outbox message that never reached the broker sent by the sweep, and performed?"""
    saved = dispatch._dispatcher
    dispatch.set_dispatcher(None)  # the web process had no broker when it saved
    try:
        iid = ObjectId(processes.start_process("t_service", data={"client_name": "Ann"}))
    finally:
        dispatch.set_dispatcher(saved)
    row = OutboxMessage.objects.get(instance_id=iid)
    assert row.status == "pending" and row.operation == "test_flaky"
    OutboxMessage.objects(id=row.id).update_one(set__resend_at=utcnow() - timedelta(seconds=1))
    assert scheduler.sweep_once()["operations"] == 1
    wait_for(
        lambda: store.instances().find_one({"_id": iid})["status"] == "completed", what="the relayed run"
    )


def test_shipped_bpmn_deployed_on_start(clean_db, tmp_path, monkeypatch):
    """Does the scheduler's start-up work (what `portico scheduler` passes as on_start) deploy the shipped BPMN?"""
    from engine.workflow import deploy
    from tests.helpers import bpmn

    (tmp_path / "t_message.bpmn").write_bytes(bpmn("t_message"))
    monkeypatch.setattr(deploy, "SHIPPED_DIR", tmp_path)
    from engine.services.intake.intake_setup import deploy_on_start

    assert deploy_on_start() is True
    assert ProcessDefinition.objects.get(process_id="t_message").latest_version == 1
