"""Idempotency of the outbox and timers: repeated deliveries never repeat an effect."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bson import ObjectId

from engine.models import utcnow
from engine.models.workflow import OutboxMessage
from engine.services.processes import processes
from engine.workflow import dispatch, operations, outbox, store


def _start_without_broker(process_id: str, **kwargs) -> ObjectId:
    saved = dispatch._dispatcher
    dispatch.set_dispatcher(None)
    try:
        return ObjectId(processes.start_process(process_id, **kwargs))
    finally:
        dispatch.set_dispatcher(saved)


def test_second_delivery_does_not_repeat_the_operation(deployed, test_operations):
    """Does delivering the same outbox message twice perform the operation once and complete the task once?"""
    calls = []
    operations.register("test_flaky", lambda *, key, **_: calls.append(key) or {"ok": True})
    iid = _start_without_broker("t_service", data={"client_name": "Ann"})
    row = OutboxMessage.objects.get(instance_id=iid, operation="test_flaky")
    assert outbox.perform(row.id) == "done"
    assert outbox.perform(row.id) == "skipped"
    assert calls == [row.key]
    history = store.instances().find_one({"_id": iid})["history"]
    assert [e["kind"] for e in history].count("operation_completed") == 1


def test_crash_after_performing_completes_without_repeating(deployed, test_operations):
    """If a worker died after the operation but before completing the task, does the next delivery
    complete the task without calling the operation again?"""
    calls = []
    operations.register("test_flaky", lambda **_: calls.append(1) or {"ok": True})
    iid = _start_without_broker("t_service", data={"client_name": "Ann"})
    row = OutboxMessage.objects.get(instance_id=iid, operation="test_flaky")
    OutboxMessage.objects(id=row.id).update_one(set__status="performed", set__result={"ok": "earlier"})
    assert outbox.perform(row.id) == "done"
    assert calls == []
    doc, wf = store.instances().find_one({"_id": iid}), None
    wf = store.restore(doc)
    flaky = next(t for t in wf.get_tasks() if t.task_spec.name == "flaky")
    assert flaky.data["flaky_result"] == {"ok": "earlier"}


def test_an_operation_whose_performer_was_killed_is_taken_up_when_its_claim_lapses(deployed, test_operations):
    """When the worker performing an operation dies mid-way, is the relay's resend moved to just after
    its claim lapses (not the doubled resend interval), is a live performer stopped before its claim
    lapses, and does the next delivery after the lapse perform it?"""
    from workers.workflow import OPERATION_TIME_LIMIT_MS, perform_operation

    class Killed(BaseException):  # what SIGKILL looks like from inside: nothing below runs
        pass

    seen: dict = {}

    def dies(*, key, **_):
        seen.update(OutboxMessage._get_collection().find_one({"key": key}))
        raise Killed

    operations.register("test_flaky", dies)
    iid = _start_without_broker("t_service", data={"client_name": "Ann"})
    row = OutboxMessage.objects.get(instance_id=iid, operation="test_flaky")
    with pytest.raises(Killed):
        outbox.perform(row.id)
    lapse = seen["claimed_until"]
    assert lapse <= seen["resend_at"] <= lapse + timedelta(seconds=10)
    assert perform_operation.options["time_limit"] == OPERATION_TIME_LIMIT_MS < outbox.CLAIM_SECONDS * 1000
    assert outbox.perform(row.id) == "skipped"  # the dead performer's claim still holds

    past = utcnow() - timedelta(seconds=1)
    OutboxMessage.objects(id=row.id).update_one(set__claimed_until=past, set__resend_at=past)  # time passes
    operations.register("test_flaky", lambda **_: {"ok": True})
    assert outbox.perform(row.id) == "done"


def test_an_operation_busy_elsewhere_waits_without_spending_attempts(deployed, test_operations):
    """Does an operation whose effect another worker is producing (OperationBusy) wait and come back
    later as often as needed, without spending the attempts that would fail it for good?"""
    busy = {"left": 7}  # more than the operation's 5 attempts

    def mail_being_sent(**_):
        if busy["left"]:
            busy["left"] -= 1
            raise operations.OperationBusy("this mail is being sent by another worker", retry_after=30)
        return {"sent": True}

    operations.register("test_flaky", mail_being_sent)
    iid = _start_without_broker("t_service", data={"client_name": "Ann"})
    row = OutboxMessage.objects.get(instance_id=iid, operation="test_flaky")
    for _ in range(7):
        before = utcnow()
        with pytest.raises(outbox.RetryLater):
            outbox.perform(row.id)
        waiting = OutboxMessage.objects.get(id=row.id)
        assert (waiting.status, waiting.attempts, waiting.claimed_until) == ("pending", 0, None)
        assert waiting.resend_at.replace(tzinfo=before.tzinfo) >= before + timedelta(seconds=29)
    assert outbox.perform(row.id) == "done"  # on its first counted attempt (0 spent above); the row is gone
    assert OutboxMessage.objects(id=row.id).count() == 0


def test_firing_a_timer_whose_task_moved_on_does_nothing(deployed):
    """Does a late wake-up for a timer whose task no longer waits leave the instance untouched?"""
    from engine.authz import portal_actor
    from engine.models.workflow import Timer
    from engine.services.inbox import tasks
    from tests.helpers import make_client, make_portal_account

    client = make_client()
    portal = portal_actor(make_portal_account(client=client))
    iid = _start_without_broker("t_reminder", client_id=client.id, data={"reminder_cadence": "PT1H"})
    timer = Timer.objects.get(instance_id=iid)
    [fill] = tasks.inbox(portal)["items"]
    tasks.complete(portal, fill["id"], {})
    assert Timer.objects.get(id=timer.id).status == "cancelled"
    assert outbox.fire(timer.id) == "skipped"
    Timer.objects(id=timer.id).update_one(set__status="waiting")  # as if the cancel was never written
    before = store.instances().find_one({"_id": iid})
    assert outbox.fire(timer.id) == "stale"
    after = store.instances().find_one({"_id": iid})
    assert after["version"] == before["version"] and "timer_fired" not in [
        e["kind"] for e in after["history"]
    ]
    assert Timer.objects.get(id=timer.id).status == "cancelled"
