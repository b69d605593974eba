"""The scheduler: enqueue due timers, relay the outbox, repair projections left half-written.

`portico scheduler` calls `run_forever()`. Any number of schedulers may run:
what they send is idempotent on the receiving side (a timer fires once because
firing checks the workflow state under compare-and-set; an operation is keyed
by instance id + task id), so a duplicate send costs a little work, never a
second effect. The database is the source of truth; the broker only carries
wake-ups, so a lost or unacknowledged message is simply sent again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from engine import persistence
from engine.models import utcnow
from engine.models.workflow import OutboxMessage, Task, Timer
from engine.workflow import dispatch, projection, runtime, store
from engine.workflow import timers as fire

log = logging.getLogger(__name__)

NEAR_SECONDS = 30  # timers due this soon go out as delayed messages
REPAIR_SECONDS = 10  # an instance left dirty this long gets its projection rewritten
BATCH = 500
# The timer queries read every waiting row due soon (no index covers "not sent yet"): with
# 10,000 timers in flight that was ~0.5 s of the database's time per sweep, so they run
# at most this often, unless the last round filled a batch (more are waiting to go).
TIMER_SECONDS = 2.0


def _due_rows(now, soon) -> list[dict]:
    """Timer rows to send: never sent, or sent, still waiting, and their resend time has come (the
    wake-up was lost). Two queries rather than one `$or`, so that each rides the (status, due_at)
    index (engine.persistence, "Top-level `$or`")."""
    timers = persistence.collection(Timer)
    due = {"status": "waiting", "due_at": {"$lte": soon}}
    rows = list(
        timers.find({**due, "enqueued_at": None}, {"due_at": 1, "sends": 1}).sort("due_at", 1).limit(BATCH)
    )
    if len(rows) < BATCH:  # limit(0) would mean no limit
        rows += (
            timers.find({**due, "resend_at": {"$lt": now}}, {"due_at": 1, "sends": 1})
            .sort("due_at", 1)
            .limit(BATCH - len(rows))
        )
    return rows


def _enqueue_timers(now, resend: float | None) -> int:
    """Send due timers in batches of timers.BATCH_SIZE per message (one firing message each was the cost)."""
    # Rows that go out together share their send time and their count of sends so far.
    groups: dict[tuple, list] = defaultdict(list)
    for row in _due_rows(now, now + timedelta(seconds=NEAR_SECONDS)):
        groups[(max(row["due_at"], now), row.get("sends") or 0)].append(row["_id"])
    sent = 0
    for (at, sends), ids in groups.items():
        for i in range(0, len(ids), fire.BATCH_SIZE):
            chunk = ids[i : i + fire.BATCH_SIZE]
            # Claim by compare-and-set on `sends`: a concurrent scheduler that read the same rows
            # claims none of them (and if it claimed some, a duplicate send costs a skip, no effect).
            claimed = persistence.update_many(
                persistence.collection_name(Timer),
                {"_id": {"$in": chunk}, "status": "waiting", "sends": sends or {"$in": [0, None]}},
                {
                    "$set": {
                        "enqueued_at": now,
                        "sends": sends + 1,
                        "resend_at": dispatch.resend_at(at, sends + 1, resend),
                    }
                },
            )
            if claimed and dispatch.send(
                "fire_timers", ",".join(str(t) for t in chunk), int((at - now).total_seconds() * 1000)
            ):
                sent += claimed
    return sent


def _relay_outbox(now, resend: float | None) -> int:
    outbox = persistence.collection(OutboxMessage)
    # Sendable: never sent, or its resend time has come. One query per case, not one `$or`: see
    # engine.persistence.
    sent, seen = 0, set()
    for sendable in ({"enqueued_at": None}, {"resend_at": None}, {"resend_at": {"$lt": now}}):
        query = {"status": {"$in": ["pending", "performed"]}, **sendable}
        for row in outbox.find(query, {"_id": 1, "sends": 1}).limit(BATCH):
            if row["_id"] in seen:
                continue
            seen.add(row["_id"])
            sends = row.get("sends", 0) + 1
            # Claim the send (a concurrent scheduler skips it), then send.
            claimed = outbox.update_one(
                {"_id": row["_id"], **query},
                {
                    "$set": {
                        "enqueued_at": now,
                        "sends": sends,
                        "resend_at": dispatch.resend_at(now, sends, resend),
                    }
                },
            )
            if claimed.modified_count:
                sent += dispatch.send("perform_operation", row["_id"])
    return sent


def repair(instance_id) -> bool:
    """Rewrite the projection of one instance from its saved state (no lease needed: it only reads state)."""
    doc = store.instances().find_one({"_id": instance_id}, {"history": 0})
    if doc is None or not doc.get("dirty"):
        return False
    workflow = store.restore(doc)
    new = projection.compute(workflow, doc)
    # The stored summary already describes `new`; diff against what the rows may still say.
    projection.apply(doc, _rows_projected(doc), new)
    if doc.get("status") == "completed":
        # Its writer may have died before telling the completion listeners (runtime.notify_completed).
        runtime.notify_completed(doc)
    store.mark_projected(doc["_id"], doc["version"])
    return True


def _rows_projected(doc) -> dict:
    """What the collections currently hold for an instance, in projection-summary form."""
    iid = doc["_id"]
    tasks = [
        r["task_id"]
        for r in persistence.collection(Task).find({"instance_id": iid, "status": "open"}, {"task_id": 1})
    ]
    timers = [
        f"{r['task_id']}|{r['due_at'].isoformat()}"
        for r in persistence.collection(Timer).find({"instance_id": iid, "status": "waiting"})
    ]
    ops = [
        r["task_id"] for r in persistence.collection(OutboxMessage).find({"instance_id": iid}, {"task_id": 1})
    ]
    return {"tasks": tasks, "timers": timers, "ops": ops}


def _repair_dirty(now) -> int:
    cutoff = now - timedelta(seconds=REPAIR_SECONDS)
    fixed = 0
    for doc in (
        store.instances().find({"dirty": True, "updated_at": {"$lt": cutoff}}, {"_id": 1}).limit(BATCH)
    ):
        try:
            fixed += repair(doc["_id"])
        except Exception:  # one broken instance must not stop the sweep
            log.exception("could not repair the projection of instance %s", doc["_id"])
    return fixed


def sweep_once(*, resend_seconds: float | None = None, timers: bool = True) -> dict:
    """One pass: due timers (unless `timers` is False), outbox relay, dirty projections. Returns counts
    (for logs and tests)."""
    now = utcnow()
    return {
        "timers": _enqueue_timers(now, resend_seconds) if timers else 0,
        "operations": _relay_outbox(now, resend_seconds),
        "repaired": _repair_dirty(now),
    }


def run_forever(
    *,
    interval: float = 1.0,
    stop: threading.Event | None = None,
    resend_seconds: float | None = None,
    on_start: Callable[[], bool] | None = None,
) -> None:
    """Sweep every `interval` seconds until `stop` is set (or forever).

    `on_start`: start-up work tried before the first sweep and every 30 s until it returns True (the
    CLI passes engine.services.intake.intake_setup.deploy_on_start, so a fresh installation gets its
    processes without a step). Sends go through the dispatcher the process installed
    (engine.wiring.wire_broker); without one the rows wait for a scheduler that has it.
    """
    stop = stop or threading.Event()
    log.info("scheduler running (every %.1fs)", interval)
    start_pending, next_start, next_timers = on_start is not None, 0.0, 0.0
    while not stop.is_set():
        started = time.monotonic()
        if start_pending and on_start is not None and started >= next_start:
            start_pending, next_start = not on_start(), started + 30
        try:
            timers = started >= next_timers
            counts = sweep_once(resend_seconds=resend_seconds, timers=timers)
            if timers:
                next_timers = started + (0.0 if counts["timers"] >= BATCH else TIMER_SECONDS)
            if any(counts.values()):
                log.info("sweep: %s", counts)
        except Exception:  # the database may be restarting; try again next round
            log.exception("scheduler sweep failed")
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
