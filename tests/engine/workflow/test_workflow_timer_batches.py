"""Due timers fired in batches (engine.workflow.timers) and sent in batches by the scheduler:
every timer fires once, stale and failing members of a batch do not stop the others."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from engine.models import utcnow
from engine.models.workflow import Timer
from engine.services.processes import processes
from engine.workflow import dispatch, scheduler, store, timers


def _start_due(n: int, *, seconds: float = 1.5) -> tuple[list[ObjectId], datetime]:
    """n t_timer instances (no broker: nothing fires them) all due `seconds` from now."""
    due = (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0) + timedelta(seconds=1)
    saved = dispatch._dispatcher
    dispatch.set_dispatcher(None)
    try:
        ids = [
            ObjectId(processes.start_process("t_timer", data={"fire_at": due.isoformat()})) for _ in range(n)
        ]
    finally:
        dispatch.set_dispatcher(saved)
    return ids, due


def _wait_until(due: datetime) -> None:
    while datetime.now(UTC) < due:
        time.sleep(0.05)


def _row_ids(iids) -> list[ObjectId]:
    return [Timer.objects.get(instance_id=iid).id for iid in iids]


def _fired_events(iid) -> int:
    return sum(e["kind"] == "timer_fired" for e in store.instances().find_one({"_id": iid})["history"])


def test_batch_fires_each_timer_once(deployed):
    """Does one batch fire every due timer, finish the instances, mark the rows, and skip them the second time?"""
    iids, due = _start_due(5)
    rows = _row_ids(iids)
    _wait_until(due)
    assert set(timers.fire_batch(rows).values()) == {"fired"}
    assert [_fired_events(iid) for iid in iids] == [1] * 5
    for iid in iids:
        doc = store.instances().find_one({"_id": iid})
        assert doc["status"] == "completed" and doc["dirty"] is False
    assert {t.status for t in Timer.objects(id__in=rows)} == {"fired"}
    assert set(timers.fire_batch(rows).values()) == {"skipped"}
    assert [_fired_events(iid) for iid in iids] == [1] * 5


def test_batch_with_a_stale_row_fires_the_rest_once(deployed):
    """Does a batch holding a row whose timer fired already (its mark was lost) mark it without firing
    again, while the others fire?"""
    iids, due = _start_due(3)
    rows = _row_ids(iids)
    _wait_until(due)
    assert timers.fire_batch(rows[:1]) == {str(rows[0]): "fired"}
    Timer.objects(id=rows[0]).update_one(set__status="waiting")  # as if the worker died before marking it
    before = store.instances().find_one({"_id": iids[0]})["version"]
    outcomes = timers.fire_batch(rows)
    assert outcomes == {str(rows[0]): "stale", str(rows[1]): "fired", str(rows[2]): "fired"}
    assert store.instances().find_one({"_id": iids[0]})["version"] == before
    assert [_fired_events(iid) for iid in iids] == [1, 1, 1]
    assert {t.status for t in Timer.objects(id__in=rows)} == {"fired"}


def test_one_broken_instance_does_not_stop_the_batch(deployed):
    """If one instance of a batch cannot be loaded, do the others still fire, and does its row stay
    waiting for a retry that fires it once?"""
    iids, due = _start_due(3)
    rows = _row_ids(iids)
    good_state = store.instances().find_one({"_id": iids[1]})["state_json"]
    store.instances().update_one({"_id": iids[1]}, {"$set": {"state_json": "{not json"}})
    _wait_until(due)
    outcomes = timers.fire_batch(rows)
    assert outcomes == {str(rows[0]): "fired", str(rows[1]): "error", str(rows[2]): "fired"}
    assert Timer.objects.get(id=rows[1]).status == "waiting"
    assert _fired_events(iids[1]) == 0
    store.instances().update_one({"_id": iids[1]}, {"$set": {"state_json": good_state}})
    assert timers.fire_batch(rows) == {
        str(rows[0]): "skipped",
        str(rows[1]): "fired",
        str(rows[2]): "skipped",
    }
    assert [_fired_events(iid) for iid in iids] == [1, 1, 1]


def test_early_wakeup_leaves_the_timer_to_the_next_sweep(deployed):
    """Does a batch that arrives before the due time fire nothing and clear the row's send for the sweep?"""
    iids, _due = _start_due(2, seconds=60)
    rows = _row_ids(iids)
    Timer.objects(id__in=rows).update(set__enqueued_at=utcnow(), set__sends=1)
    assert set(timers.fire_batch(rows).values()) == {"not_due"}
    assert [_fired_events(iid) for iid in iids] == [0, 0]
    assert {(t.status, t.enqueued_at) for t in Timer.objects(id__in=rows)} == {("waiting", None)}


def test_a_leased_instance_fires_after_its_lease(deployed):
    """Does a timer whose instance is mid-step (live lease) fire once, after the lease, in the same batch?"""
    iids, due = _start_due(2)
    rows = _row_ids(iids)
    _wait_until(due)
    store.instances().update_one(
        {"_id": iids[0]},
        {"$set": {"lease_owner": "someone-else", "lease_until": utcnow() + timedelta(seconds=1)}},
    )
    assert set(timers.fire_batch(rows).values()) == {"fired"}
    assert [_fired_events(iid) for iid in iids] == [1, 1]


def test_racing_batches_fire_each_timer_once(deployed):
    """Do two workers firing the same batch at once fire each timer exactly once?"""
    iids, due = _start_due(12)
    rows = _row_ids(iids)
    _wait_until(due)
    results: list[dict] = []
    racers = [threading.Thread(target=lambda: results.append(timers.fire_batch(rows))) for _ in range(2)]
    for t in racers:
        t.start()
    for t in racers:
        t.join(120)
    assert len(results) == 2
    assert [_fired_events(iid) for iid in iids] == [1] * 12
    for row in rows:  # each timer fired in exactly one of the two batches
        assert sorted(r[str(row)] for r in results).count("fired") == 1
    assert {t.status for t in Timer.objects(id__in=rows)} == {"fired"}


def test_scheduler_sends_due_timers_in_batches(deployed):
    """Does one sweep send due timers as messages of at most BATCH_SIZE ids, each timer once,
    and leave them alone in the next sweep?"""
    n = timers.BATCH_SIZE + 7
    iids, due = _start_due(n, seconds=5)
    sent: list[tuple[str, str, int]] = []
    saved = dispatch._dispatcher
    dispatch.set_dispatcher(lambda kind, ids, delay: sent.append((kind, ids, delay)))
    try:
        assert scheduler.sweep_once(resend_seconds=30)["timers"] == n
        assert scheduler.sweep_once(resend_seconds=30)["timers"] == 0
    finally:
        dispatch.set_dispatcher(saved)
    assert {kind for kind, _ids, _delay in sent} == {"fire_timers"}
    batches = [ids.split(",") for _kind, ids, _delay in sent]
    assert sorted(len(b) for b in batches) == [7, timers.BATCH_SIZE]
    assert sorted(i for b in batches for i in b) == sorted(str(r) for r in _row_ids(iids))
    assert all(0 < delay <= 10_000 for _kind, _ids, delay in sent)  # delayed to the due second
    assert {t.sends for t in Timer.objects(instance_id__in=iids)} == {1}
