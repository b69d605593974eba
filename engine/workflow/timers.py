"""Firing due timers in batches: one broker message and a few database round trips for many timers.

`outbox.fire(timer_id)` fires one timer through `runtime.fire_timer`: read the row, read the
instance, save, mark the row, mark the projection — five round trips, three of them committed
writes. When thousands of reminders fall due in the same second those round trips are the cost
(engine.persistence: every one counts), so `fire_batch` reads the rows and their instances with one query
each and commits the whole batch in one transaction: each instance's save (the same
compare-and-set as every step) with its projection's writes, which mark its fired rows.

"None twice" holds for the same reason as in the single path: a timer fires only in a save that
is compare-and-set on the version read (and refused while someone else holds a live lease), and
its history event is written by that save. Whatever the fast path cannot settle — a live lease,
a lost race — goes through `outbox.fire`, which takes the lease and retries. One instance that
fails does not stop the others; its rows stay `waiting` for the broker's retry or the sweep.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from bson import ObjectId

from engine import persistence
from engine.models import utcnow
from engine.models.workflow import Timer
from engine.workflow import outbox, projection, runtime, store

log = logging.getLogger(__name__)

BATCH_SIZE = 50  # timers per broker message: a lost message (resent after a while) delays few


@dataclass
class _Firing:
    """One instance's share of a batch: its save, its projection's writes, the rows it fires."""

    loaded: store.Loaded
    save: persistence.Write
    changes: dict
    writes: list
    op_ids: list
    fired: list[dict]


@dataclass
class _Marks:
    """What one batch leaves to write at its end, and the outcome of each timer."""

    outcomes: dict[str, str] = field(default_factory=dict)
    stale: list[dict] = field(default_factory=list)  # rows whose timer had left WAITING already
    early: list[ObjectId] = field(default_factory=list)  # rows not due yet
    firings: list[_Firing] = field(default_factory=list)

    def settle(self, rows: list[dict], outcome: str) -> None:
        self.outcomes.update({str(r["_id"]): outcome for r in rows})
        if outcome == "stale":
            self.stale.extend(rows)
        elif outcome == "not_due":
            self.early.extend(r["_id"] for r in rows)


def fire_batch(timer_ids) -> dict[str, str]:
    """Fire the given timer rows. Returns {timer id: fired | stale | not_due | skipped | error}.

    Does not raise for one instance's failure: its timers' outcome is "error" and their rows stay
    waiting (retrying the whole batch is safe: rows already fired are skipped).
    """
    ids = [ObjectId(str(t)) for t in timer_ids]
    marks = _Marks()
    rows = {r["_id"]: r for r in persistence.collection(Timer).find({"_id": {"$in": ids}})}
    by_instance: dict[ObjectId, list[dict]] = defaultdict(list)
    for tid in ids:
        row = rows.get(tid)
        if row is None or row["status"] != "waiting":
            marks.outcomes[str(tid)] = "skipped"
        else:
            by_instance[row["instance_id"]].append(row)
    docs = {d["_id"]: d for d in store.instances().find({"_id": {"$in": list(by_instance)}}, {"history": 0})}
    now = utcnow()
    for iid, inst_rows in by_instance.items():
        try:
            _fire_instance(marks, docs.get(iid), inst_rows, now)
        except Exception:  # one broken instance must not keep the others from firing
            log.exception("could not fire the timers of instance %s", iid)
            marks.outcomes.update({str(r["_id"]): "error" for r in inst_rows})
    _commit(marks)
    _write_marks(marks, now)
    return marks.outcomes


def _fire_instance(marks: _Marks, doc: dict | None, rows: list[dict], now: datetime) -> None:
    if doc is None:
        marks.settle(rows, "stale")
        return
    if doc.get("lease_until") is not None and doc["lease_until"] >= now:
        _one_by_one(marks, rows)  # a step is under way: the single path waits for its lease
        return
    # The optimistic read of step()'s first attempt, from the batch's one query.
    loaded = store.Loaded(doc=doc, workflow=store.restore(doc), owner="")
    fired = runtime.fire_due_timers(loaded) & {r["task_id"] for r in rows}
    if not fired:
        # Left WAITING without this wake-up (fired or cancelled: stale), or woke up early.
        projected = doc.get("projected", {}).get("timers", [])
        for row in rows:
            waits = any(key.startswith(f"{row['task_id']}|") for key in projected)
            marks.settle([row], "not_due" if waits else "stale")
        return
    error = runtime._run_engine(loaded) or (doc.get("error") if doc.get("status") == "errored" else None)
    new = projection.compute(loaded.workflow, loaded.doc)
    error = error or runtime._projection_error(loaded, new)
    # The projection's writes mark the fired rows (their keys leave the projection), with the save.
    writes, op_ids = projection.writes(loaded.doc, doc.get("projected") or {}, new)
    status = runtime._status(loaded.workflow, error)
    completing = runtime.completes(doc.get("status"), status)
    save, changes = store.saving(
        loaded,
        status=status,
        projected=new.summary,
        waiting_messages=new.messages,
        error=error,
        dirty=completing,
    )
    marks.firings.append(
        _Firing(loaded, save, changes, writes, op_ids, [r for r in rows if r["task_id"] in fired])
    )
    marks.settle([r for r in rows if r["task_id"] not in fired], "not_due")


def _commit(marks: _Marks) -> None:
    """Commit every firing of the batch in one transaction. Instances whose save lost a race go
    through the single path (which takes the lease and retries); the rest are committed again."""
    firings = marks.firings
    for _attempt in range(3):
        if not firings:
            return
        writes: list[persistence.Write] = []
        guards = []
        for firing in firings:
            guards.append(len(writes))
            writes += [firing.save, *firing.writes]
        try:
            persistence.commit_writes(writes, guards=guards)
        except persistence.GuardFailed as exc:
            # A write conflict names no instance: then each goes alone.
            lost = {guards.index(i) for i in exc.failed} if exc.failed else set(range(len(firings)))
            for k in sorted(lost):
                _one_by_one(marks, firings[k].fired)
            firings = [f for k, f in enumerate(firings) if k not in lost]
            continue
        for firing in firings:
            store.saved(firing.loaded, firing.changes)
            projection.send(firing.op_ids)
            if firing.changes["dirty"]:  # completed: tell the listeners, as runtime.step does
                runtime.notify_completed(firing.loaded.doc)
                store.mark_projected(firing.loaded.id, firing.loaded.version)
            marks.outcomes.update({str(r["_id"]): "fired" for r in firing.fired})
        return
    for firing in firings:
        _one_by_one(marks, firing.fired)


def _one_by_one(marks: _Marks, rows: list[dict]) -> None:
    for row in rows:
        marks.outcomes[str(row["_id"])] = outbox.fire(row["_id"])


def _write_marks(marks: _Marks, now: datetime) -> None:
    """The batch's row writes for timers it did not fire, one per kind."""
    timers = persistence.collection_name(Timer)
    waiting = {"status": "waiting"}
    # A stale row left WAITING without this wake-up: it fired already if it was due (its writer
    # died before marking the row), else it was cancelled — the projection's rule, as in outbox.fire.
    fired = [r["_id"] for r in marks.stale if r["due_at"] <= now]
    cancelled = [r["_id"] for r in marks.stale if r["due_at"] > now]
    if fired:
        persistence.update_many(
            timers, {"_id": {"$in": fired}, **waiting}, {"$set": {"status": "fired", "fired_at": now}}
        )
    if cancelled:
        persistence.update_many(
            timers,
            {"_id": {"$in": cancelled}, **waiting},
            {"$set": {"status": "cancelled", "fired_at": None}},
        )
    if marks.early:  # the scheduler's next sweep sends these again, delayed to their due time
        persistence.update_many(
            timers, {"_id": {"$in": marks.early}, **waiting}, {"$set": {"enqueued_at": None}}
        )
