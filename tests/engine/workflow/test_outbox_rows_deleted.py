"""Finished outbox rows are deleted: a performed operation leaves no row, and a repeated message
still performs nothing and completes nothing twice."""

from __future__ import annotations

from engine.models.workflow import OutboxMessage
from engine.workflow import operations, outbox, scheduler, store
from tests.engine.workflow.test_workflow_outbox import _start_without_broker


def test_a_performed_operation_leaves_no_row_and_a_repeat_skips(deployed, test_operations):
    """Is the outbox row gone once its task is completed, and does a second delivery of the same
    message (and the relay's next sweep) skip it without calling the operation again?"""
    calls = []
    operations.register("test_flaky", lambda *, key, **_: calls.append(key) or {"ok": True})
    iid = _start_without_broker("t_service", data={"client_name": "Ann"})
    row = OutboxMessage.objects.get(instance_id=iid, operation="test_flaky")
    assert outbox.perform(row.id) == "done"
    assert OutboxMessage.objects(id=row.id).count() == 0
    assert outbox.perform(row.id) == "skipped"
    scheduler.sweep_once(timers=False)
    assert calls == [row.key]
    history = store.instances().find_one({"_id": iid})["history"]
    assert [e["kind"] for e in history].count("operation_completed") == 1


def test_a_failed_operation_keeps_its_row_for_the_retry(deployed, test_operations):
    """Does an operation that failed for good keep its row (an admin's retry re-queues it)?"""

    def fails(**_):
        raise operations.OperationFailed("card declined", permanent=True)

    operations.register("test_flaky", fails)
    iid = _start_without_broker("t_service", data={"client_name": "Ann"})
    row = OutboxMessage.objects.get(instance_id=iid, operation="test_flaky")
    assert outbox.perform(row.id) == "failed"
    assert OutboxMessage.objects.get(id=row.id).status == "failed"
