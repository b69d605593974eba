"""Performing outbox operations and firing timers: what the Dramatiq actors call.

`perform(outbox_id)` runs an operation at most once per success: the row is
claimed for a while (a duplicate delivery skips it), the result is stored
before the task is completed (a crash in between completes the task on the
next delivery without running the operation again), and completion goes
through the runtime's compare-and-set; then the row is deleted. A failure counts an attempt and raises
`RetryLater` (the broker retries with backoff); the last attempt raises the
BPMN error instead.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bson import ObjectId

from engine import persistence
from engine.models import utcnow
from engine.models.workflow import OutboxMessage, Timer
from engine.workflow import dispatch, operations, runtime, store

log = logging.getLogger(__name__)
# A performer holds its operation this long. A worker killed mid-operation blocks it only until then:
# the claim also moves the relay's resend to just after it lapses. The actor's time limit
# (workers/workflow.py, OPERATION_TIME_LIMIT_MS) stops a live performer well before, so an operation is
# never performed by two workers at once because its claim ran out.
CLAIM_SECONDS = 90
RESEND_AFTER_CLAIM = timedelta(seconds=2)
# Backoff between attempts (the broker's retry delay; the relay waits as long before re-sending).
MIN_BACKOFF_MS = 2_000
MAX_BACKOFF_MS = 10 * 60_000


def backoff_ms(attempts: int) -> int:
    return min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** max(0, attempts - 1))


class RetryLater(Exception):
    """The operation failed this time; the broker should deliver the message again later."""


def _rows():
    return persistence.collection(OutboxMessage)


def perform(outbox_id) -> str:
    """Perform one outbox operation and complete its service task. Returns what happened.

    Raises RetryLater when the broker should try again.
    """
    oid = ObjectId(str(outbox_id))
    now = utcnow()
    row = persistence.update_then_read(
        _rows(),
        {
            "_id": oid,
            "status": "pending",
            "claimed_until": {"$not": {"$gte": now}},
        },  # unclaimed or lapsed; no `$or` (store._free)
        {
            "$set": {
                "claimed_until": now + timedelta(seconds=CLAIM_SECONDS),
                "resend_at": now + timedelta(seconds=CLAIM_SECONDS) + RESEND_AFTER_CLAIM,
            }
        },
    )
    if row is None:
        row = _rows().find_one({"_id": oid})
        if row is None or row["status"] != "performed":
            return "skipped"  # done, cancelled, failed, unknown, or another worker has it
    elif not _perform_claimed(row):
        return "failed"
    iid, task_id = row["instance_id"], row["task_id"]
    result = _rows().find_one({"_id": oid}, {"result": 1}).get("result")
    runtime.finish_operation(iid, task_id, result, operation=row["operation"])
    # Its task is completed (or no longer waits): the row has served. A repeated message finds no row
    # and skips, like one for a done row did; the operations keep their own idempotency keys
    # (documents' source keys, mails' idempotency keys), not this row. Kept rows were ~2.5 KB per
    # finished intake. Failed and cancelled rows stay (an admin's retry reads failed ones).
    _rows().delete_one({"_id": oid, "status": "performed"})
    return "done"


def _perform_claimed(row: dict) -> bool:
    """Run the operation of a claimed row. True = performed; False = failed for good. Raises RetryLater."""
    key = row["key"]
    try:
        fn = operations.get(row["operation"])
        result = fn(
            params=row.get("params") or {},
            key=key,
            instance_id=str(row["instance_id"]),
            task_id=row["task_id"],
        )
    except operations.OperationBusy as exc:
        # The effect is being produced elsewhere (e.g. a mail another worker is sending, or a dead
        # worker's claim on it that has not lapsed yet): come back then, without spending an attempt.
        _rows().update_one(
            {"_id": row["_id"]},
            {
                "$set": {
                    "last_error": f"busy: {exc}"[:1000],
                    "claimed_until": None,
                    "resend_at": utcnow() + timedelta(seconds=exc.retry_after),
                }
            },
        )
        raise RetryLater(f"{row['operation']} waits: {exc}") from exc
    except Exception as exc:  # any failure of outside code counts as an attempt
        permanent = isinstance(exc, operations.OperationFailed) and exc.permanent
        attempts = row.get("attempts", 0) + 1
        message = f"{type(exc).__name__}: {exc}"[:1000]
        if permanent or attempts >= row.get("max_attempts", 5):
            _rows().update_one(
                {"_id": row["_id"]},
                {
                    "$set": {
                        "status": "failed",
                        "attempts": attempts,
                        "last_error": message,
                        "claimed_until": None,
                    }
                },
            )
            outcome = runtime.fail_operation(
                row["instance_id"], row["task_id"], message, operation=row["operation"]
            )
            log.warning("operation %s (%s) failed for good: %s (%s)", row["operation"], key, message, outcome)
            return False
        # The relay leaves it alone while the broker's own retry is due.
        retry_at = utcnow() + timedelta(milliseconds=backoff_ms(attempts))
        _rows().update_one(
            {"_id": row["_id"]},
            {
                "$set": {
                    "attempts": attempts,
                    "last_error": message,
                    "claimed_until": None,
                    "resend_at": dispatch.resend_at(retry_at, 1),
                }
            },
        )
        raise RetryLater(f"{row['operation']} attempt {attempts} failed: {message}") from exc
    _rows().update_one(
        {"_id": row["_id"]},
        {
            "$set": {
                "status": "performed",
                "result": result,
                "attempts": row.get("attempts", 0) + 1,
                "claimed_until": None,
            }
        },
    )
    return True


def retry(instance_id, *, by: str) -> int:
    """Admin action: give every failed operation of an errored instance a fresh set of attempts.

    Returns how many were re-queued.
    """
    iid = ObjectId(str(instance_id))
    now = utcnow()
    failed = list(_rows().find({"instance_id": iid, "status": "failed"}, {"_id": 1}))
    if not failed:
        return 0
    store.instances().update_one(
        {"_id": iid, "status": "errored"},
        {
            "$set": {"status": "running", "error": None},
            "$push": {"history": {"at": now, "kind": "retried", "by": by}},
        },
    )
    for row in failed:
        _rows().update_one(
            {"_id": row["_id"], "status": "failed"},
            {
                "$set": {
                    "status": "pending",
                    "attempts": 0,
                    "last_error": "",
                    "enqueued_at": now,
                    "sends": 1,
                    "resend_at": dispatch.resend_at(now, 1),
                }
            },
        )
        dispatch.send("perform_operation", row["_id"])
    return len(failed)


def fire(timer_id) -> str:
    """Fire one timer row (idempotent). Returns fired | stale | not_due | skipped."""
    tid = ObjectId(str(timer_id))
    timers = persistence.collection(Timer)
    row = timers.find_one({"_id": tid})
    if row is None or row["status"] != "waiting":
        return "skipped"
    outcome = runtime.fire_timer(row["instance_id"], row["task_id"])
    # "fired": the projection after the save marked the row already.
    if outcome == "stale":
        # It left WAITING without this wake-up: fired already (the writer died before marking the
        # row) if it was due, else cancelled — the projection's rule.
        now = utcnow()
        fired = row["due_at"] <= now
        timers.update_one(
            {"_id": tid, "status": "waiting"},
            {"$set": {"status": "fired" if fired else "cancelled", "fired_at": now if fired else None}},
        )
    else:  # woke up early: the scheduler's next sweep sends it again, delayed to the due time
        timers.update_one({"_id": tid, "status": "waiting"}, {"$set": {"enqueued_at": None}})
    return outcome
