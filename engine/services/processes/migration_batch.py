"""The database side of moving instances: batches under the engine's lease, CAS writes, snapshots,
re-projection. engine.services.processes.migration decides what to move and reports; this module moves.

A batch takes the leases of many instances in one write (only free or expired leases, as
`store.acquire` does), reads them in one query, migrates each in memory, inserts all
snapshots in one write, then writes every instance with compare-and-set on its `version`
and our lease in one unordered bulk write. Each write also stamps the snapshot id on the
instance, so one query tells which writes landed; those that did not (a lease expired and
someone else saved first) lose their snapshot and count as failed. Instances whose lease a
worker holds are moved one by one afterwards, waiting for the lease like any step.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bson import ObjectId
from pymongo import UpdateOne

from engine import persistence
from engine.errors import NotFound
from engine.models import utcnow
from engine.models.migration import MigrationSnapshot
from engine.models.workflow import ProcessVersion, Task, Timer
from engine.workflow import migration as wfmig
from engine.workflow import projection, runtime, store
from engine.workflow import specs as wfspecs
from engine.workflow.errors import InstanceBusy
from engine.workflow.scripting import script_engine

log = logging.getLogger(__name__)
MOVABLE_STATUSES = ("running",)
SNAPSHOT_FIELDS = ("state_json", "serializer_version", "status", "error", "waiting_messages", "projected")
MARK = "migration_snapshot"  # instance field: the snapshot of the last move written


def reproject(
    doc: dict,
    previous: dict,
    new: projection.Projection,
    *,
    refresh=(),
    revive: bool = False,
    mark: bool = True,
) -> None:
    """Make inbox rows and timers match `new` after a move or rollback.

    `projection.apply` writes differences keyed by task id. A move keeps the task ids of READY tasks
    whose element changed (form, lane): `refresh` names their specs, and their open rows are
    rewritten. A rollback brings back task ids and timers whose rows the move closed: `revive`
    reopens them.
    """
    if mark:
        runtime.project(doc, previous, new)
    else:  # the caller marks many instances projected in one write
        projection.apply(doc, previous, new)
    iid, tasks = doc["_id"], persistence.collection(Task)
    if revive and new.tasks:
        # "completed" too: a forced rollback can put back a task someone completed after the move.
        persistence.update_many(
            tasks.name,
            {
                "instance_id": iid,
                "task_id": {"$in": list(new.tasks)},
                "status": {"$in": ["closed", "completed"]},
            },
            {"$set": {"status": "open", "completed_at": None, "completed_by": None}},
        )
    if revive and new.timers:
        persistence.update_many(
            persistence.collection_name(Timer),
            {
                "instance_id": iid,
                "status": "cancelled",
                "$or": [{"task_id": f["task_id"], "due_at": f["due_at"]} for f in new.timers.values()],
            },
            {"$set": {"status": "waiting", "fired_at": None, "enqueued_at": None}},
        )
    for task_id, fields in new.tasks.items():
        if fields["spec_name"] not in refresh and not revive:
            continue
        row = tasks.find_one({"instance_id": iid, "task_id": task_id, "status": "open"}, {"form_key": 1})
        if row is None:
            continue
        # spec_name too: a revived row was done, and done rows drop it (engine.workflow.projection).
        changes = {
            "spec_name": fields["spec_name"],
            "name": fields["name"],
            "lane": fields["lane"],
            "audience": fields["audience"],
            "form_key": fields["form_key"],
            "role": fields["role"],
            "submitted_forms": fields["submitted_forms"],
            "note": fields["note"],
        }
        if row.get("form_key") != fields["form_key"]:
            changes["form_version_id"] = projection._pin_form(fields["form_key"])
        tasks.update_one({"_id": row["_id"]}, {"$set": changes})


def settle(text: str, spec, subs, doc: dict):
    """Restore a moved (or snapshotted) state cleanly and run engine steps: (workflow, status, error)."""
    workflow = wfspecs.load_state(text, spec, subs)
    workflow.script_engine = script_engine()
    error = runtime._run_engine(store.Loaded(doc=doc, workflow=workflow, owner=""))
    status = "errored" if error else ("completed" if workflow.is_completed() else "running")
    return workflow, status, error


def refuse_broken(verdict: wfmig.Verdict, error: dict) -> None:
    """Moving must not break an instance: one that would fail right after the move stays where it runs."""
    verdict.refuse(f"after the move {error.get('task_name') or 'a script'} would fail: {error['message']}")
    raise wfmig.MigrationRefused(verdict)


class _Move:
    """One instance prepared in memory: what to snapshot, what to write, what to project."""

    def __init__(self, loaded: store.Loaded, target: ProcessVersion, run_id, by: str):
        spec, subs, _ = store.version_specs(target.id)
        doc = loaded.doc
        text, verdict = wfmig.migrate(loaded.workflow, spec, subs)  # raises MigrationRefused
        workflow, status, error = settle(text, spec, subs, doc)
        if error:
            refuse_broken(verdict, error)
        self.loaded, self.verdict = loaded, verdict
        self.new = projection.compute(workflow, doc)
        if self.new.error:  # a task's assignee, due or form expression fails on the new version
            refuse_broken(verdict, self.new.error)
        self.previous = doc.get("projected") or {}
        self.snapshot = {f: doc.get(f) for f in SNAPSHOT_FIELDS}
        self.snapshot.update(
            _id=ObjectId(),
            run_id=run_id,
            instance_id=doc["_id"],
            process_id=doc["process_id"],
            from_version=doc["process_version"],
            from_version_id=doc["process_version_id"],
            to_version=target.number,
            instance_version=doc["version"],
            migrated_version=doc["version"] + 1,
            created_at=utcnow(),
            projected=self.previous,
            waiting_messages=doc.get("waiting_messages") or [],
        )
        now = utcnow()
        self.changes = {
            "state_json": store.encode_state(wfspecs.dump_state(workflow), status),
            "serializer_version": wfspecs.SERIALIZER_VERSION,
            "process_version": target.number,
            "process_version_id": target.id,
            "status": status,
            "error": error,
            "projected": self.new.summary,
            "waiting_messages": self.new.messages,
            "dirty": True,
            "updated_at": now,
            "lease_owner": None,
            "lease_until": None,
            MARK: self.snapshot["_id"],
        }
        if status == "completed":
            self.changes["completed_at"] = now
        self.event = {
            "at": now,
            "kind": "migrated",
            "by": by,
            "details": {
                "from_version": doc["process_version"],
                "to_version": target.number,
                "snapshot": str(self.snapshot["_id"]),
                "updated": verdict.updated,
                "reset": verdict.reset,
            },
        }

    def update(self) -> UpdateOne:
        loaded = self.loaded
        return UpdateOne(
            {"_id": loaded.id, "version": loaded.version, "lease_owner": loaded.owner},
            {"$set": self.changes, "$inc": {"version": 1}, "$push": {"history": self.event}},
        )


def _lease_many(ids: list) -> tuple[str, list[dict]]:
    owner = store.owner_token()
    now = utcnow()
    persistence.update_many(
        store.instances().name,
        {"_id": {"$in": ids}, **store._free(now)},
        {"$set": {"lease_owner": owner, "lease_until": now + timedelta(seconds=store.lease_seconds())}},
    )
    return owner, list(store.instances().find({"_id": {"$in": ids}, "lease_owner": owner}, {"history": 0}))


def _prepare(loaded: store.Loaded, target, run_id, by: str, results: dict, release: list):
    doc = loaded.doc
    if doc["status"] not in MOVABLE_STATUSES or doc["process_version_id"] == target.id:
        results[doc["_id"]] = ("skipped", [f"{doc['status']} on version {doc['process_version']}"])
        release.append(loaded)
        return None
    try:
        return _Move(loaded, target, run_id, by)
    except wfmig.MigrationRefused as exc:
        results[doc["_id"]] = ("refused", exc.verdict.reasons)
    except Exception as exc:  # noqa: BLE001 - any other failure leaves the instance untouched
        log.warning("migrating %s failed", doc["_id"], exc_info=True)
        results[doc["_id"]] = ("failed", [f"{type(exc).__name__}: {exc}"])
    release.append(loaded)
    return None


def _commit(moves: list[_Move], results: dict) -> None:
    if not moves:
        return
    persistence.collection(MigrationSnapshot).insert_many([m.snapshot for m in moves])
    store.instances().bulk_write([m.update() for m in moves], ordered=False)
    landed = {
        d["_id"]
        for d in store.instances().find(
            {"_id": {"$in": [m.loaded.id for m in moves]}, MARK: {"$in": [m.snapshot["_id"] for m in moves]}},
            {"_id": 1},
        )
    }
    lost = [m for m in moves if m.loaded.id not in landed]
    if lost:
        persistence.collection(MigrationSnapshot).delete_many(
            {"_id": {"$in": [m.snapshot["_id"] for m in lost]}}
        )
        _release([m.loaded for m in lost])
    projected: list = []
    for m in moves:
        if m.loaded.id not in landed:
            results[m.loaded.id] = ("failed", ["the instance changed while it was being moved; try again"])
            continue
        m.loaded.doc.update(m.changes)
        m.loaded.doc["version"] = m.loaded.version + 1
        reproject(m.loaded.doc, m.previous, m.new, refresh=m.verdict.updated, mark=False)
        projected.append(
            UpdateOne({"_id": m.loaded.id, "version": m.loaded.doc["version"]}, {"$set": {"dirty": False}})
        )
        results[m.loaded.id] = ("moved", [])
    if projected:  # as store.mark_projected does, for the whole batch
        store.instances().bulk_write(projected, ordered=False)


def _release(loaded_list: list[store.Loaded]) -> None:
    for loaded in loaded_list:
        store.release(loaded)


def move_batch(ids: list, target: ProcessVersion, *, by: str, run_id=None) -> dict:
    """Move the given instances; returns {instance id: (moved | refused | failed | skipped, reasons)}."""
    ids = [ObjectId(str(i)) for i in ids]
    results: dict = {}
    owner, docs = _lease_many(ids)
    release: list = []
    moves = []
    for doc in docs:
        try:
            workflow = store.restore(doc)
        except Exception as exc:  # noqa: BLE001 - a state that does not load cannot move
            results[doc["_id"]] = ("failed", [f"cannot be loaded: {type(exc).__name__}: {exc}"])
            release.append(store.Loaded(doc=doc, workflow=None, owner=owner))
            continue
        move = _prepare(
            store.Loaded(doc=doc, workflow=workflow, owner=owner), target, run_id, by, results, release
        )
        if move is not None:
            moves.append(move)
    if release:
        persistence.update_many(
            store.instances().name,
            {"_id": {"$in": [r.id for r in release]}, "lease_owner": owner},
            {"$set": {"lease_owner": None, "lease_until": None}},
        )
    _commit(moves, results)
    for iid in ids:  # leased by someone else: wait for each like a workflow step does
        if iid not in results:
            results[iid] = _move_one(iid, target, by=by, run_id=run_id)
    return results


def _move_one(iid: ObjectId, target, *, by: str, run_id) -> tuple[str, list[str]]:
    try:
        loaded = store.acquire(iid, wait=5)
    except InstanceBusy:
        return "failed", ["busy: a worker held it longer than 5 s; try again"]
    except NotFound:
        return "skipped", ["no longer exists"]
    results: dict = {}
    release: list = []
    move = _prepare(loaded, target, run_id, by, results, release)
    _release(release)
    if move is not None:
        _commit([move], results)
    return results[iid]


def write_back(loaded: store.Loaded, changes: dict, event: dict) -> bool:
    """CAS write of `changes` under the lease we hold (rollback); releases it. False = lost a race."""
    changes = dict(changes, dirty=True, updated_at=utcnow(), lease_owner=None, lease_until=None)
    result = store.instances().update_one(
        {"_id": loaded.id, "version": loaded.version, "lease_owner": loaded.owner},
        {"$set": changes, "$inc": {"version": 1}, "$push": {"history": event}},
    )
    if result.modified_count != 1:
        return False
    loaded.doc.update(changes)
    loaded.doc["version"] = loaded.version + 1
    return True
