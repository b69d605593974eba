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
from datetime import timedelta

from engine.models import utcnow
from engine.models.workflow import OutboxMessage, Timer
from engine.workflow import dispatch, projection, store

log = logging.getLogger(__name__)

NEAR_SECONDS = 30  # timers due this soon go out as delayed messages
REPAIR_SECONDS = 10  # an instance left dirty this long gets its projection rewritten
BATCH = 500


def _enqueue_timers(now, resend: float | None) -> int:
    timers = Timer._get_collection()
    # Never sent; or sent, still waiting, and its resend time has come (the wake-up was lost).
    due_soon = {"status": "waiting", "due_at": {"$lte": now + timedelta(seconds=NEAR_SECONDS)}}
    sendable = {"$or": [{"enqueued_at": None}, {"resend_at": {"$lt": now}}]}
    sent = 0
    for row in timers.find({**due_soon, **sendable}, {"due_at": 1, "sends": 1}).sort("due_at", 1).limit(BATCH):
        sends = row.get("sends", 0) + 1
        # Claim the send (a concurrent scheduler skips it), then send.
        claimed = timers.update_one({"_id": row["_id"], **due_soon, **sendable}, {"$set": {
            "enqueued_at": now, "sends": sends, "resend_at": dispatch.resend_at(max(row["due_at"], now), sends, resend)}})
        if claimed.modified_count:
            delay = max(0.0, (row["due_at"] - now).total_seconds())
            sent += dispatch.send("fire_timer", row["_id"], int(delay * 1000))
    return sent


def _relay_outbox(now, resend: float | None) -> int:
    outbox = OutboxMessage._get_collection()
    query = {"status": {"$in": ["pending", "performed"]},
             "$or": [{"enqueued_at": None}, {"resend_at": None}, {"resend_at": {"$lt": now}}]}
    sent = 0
    for row in outbox.find(query, {"_id": 1, "sends": 1}).limit(BATCH):
        sends = row.get("sends", 0) + 1
        claimed = outbox.update_one({"_id": row["_id"], **query}, {"$set": {
            "enqueued_at": now, "sends": sends, "resend_at": dispatch.resend_at(now, sends, resend)}})
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
    store.mark_projected(doc["_id"], doc["version"])
    return True


def _rows_projected(doc) -> dict:
    """What the collections currently hold for an instance, in projection-summary form."""
    from engine.models.workflow import Task

    iid = doc["_id"]
    tasks = [r["task_id"] for r in Task._get_collection().find({"instance_id": iid, "status": "open"}, {"task_id": 1})]
    timers = [f"{r['task_id']}|{r['due_at'].isoformat()}"
              for r in Timer._get_collection().find({"instance_id": iid, "status": "waiting"})]
    ops = [r["task_id"] for r in OutboxMessage._get_collection().find({"instance_id": iid}, {"task_id": 1})]
    return {"tasks": tasks, "timers": timers, "ops": ops}


def _repair_dirty(now) -> int:
    cutoff = now - timedelta(seconds=REPAIR_SECONDS)
    fixed = 0
    for doc in store.instances().find({"dirty": True, "updated_at": {"$lt": cutoff}}, {"_id": 1}).limit(BATCH):
        try:
            fixed += repair(doc["_id"])
        except Exception:  # one broken instance must not stop the sweep
            log.exception("could not repair the projection of instance %s", doc["_id"])
    return fixed


def sweep_once(*, resend_seconds: float | None = None) -> dict:
    """One pass: due timers, outbox relay, dirty projections. Returns counts (for logs and tests)."""
    now = utcnow()
    return {"timers": _enqueue_timers(now, resend_seconds), "operations": _relay_outbox(now, resend_seconds),
            "repaired": _repair_dirty(now)}


def _ensure_dispatcher() -> None:
    """Set up the broker and the dispatcher by module name: engine/ stays free of dramatiq imports."""
    import importlib

    from engine import config

    # Importing workers.workflow installs the dispatcher.
    importlib.import_module("workers.workflow").ensure_broker(config.current().broker_url)


def _deploy_shipped() -> bool:
    """First start: deploy workflows/bpmn/*.bpmn (unchanged files are no-ops). False = try again later
    (e.g. the forms they name are not published yet)."""
    from engine.services.intake_setup import load_shipped_forms
    from engine.workflow.deploy import deploy_shipped

    try:
        load_shipped_forms()  # the shipped processes name these forms: publish them first
        for result in deploy_shipped():
            if result["created"]:
                log.info("deployed shipped process %s version %s", result["process_id"], result["number"])
        return True
    except Exception as exc:  # a shipped file that cannot deploy yet must not stop timers
        log.warning("shipped BPMN not deployed yet (%s); retrying", getattr(exc, "details", None) or exc)
        return False


def run_forever(*, interval: float = 1.0, stop: threading.Event | None = None,
                resend_seconds: float | None = None, deploy_shipped_on_start: bool = True) -> None:
    """Sweep every `interval` seconds until `stop` is set (or forever).

    On start it also deploys the shipped BPMN (engine.workflow.deploy.deploy_shipped), retrying
    each round until that succeeds, so a fresh installation gets its processes without a step.
    """
    _ensure_dispatcher()
    stop = stop or threading.Event()
    log.info("scheduler running (every %.1fs)", interval)
    shipped_pending, next_deploy = deploy_shipped_on_start, 0.0
    while not stop.is_set():
        started = time.monotonic()
        if shipped_pending and started >= next_deploy:
            shipped_pending, next_deploy = not _deploy_shipped(), started + 30
        try:
            counts = sweep_once(resend_seconds=resend_seconds)
            if any(counts.values()):
                log.info("sweep: %s", counts)
        except Exception:  # the database may be restarting; try again next round
            log.exception("scheduler sweep failed")
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
